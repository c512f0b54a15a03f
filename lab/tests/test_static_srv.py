"""Static SRV records of the fleet file (``srv_records``): in BIND's zone from the start, kept
across reset, left alone when a KMS host publishes itself, and skipped by clients that cannot
reach them - the stale ``_vlmcs._tcp`` record of a decommissioned KMS host, as real networks
have them. Checked with ``dig`` against the lab's BIND and with the clients' event 12288."""

from __future__ import annotations

import pathlib
import subprocess
import typing as t

import pytest

from winlab.control import Lab
from winlab.models.errors import WmiError
from winlab.servers import bind as bind_mod
from winlab.servers.bind import BindServer
from winlab.servers.dns_client import SrvPublisher
from winlab.spec import SRV_DEFAULT_TTL, parse_fleet
from winlab.surfaces.cim import CimSurface

WINDOWS = "55c92734-d682-4d71-983e-d6ec3f16059f"
ZONE = "stale.example.test"
CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"  # synthetic, as in lab/fleets/small.yml


def fleet(network: bool = True) -> dict[str, t.Any]:
    return {
        # Seed 32: the client's random pick among the two priority-0 records tries kms-old first.
        "lab": {"seed": 32, "start": "2026-11-01T09:00:00Z", "dns_port": 0, "network": network},
        "domain": ZONE,
        "defaults": {"password": "Stale-Lab-Pw1", "http_port": 0, "https_port": 0},
        "keys": [{"name": "ws2022-csvlk", "kind": "csvlk", "product": "windows-server-2022", "key": CSVLK}],
        # kms-old was decommissioned; its record stayed, at kms01's priority (0).
        "srv_records": [{"target": "kms-old", "priority": 0}],
        "hosts": [
            {"name": "kms01", "address": "127.0.33.10", "os": "windows-server-2022", "edition": "ServerStandard",
             "roles": ["kms_host"]},
            {"name": "ws01", "address": "127.0.33.20", "os": "windows-11", "edition": "Enterprise"},
        ],
    }


@pytest.fixture
def lab(tmp_path: pathlib.Path) -> t.Iterator[Lab]:
    with Lab(parse_fleet(fleet()), tmp_path / "state") as running:
        yield running


def dig_srv(lab: Lab) -> list[str]:
    port = lab.dns_info()["port"]
    out = subprocess.run(["dig", "+tcp", "@127.0.0.1", "-p", str(port), f"_vlmcs._tcp.{ZONE}", "SRV", "+short",
                          "+time=2", "+tries=1"], capture_output=True, text=True, check=True, timeout=10).stdout
    return sorted(line for line in out.splitlines() if line)


def make_kms_host(lab: Lab) -> None:
    """kms01 gets the CSVLK and activates it: it publishes its own record (TCP 1688 open)."""
    host = lab.world.host("kms01")
    with lab.world.lock:
        CimSurface(host).invoke("SoftwareLicensingService", "InstallProductKey", {"ProductKey": CSVLK})
        row = CimSurface(host).query("SoftwareLicensingProduct", f"ApplicationID = '{WINDOWS}' AND PartialProductKey IS NOT NULL")[0]
        CimSurface(host).invoke("SoftwareLicensingProduct", "Activate", {}, row=row)
        rule = host.firewall.get("SPPSVC-In-TCP")
        assert rule is not None
        rule.enabled = True
    lab.reconcile_network()


def activate_client(lab: Lab, hresult: int = 0xC004F038) -> dict[str, t.Any]:
    """ws01 activates Windows; the default answer: counted, below Windows' threshold of 25."""
    host = lab.world.host("ws01")
    with lab.world.lock:
        row = CimSurface(host).query("SoftwareLicensingProduct", f"ApplicationID = '{WINDOWS}' AND PartialProductKey IS NOT NULL")[0]
        with pytest.raises(WmiError) as answer:
            CimSurface(host).invoke("SoftwareLicensingProduct", "Activate", {}, row=row)
        assert answer.value.hresult == hresult
        return next(e for e in reversed(host.events) if e["id"] == 12288)


def test_the_static_record_is_in_bind_and_survives_reset(lab: Lab) -> None:
    assert dig_srv(lab) == [f"0 0 1688 kms-old.{ZONE}."]
    lab.reset()
    assert dig_srv(lab) == [f"0 0 1688 kms-old.{ZONE}."]


def test_a_kms_host_publishing_itself_adds_its_record_beside_it(lab: Lab) -> None:
    make_kms_host(lab)
    assert dig_srv(lab) == [f"0 0 1688 kms-old.{ZONE}.", f"0 0 1688 kms01.{ZONE}."]


def test_a_client_that_picks_the_stale_record_fails_over(lab: Lab) -> None:
    make_kms_host(lab)
    event = activate_client(lab)
    assert event["host"] == f"kms01.{ZONE}:1688", event
    # kms-old was tried first (the fleet's seed), did not resolve, and the client went on to kms01.
    (tried,) = event["unreachable"]
    assert tried.startswith(f"kms-old.{ZONE}:1688 (") and "does not resolve" in tried and "NXDOMAIN" in tried


def test_without_the_network_the_models_hold_the_record_too(tmp_path: pathlib.Path) -> None:
    with Lab(parse_fleet(fleet(network=False)), tmp_path / "state") as running:
        assert [(r.target, r.port, r.priority) for r in running.world.dns.srv_records(ZONE)] == [
            (f"kms-old.{ZONE}", 1688, 0)]


def test_a_client_finding_only_the_stale_record_reaches_no_kms_host(lab: Lab) -> None:
    # kms01 is no KMS host yet: the stale record is all there is, and it leads nowhere.
    event = activate_client(lab, 0xC004F074)
    assert event["host"] is None
    (tried,) = event["unreachable"]
    assert tried.startswith(f"kms-old.{ZONE}:1688 (") and "NXDOMAIN" in tried


def test_without_the_network_a_client_fails_over_the_same_way(tmp_path: pathlib.Path) -> None:
    with Lab(parse_fleet(fleet(network=False)), tmp_path / "state") as running:
        make_kms_host(running)
        event = activate_client(running)
    assert event["host"] == f"kms01.{ZONE}:1688", event
    (tried,) = event["unreachable"]
    assert tried.startswith(f"kms-old.{ZONE}:1688 (") and "does not resolve" in tried


@pytest.mark.parametrize("network", [True, False], ids=["bind", "models"])
def test_a_static_record_below_the_zone_is_listed_like_the_zones_own(tmp_path: pathlib.Path, network: bool) -> None:
    data = fleet(network)
    data["srv_records"] = [*data["srv_records"], {"name": "_vlmcs._tcp.branch", "target": "kms-br", "port": 1689}]
    with Lab(parse_fleet(data), tmp_path / "state") as running:
        dns = running.world.dns
        assert sorted(dns.snapshot()) == [f"_vlmcs._tcp.branch.{ZONE}", f"_vlmcs._tcp.{ZONE}"]
        assert sorted((owner, r.target, r.port) for owner, r in dns.zone_srv(ZONE)) == [
            (f"_vlmcs._tcp.branch.{ZONE}", f"kms-br.{ZONE}", 1689),
            (f"_vlmcs._tcp.{ZONE}", f"kms-old.{ZONE}", 1688),
        ]


# ----------------------------------------------------------------------------- BindServer.add_srv

needs_bind = pytest.mark.skipif(
    bind_mod.named_binary() is None or bind_mod.shutil.which("dig") is None,
    reason="BIND 9 is not installed: apt-get install bind9 bind9-utils bind9-dnsutils (.ci/run does this)",
)


def dig_answer(server: BindServer, name: str) -> list[str]:
    """``ttl priority weight port target`` of each SRV record at ``name``, sorted."""
    out = subprocess.run(["dig", "+tcp", f"@{server.address}", "-p", str(server.port), name, "SRV",
                          "+noall", "+answer", "+time=2", "+tries=1"],
                         capture_output=True, text=True, check=True, timeout=10).stdout
    return sorted(" ".join([f[1], *f[4:]]) for f in (line.split() for line in out.splitlines()) if f)


def test_the_default_ttl_is_the_zones() -> None:
    assert SRV_DEFAULT_TTL == bind_mod.DEFAULT_TTL


@needs_bind
def test_bind_add_srv_writes_the_zone_before_start_and_updates_while_running(tmp_path: pathlib.Path) -> None:
    server = BindServer(ZONE, tmp_path / "dns")
    server.add_host("kms01", "127.0.33.10")
    server.add_srv("_vlmcs._tcp", f"KMS-OLD.{ZONE}.", 1688, priority=10)
    server.add_srv("_vlmcs._tcp.branch", "kms-older.elsewhere.test", 1689, weight=5, ttl=600)
    owner = f"_vlmcs._tcp.{ZONE}."
    with server:
        # In the zone file, in the order they were added.
        srv_lines = [line for line in server.zone_path.read_text().splitlines() if " SRV " in line]
        assert srv_lines == [f"_vlmcs._tcp 3600 IN SRV 10 0 1688 kms-old.{ZONE}.",
                             "_vlmcs._tcp.branch 600 IN SRV 0 5 1689 kms-older.elsewhere.test."]
        assert dig_answer(server, owner) == [f"3600 10 0 1688 kms-old.{ZONE}."]
        assert dig_answer(server, f"_vlmcs._tcp.branch.{ZONE}.") == ["600 0 5 1689 kms-older.elsewhere.test."]
        # While running: an RFC 2136 add beside the record already there.
        server.add_srv("_vlmcs._tcp", f"kms-spare.{ZONE}", 1690)
        assert dig_answer(server, owner) == [f"3600 0 0 1690 kms-spare.{ZONE}.", f"3600 10 0 1688 kms-old.{ZONE}."]
        # A KMS host that publishes itself and later withdraws leaves the others alone.
        publisher = SrvPublisher(server.address, server.port, ZONE, server.key_name, server.key_secret,
                                 server.key_algorithm, source="127.0.33.10")
        publisher.publish(f"kms01.{ZONE}")
        assert len(dig_answer(server, owner)) == 3
        assert publisher.withdraw(f"kms01.{ZONE}") == 1
        assert dig_answer(server, owner) == [f"3600 0 0 1690 kms-spare.{ZONE}.", f"3600 10 0 1688 kms-old.{ZONE}."]
    with pytest.raises(ValueError, match="SRV target"):
        server.add_srv("_vlmcs._tcp", "kms old", 1688)
