"""The fleet file: a YAML description of a simulated Windows fleet, parsed and validated.

Example (see ``lab/fleets/demo.yml`` for a full one)::

    lab: {seed: 7, start: "2026-11-01T09:00:00Z", dns_port: 5353}
    domain: corp.example.test
    defaults: {username: Administrator, password: "Lab-Passw0rd!"}
    keys:
      - {name: win-csvlk, kind: csvlk, product: windows-server-2022, key: "...."}
      - {name: win10-mak, kind: mak, product: windows-10/Enterprise, count: 20, key: "...."}
    hosts:
      - {name: kms01, address: 127.0.10.10, os: windows-server-2022, edition: ServerStandard,
         roles: [kms_host]}
      - {name: "ws{n:02d}", count: 3, address: 127.0.10.20, os: windows-11, edition: Enterprise,
         office: [{version: "2016", products: [ProPlus]}]}

Every address must be in 127.0.0.0/8: the lab never binds anything else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import pathlib
import re
import typing as t

import yaml

LOCALES = ("en-US", "ja-JP")
KEY_KINDS = ("csvlk", "mak", "retail")
# The 24 characters a Windows/Office product key is made of (no vowels, no 0/1/5).
KEY_CHARS = "BCDFGHJKMNPQRTVWXY2346789"
KEY_RE = re.compile(r"^[BCDFGHJKMNPQRTVWXY2346789]{5}(-[BCDFGHJKMNPQRTVWXY2346789]{5}){4}$")
ROLES = ("kms_host", "dns_server")
CHANNELS = ("volume", "retail")
OFFICE_VERSIONS = ("2010", "2013", "2016", "2019", "2021", "2024")
# A Windows computer name is a NetBIOS name: at most 15 characters, letters, digits, hyphens.
HOST_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,14}$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")

TOP_FIELDS = ("lab", "domain", "defaults", "keys", "hosts", "srv_records")
SRV_FIELDS = ("name", "target", "port", "priority", "weight", "ttl")
#: TTL of a static SRV record when the fleet file gives none (the lab zone's $TTL).
SRV_DEFAULT_TTL = 3600
SRV_NAME_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$")
LAB_FIELDS = ("seed", "start", "dns_port", "network")
DEFAULT_FIELDS = ("username", "password", "locale", "channel", "http_port", "https_port", "allow_unencrypted",
                  "domain_joined")
KEY_FIELDS = ("name", "kind", "key", "product", "count", "max_hosts", "max_activations", "blocked")
HOST_FIELDS = ("name", "count", "address", "os", "edition", "locale", "office", "channel", "username",
               "password", "roles", "cmid_from", "http_port", "https_port", "allow_unencrypted", "domain_joined")
OFFICE_FIELDS = ("version", "products", "channel")


class SpecError(ValueError):
    """The fleet file is invalid; the message names the field and the value."""


@dataclasses.dataclass
class OfficeSpec:
    """An installed Office: ``version`` is one of 2010, 2013, 2016, 2019, 2021, 2024;
    ``products`` are short product names (ProPlus, Standard, VisioPro, ProjectPro, Word...);
    ``channel`` volume (KMS client key preinstalled, as on VL media) or retail."""

    version: str
    products: list[str]
    channel: str = "volume"


@dataclasses.dataclass
class HostSpec:
    """One simulated Windows host. ``http_port``/``https_port`` of 0 mean "any free port"
    (the running lab reports the ports it bound); ``cmid_from`` names another host whose
    client machine ID this one shares (a clone made without rearm); ``domain_joined``
    false makes a workgroup machine outside the fleet's Active Directory domain (no
    AD-based activation there; its name still lies in the DNS zone)."""

    name: str
    address: str
    os: str
    edition: str
    fqdn: str
    locale: str = "en-US"
    office: list[OfficeSpec] = dataclasses.field(default_factory=list)
    channel: str = "volume"
    username: str = "Administrator"
    password: str = ""
    roles: list[str] = dataclasses.field(default_factory=list)
    cmid_from: str | None = None
    http_port: int = 5985
    https_port: int = 5986
    allow_unencrypted: bool = False
    domain_joined: bool = True


@dataclasses.dataclass
class KeySpec:
    """A key the simulated activation service knows. ``product`` names what it is for
    (an OS id such as ``windows-server-2022``, ``office-2010``, or ``os/Edition`` for MAKs)."""

    name: str
    kind: str
    key: str
    product: str
    count: int = 0
    max_hosts: int = 6
    max_activations: int = 10
    blocked: bool = False


@dataclasses.dataclass
class LabSpec:
    """Lab-wide settings: the seed of the one random source, the simulated clock's start
    (UTC) and the DNS server's port (0: any free port)."""

    seed: int = 1
    start: dt.datetime = dataclasses.field(
        default_factory=lambda: dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc)
    )
    dns_port: int = 0
    # False: no BIND, no KMS sockets; KMS and DNS stay inside the models (faster tests).
    network: bool = True


@dataclasses.dataclass(frozen=True)
class SrvRecordSpec:
    """A static SRV record in the lab zone from the start, such as the ``_vlmcs._tcp`` record a
    decommissioned KMS host left behind: Windows KMS hosts add their own record and never
    delete another host's, so such records stay until someone removes them [WSD-DNS].
    ``name`` is relative to the fleet's domain; ``target`` is an FQDN (lower case, no dot)
    and need not be a host of the fleet."""

    name: str
    target: str
    port: int
    priority: int
    weight: int
    ttl: int

    def kms_domain(self, zone: str) -> str | None:
        """The domain whose KMS clients this record serves: ``_vlmcs._tcp`` -> ``zone``,
        ``_vlmcs._tcp.branch`` -> ``branch.<zone>``; None for an owner that is no KMS SRV name."""
        prefix = "_vlmcs._tcp"
        if self.name == prefix:
            return zone
        if self.name.startswith(prefix + "."):
            return f"{self.name[len(prefix) + 1:]}.{zone}"
        return None


@dataclasses.dataclass
class FleetSpec:
    """A validated fleet: host ranges expanded, names unique, every address loopback."""

    domain: str
    hosts: list[HostSpec]
    keys: list[KeySpec]
    lab: LabSpec
    srv_records: list[SrvRecordSpec] = dataclasses.field(default_factory=list)

    def host(self, name: str) -> HostSpec:
        """The host called ``name`` (case-insensitive); KeyError when there is none."""
        for h in self.hosts:
            if h.name.lower() == name.lower():
                return h
        raise KeyError(name)


def _req(d: dict[str, t.Any], key: str, where: str) -> t.Any:
    if key not in d or d[key] in (None, ""):
        raise SpecError(f"{where}: '{key}' is required")
    return d[key]


def _mapping(value: t.Any, where: str, fields: tuple[str, ...]) -> dict[str, t.Any]:
    """``value`` as a mapping whose keys are all in ``fields`` (a typo is an error, not a default)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected a mapping, got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in fields)
    if unknown:
        raise SpecError(f"{where}: unknown field '{unknown[0]}' (known: {', '.join(fields)})")
    return value


def _list(value: t.Any, where: str) -> list[t.Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpecError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _int(value: t.Any, where: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SpecError(f"{where}: '{value}' is not an integer")
    try:
        n = int(value)
    except ValueError as e:
        raise SpecError(f"{where}: '{value}' is not an integer") from e
    if not lo <= n <= hi:
        raise SpecError(f"{where}: {n} is out of range ({lo}..{hi})")
    return n


def _bool(value: t.Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    raise SpecError(f"{where}: '{value}' is not a boolean (true or false)")


def _choice(value: t.Any, where: str, field: str, choices: tuple[str, ...]) -> str:
    s = str(value)
    if s not in choices:
        raise SpecError(f"{where}: {field} '{s}' is not one of {', '.join(choices)}")
    return s


def _loopback(addr: str, where: str) -> ipaddress.IPv4Address:
    try:
        ip = ipaddress.IPv4Address(str(addr))
    except ValueError as e:
        raise SpecError(f"{where}: address '{addr}' is not an IPv4 address") from e
    if ip not in ipaddress.IPv4Network("127.0.0.0/8"):
        raise SpecError(f"{where}: address '{addr}' is not a loopback address (127.0.0.0/8); "
                        "the lab binds loopback addresses only")
    return ip


def _key(raw: t.Any, i: int) -> KeySpec:
    where = f"keys[{i}]"
    k = _mapping(raw, where, KEY_FIELDS)
    name = str(k.get("name", f"key{i}"))
    where = f"keys[{i}] '{name}'"
    kind = _choice(str(_req(k, "kind", where)).lower(), where, "kind", KEY_KINDS)
    key = str(_req(k, "key", where)).strip().upper()
    # Never echo the key itself: name the first offending character or the shape.
    bad = sorted({c for c in key if c != "-" and c not in KEY_CHARS})
    if bad:
        raise SpecError(f"{where}: the key contains '{bad[0]}', which is not a product-key character "
                        f"({KEY_CHARS})")
    if not KEY_RE.match(key):
        raise SpecError(f"{where}: the key is not five groups of five product-key characters "
                        "separated by '-'")
    if key.count("N") > 1:
        # Windows 8+ keys carry the letter N once, as a position marker; the other characters come
        # from the 24-symbol alphabet without N, so a key with two N is not a product key.
        raise SpecError(f"{where}: the key contains the letter N more than once, which no product key does")
    return KeySpec(
        name=name, kind=kind, key=key, product=str(_req(k, "product", where)),
        count=_int(k.get("count", 0), f"{where}.count", 0, 1_000_000),
        max_hosts=_int(k.get("max_hosts", 6), f"{where}.max_hosts", 0, 1_000_000),
        max_activations=_int(k.get("max_activations", 10), f"{where}.max_activations", 0, 1_000_000),
        blocked=_bool(k.get("blocked", False), f"{where}.blocked"),
    )


def _start(value: t.Any) -> dt.datetime:
    start = value
    if isinstance(start, str):
        try:
            start = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError as e:
            raise SpecError(f"lab.start: '{value}' is not an ISO 8601 date and time") from e
    elif isinstance(start, dt.date) and not isinstance(start, dt.datetime):
        start = dt.datetime(start.year, start.month, start.day)
    if not isinstance(start, dt.datetime):
        raise SpecError(f"lab.start: '{value}' is not an ISO 8601 date and time")
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.timezone.utc)
    return start.astimezone(dt.timezone.utc)


def parse_fleet(data: t.Any) -> FleetSpec:
    """Validate a decoded fleet document and expand host ranges.

    Raises SpecError with a one-line message naming the field (``hosts[3]``,
    ``keys[1] 'win-csvlk'``) and the offending value; product keys are never echoed.
    """
    if not isinstance(data, dict):
        raise SpecError("fleet file: the top level must be a mapping")
    data = _mapping(data, "fleet", TOP_FIELDS)
    domain = str(_req(data, "domain", "fleet")).lower().rstrip(".")
    if not DOMAIN_RE.match(domain):
        raise SpecError(f"fleet: domain '{domain}' is not a DNS domain name with at least two labels")
    defaults = _mapping(data.get("defaults"), "defaults", DEFAULT_FIELDS)
    lab_d = _mapping(data.get("lab"), "lab", LAB_FIELDS)
    lab = LabSpec(seed=_int(lab_d.get("seed", 1), "lab.seed", 0, 2**63 - 1),
                  dns_port=_int(lab_d.get("dns_port", 0), "lab.dns_port", 0, 65535),
                  network=_bool(lab_d.get("network", True), "lab.network"))
    if "start" in lab_d:
        lab.start = _start(lab_d["start"])

    keys = [_key(k, i) for i, k in enumerate(_list(data.get("keys"), "keys"))]
    seen_keys: dict[str, str] = {}
    for k in keys:
        if k.name in seen_keys.values():
            raise SpecError(f"keys: key name '{k.name}' is used twice")
        if k.key in seen_keys:
            raise SpecError(f"keys: '{k.name}' has the same key as '{seen_keys[k.key]}'")
        seen_keys[k.key] = k.name

    hosts: list[HostSpec] = []
    seen_names: set[str] = set()
    seen_addr: set[str] = set()
    host_list = _list(_req(data, "hosts", "fleet"), "hosts")
    for i, raw_host in enumerate(host_list):
        where = f"hosts[{i}]"
        h = _mapping(raw_host, where, HOST_FIELDS)
        count = _int(h.get("count", 1), f"{where}.count", 1, 65536)
        base = _loopback(_req(h, "address", where), where)
        template = str(_req(h, "name", where))
        locale = _choice(h.get("locale", defaults.get("locale", "en-US")), where, "locale", LOCALES)
        channel = _choice(h.get("channel", defaults.get("channel", "volume")), where, "channel", CHANNELS)
        roles = [_choice(r, where, "role", ROLES) for r in _list(h.get("roles"), f"{where}.roles")]
        office: list[OfficeSpec] = []
        for j, raw_office in enumerate(_list(h.get("office"), f"{where}.office")):
            ow = f"{where}.office[{j}]"
            o = _mapping(raw_office, ow, OFFICE_FIELDS)
            products = _list(_req(o, "products", ow), f"{ow}.products")
            if not products:
                raise SpecError(f"{ow}: 'products' is required")
            office.append(OfficeSpec(
                version=_choice(_req(o, "version", ow), ow, "version", OFFICE_VERSIONS),
                products=[str(p) for p in products],
                channel=_choice(o.get("channel", "volume"), ow, "channel", CHANNELS),
            ))
        http_port = _int(h.get("http_port", defaults.get("http_port", 5985)), f"{where}.http_port", 0, 65535)
        https_port = _int(h.get("https_port", defaults.get("https_port", 5986)), f"{where}.https_port",
                          0, 65535)
        if http_port and http_port == https_port:
            raise SpecError(f"{where}: http_port and https_port are both {http_port}")
        allow_unencrypted = _bool(h.get("allow_unencrypted", defaults.get("allow_unencrypted", False)),
                                  f"{where}.allow_unencrypted")
        cmid_from = h.get("cmid_from")
        domain_joined = _bool(h.get("domain_joined", defaults.get("domain_joined", True)), f"{where}.domain_joined")
        for n in range(1, count + 1):
            try:
                name = template.format(n=n) if count > 1 or "{" in template else template
            except (KeyError, IndexError, ValueError) as e:
                raise SpecError(f"{where}: name '{template}' is not a valid template "
                                "(use {n} or {n:02d} for the host number)") from e
            if count > 1 and "{" not in template:
                raise SpecError(f"{where}: name '{template}' needs {{n}} (for example "
                                f"'{template}{{n:02d}}') when count is {count}")
            if not HOST_NAME_RE.match(name):
                raise SpecError(f"{where}: host name '{name}' is not a computer name (letters, digits and "
                                "hyphens, at most 15 characters)")
            try:
                ip = base + (n - 1)
            except ipaddress.AddressValueError as e:
                raise SpecError(f"{where}: the address range from '{base}' leaves IPv4") from e
            addr = str(ip)
            _loopback(addr, where)
            if name.lower() in seen_names:
                raise SpecError(f"{where}: host name '{name}' is used twice")
            if addr in seen_addr:
                raise SpecError(f"{where}: address '{addr}' is used twice")
            seen_names.add(name.lower())
            seen_addr.add(addr)
            hosts.append(HostSpec(
                name=name, address=addr, os=str(_req(h, "os", where)),
                edition=str(_req(h, "edition", where)), fqdn=f"{name.lower()}.{domain}",
                locale=locale, office=[dataclasses.replace(o, products=list(o.products)) for o in office],
                channel=channel,
                username=str(h.get("username", defaults.get("username", "Administrator"))),
                password=str(h.get("password", defaults.get("password", ""))),
                roles=list(roles),
                cmid_from=str(cmid_from) if cmid_from else None,
                http_port=http_port, https_port=https_port, allow_unencrypted=allow_unencrypted,
                domain_joined=domain_joined,
            ))
    if not hosts:
        raise SpecError("fleet: 'hosts' is required")
    for hs in hosts:
        if not hs.password:
            raise SpecError(f"host '{hs.name}': a password is required (defaults.password or the host's own)")
        if hs.cmid_from:
            if hs.cmid_from.lower() not in seen_names:
                raise SpecError(f"host '{hs.name}': cmid_from '{hs.cmid_from}' names no host of this fleet")
            if hs.cmid_from.lower() == hs.name.lower():
                raise SpecError(f"host '{hs.name}': cmid_from names the host itself")
    srv = [_srv_record(r, i, domain) for i, r in enumerate(_list(data.get("srv_records"), "srv_records"))]
    return FleetSpec(domain=domain, hosts=hosts, keys=keys, lab=lab, srv_records=srv)


def _srv_record(value: t.Any, i: int, domain: str) -> SrvRecordSpec:
    where = f"srv_records[{i}]"
    r = _mapping(value, where, SRV_FIELDS)
    name = str(r.get("name", "_vlmcs._tcp")).lower().rstrip(".")
    if name.endswith("." + domain):
        name = name[: -len(domain) - 1]
    if not SRV_NAME_RE.match(name):
        raise SpecError(f"{where}.name: '{name}' is not a DNS name relative to the zone '{domain}'")
    target = str(_req(r, "target", where)).lower().rstrip(".")
    if "." not in target:
        target = f"{target}.{domain}"
    if not DOMAIN_RE.match(target):
        raise SpecError(f"{where}.target: '{target}' is not a DNS host name")
    return SrvRecordSpec(
        name=name, target=target,
        port=_int(r.get("port", 1688), f"{where}.port", 1, 65535),
        priority=_int(r.get("priority", 0), f"{where}.priority", 0, 65535),
        weight=_int(r.get("weight", 0), f"{where}.weight", 0, 65535),
        ttl=_int(r.get("ttl", SRV_DEFAULT_TTL), f"{where}.ttl", 1, 2**31 - 1),
    )


def load_fleet(path: str | pathlib.Path) -> FleetSpec:
    """Read and validate a fleet file; every failure (missing file, YAML syntax, content)
    is a SpecError whose message starts with the file name."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as e:
        raise SpecError(f"{path}: cannot read the fleet file: {e.strerror}") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise SpecError(f"{path}: YAML error{at}: {problem}") from e
    try:
        return parse_fleet(data)
    except SpecError as e:
        raise SpecError(f"{path}: {e}") from e
