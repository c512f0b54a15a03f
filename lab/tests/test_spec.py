"""Fleet file parsing and validation (winlab.spec): exact messages for every refusal."""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import pathlib
import typing as t

import pytest

from winlab.spec import KEY_RE, SpecError, load_fleet, parse_fleet

FLEETS = pathlib.Path(__file__).resolve().parents[1] / "fleets"

BASE: dict[str, t.Any] = {
    "domain": "t.example.test",
    "defaults": {"password": "Pw-1"},
    "keys": [{"name": "k1", "kind": "csvlk", "product": "windows-server-2022",
              "key": "BCDFG-HJKMN-PQRTV-WXY23-46789"}],
    "hosts": [{"name": "a", "address": "127.0.0.2", "os": "windows-11", "edition": "Enterprise"}],
}


def _mutated(path: str, value: t.Any) -> dict[str, t.Any]:
    """BASE with ``value`` set at a dotted ``path`` (list indexes allowed; ``+`` appends)."""
    doc = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node: t.Any = doc
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if last == "+":
        node.append(value)
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


HOST = BASE["hosts"][0]


@pytest.mark.parametrize(("path", "value", "message"), [
    pytest.param("hosts.0.address", "10.0.0.5",
                 "hosts[0]: address '10.0.0.5' is not a loopback address (127.0.0.0/8); "
                 "the lab binds loopback addresses only", id="non-loopback"),
    pytest.param("hosts.0.address", "::1", "hosts[0]: address '::1' is not an IPv4 address", id="ipv6"),
    pytest.param("hosts.0", dict(HOST, name="w{n:02d}", count=3, address="127.255.255.254"),
                 "hosts[0]: address '128.0.0.0' is not a loopback address (127.0.0.0/8); "
                 "the lab binds loopback addresses only", id="range-leaves-loopback"),
    pytest.param("hosts.+", dict(HOST, name="A", address="127.0.0.3"),
                 "hosts[1]: host name 'A' is used twice", id="duplicate-name-any-case"),
    pytest.param("hosts.+", dict(HOST, name="b"),
                 "hosts[1]: address '127.0.0.2' is used twice", id="duplicate-address"),
    pytest.param("keys.0.key", "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE",
                 "keys[0] 'k1': the key contains 'A', which is not a product-key character "
                 "(BCDFGHJKMNPQRTVWXY2346789)", id="bad-key-character"),
    pytest.param("keys.0.key", "BCDFG-HJKMN-PQRTV-WXY23",
                 "keys[0] 'k1': the key is not five groups of five product-key characters separated by '-'",
                 id="bad-key-shape"),
    pytest.param("keys.+", dict(BASE["keys"][0], name="k2"),
                 "keys: 'k2' has the same key as 'k1'", id="duplicate-key"),
    pytest.param("keys.0.kind", "oem", "keys[0] 'k1': kind 'oem' is not one of csvlk, mak, retail", id="key-kind"),
    pytest.param("hosts.0.locale", "de-DE", "hosts[0]: locale 'de-DE' is not one of en-US, ja-JP",
                 id="unknown-locale"),
    pytest.param("hosts.0.roles", ["kms-host"], "hosts[0]: role 'kms-host' is not one of kms_host, dns_server",
                 id="unknown-role"),
    pytest.param("hosts.0.office", [{"version": "2007", "products": ["ProPlus"]}],
                 "hosts[0].office[0]: version '2007' is not one of 2010, 2013, 2016, 2019, 2021, 2024",
                 id="office-version"),
    pytest.param("hosts.0.adress", "127.0.0.9",
                 "hosts[0]: unknown field 'adress' (known: name, count, address, os, edition, locale, office, "
                 "channel, username, password, roles, cmid_from, http_port, https_port, allow_unencrypted, domain_joined)",
                 id="typo-field"),
    pytest.param("hosts.0.count", 3, "hosts[0]: name 'a' needs {n} (for example 'a{n:02d}') when count is 3",
                 id="range-without-template"),
    pytest.param("hosts.0.name", "this-name-is-too-long",
                 "hosts[0]: host name 'this-name-is-too-long' is not a computer name (letters, digits and "
                 "hyphens, at most 15 characters)", id="netbios-name"),
    pytest.param("hosts.0.http_port", 70000, "hosts[0].http_port: 70000 is out of range (0..65535)",
                 id="port-range"),
    pytest.param("hosts.0.allow_unencrypted", "yes",
                 "hosts[0].allow_unencrypted: 'yes' is not a boolean (true or false)", id="bool"),
    pytest.param("hosts.0.cmid_from", "nosuch", "host 'a': cmid_from 'nosuch' names no host of this fleet",
                 id="cmid-from-unknown"),
    pytest.param("defaults.password", "",
                 "host 'a': a password is required (defaults.password or the host's own)", id="no-password"),
    pytest.param("domain", "localhost",
                 "fleet: domain 'localhost' is not a DNS domain name with at least two labels", id="domain"),
    pytest.param("lab", {"start": "yesterday"}, "lab.start: 'yesterday' is not an ISO 8601 date and time",
                 id="start"),
    pytest.param("hosts", [], "fleet: 'hosts' is required", id="no-hosts"),
    pytest.param("srv_records", [{"target": "kms-old", "port": 0}], "srv_records[0].port: 0 is out of range (1..65535)",
                 id="srv-port"),
    pytest.param("srv_records", [{"port": 1688}], "srv_records[0]: 'target' is required", id="srv-target"),
    pytest.param("srv_records", [{"target": "kms old"}],
                 "srv_records[0].target: 'kms old.t.example.test' is not a DNS host name", id="srv-target-name"),
    pytest.param("srv_records", [{"target": "kms-old", "prio": 1}],
                 "srv_records[0]: unknown field 'prio' (known: name, target, port, priority, weight, ttl)",
                 id="srv-typo"),
    pytest.param("srv_records", [{"target": "kms-old", "ttl": 0}], "srv_records[0].ttl: 0 is out of range (1..2147483647)",
                 id="srv-ttl"),
    pytest.param("srv_records", [{"target": "kms-old", "priority": 65536}],
                 "srv_records[0].priority: 65536 is out of range (0..65535)", id="srv-priority"),
    pytest.param("srv_records", [{"target": "kms-old", "weight": -1}],
                 "srv_records[0].weight: -1 is out of range (0..65535)", id="srv-weight"),
    pytest.param("srv_records", [{"target": "kms-old", "name": "_vlmcs _tcp"}],
                 "srv_records[0].name: '_vlmcs _tcp' is not a DNS name relative to the zone 't.example.test'",
                 id="srv-name"),
    pytest.param("srv_records", {"target": "kms-old"}, "srv_records: expected a list, got dict", id="srv-not-a-list"),
    pytest.param("srv_records", ["kms-old"], "srv_records[0]: expected a mapping, got str", id="srv-not-a-mapping"),
])
def test_invalid_fleet_is_refused_with_exact_message(path: str, value: t.Any, message: str) -> None:
    with pytest.raises(SpecError) as exc:
        parse_fleet(_mutated(path, value))
    assert str(exc.value) == message


def test_invalid_key_is_never_echoed() -> None:
    key = "XWVTR-QPNMK-JHGFD-CB987-6432A"
    with pytest.raises(SpecError) as exc:
        parse_fleet(_mutated("keys.0.key", key))
    assert not any(group in str(exc.value) for group in key.split("-"))


def test_load_fleet_prefixes_the_file_name(write_fleet: t.Callable[[dict[str, t.Any]], pathlib.Path]) -> None:
    path = write_fleet(_mutated("hosts.0.address", "192.168.1.1"))
    with pytest.raises(SpecError, match=r"^/.*fleet0\.yml: hosts\[0\]: address '192\.168\.1\.1' is not a loopback"):
        load_fleet(path)


@pytest.mark.parametrize(("content", "message"), [
    ("hosts: [", "YAML error at line 1, column 9: expected the node content, but found '<stream end>'"),
    ("- 1\n", "fleet file: the top level must be a mapping"),
])
def test_load_fleet_reports_yaml_problems(tmp_path: pathlib.Path, content: str, message: str) -> None:
    path = tmp_path / "f.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SpecError) as exc:
        load_fleet(path)
    assert str(exc.value) == f"{path}: {message}"


def test_missing_fleet_file(tmp_path: pathlib.Path) -> None:
    with pytest.raises(SpecError) as exc:
        load_fleet(tmp_path / "none.yml")
    assert str(exc.value) == f"{tmp_path / 'none.yml'}: cannot read the fleet file: No such file or directory"


def test_host_range_expands_names_addresses_and_fqdns() -> None:
    spec = parse_fleet(_mutated("hosts.0", dict(HOST, name="ws{n:02d}", count=3, address="127.0.0.250",
                                                 locale="ja-JP", office=[{"version": "2010",
                                                                          "products": ["ProPlus"]}])))
    assert [(h.name, h.address, h.fqdn) for h in spec.hosts] == [
        ("ws01", "127.0.0.250", "ws01.t.example.test"),
        ("ws02", "127.0.0.251", "ws02.t.example.test"),
        ("ws03", "127.0.0.252", "ws03.t.example.test"),
    ]
    # Each expanded host owns its Office list (mutating one does not touch the others).
    spec.hosts[0].office[0].products.append("VisioPro")
    assert spec.hosts[1].office[0].products == ["ProPlus"]
    assert {h.locale for h in spec.hosts} == {"ja-JP"}
    assert spec.host("WS02").address == "127.0.0.251"


def test_defaults_and_lab_settings() -> None:
    doc = _mutated("lab", {"seed": 9, "start": "2027-01-02T03:04:05+09:00", "dns_port": 15353})
    doc["defaults"].update(http_port=0, https_port=0, username="labadmin")
    spec = parse_fleet(doc)
    h = spec.hosts[0]
    assert (h.username, h.password, h.http_port, h.https_port) == ("labadmin", "Pw-1", 0, 0)
    assert spec.lab.seed == 9 and spec.lab.dns_port == 15353
    assert spec.lab.start == dt.datetime(2027, 1, 1, 18, 4, 5, tzinfo=dt.timezone.utc)


def test_demo_fleet_tells_the_story() -> None:
    spec = load_fleet(FLEETS / "demo.yml")
    kms = [h for h in spec.hosts if "kms_host" in h.roles]
    clients = [h for h in spec.hosts if "kms_host" not in h.roles]
    assert [(h.name, h.address, h.os, h.edition, h.locale) for h in kms] == [
        ("kms01", "127.0.10.10", "windows-server-2022", "ServerStandard", "en-US"),
        # The Office 2010 host pack does not install on Server 2022 [SEED]: a 2008 R2 host carries it.
        ("kms-office2010", "127.0.10.9", "windows-server-2008-r2", "ServerStandard", "en-US")]
    assert len(clients) == 30
    assert spec.domain == "corp.example.test"
    assert all(ipaddress.IPv4Address(h.address) in ipaddress.IPv4Network("127.0.10.0/24") for h in spec.hosts)
    assert {(h.http_port, h.https_port) for h in spec.hosts} == {(5985, 5986)}
    office2010 = [h for h in spec.hosts if any(o.version == "2010" for o in h.office)]
    assert len(office2010) == 5
    assert sorted(h.name for h in office2010 if h.os == "windows-7") == ["acct-w7e", "acct-w7p"]
    assert {o.version for h in spec.hosts for o in h.office} == {"2010", "2016", "2021"}
    assert [h.name for h in spec.hosts if h.locale == "ja-JP"] == ["tokyo01"]
    assert [(h.name, h.cmid_from) for h in spec.hosts if h.cmid_from] == [("img02", "img01")]
    editions = {(h.os, h.edition) for h in clients}
    assert {("windows-11", "Enterprise"), ("windows-11", "Professional"), ("windows-10", "Enterprise"),
            ("windows-10", "Professional"), ("windows-7", "Enterprise"), ("windows-server-2019", "ServerStandard"),
            ("windows-server-2022", "ServerDatacenter")} <= editions
    keys = {(k.kind, k.product, k.count, k.blocked) for k in spec.keys}
    assert keys == {
        ("csvlk", "windows-server-2022", 0, False), ("csvlk", "office-2010", 0, False),
        ("csvlk", "office-2021", 0, False), ("csvlk", "office-2016", 0, False),
        ("mak", "windows-11/Professional", 3, False),
        ("mak", "windows-10/Enterprise", 50, True),
    }
    assert all(KEY_RE.match(k.key) for k in spec.keys)


def test_demo_fleet_says_its_keys_are_synthetic() -> None:
    text = (FLEETS / "demo.yml").read_text(encoding="utf-8")
    assert "SYNTHETIC" in text


def test_small_fleet_uses_free_ports() -> None:
    spec = load_fleet(FLEETS / "small.yml")
    assert [h.name for h in spec.hosts] == ["kms01", "ws01", "ws02"]
    assert {(h.http_port, h.https_port) for h in spec.hosts} == {(0, 0)}


def test_srv_records_default_to_the_kms_owner_and_the_fleet_domain() -> None:
    spec = parse_fleet({**BASE, "srv_records": [{"target": "kms-old"},
                                                {"name": "_vlmcs._tcp.branch", "target": "KMS9.Other.Test.",
                                                 "port": 1689, "priority": 10, "weight": 5, "ttl": 600}]})
    assert [(r.name, r.target, r.port, r.priority, r.weight, r.ttl) for r in spec.srv_records] == [
        ("_vlmcs._tcp", "kms-old.t.example.test", 1688, 0, 0, 3600),
        ("_vlmcs._tcp.branch", "kms9.other.test", 1689, 10, 5, 600),
    ]


def test_srv_record_owner_given_in_full_is_made_relative_to_the_domain() -> None:
    spec = parse_fleet({**BASE, "srv_records": [{"name": "_VLMCS._tcp.T.Example.Test.", "target": "kms-old"}]})
    assert [(r.name, r.kms_domain(spec.domain)) for r in spec.srv_records] == [("_vlmcs._tcp", "t.example.test")]
