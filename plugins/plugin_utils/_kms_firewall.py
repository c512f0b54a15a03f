# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reader and planner of the firewall rule that lets KMS clients reach a KMS host (kms_firewall).

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

Pure Python: no Ansible imports.

Facts (licensing-api.md section 5, [WSD-HOST]): Windows ships the inbound rule whose
locale-independent ``Name`` is ``SPPSVC-In-TCP`` ("Key Management Service (TCP-In)",
TCP 1688, program ``%SystemRoot%\\system32\\sppextcomobj.exe``, service sppsvc), disabled;
Microsoft enables it with ``Set-NetFirewallRule -Name SPPSVC-In-TCP -Profile
Domain,Private -Enabled True``. The rule opens 1688 only, so a KMS host listening on
another port (``slmgr.vbs /sprt``) needs a rule of its own: the collection's is
:data:`OWN_RULE` in the group :data:`OWN_GROUP` (the executor allows rule names starting
``winops-va-`` and finds them by name and group). Its name does not carry the port so
that the read batch can ask for it before the port is known (the port defaults to the
host's configured KMS port, read in the same batch): one round trip when nothing changes.

Remote addresses are parsed as ``Set-NetFirewallRule -RemoteAddress`` takes them: IPv4/IPv6
addresses, subnets (``10.0.0.0/8`` or ``10.0.0.0/255.0.0.0``), ranges (``a-b``) and the keywords
``Any``, ``LocalSubnet``, ``DNS``, ``DHCP``, ``WINS``, ``DefaultGateway``, ``Internet``,
``Intranet``, ``IntranetRemoteAccess``, ``PlayToDevice``, each of which may end in ``4`` or ``6``
(Microsoft's cmdlet reference, MicrosoftDocs/windows-powershell-docs
docset/winserver2022-ps/netsecurity/Set-NetFirewallRule.md, -RemoteAddress; ``RmtIntranet`` and
``Ply2Renders`` are the registry's spellings, [MS-FASP] FW_ADDRESS_KEYWORD). But the executor
sets them through the firewall COM API (``INetFwRule.RemoteAddresses``) on every Windows version,
because the NetSecurity cmdlets do not exist on Windows 7 / Server 2008 R2, the Office 2010 KMS
host OS (docs/executor-protocol.md, "Firewall operations"); that property takes ``*`` and only the
keywords ``LocalSubnet``, ``DNS``, ``DHCP``, ``WINS`` and ``DefaultGateway`` (MicrosoftDocs/sdk-api
sdk-api-src/content/netfw/nf-netfw-inetfwrule-get_remoteaddresses.md). The other keywords
(:data:`COM_KEYWORDS` lists those sent) are refused, naming the value, before anything is sent.
Windows reports IPv4 subnets in mask form (a single address as ``/255.255.255.255``), so both
sides are normalized before comparing.

"Everywhere": ``Any``/``*``, ``Internet`` (every address outside the intranet, so the
internet), a zero-length prefix (``0.0.0.0/0``, ``0.0.0.0/0.0.0.0``, ``::/0``), a full range
(``0.0.0.0-255.255.255.255``) or any set of subnets and ranges that together cover a whole
address family all open the port to everyone, and get the same loud warning; so does a rule
in the Public profile (``Any`` includes it), which applies on networks Windows trusts least.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import typing as t

from . import _action, _errors, _state

BUILTIN_RULE = "SPPSVC-In-TCP"
OWN_RULE = "winops-va-kms-tcp-in"
OWN_GROUP = "winops.volume_activation"
OWN_DESCRIPTION = (
    "Inbound rule for a Key Management Service host listening on a port other than 1688. "
    "Managed by winops.volume_activation.kms_firewall."
)
#: What the built-in rule carries ([WSD-HOST], program and service from a 3P template, section 5).
KMS_PROGRAM = "%SystemRoot%\\system32\\sppextcomobj.exe"
KMS_SERVICE = "sppsvc"
DEFAULT_PORT = 1688
PROFILES = ("Domain", "Private", "Public")

#: Remote address keywords of Set-NetFirewallRule -RemoteAddress, in Windows' spelling (besides Any).
KEYWORD_NAMES = ("LocalSubnet", "DNS", "DHCP", "WINS", "DefaultGateway", "Internet", "Intranet",
                 "IntranetRemoteAccess", "PlayToDevice")
#: Lower-case spelling (with the optional 4/6 family suffix) -> Windows' spelling.
KEYWORDS: dict[str, str] = {
    (k + suffix).lower(): k + suffix for k in KEYWORD_NAMES for suffix in ("", "4", "6")
}
#: The registry's spellings of two keywords ([MS-FASP] FW_ADDRESS_KEYWORD), accepted as aliases.
KEYWORD_ALIASES: dict[str, str] = {
    ("rmtintranet" + suffix): "IntranetRemoteAccess" + suffix for suffix in ("", "4", "6")
} | {("ply2renders" + suffix): "PlayToDevice" + suffix for suffix in ("", "4", "6")}
#: The keywords INetFwRule.RemoteAddresses takes (get_remoteaddresses.md), the only ones the executor can send.
COM_KEYWORDS = ("LocalSubnet", "DNS", "DHCP", "WINS", "DefaultGateway")
#: Values that open the port to everybody; they get a loud warning.
_OPEN_TO_ALL = {"any", "*", "internet", "internet4", "internet6"}


class FirewallSettingError(_action.PlanningError, ValueError):
    """A firewall option is invalid; the message names the value and the cause."""


def _net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text.strip(), strict=False)


def normalize_address(value: str) -> str:
    """One remote address in a canonical form for comparing and sending.

    Keywords in Windows' spelling; ``*`` -> ``Any``; addresses compressed; subnets as
    ``network/prefix`` (a mask is turned into a prefix; a /32 or /128 becomes the address);
    ranges ``low-high`` of one family with low <= high. Raises :class:`FirewallSettingError`.
    """
    text = str(value).strip()
    low = text.lower()
    if low in ("any", "*"):
        return "Any"
    keyword = KEYWORDS.get(low) or KEYWORD_ALIASES.get(low)
    if keyword is not None:
        if keyword not in COM_KEYWORDS:
            raise FirewallSettingError(
                f"remote address '{value}' is a keyword of the NetSecurity cmdlets that the Windows Firewall COM "
                "API (INetFwRule.RemoteAddresses), which this module uses on every Windows version, does not "
                "accept; use subnets, ranges, Any or one of " + ", ".join(COM_KEYWORDS))
        return keyword
    try:
        if "-" in text:
            a_text, b_text = (x.strip() for x in text.split("-", 1))
            a, b = ipaddress.ip_address(a_text), ipaddress.ip_address(b_text)
            if a.version != b.version:
                raise FirewallSettingError(f"remote address range '{value}' mixes IPv4 and IPv6")
            if a > b:  # type: ignore[operator]
                raise FirewallSettingError(f"remote address range '{value}' ends before it starts")
            return f"{a.compressed}-{b.compressed}"
        if "/" in text:
            net = _net(text)
            if net.prefixlen == net.max_prefixlen:
                return net.network_address.compressed
            return net.with_prefixlen
        return ipaddress.ip_address(text).compressed
    except FirewallSettingError:
        raise
    except ValueError:
        raise FirewallSettingError(
            f"remote address '{value}' is not an IPv4 or IPv6 address, subnet, range, Any or one of the keywords "
            + ", ".join(COM_KEYWORDS)
        ) from None


def opens_to_everyone(address: str) -> bool:
    """``Any``, ``Internet`` or a zero-length prefix (0.0.0.0/0, ::/0)."""
    if address.lower() in _OPEN_TO_ALL:
        return True
    if "/" in address:
        try:
            return _net(address).prefixlen == 0
        except ValueError:
            return False
    return False


def _networks(address: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks a normalized address, subnet or range covers (none for a keyword)."""
    if address in ("Any",) or address.lower() in KEYWORDS:
        return []
    if "-" in address:
        a_text, b_text = address.split("-", 1)
        a, b = ipaddress.ip_address(a_text), ipaddress.ip_address(b_text)
        return list(ipaddress.summarize_address_range(a, b))
    return [_net(address)]


def _covers_all(nets: t.Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """Whether networks of one family together cover the whole family."""
    v4 = [n for n in nets if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in nets if isinstance(n, ipaddress.IPv6Network)]
    collapsed = list(ipaddress.collapse_addresses(v4)) if v4 else list(ipaddress.collapse_addresses(v6))
    return [n.prefixlen for n in collapsed] == [0]


def everywhere(addresses: t.Sequence[str]) -> list[str]:
    """The parts of ``addresses`` (normalized) that open the port to everyone: ``Any``,
    ``Internet``, a zero-length prefix, or subnets and ranges that together cover a whole address
    family (``0.0.0.0-255.255.255.255``, ``0.0.0.0/1`` + ``128.0.0.0/1``)."""
    wide = [a for a in addresses if opens_to_everyone(a)]
    for version, label in ((4, "IPv4"), (6, "IPv6")):
        nets = [n for a in addresses if not opens_to_everyone(a) for n in _networks(a) if n.version == version]
        if nets and _covers_all(nets):
            parts = [a for a in addresses if any(n.version == version for n in _networks(a))]
            wide.append(f"{' + '.join(parts)} (every {label} address)" if len(parts) > 1 or parts[0].count("-")
                        else parts[0])
    return wide


def normalize_addresses(values: t.Sequence[str]) -> tuple[str, ...]:
    """Canonical, de-duplicated, sorted remote addresses; ``Any`` alone when it is listed
    (Windows keeps only Any then). Empty input -> ``("Any",)`` (Windows' "unrestricted")."""
    out = {normalize_address(v) for v in values}
    if not out or "Any" in out:
        return ("Any",)
    return tuple(sorted(out, key=str.lower))


def normalize_profiles(values: t.Sequence[str]) -> tuple[str, ...]:
    """Profiles in Windows' order; all three (or ``Any``) -> ``("Any",)`` as Get-NetFirewallRule shows it."""
    out: set[str] = set()
    if not values:
        raise FirewallSettingError("profiles is empty; name the profiles the rule applies in, such as Domain and "
                                   "Private (an empty list would be Any, which includes Public)")
    for v in values:
        canon = {p.lower(): p for p in (*PROFILES, "Any")}.get(str(v).strip().lower())
        if canon is None:
            raise FirewallSettingError(f"firewall profile '{v}' is not one of Domain, Private, Public, Any")
        out.update(PROFILES if canon == "Any" else (canon,))
    if set(PROFILES) <= out:
        return ("Any",)
    return tuple(p for p in PROFILES if p in out)


def _rule_ports(rule: t.Mapping[str, t.Any]) -> tuple[str, ...]:
    return tuple(str(p) for p in rule.get("local_ports") or ["Any"])


@dataclasses.dataclass(frozen=True)
class RuleView:
    """The parts of a rule the module manages, normalized (``exists`` False: no rule)."""

    name: str
    exists: bool
    enabled: bool = False
    profiles: tuple[str, ...] = ()
    remote_addresses: tuple[str, ...] = ()
    local_ports: tuple[str, ...] = ()

    @classmethod
    def from_result(cls, name: str, result: t.Mapping[str, t.Any]) -> RuleView:
        rule = result.get("rule") if result.get("exists") else None
        if not rule:
            return cls(name=name, exists=False)
        try:
            addresses = normalize_addresses(rule.get("remote_addresses") or ["Any"])
        except FirewallSettingError:
            addresses = tuple(str(a) for a in rule.get("remote_addresses") or [])
        try:
            profiles = normalize_profiles(rule.get("profiles") or ["Any"])
        except FirewallSettingError:
            profiles = tuple(str(p) for p in rule.get("profiles") or [])
        return cls(
            name=str(rule.get("name") or name),
            exists=True,
            enabled=bool(rule.get("enabled")),
            profiles=profiles,
            remote_addresses=addresses,
            local_ports=_rule_ports(rule),
        )

    def as_dict(self) -> dict[str, t.Any]:
        if not self.exists:
            return {"exists": False}
        return {
            "exists": True,
            "enabled": self.enabled,
            "profiles": list(self.profiles),
            "remote_addresses": list(self.remote_addresses),
            "local_ports": list(self.local_ports),
        }


@dataclasses.dataclass(frozen=True)
class FirewallState:
    """The configured KMS listening port (None when unreadable) and both rules."""

    configured_port: int | None
    builtin: RuleView
    own: RuleView
    errors: tuple[str, ...] = ()

    def rule(self, name: str) -> RuleView:
        return self.builtin if name == BUILTIN_RULE else self.own


class FirewallReader:
    """One batch: the service's ``KeyManagementServiceListeningPort`` (the engine's one column
    list of the class, as every read of it) and both rules."""

    def operations(self) -> list[dict[str, t.Any]]:
        return [
            _state.licensing_query(_state.SPP_SERVICE),
            {"op": "firewall_get", "name": BUILTIN_RULE},
            {"op": "firewall_get", "name": OWN_RULE, "group": OWN_GROUP},
        ]

    def parse(self, results: t.Sequence[t.Mapping[str, t.Any]]) -> FirewallState:
        if len(results) < 3:
            raise ValueError(f"expected 3 results for the firewall read, got {len(results)}")
        errors: list[str] = []
        port: int | None = None
        svc = results[0]
        if svc.get("ok") and svc.get("instances"):
            port = _state.port(svc["instances"][0].get("KeyManagementServiceListeningPort"))
        elif not svc.get("ok"):
            code = svc.get("hresult")
            errors.append("Failed to read the KMS listening port: "
                          + (_errors.explain(code, svc.get("error")) if code is not None else str(svc.get("error"))))
        views = []
        for name, res in ((BUILTIN_RULE, results[1]), (OWN_RULE, results[2])):
            if not res.get("ok"):
                code = res.get("hresult")
                raise _action.LicensingActionError(
                    f"Failed to read the firewall rule '{name}': "
                    + (_errors.explain(code, res.get("error")) if code is not None else str(res.get("error")))
                )
            views.append(RuleView.from_result(name, res))
        return FirewallState(configured_port=port, builtin=views[0], own=views[1], errors=tuple(errors))


@dataclasses.dataclass(frozen=True)
class FirewallWant:
    """Validated kms_firewall options (``port`` None: take the host's configured port)."""

    state: str
    port: int | None
    remote_addresses: tuple[str, ...]
    profiles: tuple[str, ...]
    warnings: tuple[str, ...]


def desired_firewall(params: t.Mapping[str, t.Any]) -> FirewallWant:
    """Validate the options; :class:`FirewallSettingError` names the bad value.

    An address that opens the port to everyone gives a warning (returned, the caller
    shows it loudly): a KMS host answers anyone who reaches it, and every machine that
    reaches it raises its count [WSD-PLAN: scope the rule].
    """
    port = params.get("port")
    if port is not None and not 1 <= int(port) <= 65535:
        raise FirewallSettingError(f"port {port} is outside 1..65535")
    raw_addresses = list(params.get("remote_addresses") or [])
    if not raw_addresses:
        raise FirewallSettingError(
            "remote_addresses is empty; name the clients' subnets, or LocalSubnet (an empty scope would be Any)"
        )
    addresses = normalize_addresses(raw_addresses)
    given = params.get("profiles")
    profiles = normalize_profiles(["Domain", "Private"] if given is None else list(given))
    warnings = []
    present = (params.get("state") or "present") == "present"
    wide = everywhere(sorted({normalize_address(a) for a in raw_addresses}, key=str.lower))
    if wide and present:
        warnings.append(
            f"kms_firewall opens the KMS port to every address ({', '.join(wide)}): any machine that can "
            "reach this host, from the internet too, can use the KMS host and is counted by it. Scope "
            "remote_addresses to your clients' subnets or LocalSubnet."
        )
    if present and (profiles == ("Any",) or "Public" in profiles):
        shown = "Any, which includes Public" if profiles == ("Any",) else ", ".join(profiles)
        warnings.append(
            f"kms_firewall opens the KMS port in the Public profile (profiles: {shown}): the rule then also applies "
            "on networks Windows classifies as public, the ones it trusts least. Use Domain and Private unless the "
            "KMS host's own network is classified Public."
        )
    return FirewallWant(
        state=params.get("state") or "present",
        port=int(port) if port is not None else None,
        remote_addresses=addresses,
        profiles=profiles,
        warnings=tuple(warnings),
    )


@dataclasses.dataclass
class FirewallPlan:
    """The plan, the port and rule used, the rules before and (predicted) after."""

    plan: _action.Plan
    port: int
    port_source: str
    rule_name: str
    before: dict[str, RuleView]
    after: dict[str, RuleView]
    warnings: list[str]


def plan_firewall(want: FirewallWant, st: FirewallState) -> FirewallPlan:
    """Plan the rule for ``want``.

    Port: ``want.port``, else the host's configured KMS port, else 1688. ``present``:
    port 1688 uses the built-in rule (enabled, profiles, remote addresses set where they
    differ) and removes the collection's own rule if one is left from an earlier port;
    another port uses the own rule (created, or set where it differs: enabled, ports,
    profiles, addresses). When the built-in rule is missing the own rule is used for 1688
    too. ``absent``: the built-in rule is disabled when the port is 1688 and the own rule
    removed when it exists.
    """
    warnings = list(want.warnings)
    if want.port is not None:
        port, source = want.port, "option"
    elif st.configured_port is not None:
        port, source = st.configured_port, "host"
    else:
        port, source = DEFAULT_PORT, "default"
        warnings.extend(st.errors)
    use_builtin = port == DEFAULT_PORT and st.builtin.exists
    if port == DEFAULT_PORT and not st.builtin.exists:
        warnings.append(f"The built-in firewall rule {BUILTIN_RULE} does not exist on this host; the module uses its "
                        f"own rule {OWN_RULE} for TCP {port}")
    rule_name = BUILTIN_RULE if use_builtin else OWN_RULE
    plan = _action.Plan()
    before = {BUILTIN_RULE: st.builtin, OWN_RULE: st.own}
    after = dict(before)
    ports = (str(port),)

    if want.state == "present":
        if use_builtin:
            cur = st.builtin
            changes: dict[str, t.Any] = {}
            if not cur.enabled:
                changes["enabled"] = True
            if cur.profiles != want.profiles:
                changes["profiles"] = list(want.profiles)
            if cur.remote_addresses != want.remote_addresses:
                changes["remote_addresses"] = list(want.remote_addresses)
            if changes:
                plan.add({"op": "firewall_set", "name": BUILTIN_RULE, **changes},
                         f"open TCP {port} with the firewall rule {BUILTIN_RULE} ({_summary(changes)})")
                after[BUILTIN_RULE] = dataclasses.replace(cur, enabled=True, profiles=want.profiles,
                                                          remote_addresses=want.remote_addresses)
            if st.own.exists:
                plan.add({"op": "firewall_remove", "name": OWN_RULE, "group": OWN_GROUP},
                         f"remove the firewall rule {OWN_RULE} (ports {', '.join(st.own.local_ports)}), which the "
                         f"KMS host no longer needs on port {port}")
                after[OWN_RULE] = RuleView(name=OWN_RULE, exists=False)
        else:
            cur = st.own
            if not cur.exists:
                plan.add(
                    {"op": "firewall_create", "name": OWN_RULE, "group": OWN_GROUP,
                     "description": OWN_DESCRIPTION, "direction": "Inbound", "action": "Allow",
                     "protocol": "TCP", "local_ports": list(ports), "remote_addresses": list(want.remote_addresses),
                     "profiles": list(want.profiles), "enabled": True, "program": KMS_PROGRAM,
                     "service": KMS_SERVICE},
                    f"create the firewall rule {OWN_RULE} opening TCP {port} to "
                    f"{', '.join(want.remote_addresses)} (profiles {', '.join(want.profiles)})",
                )
            else:
                changes = {}
                if not cur.enabled:
                    changes["enabled"] = True
                if cur.local_ports != ports:
                    changes["local_ports"] = list(ports)
                if cur.profiles != want.profiles:
                    changes["profiles"] = list(want.profiles)
                if cur.remote_addresses != want.remote_addresses:
                    changes["remote_addresses"] = list(want.remote_addresses)
                if changes:
                    plan.add({"op": "firewall_set", "name": OWN_RULE, "group": OWN_GROUP, **changes},
                             f"open TCP {port} with the firewall rule {OWN_RULE} ({_summary(changes)})")
            after[OWN_RULE] = RuleView(name=OWN_RULE, exists=True, enabled=True, profiles=want.profiles,
                                       remote_addresses=want.remote_addresses, local_ports=ports)
    else:
        if port == DEFAULT_PORT and st.builtin.exists and st.builtin.enabled:
            plan.add({"op": "firewall_set", "name": BUILTIN_RULE, "enabled": False},
                     f"close TCP {port}: disable the firewall rule {BUILTIN_RULE}")
            after[BUILTIN_RULE] = dataclasses.replace(st.builtin, enabled=False)
        if st.own.exists:
            plan.add({"op": "firewall_remove", "name": OWN_RULE, "group": OWN_GROUP},
                     f"close TCP {', '.join(st.own.local_ports)}: remove the firewall rule {OWN_RULE}")
            after[OWN_RULE] = RuleView(name=OWN_RULE, exists=False)
    return FirewallPlan(plan=plan, port=port, port_source=source, rule_name=rule_name, before=before, after=after,
                        warnings=warnings)


def _summary(changes: t.Mapping[str, t.Any]) -> str:
    parts = []
    for k, v in changes.items():
        parts.append(f"{k} {', '.join(v) if isinstance(v, list) else v}")
    return "; ".join(parts)


def rules_view(rules: t.Mapping[str, RuleView]) -> dict[str, dict[str, t.Any]]:
    """``{rule name: RuleView.as_dict()}`` for results and diffs."""
    return {name: view.as_dict() for name, view in rules.items()}
