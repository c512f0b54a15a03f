"""Windows Defender Firewall rules: the rule store, and the firewall COM API over it.

:class:`FirewallRule` is a rule as the firewall keeps it: ``name`` is the rule ID
(the registry value name under ...\\FirewallPolicy\\FirewallRules, which NetSecurity
shows as ``Name``), ``display_name`` its friendly name. The built-in ``SPPSVC-In-TCP``
rule ("Key Management Service (TCP-In)", TCP 1688, ``%SystemRoot%\\system32\\sppextcomobj.exe``,
service sppsvc) exists disabled on every host [WSD-HOST]; display name and program come
from a 3P template (§5).

:class:`ComRule` is what ``INetFwRule`` (``HNetCfg.FwPolicy2``'s ``Rules``, Windows
Vista / Server 2008 and later) shows of a rule and accepts for it, per Microsoft's
interface reference [MicrosoftDocs/sdk-api sdk-api-src/content/netfw/nn-netfw-inetfwrule.md
and the nf-netfw-inetfwrule-get_*.md pages]:

* ``Name`` is the friendly (display) name, not the rule ID: COM exposes no
  locale-independent ID. ``Grouping`` is "a string in the format '@<dll name>,
  <resource string identifier>'" for the groups Windows ships, i.e. the locale-independent
  group (NetSecurity's ``RuleGroup`` [MicrosoftDocs/win32 desktop-src/FWP/wmi/wfascimprov/
  msft-netfirewallrule.md]); the built-in rule's resource ID here is [LAB] (not sourced).
* ``Protocol`` is a number (6 TCP, 17 UDP, 256 any), ``Direction`` 1 in / 2 out,
  ``Action`` 0 block / 1 allow, ``Profiles`` a NET_FW_PROFILE_TYPE2 bitmask (1 Domain,
  2 Private, 4 Public, 0x7FFFFFFF all) [ne-netfw-net_fw_profile_type2.md]; community.windows'
  ``win_firewall_rule.ps1`` sets the same values through this API.
* ``RemoteAddresses`` is one comma-separated string of tokens: ``*`` (alone), the keywords
  ``Defaultgateway``, ``DHCP``, ``DNS``, ``WINS``, ``LocalSubnet`` (case-insensitive),
  addresses, subnets "using either the subnet mask or network prefix notation" (a bare
  address has the mask 255.255.255.255) and ranges ``a-b`` [get_remoteaddresses.md]. The
  firewall stores IPv4 subnets with a mask ("LA4=192.168.1.0/255.255.255.0", MS-GPFAS
  section 4.2, learn.microsoft.com/openspecs/windows_protocols/ms-gpfas), and the lab returns them so: ``10.20.0.0/16`` reads back ``10.20.0.0/255.255.0.0``,
  ``10.1.2.3`` reads back ``10.1.2.3/255.255.255.255`` [LAB: the exact read-back of a bare
  address is not documented]. Any other token (NetSecurity's ``Any``, ``Intranet``,
  ``Internet``...) is refused with E_INVALIDARG.
* Ports are accepted only on a TCP or UDP rule: each property is checked as it is set
  ("if you add an ICMP rule, you must first set the protocol", INetFwRule remarks).

Rules created through COM get a rule ID of their own [LAB: a GUID in braces, derived
from the name]. ``allows`` decides whether a TCP connection from a lab address reaches
a local port: the lab's hosts are domain-joined, so the active profile is Domain [LAB];
all lab addresses (127.0.0.0/8) form one subnet, so ``LocalSubnet`` matches every lab
peer [LAB].
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import typing as t
import uuid

from winlab.models.errors import E_INVALIDARG, WmiError

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


#: The built-in KMS rule's group as INetFwRule.Grouping shows it: an indirect string [LAB: the
#: resource ID is not sourced; its shape is the documented one].
KMS_GROUPING = "@%SystemRoot%\\system32\\sppsvc.exe,-104"


def builtin_rules() -> list[FirewallRule]:
    """Rules present on a fresh host."""
    return [FirewallRule(
        name="SPPSVC-In-TCP", display_name="Key Management Service (TCP-In)",
        group=KMS_GROUPING,
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


# --------------------------------------------------------------------------- the COM API

#: NET_FW_PROFILE_TYPE2 [sdk-api ne-netfw-net_fw_profile_type2.md]
PROFILE_BITS = {"Domain": 1, "Private": 2, "Public": 4}
PROFILE_ALL = 0x7FFFFFFF
PROTOCOLS = {"TCP": 6, "UDP": 17, "Any": 256}  # NET_FW_IP_PROTOCOL
COM_KEYWORDS = {k.lower(): k for k in ("Defaultgateway", "DHCP", "DNS", "WINS", "LocalSubnet")}
#: The text .NET gives E_INVALIDARG when a COM property set fails with it (ArgumentException).
INVALID_VALUE = "Value does not fall within the expected range."


def _invalid(detail: str) -> WmiError:
    return WmiError(E_INVALIDARG, detail, msg=INVALID_VALUE)


def com_remote_address(token: str) -> str:
    """One RemoteAddresses token as INetFwRule stores and returns it; WmiError(E_INVALIDARG) otherwise."""
    text = token.strip()
    if text == "*":
        return "*"
    if text.lower() in COM_KEYWORDS:
        return COM_KEYWORDS[text.lower()]
    try:
        if "-" in text:
            lo, hi = (ipaddress.ip_address(x) for x in text.split("-", 1))
            if lo.version != hi.version or lo > hi:  # type: ignore[operator]
                raise ValueError(text)
            return f"{lo}-{hi}"
        addr_text, _, mask = text.partition("/")
        addr = ipaddress.ip_address(addr_text)
        if addr.version == 6:
            return str(ipaddress.ip_network(text, strict=False)) if mask else str(addr)
        net = ipaddress.IPv4Network(f"0.0.0.0/{mask or '32'}")
        return f"{addr}/{net.netmask}"
    except ValueError:
        raise _invalid(f"RemoteAddresses token '{token}'") from None


def com_remote_addresses(value: str) -> list[str]:
    """``put_RemoteAddresses``: the stored tokens; ``*`` must be the only token."""
    tokens = [com_remote_address(x) for x in str(value).split(",")]
    if "*" in tokens and len(tokens) > 1:
        raise _invalid("'*' must be the only RemoteAddresses token")
    return tokens


def com_local_ports(value: str, protocol: int) -> list[str]:
    """``put_LocalPorts``: ports and ranges, only on a TCP or UDP rule."""
    if protocol not in (6, 17):
        raise _invalid(f"LocalPorts needs a TCP or UDP rule, the rule's protocol is {protocol}")
    out = []
    for raw in str(value).split(","):
        p = raw.strip()
        if p == "*":
            return ["Any"]
        lo, _, hi = p.partition("-")
        if not (lo.isdigit() and int(lo) <= 65535 and (not hi or (hi.isdigit() and int(lo) <= int(hi) <= 65535))):
            raise _invalid(f"LocalPorts token '{raw}'")
        out.append(p)
    return out


def profiles_from_mask(mask: int) -> list[str]:
    """A NET_FW_PROFILE_TYPE2 bitmask -> the store's profile list (["Any"] when all)."""
    names = [p for p, bit in PROFILE_BITS.items() if mask & bit]
    return ["Any"] if len(names) == len(PROFILE_BITS) else names


def mask_from_profiles(profiles: list[str]) -> int:
    """The store's profile list -> the bitmask INetFwRule.Profiles returns."""
    if profiles == ["Any"]:
        return PROFILE_ALL
    return sum(PROFILE_BITS[p] for p in profiles)


@dataclasses.dataclass
class ComRule:
    """An ``INetFwRule``: reads and writes go to the rule in the store (or, before
    ``INetFwRules.Add``, to a rule of its own, as ``New-Object -ComObject HNetCfg.FWRule``)."""

    rule: FirewallRule

    @classmethod
    def new(cls) -> ComRule:
        """``HNetCfg.FWRule``: a blank rule (protocol any, all profiles, disabled, inbound, allow)."""
        return cls(FirewallRule(name="", display_name="", protocol="Any", enabled=False))

    def get(self, prop: str) -> t.Any:
        """``get_<prop>``."""
        r = self.rule
        values: dict[str, t.Any] = {
            "Name": r.display_name, "Grouping": r.group, "Description": r.description, "Enabled": r.enabled,
            "Direction": 1 if r.direction == "Inbound" else 2, "Action": 1 if r.action == "Allow" else 0,
            "Protocol": PROTOCOLS.get(r.protocol, 256), "Profiles": mask_from_profiles(r.profiles),
            "LocalPorts": ",".join("*" if p.lower() == "any" else p for p in r.local_ports),
            "RemoteAddresses": ",".join("*" if a.lower() == "any" else a for a in r.remote_addresses),
            "ApplicationName": "" if r.program.lower() == "any" else r.program,
            "serviceName": "" if r.service.lower() == "any" else r.service,
        }
        return values[prop]

    def put(self, prop: str, value: t.Any) -> None:
        """``put_<prop>``, checked as INetFwRule checks it (WmiError E_INVALIDARG)."""
        r = self.rule
        if prop in ("Name", "Grouping", "Description") and "|" in str(value):
            raise _invalid(f"{prop} must not contain '|'")
        if prop == "Name":
            if not str(value) or str(value).lower() == "all":
                raise _invalid("Name is required and must not be 'all'")
            r.display_name = str(value)
        elif prop == "Grouping":
            r.group = str(value)
        elif prop == "Description":
            r.description = str(value)
        elif prop == "Enabled":
            r.enabled = bool(value)
        elif prop == "Direction":
            if value not in (1, 2):
                raise _invalid(f"Direction {value}")
            r.direction = "Inbound" if value == 1 else "Outbound"
        elif prop == "Action":
            if value not in (0, 1):
                raise _invalid(f"Action {value}")
            r.action = "Allow" if value == 1 else "Block"
        elif prop == "Protocol":
            names = {v: k for k, v in PROTOCOLS.items()}
            if value not in names:
                raise _invalid(f"Protocol {value} (the lab knows TCP, UDP and any)")
            r.protocol = names[value]
        elif prop == "Profiles":
            if not isinstance(value, int) or not (value == PROFILE_ALL or 1 <= value <= 7):
                raise _invalid(f"Profiles {value}")
            r.profiles = profiles_from_mask(value)
        elif prop == "LocalPorts":
            r.local_ports = com_local_ports(str(value), PROTOCOLS.get(r.protocol, 256))
        elif prop == "RemoteAddresses":
            tokens = com_remote_addresses(str(value))
            r.remote_addresses = ["Any"] if tokens == ["*"] else tokens
        elif prop == "ApplicationName":
            r.program = str(value) or "Any"
        elif prop == "serviceName":
            r.service = str(value) or "Any"
        else:
            raise _invalid(f"the lab does not simulate INetFwRule.{prop}")


def com_rules(fw: Firewall) -> list[ComRule]:
    """``INetFwPolicy2.Rules``, enumerated."""
    return [ComRule(r) for _, r in sorted(fw.rules.items())]


def com_add(fw: Firewall, rule: ComRule) -> None:
    """``INetFwRules.Add``: the rule joins the store under an ID of its own [LAB]. COM does not
    refuse a second rule of the same Name."""
    base = rule.rule.display_name
    n = 0
    while True:
        rid = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"winlab-firewall:{base}:{n}")).upper() + "}"
        if fw.get(rid) is None:
            break
        n += 1
    rule.rule.name = rid
    fw.add(rule.rule)


def com_remove(fw: Firewall, name: str) -> None:
    """``INetFwRules.Remove(name)``: removes the rule whose Name (friendly name) is ``name``."""
    for key, r in sorted(fw.rules.items()):
        if r.display_name.lower() == name.lower():
            del fw.rules[key]
            return
