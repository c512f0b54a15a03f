# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reader and planner of the KMS client settings (module ``kms_client``).

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

Pure Python: no Ansible imports. A *reader* (``KmsClientReader``)
gives the read operations of one batch and parses their results; a *planner*
(:func:`plan_kms_client`) turns the desired settings and
what was read into the operations of one apply batch plus the before/after view
used for ``diff`` and the results. Planners never touch the host.

Facts used (tags of docs/reference/licensing-api.md and existing-tools.md):

* KMS client settings: slmgr ``/skms name[:port]`` sets the machine, then the port or
  clears it when none is given; an IPv6 address is passed with its brackets; ``/ckms``
  clears both; without an activation ID slmgr works on the service, with one on that
  product [SLMGR10 SetKmsMachineName, ClearKms, GetKmsClientObjectByActivationID].
  ``/skhc``/``/ckhc`` call ``DisableKeyManagementServiceHostCaching`` on the service;
  ``/act-type`` calls ``SetVLActivationTypeEnabled`` or, for 0, ``ClearVLActivationTypeEnabled``
  (Windows 8+) [SLMGR10 SetVLActivationType].
* ospp.vbs ``/sethst /setprt /remhst /actype /skms-domain /ckms-domain`` work per product on
  every Office product whose Description contains "KMS"; ``/cachst`` works on the OSPP
  service on Windows 7 and on ``SoftwareLicensingService`` on Windows 8+; ``/actype`` and
  the lookup domain are refused on Windows 7 [OSPP15]. The OSPP service has no
  KMS machine/port/lookup-domain setters [OSPP15] (licensing-api.md 1.3).
* Office 2010 always uses OSPP; Office 2013+ uses OSPP on Windows 7 / 2008 R2 (6.1) and
  SPP on Windows 8+ [OSPP15 isWin7OS] (licensing-api.md 1.1).

Product properties show the *effective* client setting: slmgr /dlv prints the product's
``KeyManagementServiceMachine`` as "Registered KMS machine name" after a service-level
/skms [SLMGR10 DisplayKMSClientInformation]. So a product whose value equals the
service's is taken as inheriting it (see :func:`_inherited`).
"""

from __future__ import annotations

import dataclasses
import typing as t

from . import _action, _client, _kms, _products, _state


@dataclasses.dataclass(frozen=True)
class ClientTarget:
    """Where a KMS client setting is written: the service of a store, or one product.

    ``cls`` is the CIM class to invoke on; ``activation_id`` is None for a service.
    ``machine``/``port`` are the effective values read (``port`` 1688 when unset but a
    machine is set, None without a machine); ``raw_port`` is the property as read.
    ``machine_inherited`` / ``domain_inherited`` are True for a product whose value equals
    its service's: products show the effective value, so such a value is taken as the
    service's (see the module doc); ``state=absent`` then has nothing to clear on the product.
    """

    store: str
    cls: str
    activation_id: str | None
    name: str | None
    machine: str | None
    raw_port: int | None
    lookup_domain: str | None
    activation_type: str | None
    machine_inherited: bool = False
    domain_inherited: bool = False

    @property
    def is_service(self) -> bool:
        return self.activation_id is None

    @property
    def port(self) -> int | None:
        if not self.machine:
            return None
        return self.raw_port or _state.DEFAULT_KMS_PORT

    @property
    def label(self) -> str:
        if self.is_service:
            return self.cls
        return f"{self.name or self.activation_id} ({self.activation_id})"

    def view(self) -> dict[str, t.Any]:
        return {
            "target": "service" if self.is_service else "product",
            "class": self.cls,
            "activation_id": self.activation_id,
            "name": self.name,
            "kms_host": self.machine,
            "kms_port": self.port,
            "lookup_domain": self.lookup_domain,
            "activation_type": self.activation_type,
        }


@dataclasses.dataclass(frozen=True)
class KmsClientState:
    """What :class:`KmsClientReader` learned."""

    os: _state.OperatingSystem | None
    spp_service: _state.LicensingService | None
    ospp_service: _state.LicensingService | None
    ospp_present: bool | None
    spp_products: tuple[t.Mapping[str, t.Any], ...]
    ospp_products: tuple[t.Mapping[str, t.Any], ...]
    errors: tuple[str, ...] = ()

    @property
    def win8plus(self) -> bool | None:
        return _kms.windows8_or_later(self.os)


class KmsClientReader:
    """One batch: OS, SPP service and products, OSPP service and products for a family.

    ``family`` is ``windows`` (the Windows products with a key, to report and to find
    per-product overrides), ``office`` / ``office2010`` (the KMS client licenses of that
    application, keyed or not, as ospp.vbs selects them) or ``ids`` (``activation_ids``).
    """

    def __init__(self, family: str, activation_ids: t.Sequence[str] = ()) -> None:
        self.family = family
        self.activation_ids = tuple(activation_ids)

    def product_filter(self) -> str:
        if self.family == "ids":
            return _kms.wql_ids(self.activation_ids)
        app = {
            "windows": _products.WINDOWS_APP_ID,
            "office": _products.OFFICE_APP_ID,
            "office2010": _products.OFFICE2010_APP_ID,
        }[self.family]
        cond = f"ApplicationID = {_state.wql_string(app)}"
        if self.family == "windows":
            return f"{cond} AND PartialProductKey <> null AND Description LIKE '%{_kms.KMS_CLIENT_MARK}%'"
        return f"{cond} AND Description LIKE '%{_kms.KMS_CLIENT_MARK}%'"

    def operations(self) -> list[dict[str, t.Any]]:
        flt = self.product_filter()
        ops = [
            _client.cim_query(_state.OS_CLASS, properties=list(_state.OS_PROPERTIES)),
            _state.licensing_query(_state.SPP_SERVICE),
            _state.licensing_query(_state.SPP_PRODUCT, flt),
        ]
        if self.family != "windows":
            ops += [_state.licensing_query(_state.OSPP_SERVICE), _state.licensing_query(_state.OSPP_PRODUCT, flt)]
        return ops

    def parse(self, results: t.Sequence[t.Mapping[str, t.Any]]) -> KmsClientState:
        ops = self.operations()
        if len(results) < len(ops):
            raise ValueError(f"expected {len(ops)} results for the KMS client read, got {len(results)}")
        errors: list[str] = []
        ospp_present: bool | None = None
        for op, res in zip(ops, results[: len(ops)], strict=True):
            if op["class"] in (_state.OSPP_SERVICE, _state.OSPP_PRODUCT) and not res.get("ok") and \
                    res.get("hresult") == 0x80041010:
                ospp_present = False  # WBEM_E_INVALID_CLASS: OSPP not installed
                continue
            err = _kms.query_error(op["class"], res)
            if err:
                errors.append(err)
        os_rows = _kms.instances(results[0])
        spp = _kms.instances(results[1])
        spp_service = _state.LicensingService.from_cim(spp[0], "spp") if spp else None
        ospp_service = None
        ospp_rows: list[t.Mapping[str, t.Any]] = []
        if len(ops) > 3 and ospp_present is None:
            rows = _kms.instances(results[3])
            ospp_service = _state.LicensingService.from_cim(rows[0], "ospp") if rows else None
            ospp_present = ospp_service is not None
            ospp_rows = _kms.instances(results[4])
        return KmsClientState(
            os=_state.OperatingSystem.from_cim(os_rows[0]) if os_rows else None,
            spp_service=spp_service,
            ospp_service=ospp_service,
            ospp_present=ospp_present,
            spp_products=tuple(_kms.instances(results[2])),
            ospp_products=tuple(ospp_rows),
            errors=tuple(errors),
        )


def _activation_type_name(value: t.Any) -> str | None:
    v = _state.u32(value)
    return _state.ACTIVATION_TYPE_NAMES.get(v) if v is not None else None


def service_target(svc: _state.LicensingService, cls: str,
                   products: t.Sequence[t.Mapping[str, t.Any]] = ()) -> ClientTarget:
    """The service as a target. Its activation type is the one ``products`` (the KMS client
    products it governs, as read) all show, None when they differ or show none: the class has
    no VLActivationTypeEnabled of its own, and a product shows the effective value."""
    raw = svc.raw
    types = {_activation_type_name(r.get("VLActivationTypeEnabled")) for r in products}
    return ClientTarget(
        store=svc.source,
        cls=cls,
        activation_id=None,
        name=None,
        machine=_state.text(raw.get("KeyManagementServiceMachine")),
        raw_port=_state.u32(raw.get("KeyManagementServicePort")),
        lookup_domain=_state.text(raw.get("KeyManagementServiceLookupDomain")),
        # No Windows version has VLActivationTypeEnabled on SoftwareLicensingService (microsoft/wmi
        # server2019 bindings list only its setters): the value the products show.
        activation_type=types.pop() if len(types) == 1 else None,
    )


def _inherited(value: str | None, service_value: str | None) -> bool:
    """A product shows the effective value, so a value equal to the service's is taken as inherited."""
    return bool(value and service_value and value.lower() == service_value.lower())


def product_target(row: t.Mapping[str, t.Any], store: str, cls: str,
                   service: _state.LicensingService | None) -> ClientTarget:
    svc_raw = service.raw if service else {}
    machine = _state.text(row.get("KeyManagementServiceMachine"))
    domain = _state.text(row.get("KeyManagementServiceLookupDomain"))
    return ClientTarget(
        store=store,
        cls=cls,
        activation_id=str(row.get("ID") or "").lower(),
        name=_state.text(row.get("Name")),
        machine=machine,
        raw_port=_state.u32(row.get("KeyManagementServicePort")) if machine else None,
        lookup_domain=domain,
        activation_type=_activation_type_name(row.get("VLActivationTypeEnabled")),
        machine_inherited=_inherited(machine, _state.text(svc_raw.get("KeyManagementServiceMachine"))),
        domain_inherited=_inherited(domain, _state.text(svc_raw.get("KeyManagementServiceLookupDomain"))),
    )


@dataclasses.dataclass(frozen=True)
class ClientWant:
    """Validated kms_client options. ``None`` means "leave alone"; ``lookup_domain`` "" clears."""

    family: str
    activation_ids: tuple[str, ...]
    state: str
    address: _kms.KmsAddress | None
    lookup_domain: str | None
    host_caching: bool | None
    activation_type: str | None

    @property
    def touches_products(self) -> bool:
        return self.address is not None or self.state == "absent" or self.lookup_domain is not None or \
            self.activation_type is not None


def desired_client_settings(params: t.Mapping[str, t.Any]) -> ClientWant:
    """Validate the kms_client options (see the module documentation); :class:`_kms.SettingError`."""
    ids = _kms.validate_activation_ids(params.get("activation_ids") or [])
    family = "ids" if ids else (params.get("product") or "windows")
    state = params.get("state") or "present"
    address = None
    if params.get("kms_host") is not None:
        if state == "absent":
            raise _kms.SettingError("kms_host cannot be given with state=absent, which clears the KMS host")
        address = _kms.parse_kms_host(params["kms_host"])
    if params.get("kms_port") is not None:
        if state == "absent":
            raise _kms.SettingError("kms_port cannot be given with state=absent, which clears the KMS host and port")
        if address is None:
            raise _kms.SettingError(
                f"kms_port {params['kms_port']} needs kms_host: the port belongs to a KMS host name "
                "(slmgr.vbs /skms host:port)"
            )
        port = _kms.validate_port(params["kms_port"], "kms_port")
        if address.port is not None and address.port != port:
            raise _kms.SettingError(f"kms_host '{params['kms_host']}' names port {address.port} but kms_port is {port}")
        address = _kms.KmsAddress(address.machine, port)
    lookup = params.get("lookup_domain")
    if lookup is not None:
        lookup = _kms.validate_dns_name(lookup, "lookup_domain") if str(lookup).strip() else ""
    return ClientWant(
        family=family,
        activation_ids=ids,
        state=state,
        address=address,
        lookup_domain=lookup,
        host_caching=params.get("host_caching"),
        activation_type=params.get("activation_type"),
    )


@dataclasses.dataclass
class KmsClientPlan:
    """The plan, the targets before and (predicted) after, and warnings."""

    plan: _action.Plan
    targets: list[ClientTarget]
    caching_service: str | None
    host_caching_before: bool | None
    host_caching_after: bool | None
    after_targets: list[ClientTarget]
    warnings: list[str]

    def diff_view(self, targets: t.Sequence[ClientTarget], caching: bool | None) -> dict[str, t.Any]:
        out: dict[str, t.Any] = {"targets": {tg.label: _settings_view(tg) for tg in targets}}
        if self.caching_service:
            out["host_caching"] = caching
        return out


def _settings_view(tg: ClientTarget) -> dict[str, t.Any]:
    return {"kms_host": tg.machine, "kms_port": tg.port, "lookup_domain": tg.lookup_domain,
            "activation_type": tg.activation_type}


def _fail(want: ClientWant, cause: str) -> _action.LicensingActionError:
    return _action.LicensingActionError(
        f"Failed to configure the KMS client settings of {_kms.FAMILY_LABELS[want.family]}: {cause}"
    )


def resolve_targets(want: ClientWant, st: KmsClientState) -> tuple[list[ClientTarget], str | None]:
    """The targets of the per-client settings and the class whose service holds host caching.

    Raises :class:`_action.LicensingActionError` when the family has no KMS client license
    here, or an activation ID is unknown.
    """
    win8 = st.win8plus
    if want.family == "windows":
        if st.spp_service is None:
            raise _fail(want, "the Software Licensing Service (SoftwareLicensingService) could not be read")
        return [service_target(st.spp_service, _state.SPP_SERVICE, st.spp_products)], _state.SPP_SERVICE
    if want.family == "ids":
        found: dict[str, ClientTarget] = {}
        for row in st.spp_products:
            tg = product_target(row, "spp", _state.SPP_PRODUCT, st.spp_service)
            found.setdefault(tg.activation_id or "", tg)
        for row in st.ospp_products:
            tg = product_target(row, "ospp", _state.OSPP_PRODUCT, st.ospp_service)
            found.setdefault(tg.activation_id or "", tg)
        missing = [a for a in want.activation_ids if a not in found]
        if missing:
            raise _fail(want, "no licensing product has the activation ID " + ", ".join(f"'{m}'" for m in missing))
        targets = [found[a] for a in want.activation_ids]
        stores = {tg.store for tg in targets}
        caching = None
        if want.host_caching is not None:
            if len(stores) > 1:
                raise _fail(want, "host_caching is a setting of a licensing service, and these products belong to "
                                  "two (SPP and OSPP); give the IDs of one platform per task")
            caching = _state.SPP_SERVICE if stores == {"spp"} else _state.OSPP_SERVICE
        return targets, caching
    # Office: the store follows the OS for 2013+, OSPP always for 2010 [OSPP15].
    use_ospp = want.family == "office2010" or win8 is False
    rows = st.ospp_products if use_ospp else st.spp_products
    service = st.ospp_service if use_ospp else st.spp_service
    cls = _state.OSPP_PRODUCT if use_ospp else _state.SPP_PRODUCT
    if use_ospp and not st.ospp_present:
        raise _fail(want, "the Office Software Protection Platform (osppsvc) is not installed on this host, so no "
                          f"{_kms.FAMILY_LABELS[want.family]} KMS client license exists here")
    targets = [product_target(r, "ospp" if use_ospp else "spp", cls, service) for r in rows]
    if not targets and want.touches_products:
        raise _fail(want, f"no {_kms.FAMILY_LABELS[want.family]} KMS client license ({_kms.KMS_CLIENT_MARK}) was found on this "
                          "host; install the volume edition of Office first")
    caching = _state.OSPP_SERVICE if use_ospp else _state.SPP_SERVICE
    return targets, caching


def _check_win8_options(want: ClientWant, st: KmsClientState, targets: t.Sequence[ClientTarget]) -> None:
    """Lookup domain and activation type exist only on Windows 8+ and only in SPP [SLMGR10] [OSPP15].

    Asking for what such a host already has (``activation_type: all``, ``lookup_domain: ""``)
    is not refused: the desired state holds there, so a role can pass its defaults to every host.
    """
    asked = [n for n, v in (("lookup_domain", want.lookup_domain), ("activation_type", want.activation_type))
             if v is not None and v not in ("", "all")]
    if not asked:
        return
    names = " and ".join(asked) + (" need" if len(asked) > 1 else " needs")
    if st.win8plus is False:
        caption = st.os.caption if st.os and st.os.caption else "this Windows version"
        raise _fail(want, f"{names} Windows 8 / Windows Server 2012 or later, and this host runs {caption} "
                          f"(version {st.os.version if st.os else 'unknown'}), where the licensing service has "
                          "no such setting (slmgr.vbs /skms-domain and /act-type, ospp.vbs /skms-domain and "
                          "/actype are Windows 8+ only)")
    if any(tg.store == "ospp" for tg in targets):
        what = " and ".join(asked)
        raise _fail(want, f"{what} cannot be set on Office Software Protection Platform products "
                          "(Office 2010, or Office on Windows 7): OSPP has no such setting")


def plan_kms_client(want: ClientWant, st: KmsClientState) -> KmsClientPlan:
    """Plan the KMS client settings for ``want`` on the state read.

    Per target (the service for Windows, each KMS client product for Office or IDs):
    ``state=present`` with an address sets the machine when it differs and the port when
    the effective port differs (``SetKeyManagementServicePort`` when a port is given,
    ``ClearKeyManagementServicePort`` otherwise, as slmgr.vbs /skms does);
    ``state=absent`` clears the machine and a non-default port; ``lookup_domain`` sets
    or (``""``) clears; ``activation_type`` ``all`` clears, others set. Host caching is
    set once, on the service that holds it. One operation per method, with a WQL filter
    selecting exactly the products that need it. The batch does not stop at a failed
    operation (the failure is still reported, with the state read back).
    """
    if st.errors and st.spp_service is None and st.ospp_service is None:
        raise _fail(want, "; ".join(st.errors))
    targets, caching_cls = resolve_targets(want, st)
    _check_win8_options(want, st, targets)
    # The setters are independent of each other, so none is skipped after another failed
    # (the read-back appended to the batch runs in any case: the executor never skips reads).
    plan = _action.Plan(stop_on_error=False)
    warnings: list[str] = []
    after: list[ClientTarget] = []
    # method -> (targets needing it, arguments)
    calls: dict[tuple[str, str], list[ClientTarget]] = {}
    call_args: dict[tuple[str, str], dict[str, t.Any]] = {}

    def need(tg: ClientTarget, method: str, args: dict[str, t.Any] | None = None) -> None:
        key = (tg.cls, method)
        calls.setdefault(key, []).append(tg)
        if args:
            call_args[key] = args

    for tg in targets:
        new = tg
        if want.address is not None:
            addr = want.address
            desired_port = addr.port or _state.DEFAULT_KMS_PORT
            if (tg.machine or "").lower() != addr.machine.lower():
                need(tg, "SetKeyManagementServiceMachine", {"MachineName": addr.machine})
            if tg.machine is None or tg.port != desired_port:
                if addr.port is not None:
                    need(tg, "SetKeyManagementServicePort", {"PortNumber": addr.port})
                elif tg.raw_port:
                    need(tg, "ClearKeyManagementServicePort")
            new = dataclasses.replace(new, machine=addr.machine, raw_port=addr.port)
        elif want.state == "absent" and tg.machine and not tg.machine_inherited:
            need(tg, "ClearKeyManagementServiceMachine")
            if tg.raw_port:
                need(tg, "ClearKeyManagementServicePort")
            new = dataclasses.replace(new, machine=None, raw_port=None)
        if want.lookup_domain:
            if (tg.lookup_domain or "").lower() != want.lookup_domain:
                need(tg, "SetKeyManagementServiceLookupDomain", {"LookupDomain": want.lookup_domain})
                new = dataclasses.replace(new, lookup_domain=want.lookup_domain)
        elif want.lookup_domain == "" and tg.lookup_domain and not tg.domain_inherited:
            need(tg, "ClearKeyManagementServiceLookupDomain")
            new = dataclasses.replace(new, lookup_domain=None)
        if want.activation_type is not None and (tg.activation_type or "all") != want.activation_type:
            value = _kms.ACTIVATION_TYPES[want.activation_type]
            if value:
                need(tg, "SetVLActivationTypeEnabled", {"ActivationType": value})
            else:
                need(tg, "ClearVLActivationTypeEnabled")
            new = dataclasses.replace(new, activation_type=want.activation_type)
        after.append(new)

    order = ("SetKeyManagementServiceMachine", "ClearKeyManagementServiceMachine", "SetKeyManagementServicePort",
             "ClearKeyManagementServicePort", "SetKeyManagementServiceLookupDomain",
             "ClearKeyManagementServiceLookupDomain", "SetVLActivationTypeEnabled", "ClearVLActivationTypeEnabled")
    for (cls, method), tgs in sorted(calls.items(), key=lambda kv: (kv[0][0], order.index(kv[0][1]))):
        args = call_args.get((cls, method))
        flt = None if tgs[0].is_service else _kms.wql_ids(tg.activation_id or "" for tg in tgs)
        plan.add(_client.cim_invoke(cls, method, filter=flt, arguments=args),
                 _describe(method, args, tgs))

    caching_before = caching_after = None
    if caching_cls:
        svc = st.spp_service if caching_cls == _state.SPP_SERVICE else st.ospp_service
        caching_before = caching_after = svc.host_caching if svc else None
        if want.host_caching is not None:
            caching_after = want.host_caching
            if svc is None:
                raise _fail(want, f"{caching_cls} could not be read, so host caching cannot be set")
            if svc.host_caching != want.host_caching:
                plan.add(_client.cim_invoke(caching_cls, "DisableKeyManagementServiceHostCaching",
                                            arguments={"DisableCaching": not want.host_caching}),
                         f"turn KMS host caching {'on' if want.host_caching else 'off'} on {caching_cls}")
            if want.family == "office" and caching_cls == _state.SPP_SERVICE:
                warnings.append("On Windows 8 and later Office shares the Software Licensing Service with "
                                "Windows, so host_caching applies to Windows too (ospp.vbs /cachst does the same)")

    if want.family == "windows" and (want.address is not None or want.state == "absent"):
        desired = want.address.machine.lower() if want.address else None
        for row in st.spp_products:
            own = _state.text(row.get("KeyManagementServiceMachine"))
            if own and own.lower() != (desired or "") and own.lower() != (targets[0].machine or "").lower():
                warnings.append(
                    f"{_state.text(row.get('Name')) or row.get('ID')} ({str(row.get('ID')).lower()}) has its own "
                    f"KMS host '{own}', which overrides the service-level setting; use activation_ids to change it"
                )
    if want.state == "absent" and want.family != "windows":
        inherited = sorted({tg.label for tg in targets if tg.machine_inherited})
        if inherited and st.spp_service and st.spp_service.kms_machine:
            warnings.append(
                f"Products still use the KMS host '{st.spp_service.kms_machine}' set on the licensing service "
                "(slmgr.vbs /skms); clear it with product=windows to use DNS discovery: " + ", ".join(inherited)
            )
    return KmsClientPlan(
        plan=plan,
        targets=targets,
        caching_service=caching_cls,
        host_caching_before=caching_before,
        host_caching_after=caching_after,
        after_targets=after,
        warnings=warnings,
    )


def _describe(method: str, args: dict[str, t.Any] | None, tgs: t.Sequence[ClientTarget]) -> str:
    where = tgs[0].cls if tgs[0].is_service else ", ".join(tg.label for tg in tgs)
    text = {
        "SetKeyManagementServiceMachine": f"set the KMS host to '{(args or {}).get('MachineName')}'",
        "ClearKeyManagementServiceMachine": "clear the KMS host (use DNS discovery)",
        "SetKeyManagementServicePort": f"set the KMS port to {(args or {}).get('PortNumber')}",
        "ClearKeyManagementServicePort": "clear the KMS port (use 1688)",
        "SetKeyManagementServiceLookupDomain": f"set the KMS lookup domain to '{(args or {}).get('LookupDomain')}'",
        "ClearKeyManagementServiceLookupDomain": "clear the KMS lookup domain",
        "SetVLActivationTypeEnabled": "allow only the activation type "
        + next((k for k, v in _kms.ACTIVATION_TYPES.items() if v == (args or {}).get("ActivationType")), "?"),
        "ClearVLActivationTypeEnabled": "allow all activation types",
    }[method]
    return f"{text} on {where}"


def client_targets_after(want: ClientWant, st: KmsClientState) -> tuple[list[ClientTarget], bool | None]:
    """The targets and host caching as read back after applying (same resolution as planning)."""
    targets, caching_cls = resolve_targets(want, st)
    caching = None
    if caching_cls:
        svc = st.spp_service if caching_cls == _state.SPP_SERVICE else st.ospp_service
        caching = svc.host_caching if svc else None
    return targets, caching
