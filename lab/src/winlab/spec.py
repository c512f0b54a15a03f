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
KEY_RE = re.compile(r"^[BCDFGHJKMNPQRTVWXY2346789]{5}(-[BCDFGHJKMNPQRTVWXY2346789]{5}){4}$")


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
    seed: int = 1
    start: dt.datetime = dataclasses.field(
        default_factory=lambda: dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc)
    )
    dns_port: int = 0


@dataclasses.dataclass
class FleetSpec:
    domain: str
    hosts: list[HostSpec]
    keys: list[KeySpec]
    lab: LabSpec

    def host(self, name: str) -> HostSpec:
        for h in self.hosts:
            if h.name.lower() == name.lower():
                return h
        raise KeyError(name)


def _req(d: dict[str, t.Any], key: str, where: str) -> t.Any:
    if key not in d or d[key] in (None, ""):
        raise SpecError(f"{where}: '{key}' is required")
    return d[key]


def _loopback(addr: str, where: str) -> ipaddress.IPv4Address:
    try:
        ip = ipaddress.IPv4Address(str(addr))
    except ValueError as e:
        raise SpecError(f"{where}: address '{addr}' is not an IPv4 address") from e
    if ip not in ipaddress.IPv4Network("127.0.0.0/8"):
        raise SpecError(f"{where}: address '{addr}' is not a loopback address (127.0.0.0/8); "
                        "the lab binds loopback addresses only")
    return ip


def parse_fleet(data: dict[str, t.Any]) -> FleetSpec:
    """Validate a decoded fleet document and expand host ranges."""
    if not isinstance(data, dict):
        raise SpecError("fleet file: the top level must be a mapping")
    domain = str(_req(data, "domain", "fleet")).lower().rstrip(".")
    defaults = data.get("defaults") or {}
    lab_d = data.get("lab") or {}
    lab = LabSpec(seed=int(lab_d.get("seed", 1)), dns_port=int(lab_d.get("dns_port", 0)))
    if "start" in lab_d:
        start = lab_d["start"]
        if isinstance(start, str):
            start = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.timezone.utc)
        lab.start = start

    keys: list[KeySpec] = []
    for i, k in enumerate(data.get("keys") or []):
        where = f"keys[{i}]"
        kind = str(_req(k, "kind", where)).lower()
        if kind not in KEY_KINDS:
            raise SpecError(f"{where}: kind '{kind}' is not one of {', '.join(KEY_KINDS)}")
        key = str(_req(k, "key", where)).upper()
        if not KEY_RE.match(key):
            raise SpecError(f"{where}: key '{key[:5]}...' is not five groups of five product-key characters")
        keys.append(KeySpec(
            name=str(k.get("name", f"key{i}")), kind=kind, key=key,
            product=str(_req(k, "product", where)), count=int(k.get("count", 0)),
            max_hosts=int(k.get("max_hosts", 6)), max_activations=int(k.get("max_activations", 10)),
            blocked=bool(k.get("blocked", False)),
        ))

    hosts: list[HostSpec] = []
    seen_names: set[str] = set()
    seen_addr: set[str] = set()
    for i, h in enumerate(_req(data, "hosts", "fleet")):
        where = f"hosts[{i}]"
        count = int(h.get("count", 1))
        base = _loopback(_req(h, "address", where), where)
        template = str(_req(h, "name", where))
        for n in range(1, count + 1):
            name = template.format(n=n) if count > 1 or "{" in template else template
            addr = str(base + (n - 1))
            _loopback(addr, where)
            if name.lower() in seen_names:
                raise SpecError(f"{where}: host name '{name}' is used twice")
            if addr in seen_addr:
                raise SpecError(f"{where}: address '{addr}' is used twice")
            seen_names.add(name.lower())
            seen_addr.add(addr)
            locale = str(h.get("locale", defaults.get("locale", "en-US")))
            if locale not in LOCALES:
                raise SpecError(f"{where}: locale '{locale}' is not one of {', '.join(LOCALES)}")
            office = [
                OfficeSpec(version=str(_req(o, "version", f"{where}.office")),
                           products=[str(p) for p in _req(o, "products", f"{where}.office")],
                           channel=str(o.get("channel", "volume")))
                for o in (h.get("office") or [])
            ]
            hosts.append(HostSpec(
                name=name, address=addr, os=str(_req(h, "os", where)),
                edition=str(_req(h, "edition", where)), fqdn=f"{name.lower()}.{domain}",
                locale=locale, office=office, channel=str(h.get("channel", "volume")),
                username=str(h.get("username", defaults.get("username", "Administrator"))),
                password=str(h.get("password", defaults.get("password", ""))),
                roles=[str(r) for r in h.get("roles", [])],
                cmid_from=h.get("cmid_from"),
                http_port=int(h.get("http_port", defaults.get("http_port", 5985))),
                https_port=int(h.get("https_port", defaults.get("https_port", 5986))),
                allow_unencrypted=bool(h.get("allow_unencrypted", defaults.get("allow_unencrypted", False))),
            ))
    for h in hosts:
        if not h.password:
            raise SpecError(f"host '{h.name}': a password is required (defaults.password or the host's own)")
        if h.cmid_from and h.cmid_from.lower() not in seen_names:
            raise SpecError(f"host '{h.name}': cmid_from '{h.cmid_from}' names no host of this fleet")
    return FleetSpec(domain=domain, hosts=hosts, keys=keys, lab=lab)


def load_fleet(path: str | pathlib.Path) -> FleetSpec:
    """Read and validate a fleet file."""
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    return parse_fleet(data)
