# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Readers and planners of the KMS host and KMS client settings (kms_host, kms_client).

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

Pure Python: no Ansible imports. A *reader* (``KmsHostReader``, ``KmsClientReader``)
gives the read operations of one batch and parses their results; a *planner*
(:func:`plan_kms_host`, :func:`plan_kms_client`) turns the desired settings and
what was read into the operations of one apply batch plus the before/after view
used for ``diff`` and the results. Planners never touch the host.

Facts used (tags of shared/reference/licensing-api.md and anchors.md):

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
service's is taken as inheriting it (see :func:`_product_own`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import typing as t

from . import _action, _client, _errors, _products, _state

SPP_KEY = "HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\SoftwareProtectionPlatform"
PUBLISH_LIST_VALUE = "DnsDomainPublishList"
SPP_SERVICE_NAME = "sppsvc"
#: Interval bounds of SetVLActivationInterval / SetVLRenewalInterval: 15 minutes to 30 days [WSD-SLMGR].
INTERVAL_MIN, INTERVAL_MAX = 15, 43200
#: SRV priority and weight are 16-bit (RFC 2782).
SRV_FIELD_MAX = 65535
#: VLActivationTypeEnabled values [MS-SLP]: 0 all, 1 AD, 2 KMS, 3 token.
ACTIVATION_TYPES: dict[str, int] = {"all": 0, "ad": 1, "kms": 2, "token": 3}
#: The product families kms_client configures.
FAMILIES = ("windows", "office", "office2010")
FAMILY_LABELS = {
    "windows": "Windows",
    "office": "Office 2013 and later",
    "office2010": "Office 2010",
    "ids": "the products given by activation_ids",
}
#: slmgr classifies KMS clients by this Description substring [SLMGR10].
KMS_CLIENT_MARK = "VOLUME_KMSCLIENT"

_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_GUID_RE = re.compile(r"^\{?[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}?$")


class SettingError(_action.PlanningError, ValueError):
    """A desired setting is invalid; the message names the option, the value and the cause."""


# --------------------------------------------------------------------------- validation


def validate_dns_name(value: str, option: str) -> str:
    """A DNS name (host name or domain) without the trailing dot, lower-cased.

    Labels of 1..63 letters, digits, hyphens (underscore tolerated, as in SRV owner names),
    not starting or ending with a hyphen, at most 253 characters in all. Raises
    :class:`SettingError` naming ``option`` and the value.
    """
    name = str(value).strip()
    bare = name[:-1] if name.endswith(".") else name
    if not bare:
        raise SettingError(f"{option} '{value}' is empty")
    if len(bare) > 253:
        raise SettingError(f"{option} '{value}' is longer than 253 characters")
    bad = [label for label in bare.split(".") if not _LABEL_RE.match(label)]
    if bad:
        raise SettingError(
            f"{option} '{value}' is not a valid DNS name: label '{bad[0]}' must be 1 to 63 letters, digits or "
            "hyphens and must not start or end with a hyphen"
        )
    return bare.lower()


def validate_port(value: t.Any, option: str) -> int:
    """A TCP port 1..65535 as int; :class:`SettingError` otherwise."""
    try:
        port = int(str(value).strip())
    except (TypeError, ValueError):
        raise SettingError(f"{option} '{value}' is not a port number") from None
    if not 1 <= port <= 65535:
        raise SettingError(f"{option} {port} is outside 1..65535")
    return port


def validate_interval(value: int, option: str) -> int:
    """An activation/renewal interval in minutes, 15..43200 [WSD-SLMGR]."""
    if not INTERVAL_MIN <= value <= INTERVAL_MAX:
        raise SettingError(
            f"{option} {value} is outside {INTERVAL_MIN}..{INTERVAL_MAX} minutes (15 minutes to 30 days)"
        )
    return value


@dataclasses.dataclass(frozen=True)
class KmsAddress:
    """A KMS host as ``SetKeyManagementServiceMachine`` takes it, and an optional port.

    ``machine`` keeps the brackets of an IPv6 address, as slmgr.vbs passes it [SLMGR10].
    """

    machine: str
    port: int | None


def parse_kms_host(value: str, option: str = "kms_host") -> KmsAddress:
    """Parse ``name``, ``name:port``, ``IPv4[:port]``, ``[IPv6]`` or ``[IPv6]:port``.

    Host names are validated as DNS names and lower-cased; an IPv6 address without
    brackets is refused (its colons would be read as a port, as slmgr.vbs does).
    """
    text = str(value).strip()
    if not text:
        raise SettingError(f"{option} is empty")
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SettingError(f"{option} '{value}' opens a bracket for an IPv6 address but does not close it")
        inner = text[1:end]
        try:
            addr = ipaddress.IPv6Address(inner)
        except ValueError:
            raise SettingError(f"{option} '{value}': '{inner}' is not an IPv6 address") from None
        rest = text[end + 1:]
        port = None
        if rest:
            if not rest.startswith(":"):
                raise SettingError(f"{option} '{value}': expected ':port' after the IPv6 address, got '{rest}'")
            port = validate_port(rest[1:], f"{option} port")
        return KmsAddress(f"[{addr.compressed}]", port)
    if text.count(":") > 1:
        raise SettingError(
            f"{option} '{value}' looks like an IPv6 address: write it in brackets, e.g. '[{text}]' or '[{text}]:1688'"
        )
    host, sep, port_text = text.partition(":")
    port = validate_port(port_text, f"{option} port") if sep else None
    try:
        return KmsAddress(str(ipaddress.IPv4Address(host)), port)
    except ValueError:
        pass
    if re.fullmatch(r"[0-9.]+", host):
        raise SettingError(f"{option} '{value}': '{host}' is neither an IPv4 address nor a host name")
    return KmsAddress(validate_dns_name(host, option), port)


def validate_activation_ids(values: t.Sequence[str]) -> tuple[str, ...]:
    """Activation IDs as lower-case GUIDs without braces, in order, without duplicates."""
    bad = [v for v in values if not _GUID_RE.match(str(v).strip())]
    if bad:
        raise SettingError(f"activation_ids must be GUIDs, got {', '.join(repr(b) for b in bad)}")
    return tuple(dict.fromkeys(str(v).strip().strip("{}").lower() for v in values))


def windows8_or_later(os_info: _state.OperatingSystem | None) -> bool | None:
    """True on Windows 8 / Server 2012 (6.2) and later; None when the version is unknown."""
    if os_info is None or not os_info.version:
        return None
    parts = os_info.version.split(".")
    try:
        major, minor = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return None
    return (major, minor) >= (6, 2)


def _instances(result: t.Mapping[str, t.Any] | None) -> list[t.Mapping[str, t.Any]]:
    if not result or not result.get("ok"):
        return []
    return list(result.get("instances") or [])


def _query_error(cls: str, result: t.Mapping[str, t.Any] | None) -> str | None:
    """``Failed to query <cls>: 0x... (SYMBOL): ...`` for a failed query, else None."""
    if not result or result.get("ok") or result.get("skipped"):
        return None
    code = result.get("hresult")
    if code is None:
        return f"Failed to query {cls}: {result.get('error') or 'unknown error'}"
    return f"Failed to query {cls}: {_errors.explain(code, result.get('error'))}"


def _wql_ids(ids: t.Iterable[str]) -> str:
    return " OR ".join(f"ID = {_state.wql_string(i)}" for i in ids)


# =========================================================================== KMS host


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
        domain = validate_dns_name(item.get("domain") or "", f"{where}.domain")
        if domain in seen:
            raise SettingError(f"{where}.domain '{domain}' is listed twice")
        seen.add(domain)
        nums = []
        for field in ("priority", "weight"):
            v = item.get(field)
            v = 0 if v is None else int(v)
            if not 0 <= v <= SRV_FIELD_MAX:
                raise SettingError(f"{where}.{field} {v} is outside 0..{SRV_FIELD_MAX} (a 16-bit SRV field)")
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
            _client.cim_query(_state.SPP_SERVICE),
            _client.cim_query(_state.SPP_PRODUCT, filter=self.HOST_FILTER),
            {"op": "reg_get", "path": SPP_KEY, "names": [PUBLISH_LIST_VALUE]},
        ]

    def parse(self, results: t.Sequence[t.Mapping[str, t.Any]]) -> KmsHostState:
        if len(results) < 3:
            raise ValueError(f"expected 3 results for the KMS host read, got {len(results)}")
        errors = [e for e in (
            _query_error(_state.SPP_SERVICE, results[0]),
            _query_error(_state.SPP_PRODUCT, results[1]),
        ) if e]
        svc_rows = _instances(results[0])
        service = _state.LicensingService.from_cim(svc_rows[0], "spp") if svc_rows else None
        products = tuple(
            p for p in (_state.LicensingProduct.from_cim(r, "spp", service, None) for r in _instances(results[1]))
            if p.is_kms_host and p.has_key
        )
        reg = results[2]
        publish: tuple[PublishDomain, ...] = ()
        if reg.get("ok"):
            value = (reg.get("values") or {}).get(PUBLISH_LIST_VALUE)
            if value:
                publish = parse_publish_list(value.get("value"))
        else:
            errors.append(f"Failed to read the registry value {PUBLISH_LIST_VALUE}: {reg.get('error')}")
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

    Raises :class:`SettingError` naming the option, the value and the cause.
    """
    want: dict[str, t.Any] = {}
    if params.get("port") is not None:
        want["port"] = validate_port(params["port"], "port")
    for name in ("activation_interval", "renewal_interval"):
        if params.get(name) is not None:
            want[name] = validate_interval(int(params[name]), name)
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
                {"op": "reg_set", "path": SPP_KEY, "name": PUBLISH_LIST_VALUE, "type": "MultiString",
                 "value": [d.line() for d in domains]},
                "set the DNS domains the KMS host publishes to (DnsDomainPublishList) to "
                + "; ".join(d.line() for d in domains),
            )
        else:
            plan.add({"op": "reg_remove", "path": SPP_KEY, "name": PUBLISH_LIST_VALUE},
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
        plan.add({"op": "service_restart", "name": SPP_SERVICE_NAME},
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


# =========================================================================== KMS client


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
        return windows8_or_later(self.os)


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
            return _wql_ids(self.activation_ids)
        app = {
            "windows": _products.WINDOWS_APP_ID,
            "office": _products.OFFICE_APP_ID,
            "office2010": _products.OFFICE2010_APP_ID,
        }[self.family]
        cond = f"ApplicationID = {_state.wql_string(app)}"
        if self.family == "windows":
            return f"{cond} AND PartialProductKey <> null AND Description LIKE '%{KMS_CLIENT_MARK}%'"
        return f"{cond} AND Description LIKE '%{KMS_CLIENT_MARK}%'"

    def operations(self) -> list[dict[str, t.Any]]:
        flt = self.product_filter()
        ops = [
            _client.cim_query(_state.OS_CLASS, properties=list(_state.OS_PROPERTIES)),
            _client.cim_query(_state.SPP_SERVICE),
            _client.cim_query(_state.SPP_PRODUCT, filter=flt),
        ]
        if self.family != "windows":
            ops += [_client.cim_query(_state.OSPP_SERVICE), _client.cim_query(_state.OSPP_PRODUCT, filter=flt)]
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
            err = _query_error(op["class"], res)
            if err:
                errors.append(err)
        os_rows = _instances(results[0])
        spp = _instances(results[1])
        spp_service = _state.LicensingService.from_cim(spp[0], "spp") if spp else None
        ospp_service = None
        ospp_rows: list[t.Mapping[str, t.Any]] = []
        if len(ops) > 3 and ospp_present is None:
            rows = _instances(results[3])
            ospp_service = _state.LicensingService.from_cim(rows[0], "ospp") if rows else None
            ospp_present = ospp_service is not None
            ospp_rows = _instances(results[4])
        return KmsClientState(
            os=_state.OperatingSystem.from_cim(os_rows[0]) if os_rows else None,
            spp_service=spp_service,
            ospp_service=ospp_service,
            ospp_present=ospp_present,
            spp_products=tuple(_instances(results[2])),
            ospp_products=tuple(ospp_rows),
            errors=tuple(errors),
        )


def _activation_type_name(value: t.Any) -> str | None:
    v = _state.u32(value)
    return _state.ACTIVATION_TYPE_NAMES.get(v) if v is not None else None


def service_target(svc: _state.LicensingService, cls: str) -> ClientTarget:
    raw = svc.raw
    return ClientTarget(
        store=svc.source,
        cls=cls,
        activation_id=None,
        name=None,
        machine=_state.text(raw.get("KeyManagementServiceMachine")),
        raw_port=_state.u32(raw.get("KeyManagementServicePort")),
        lookup_domain=_state.text(raw.get("KeyManagementServiceLookupDomain")),
        activation_type=_activation_type_name(raw.get("VLActivationTypeEnabled")),
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
    address: KmsAddress | None
    lookup_domain: str | None
    host_caching: bool | None
    activation_type: str | None

    @property
    def touches_products(self) -> bool:
        return self.address is not None or self.state == "absent" or self.lookup_domain is not None or \
            self.activation_type is not None


def desired_client_settings(params: t.Mapping[str, t.Any]) -> ClientWant:
    """Validate the kms_client options (see the module documentation); :class:`SettingError`."""
    ids = validate_activation_ids(params.get("activation_ids") or [])
    family = "ids" if ids else (params.get("product") or "windows")
    state = params.get("state") or "present"
    address = None
    if params.get("kms_host") is not None:
        if state == "absent":
            raise SettingError("kms_host cannot be given with state=absent, which clears the KMS host")
        address = parse_kms_host(params["kms_host"])
    if params.get("kms_port") is not None:
        if state == "absent":
            raise SettingError("kms_port cannot be given with state=absent, which clears the KMS host and port")
        if address is None:
            raise SettingError(
                f"kms_port {params['kms_port']} needs kms_host: the port belongs to a KMS host name "
                "(slmgr.vbs /skms host:port)"
            )
        port = validate_port(params["kms_port"], "kms_port")
        if address.port is not None and address.port != port:
            raise SettingError(f"kms_host '{params['kms_host']}' names port {address.port} but kms_port is {port}")
        address = KmsAddress(address.machine, port)
    lookup = params.get("lookup_domain")
    if lookup is not None:
        lookup = validate_dns_name(lookup, "lookup_domain") if str(lookup).strip() else ""
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
        f"Failed to configure the KMS client settings of {FAMILY_LABELS[want.family]}: {cause}"
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
        return [service_target(st.spp_service, _state.SPP_SERVICE)], _state.SPP_SERVICE
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
                          f"{FAMILY_LABELS[want.family]} KMS client license exists here")
    targets = [product_target(r, "ospp" if use_ospp else "spp", cls, service) for r in rows]
    if not targets and want.touches_products:
        raise _fail(want, f"no {FAMILY_LABELS[want.family]} KMS client license ({KMS_CLIENT_MARK}) was found on this "
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
            value = ACTIVATION_TYPES[want.activation_type]
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
        flt = None if tgs[0].is_service else _wql_ids(tg.activation_id or "" for tg in tgs)
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
        + next((k for k, v in ACTIVATION_TYPES.items() if v == (args or {}).get("ActivationType")), "?"),
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
