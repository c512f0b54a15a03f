"""Windows Defender Firewall rules as ``Get-NetFirewallRule`` / ``Set-NetFirewallRule`` see them.

The built-in ``SPPSVC-In-TCP`` rule ("Key Management Service (TCP-In)", group "Key
Management Service", TCP 1688, ``%SystemRoot%\\system32\\sppextcomobj.exe``, service
sppsvc) exists disabled on every host [WSD-HOST]; display name, group and program
come from a 3P template (§5). ``allows`` decides whether a TCP connection from a lab
address reaches a local port: the lab's hosts are domain-joined, so the active
profile is Domain [LAB]; all lab addresses (127.0.0.0/8) form one subnet, so
``LocalSubnet`` matches every lab peer [LAB].
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import typing as t

PROFILES = ("Domain", "Private", "Public")
ACTIVE_PROFILE = "Domain"
LAB_SUBNET = ipaddress.IPv4Network("127.0.0.0/8")


@dataclasses.dataclass
class FirewallRule:
    """One rule. ``profiles`` ["Any"] when all; ``remote_addresses`` ["Any"] when unrestricted."""

    name: str
    display_name: str
    group: str = ""
    description: str = ""
    enabled: bool = False
    direction: str = "Inbound"
    action: str = "Allow"
    profiles: list[str] = dataclasses.field(default_factory=lambda: ["Any"])
    protocol: str = "TCP"
    local_ports: list[str] = dataclasses.field(default_factory=lambda: ["Any"])
    remote_addresses: list[str] = dataclasses.field(default_factory=lambda: ["Any"])
    program: str = "Any"
    service: str = "Any"

    def as_dict(self) -> dict[str, t.Any]:
        """The executor protocol's ``rule`` dict."""
        return copy.deepcopy(dataclasses.asdict(self))


def builtin_rules() -> list[FirewallRule]:
    """Rules present on a fresh host."""
    return [FirewallRule(
        name="SPPSVC-In-TCP", display_name="Key Management Service (TCP-In)",
        group="Key Management Service",
        description="Inbound rule for the Key Management Service to allow for machine counting and license compliance. [TCP 1688]",
        enabled=False, profiles=["Domain", "Private", "Public"], protocol="TCP", local_ports=["1688"],
        program=r"%SystemRoot%\system32\sppextcomobj.exe", service="sppsvc")]


def normalize_profiles(profiles: t.Iterable[str]) -> list[str]:
    """Validate and order profile names; all three (or "Any") -> ["Any"]."""
    out: set[str] = set()
    for p in profiles:
        canon = {x.lower(): x for x in (*PROFILES, "Any")}.get(str(p).lower())
        if canon is None:
            raise ValueError(f"firewall profile '{p}' is not one of Domain, Private, Public, Any")
        out.update(PROFILES if canon == "Any" else [canon])
    if set(PROFILES) <= out:
        return ["Any"]
    return [p for p in PROFILES if p in out]


# Set-NetFirewallRule -RemoteAddress keywords, each optionally ending in 4 or 6 (one address family):
# Microsoft's cmdlet reference, MicrosoftDocs/windows-powershell-docs
# docset/winserver2022-ps/netsecurity/Set-NetFirewallRule.md (and New-NetFirewallRule.md), "-RemoteAddress".
REMOTE_ADDRESS_KEYWORDS = ("LocalSubnet", "DNS", "DHCP", "WINS", "DefaultGateway", "Internet", "Intranet",
                           "IntranetRemoteAccess", "PlayToDevice")
_KEYWORDS = {(k + sfx).lower(): k + sfx for k in REMOTE_ADDRESS_KEYWORDS for sfx in ("", "4", "6")}


def _keyword_matches(keyword: str, ip: ipaddress.IPv4Address) -> bool:
    """What a keyword matches for a lab peer [LAB]: every lab address is on the local subnet and the
    intranet (loopback, one subnet), so LocalSubnet and Intranet match it and Internet (addresses
    outside the intranet) does not; the lab has no DHCP or WINS server, gateway, remote-access
    network or PlayTo renderer, and its DNS server is not a KMS client, so the others match no peer.
    An IPv6-only keyword (suffix 6) never matches the lab's IPv4 peers."""
    base = keyword.rstrip("46").lower()
    if keyword.endswith("6"):
        return False
    return base in ("localsubnet", "intranet") and ip in LAB_SUBNET


def address_matches(spec: str, addr: str) -> bool:
    """Whether ``addr`` matches one RemoteAddress entry (Any, a keyword, an IP, a subnet, an a-b range)."""
    s = spec.strip()
    if s.lower() in ("any", "*"):
        return True
    ip = ipaddress.IPv4Address(addr)
    if s.lower() in _KEYWORDS:
        return _keyword_matches(_KEYWORDS[s.lower()], ip)
    try:
        if "-" in s:
            lo, hi = (ipaddress.ip_address(x.strip()) for x in s.split("-", 1))
            return lo.version == 4 and lo <= ip <= hi  # type: ignore[operator]
        if "/" in s:
            net = ipaddress.ip_network(s, strict=False)
            return net.version == 4 and ip in net
        return ipaddress.ip_address(s) == ip
    except ValueError:
        return False


def validate_addresses(specs: t.Iterable[str]) -> list[str]:
    """Validate RemoteAddress entries as Set-NetFirewallRule does; ``ValueError`` naming the bad one.

    Accepted (the cmdlet reference above): IPv4/IPv6 addresses, subnets by prefix length or (IPv4)
    by mask, ranges ``a-b`` of one family, ``Any``/``*`` and the keywords, case-insensitively, kept
    in Windows' spelling. Any among others leaves Any alone, as Windows keeps it.
    """
    out = []
    for raw in specs:
        s = str(raw).strip()
        if s.lower() in ("any", "*"):
            return ["Any"]
        if s.lower() in _KEYWORDS:
            out.append(_KEYWORDS[s.lower()])
            continue
        try:
            if "-" in s:
                lo, hi = (ipaddress.ip_address(x.strip()) for x in s.split("-", 1))
                if lo.version != hi.version:
                    raise ValueError("mixed families")
            elif "/" in s:
                ipaddress.ip_network(s, strict=False)
            else:
                ipaddress.ip_address(s)
        except ValueError as e:
            raise ValueError(f"remote address '{s}' is not an address, range, subnet or keyword") from e
        out.append(s)
    return out or ["Any"]


def _port_matches(ports: list[str], port: int) -> bool:
    for p in ports:
        if p.lower() == "any":
            return True
        if "-" in p:
            lo, hi = p.split("-", 1)
            if int(lo) <= port <= int(hi):
                return True
        elif p.isdigit() and int(p) == port:
            return True
    return False


class Firewall:
    """The rule set of one host, keyed by case-insensitive ``Name``."""

    def __init__(self) -> None:
        self.rules: dict[str, FirewallRule] = {r.name.lower(): r for r in builtin_rules()}

    def get(self, name: str) -> FirewallRule | None:
        """A rule by ``Name``."""
        return self.rules.get(name.lower())

    def add(self, rule: FirewallRule) -> None:
        """Add a rule (``ValueError`` if the name exists, as New-NetFirewallRule with -Name)."""
        if rule.name.lower() in self.rules:
            raise ValueError(f"a firewall rule named '{rule.name}' already exists")
        self.rules[rule.name.lower()] = rule

    def remove(self, name: str) -> bool:
        """Remove a rule; whether it existed."""
        return self.rules.pop(name.lower(), None) is not None

    def allows(self, port: int, remote: str, service: str = "sppsvc") -> bool:
        """Whether an inbound TCP connection from ``remote`` to ``port`` (serving ``service``)
        passes: some enabled inbound Allow rule matches and no enabled Block rule does
        (Block wins, as in Windows Defender Firewall)."""
        def matches(r: FirewallRule) -> bool:
            return (r.enabled and r.direction == "Inbound" and r.protocol.upper() in ("TCP", "ANY")
                    and (r.profiles == ["Any"] or ACTIVE_PROFILE in r.profiles)
                    and _port_matches(r.local_ports, port)
                    and any(address_matches(a, remote) for a in r.remote_addresses)
                    and r.service.lower() in ("any", service.lower()))
        hits = [r for r in self.rules.values() if matches(r)]
        if any(r.action == "Block" for r in hits):
            return False
        return any(r.action == "Allow" for r in hits)

    def snapshot(self) -> list[dict[str, t.Any]]:
        """JSON-able rules, by name."""
        return [r.as_dict() for _, r in sorted(self.rules.items())]
