"""root/MicrosoftDNS on a host with the dns_server role: the records are BIND's (read with dig
as the independent check), created, modified and deleted through the executor's operations
as the collection sends them."""

from __future__ import annotations

import pathlib
import subprocess
import typing as t

import pytest

from winlab.control import Lab
from winlab.models.errors import WmiError
from winlab.spec import parse_fleet
from winlab.surfaces.cim import CimSurface
from winlab.surfaces.executor import run_batch

ZONE = "dnswmi.example.test"
OWNER = f"_vlmcs._tcp.{ZONE}"
NS = "root/MicrosoftDNS"


def fleet(network: bool = True) -> dict[str, t.Any]:
    return {
        "lab": {"seed": 34, "start": "2026-11-01T09:00:00Z", "dns_port": 0, "network": network},
        "domain": ZONE,
        "defaults": {"password": "DnsWmi-Lab-Pw1", "http_port": 0, "https_port": 0},
        "srv_records": [{"target": "kms-old", "priority": 10}],
        "hosts": [
            {"name": "dc01", "address": "127.0.34.5", "os": "windows-server-2022", "edition": "ServerStandard",
             "roles": ["dns_server"]},
            {"name": "ws01", "address": "127.0.34.20", "os": "windows-11", "edition": "Enterprise"},
        ],
    }


@pytest.fixture(params=[True, False], ids=["bind", "models"])
def lab(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> t.Iterator[Lab]:
    with Lab(parse_fleet(fleet(network=request.param)), tmp_path / "state") as running:
        yield running


def batch(lab: Lab, *ops: dict[str, t.Any], host: str = "dc01") -> list[dict[str, t.Any]]:
    out = run_batch(lab.world, lab.world.host(host), {"operations": list(ops), "stop_on_error": False})
    return t.cast(list[dict[str, t.Any]], out["results"])


def records(lab: Lab) -> list[str]:
    """``TTL prio weight port target`` at the KMS owner: dig against BIND, else the models' view."""
    if lab.network is not None:
        port = lab.dns_info()["port"]
        out = subprocess.run(["dig", "+tcp", "+norecurse", "+noall", "+answer", "@127.0.0.1", "-p", str(port),
                              OWNER, "SRV"], capture_output=True, text=True, check=True, timeout=10).stdout
        return sorted(" ".join([f[1], *f[4:]]) for f in (line.split() for line in out.splitlines()) if len(f) == 8)
    return sorted(f"{r.ttl} {r.priority} {r.weight} {r.port} {r.target}." for r in lab.world.dns.srv_records(ZONE))


def query_srv(flt: str | None = None) -> dict[str, t.Any]:
    op: dict[str, t.Any] = {"op": "cim_query", "class": "MicrosoftDNS_SRVType", "namespace": NS,
                            "properties": ["ContainerName", "OwnerName", "TTL", "Priority", "Weight", "Port",
                                           "SRVDomainName"]}
    if flt:
        op["filter"] = flt
    return op


def test_zone_and_records_are_listed(lab: Lab) -> None:
    zone, srv = batch(lab, {"op": "cim_query", "class": "MicrosoftDNS_Zone", "namespace": NS,
                            "filter": f"Name = '{ZONE}'", "properties": ["Name"]},
                      query_srv(f"ContainerName = '{ZONE}' AND OwnerName = '{OWNER}'"))
    assert zone["instances"] == [{"Name": ZONE}]
    assert srv["instances"] == [{"ContainerName": ZONE, "OwnerName": OWNER, "TTL": 3600, "Priority": 10,
                                 "Weight": 0, "Port": 1688, "SRVDomainName": f"kms-old.{ZONE}."}]


def test_create_modify_delete_change_the_real_zone(lab: Lab) -> None:
    (created,) = batch(lab, {"op": "cim_invoke", "class": "MicrosoftDNS_SRVType", "namespace": NS, "static": True,
                             "method": "CreateInstanceFromPropertyData",
                             "arguments": {"DnsServerName": f"dc01.{ZONE}", "ContainerName": ZONE, "OwnerName": OWNER,
                                           "TTL": 3600, "Priority": 0, "Weight": 5, "Port": 1688,
                                           "SRVDomainName": f"kms01.{ZONE}."}})
    assert created["ok"] is True and created["matched"] == 1
    # One TTL for the RRset (RFC 2181 section 5.2: BIND gives the whole set the TTL of the last add).
    assert records(lab) == ["3600 0 5 1688 kms01.dnswmi.example.test.", "3600 10 0 1688 kms-old.dnswmi.example.test."]
    (modified,) = batch(lab, {"op": "cim_invoke", "class": "MicrosoftDNS_SRVType", "namespace": NS, "method": "Modify",
                              "filter": f"OwnerName = '{OWNER}' AND SRVDomainName = 'kms01.{ZONE}.'",
                              "arguments": {"TTL": 3600, "Priority": 0, "Weight": 5, "Port": 1689}})
    assert modified["ok"] is True and modified["matched"] == 1
    assert "3600 0 5 1689 kms01.dnswmi.example.test." in records(lab)
    (deleted,) = batch(lab, {"op": "cim_delete", "class": "MicrosoftDNS_SRVType", "namespace": NS,
                             "filter": f"OwnerName = '{OWNER}' AND SRVDomainName = 'kms-old.{ZONE}.'"})
    assert deleted == {"op": "cim_delete", "ok": True, "deleted": 1}
    assert records(lab) == ["3600 0 5 1689 kms01.dnswmi.example.test."]


def test_refusals_are_wmi_errors(lab: Lab) -> None:
    host = lab.world.host("dc01")
    args = {"DnsServerName": f"dc01.{ZONE}.", "ContainerName": "other.test", "OwnerName": "_vlmcs._tcp.other.test",
            "Priority": 0, "Weight": 0, "Port": 1688, "SRVDomainName": "kms01.other.test."}
    with lab.world.lock, pytest.raises(WmiError) as e:
        CimSurface(host).invoke("MicrosoftDNS_SRVType", "CreateInstanceFromPropertyData", args, None, NS)
    assert e.value.hresult == 0x80041002  # the zone is not on this server
    with lab.world.lock, pytest.raises(WmiError) as e:
        CimSurface(host).invoke("MicrosoftDNS_SRVType", "CreateInstanceFromPropertyData",
                    {**args, "ContainerName": ZONE, "OwnerName": f"_ldap._tcp.{ZONE}"}, None, NS)
    assert e.value.hresult == 0x8004100C  # only _vlmcs._tcp is simulated
    with lab.world.lock, pytest.raises(WmiError) as e:
        CimSurface(host).invoke("MicrosoftDNS_SRVType", "CreateInstanceFromPropertyData", {**args, "Port": 70000}, None, NS)
    assert e.value.hresult == 0x80041005  # uint16


@pytest.mark.parametrize("name", [".", "", "localhost", "ws01.dnswmi.example.test"])
def test_dns_server_name_must_be_this_servers_fqdn_or_address(lab: Lab, name: str) -> None:
    """DnsServerName: "FQDN or IP address of the DNS Server that contains this RR" (MicrosoftDocs/win32
    desktop-src/DNS/microsoftdns-srvtype-createinstancefrompropertydata.md); '.' is neither."""
    args = {"DnsServerName": name, "ContainerName": ZONE, "OwnerName": OWNER,
            "Priority": 0, "Weight": 0, "Port": 1688, "SRVDomainName": f"kms01.{ZONE}."}
    with lab.world.lock, pytest.raises(WmiError) as e:
        CimSurface(lab.world.host("dc01")).invoke("MicrosoftDNS_SRVType", "CreateInstanceFromPropertyData", args,
                                                  None, NS)
    assert e.value.hresult == 0x80041008
    assert records(lab) == ["3600 10 0 1688 kms-old.dnswmi.example.test."]


@pytest.mark.parametrize("name", ["dc01.dnswmi.example.test", "DC01.dnswmi.example.test.", "address"])
def test_dns_server_name_accepts_the_fqdn_or_the_address(lab: Lab, name: str) -> None:
    host = lab.world.host("dc01")
    args = {"DnsServerName": host.spec.address if name == "address" else name, "ContainerName": ZONE,
            "OwnerName": OWNER, "Priority": 0, "Weight": 0, "Port": 1688, "SRVDomainName": f"kms01.{ZONE}."}
    with lab.world.lock:
        CimSurface(host).invoke("MicrosoftDNS_SRVType", "CreateInstanceFromPropertyData", args, None, NS)
    assert "3600 0 0 1688 kms01.dnswmi.example.test." in records(lab)


def test_the_server_class_names_the_server_by_its_fqdn(lab: Lab) -> None:
    (res,) = batch(lab, {"op": "cim_query", "class": "MicrosoftDNS_Server", "namespace": NS, "properties": ["Name"]})
    assert res["instances"] == [{"Name": "dc01.dnswmi.example.test"}]


def test_only_the_dns_server_has_the_namespace(lab: Lab) -> None:
    (res,) = batch(lab, query_srv(), host="ws01")
    assert (res["ok"], res["hresult_hex"]) == (False, "0x8004100E")
