# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reader and planner of the KMS host settings (module ``kms_host``).

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

Pure Python: no Ansible imports. A *reader* (``KmsHostReader``)
gives the read operations of one batch and parses their results; a *planner*
(:func:`plan_kms_host`) turns the desired settings and
what was read into the operations of one apply batch plus the before/after view
used for ``diff`` and the results. Planners never touch the host.

Facts used (tags of docs/reference/licensing-api.md and existing-tools.md):

* KMS host setters are methods of ``SoftwareLicensingService``:
  ``SetKeyManagementServiceListeningPort(PortNumber)``,
  ``DisableKeyManagementServiceDnsPublishing(DisablePublishing)``,
  ``EnableKeyManagementServiceLowPriority(EnableLowPriority)``,
  ``SetVLActivationInterval(ActivationInterval)``, ``SetVLRenewalInterval(RenewalInterval)``
  (15..43200 minutes), ``DisableKeyManagementServiceHostCaching(DisableCaching)``
  [MOF7601] [SLMGR10].
* slmgr.vbs calls the host setters only when a product with a key has
  ``IsKeyManagementServiceMachine`` = 1 and then prints "Warning: a KMS reboot is needed
  for this setting to take effect." after /sai, /sri, /sprt, /sdns, /cdns, /spri, /cpri,
  not after /skhc, /ckhc [SLMGR10 SetActivationInterval ... SetKmsLowPriority,
  SetHostCachingDisable]. ``DnsDomainPublishList`` is a registry value (MULTI_SZ lines
  ``domain, priority, weight``) read at the start of sppsvc [MS-REG].
"""

from __future__ import annotations

import dataclasses
import typing as t

from . import _action, _client, _errors, _kms, _state


@dataclasses.dataclass(frozen=True)
class PublishDomain:
    """One line of ``DnsDomainPublishList``: ``domain, priority, weight`` [MS-REG]."""

    domain: str
    priority: int = 0
    weight: int = 0

    def line(self) -> str:
        return f"{self.domain}, {self.priority}, {self.weight}"

    def as_dict(self) -> dict[str, t.Any]:
        return {"domain": self.domain, "priority": self.priority, "weight": self.weight}


def parse_publish_list(lines: t.Any) -> tuple[PublishDomain, ...]:
    """Parse the registry value: priority and weight are optional (0) [MS-REG]; blank or
    unreadable lines are skipped (sppsvc cannot use them either)."""
    if not isinstance(lines, list):
        lines = [lines] if isinstance(lines, str) else []
    out: list[PublishDomain] = []
    for raw in lines:
        parts = [p.strip() for p in str(raw).split(",")]
        if not parts[0]:
            continue
        nums = [int(p) if p.isdigit() else 0 for p in parts[1:3]]
        nums += [0] * (2 - len(nums))
        out.append(PublishDomain(parts[0].rstrip(".").lower(), nums[0], nums[1]))
    return tuple(out)


def validate_publish_domains(items: t.Sequence[t.Mapping[str, t.Any]]) -> tuple[PublishDomain, ...]:
    """The ``publish_domains`` option: DNS names, 0..65535 priority and weight, no duplicates."""
    out: list[PublishDomain] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"publish_domains[{i}]"
        domain = _kms.validate_dns_name(item.get("domain") or "", f"{where}.domain")
        if domain in seen:
            raise _kms.SettingError(f"{where}.domain '{domain}' is listed twice")
        seen.add(domain)
        nums = []
        for field in ("priority", "weight"):
            v = item.get(field)
            v = 0 if v is None else int(v)
            if not 0 <= v <= _kms.SRV_FIELD_MAX:
                raise _kms.SettingError(f"{where}.{field} {v} is outside 0..{_kms.SRV_FIELD_MAX} (a 16-bit SRV field)")
            nums.append(v)
        out.append(PublishDomain(domain, nums[0], nums[1]))
    return tuple(out)


#: kms_host option -> whether a change needs an sppsvc restart ([SLMGR10] reboot warning, [MS-REG]).
HOST_SETTINGS: dict[str, bool] = {
    "port": True,
    "dns_publishing": True,
    "publish_domains": True,
    "low_priority": True,
    "activation_interval": True,
    "renewal_interval": True,
    "host_caching": False,
}


@dataclasses.dataclass(frozen=True)
class KmsHostSettings:
    """The KMS host settings as the module reports them (``port`` is 1688 when unset)."""

    port: int | None
    dns_publishing: bool | None
    publish_domains: tuple[PublishDomain, ...]
    low_priority: bool | None
    activation_interval: int | None
    renewal_interval: int | None
    host_caching: bool | None

    def as_dict(self) -> dict[str, t.Any]:
        return {
            "port": self.port,
            "dns_publishing": self.dns_publishing,
            "publish_domains": [d.as_dict() for d in self.publish_domains],
            "low_priority": self.low_priority,
            "activation_interval": self.activation_interval,
            "renewal_interval": self.renewal_interval,
            "host_caching": self.host_caching,
        }


@dataclasses.dataclass(frozen=True)
class KmsHostState:
    """What :class:`KmsHostReader` learned: the SPP service, the KMS host products, the publish list."""

    service: _state.LicensingService | None
    host_products: tuple[_state.LicensingProduct, ...]
    publish_domains: tuple[PublishDomain, ...]
    errors: tuple[str, ...] = ()

    @property
    def is_kms_host(self) -> bool:
        """A product with a key has the KMS host role ([SLMGR10] checks exactly this)."""
        return bool(self.host_products)

    @property
    def settings(self) -> KmsHostSettings:
        s = self.service
        return KmsHostSettings(
            port=s.listening_port if s else None,
            dns_publishing=s.dns_publishing if s else None,
            publish_domains=self.publish_domains,
            low_priority=s.low_priority if s else None,
            activation_interval=s.activation_interval_minutes if s else None,
            renewal_interval=s.renewal_interval_minutes if s else None,
            host_caching=s.host_caching if s else None,
        )

    @property
    def primary(self) -> _state.LicensingProduct | None:
        """The Windows KMS host product when there is one, else the first host product."""
        for p in self.host_products:
            if p.family == "windows":
                return p
        return self.host_products[0] if self.host_products else None


class KmsHostReader:
    """One batch: the SPP service, the SPP products with a key and the KMS host role, and
    ``DnsDomainPublishList``. The OSPP classes are not read: Office KMS host licenses live
    in Windows SPP (licensing-api.md section 2)."""

    HOST_FILTER = "PartialProductKey <> null AND IsKeyManagementServiceMachine = 1"

    def operations(self) -> list[dict[str, t.Any]]:
        return [
            _state.licensing_query(_state.SPP_SERVICE),
            _state.licensing_query(_state.SPP_PRODUCT, self.HOST_FILTER),
            {"op": "reg_get", "path": _kms.SPP_KEY, "names": [_kms.PUBLISH_LIST_VALUE]},
        ]

    def parse(self, results: t.Sequence[t.Mapping[str, t.Any]]) -> KmsHostState:
        if len(results) < 3:
            raise ValueError(f"expected 3 results for the KMS host read, got {len(results)}")
        errors = [e for e in (
            _kms.query_error(_state.SPP_SERVICE, results[0]),
            _kms.query_error(_state.SPP_PRODUCT, results[1]),
        ) if e]
        svc_rows = _kms.instances(results[0])
        service = _state.LicensingService.from_cim(svc_rows[0], "spp") if svc_rows else None
        products = tuple(
            p for p in (_state.LicensingProduct.from_cim(r, "spp", service, None) for r in _kms.instances(results[1]))
            if p.is_kms_host and p.has_key
        )
        reg = results[2]
        publish: tuple[PublishDomain, ...] = ()
        if reg.get("ok"):
            value = (reg.get("values") or {}).get(_kms.PUBLISH_LIST_VALUE)
            if value:
                publish = parse_publish_list(value.get("value"))
        else:
            errors.append(f"Failed to read the registry value {_kms.PUBLISH_LIST_VALUE}: {reg.get('error')}")
        return KmsHostState(service=service, host_products=products, publish_domains=publish, errors=tuple(errors))


@dataclasses.dataclass
class KmsHostPlan:
    """The plan and what it means: predicted settings, whether sppsvc restarts."""

    plan: _action.Plan
    before: KmsHostSettings
    after: KmsHostSettings
    changed_settings: tuple[str, ...]
    restart: bool
    restart_required: bool
    warnings: list[str]


NOT_A_HOST = (
    "Failed to configure the KMS host: this machine is not a KMS host (no product with an installed key has "
    "IsKeyManagementServiceMachine set); install and activate a KMS host key (CSVLK) first with "
    "winops.volume_activation.product_key and winops.volume_activation.activation"
)


def desired_host_settings(params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Validate the kms_host options; return option -> desired value for the options given.

    Raises :class:`_kms.SettingError` naming the option, the value and the cause.
    """
    want: dict[str, t.Any] = {}
    if params.get("port") is not None:
        want["port"] = _kms.validate_port(params["port"], "port")
    for name in ("activation_interval", "renewal_interval"):
        if params.get(name) is not None:
            want[name] = _kms.validate_interval(int(params[name]), name)
    for name in ("dns_publishing", "low_priority", "host_caching"):
        if params.get(name) is not None:
            want[name] = bool(params[name])
    if params.get("publish_domains") is not None:
        want["publish_domains"] = validate_publish_domains(params["publish_domains"])
    return want


def plan_kms_host(want: t.Mapping[str, t.Any], state: KmsHostState, restart_service: bool = True,
                  check_mode: bool = False) -> KmsHostPlan:
    """Plan the KMS host settings.

    ``want`` comes from :func:`desired_host_settings`. Raises
    :class:`_action.LicensingActionError` (:data:`NOT_A_HOST`) on a machine that is not a
    KMS host, whatever is asked, because Windows refuses the host setters there
    (0xC004F039, as slmgr.vbs does) - except in check mode, where the host key a preceding
    task would install is not there either: the plan is then made against the settings the
    machine has now, with a warning, so that a whole playbook can be checked before its first
    run. One operation per setting that differs, then ``service_restart sppsvc`` when a
    restart-requiring setting changed and ``restart_service`` is true.
    """
    if state.errors and state.service is None:
        raise _action.LicensingActionError("Failed to read the KMS host settings: " + "; ".join(state.errors))
    pending: list[str] = []
    if not state.is_kms_host:
        if not check_mode:
            raise _action.LicensingActionError(NOT_A_HOST)
        pending.append("this machine is not a KMS host yet (no activated KMS host key); check mode shows the "
                       "settings as they would be set once it is, and a real run fails here until the host key is "
                       "installed and activated")
    before = state.settings
    plan = _action.Plan()
    changed: list[str] = []
    svc = _state.SPP_SERVICE

    def invoke(method: str, args: dict[str, t.Any], description: str) -> None:
        plan.add(_client.cim_invoke(svc, method, arguments=args), description)

    if "port" in want and want["port"] != before.port:
        invoke("SetKeyManagementServiceListeningPort", {"PortNumber": want["port"]},
               f"set the KMS listening port to {want['port']} (was {before.port})")
        changed.append("port")
    if "dns_publishing" in want and want["dns_publishing"] != before.dns_publishing:
        invoke("DisableKeyManagementServiceDnsPublishing", {"DisablePublishing": not want["dns_publishing"]},
               f"turn DNS publishing of the KMS host {'on' if want['dns_publishing'] else 'off'}")
        changed.append("dns_publishing")
    if "publish_domains" in want and tuple(want["publish_domains"]) != before.publish_domains:
        domains: tuple[PublishDomain, ...] = tuple(want["publish_domains"])
        if domains:
            plan.add(
                {"op": "reg_set", "path": _kms.SPP_KEY, "name": _kms.PUBLISH_LIST_VALUE, "type": "MultiString",
                 "value": [d.line() for d in domains]},
                "set the DNS domains the KMS host publishes to (DnsDomainPublishList) to "
                + "; ".join(d.line() for d in domains),
            )
        else:
            plan.add({"op": "reg_remove", "path": _kms.SPP_KEY, "name": _kms.PUBLISH_LIST_VALUE},
                     "remove the list of extra DNS domains the KMS host publishes to (DnsDomainPublishList)")
        changed.append("publish_domains")
    if "low_priority" in want and want["low_priority"] != before.low_priority:
        invoke("EnableKeyManagementServiceLowPriority", {"EnableLowPriority": want["low_priority"]},
               f"set the KMS host priority to {'low' if want['low_priority'] else 'normal'}")
        changed.append("low_priority")
    if "activation_interval" in want and want["activation_interval"] != before.activation_interval:
        invoke("SetVLActivationInterval", {"ActivationInterval": want["activation_interval"]},
               f"set the KMS activation interval to {want['activation_interval']} minutes "
               f"(was {before.activation_interval})")
        changed.append("activation_interval")
    if "renewal_interval" in want and want["renewal_interval"] != before.renewal_interval:
        invoke("SetVLRenewalInterval", {"RenewalInterval": want["renewal_interval"]},
               f"set the KMS renewal interval to {want['renewal_interval']} minutes (was {before.renewal_interval})")
        changed.append("renewal_interval")
    if "host_caching" in want and want["host_caching"] != before.host_caching:
        invoke("DisableKeyManagementServiceHostCaching", {"DisableCaching": not want["host_caching"]},
               f"turn KMS host caching {'on' if want['host_caching'] else 'off'}")
        changed.append("host_caching")

    needs_restart = any(HOST_SETTINGS[c] for c in changed)
    restart = needs_restart and restart_service
    if restart:
        plan.add({"op": "service_restart", "name": _kms.SPP_SERVICE_NAME},
                 "restart the Software Protection service (sppsvc) so that the KMS host applies the new settings")
    after = KmsHostSettings(
        port=want.get("port", before.port),
        dns_publishing=want.get("dns_publishing", before.dns_publishing),
        publish_domains=tuple(want.get("publish_domains", before.publish_domains)),
        low_priority=want.get("low_priority", before.low_priority),
        activation_interval=want.get("activation_interval", before.activation_interval),
        renewal_interval=want.get("renewal_interval", before.renewal_interval),
        host_caching=want.get("host_caching", before.host_caching),
    )
    warnings: list[str] = list(pending)
    effective_publishing = after.dns_publishing
    if "publish_domains" in want and want["publish_domains"] and effective_publishing is False:
        warnings.append("publish_domains has no effect while DNS publishing is off (dns_publishing: false)")
    if state.is_kms_host and not any(p.activated for p in state.host_products):
        warnings.append(
            "The KMS host is not activated yet: it answers clients with 0xC004F041 "
            f"({_errors.symbol(0xC004F041)}) until its host key is activated"
        )
    return KmsHostPlan(
        plan=plan,
        before=before,
        after=after,
        changed_settings=tuple(changed),
        restart=restart,
        restart_required=needs_restart and not restart_service,
        warnings=warnings,
    )


def host_product_dict(p: _state.LicensingProduct) -> dict[str, t.Any]:
    """A KMS host product in results: identity, activation, count and counters."""
    kh = p.kms_host
    return {
        "activation_id": p.id,
        "name": p.name,
        "family": p.family,
        "office_version": p.office_version,
        "license_status": p.status,
        "activated": p.activated,
        "current_count": kh.current_count if kh else None,
        "required_count": kh.required_count if kh else None,
        "requests": _state.kms_requests_dict(kh.requests) if kh else None,
    }
