"""The lab's real network (winlab.network): BIND publishing and discovery, KMS over TCP,
failover, firewall, faults and clean shutdown, checked with real sockets, `dig` and
`probe_bind` rather than the models' own view."""

from __future__ import annotations

import pathlib
import socket
import subprocess
import time
import typing as t

import pytest

from winlab.control import Lab
from winlab.models.errors import WmiError
from winlab.models.registry import SPP_KEY
from winlab.servers.dns_client import SrvPublisher
from winlab.servers.kms import probe_bind
from winlab.spec import parse_fleet
from winlab.surfaces.cim import CimSurface

WINDOWS = "55c92734-d682-4d71-983e-d6ec3f16059f"
ZONE = "net.example.test"
CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"  # synthetic, as in lab/fleets/small.yml
KMS1, KMS2, WS1, WS2 = "127.0.31.10", "127.0.31.11", "127.0.31.20", "127.0.31.21"

FLEET: dict[str, t.Any] = {
    "lab": {"seed": 11, "start": "2026-11-01T09:00:00Z", "dns_port": 0},
    "domain": ZONE,
    "defaults": {"password": "Net-Lab-Pw1", "http_port": 0, "https_port": 0},
    "keys": [{"name": "ws2022-csvlk", "kind": "csvlk", "product": "windows-server-2022", "key": CSVLK}],
    "hosts": [
        {"name": "kms01", "address": KMS1, "os": "windows-server-2022", "edition": "ServerStandard",
         "roles": ["kms_host"]},
        {"name": "kms02", "address": KMS2, "os": "windows-server-2022", "edition": "ServerStandard",
         "roles": ["kms_host"]},
        {"name": "ws01", "address": WS1, "os": "windows-11", "edition": "Enterprise"},
        {"name": "ws02", "address": WS2, "os": "windows-11", "edition": "Enterprise"},
    ],
}


@pytest.fixture
def lab(tmp_path: pathlib.Path) -> t.Iterator[Lab]:
    with Lab(parse_fleet(FLEET), tmp_path / "state") as running:
        assert running.network is not None  # network mode is the default
        yield running


def kms_host(lab: Lab, name: str, *, firewall: bool = True, publish: bool = True) -> None:
    """Make ``name`` an activated KMS host (CSVLK online), its SPPSVC-In-TCP rule as given."""
    host = lab.world.host(name)
    with lab.world.lock:
        if not publish:
            host.registry.set(SPP_KEY, "DisableDnsPublishing", "DWord", 1)
            host.restart_service("sppsvc")
        CimSurface(host).invoke("SoftwareLicensingService", "InstallProductKey", {"ProductKey": CSVLK})
        row = CimSurface(host).query("SoftwareLicensingProduct", f"ApplicationID = '{WINDOWS}' AND PartialProductKey IS NOT NULL")[0]
        CimSurface(host).invoke("SoftwareLicensingProduct", "Activate", {}, row=row)
        rule = host.firewall.get("SPPSVC-In-TCP")
        assert rule is not None
        rule.enabled = firewall
    lab.reconcile_network()


def activate(lab: Lab, name: str) -> int:
    """Activate() on the client's Windows SKU; the HRESULT (0 = activated)."""
    host = lab.world.host(name)
    with lab.world.lock:
        row = CimSurface(host).query("SoftwareLicensingProduct", f"ApplicationID = '{WINDOWS}' AND PartialProductKey IS NOT NULL")[0]
        try:
            CimSurface(host).invoke("SoftwareLicensingProduct", "Activate", {}, row=row)
        except WmiError as e:
            return e.hresult
    return 0


def last_attempt(lab: Lab, name: str) -> dict[str, t.Any]:
    return next(e for e in reversed(lab.world.host(name).events) if e["id"] == 12288)


def dig_srv(lab: Lab, owner: str = f"_vlmcs._tcp.{ZONE}") -> list[str]:
    """``dig +tcp @127.0.0.1 -p PORT <owner> SRV +short``, sorted lines. TCP: under xdist a UDP query
    once got an answer without the QR bit (";; Warning: query response not set"), i.e. from some
    other socket on that UDP port; over TCP only named's listener answers."""
    port = lab.dns_info()["port"]
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), owner, "SRV", "+short", "+tcp", "+time=2", "+tries=1"],
                         capture_output=True, text=True, check=True, timeout=10).stdout
    return sorted(line for line in out.splitlines() if line)


def listener_stats(lab: Lab, name: str) -> dict[str, int]:
    assert lab.network is not None
    return dict(lab.network.listeners[name].stats)


# ----------------------------------------------------------------------------- publishing


def test_activated_kms_host_publishes_its_srv_record_into_bind(lab: Lab) -> None:
    assert dig_srv(lab) == []
    kms_host(lab, "kms01")
    assert dig_srv(lab) == [f"0 0 1688 kms01.{ZONE}."]
    assert lab.world.host("kms01").events[-1]["id"] == 12294


def test_publish_list_adds_records_with_priority_and_weight(lab: Lab) -> None:
    kms = lab.world.host("kms01")
    with lab.world.lock:
        kms.registry.set(SPP_KEY, "DnsDomainPublishList", "MultiString", [f"branch.{ZONE}, 10, 60"])
        kms.restart_service("sppsvc")  # the listener reads its settings at start [SLMGR10]
    kms_host(lab, "kms01")
    assert dig_srv(lab) == [f"0 0 1688 kms01.{ZONE}."]
    assert dig_srv(lab, f"_vlmcs._tcp.branch.{ZONE}") == [f"10 60 1688 kms01.{ZONE}."]


def test_refused_update_leaves_dns_unchanged_and_logs_12293(lab: Lab) -> None:
    lab.fault("ws01", "dns_refuse_updates")
    assert lab.network is not None and lab.network.bind.updates_refused
    kms_host(lab, "kms01")
    assert dig_srv(lab) == []
    event = lab.world.host("kms01").events[-1]
    assert (event["id"], event["owner"]) == (12293, f"_vlmcs._tcp.{ZONE}")
    assert "REFUSED" in event["reason"]
    assert activate(lab, "ws01") == 0x8007232B
    lab.clear()
    assert not lab.network.bind.updates_refused


@pytest.mark.parametrize(("publish", "expected"), [(True, [f"0 0 1688 kms01.{ZONE}."]), (False, [])])
def test_srv_refresh_every_24h_only_while_publishing(lab: Lab, publish: bool, expected: list[str]) -> None:
    kms_host(lab, "kms01")
    if not publish:
        with lab.world.lock:  # /cdns then a restart: publishing stops, the record stays [WSD-DNS]
            kms = lab.world.host("kms01")
            kms.registry.set(SPP_KEY, "DisableDnsPublishing", "DWord", 1)
            kms.restart_service("sppsvc")
    assert dig_srv(lab) == [f"0 0 1688 kms01.{ZONE}."]
    info = lab.dns_info()
    # An administrator deletes the record; the KMS host puts it back at its next refresh.
    SrvPublisher("127.0.0.1", info["port"], ZONE, info["tsig_key_name"], info["tsig_key_secret"],
                 info["tsig_algorithm"]).withdraw(f"kms01.{ZONE}")
    assert dig_srv(lab) == []
    lab.advance("23h")
    assert dig_srv(lab) == []
    lab.advance("2h")
    assert dig_srv(lab) == expected


# ----------------------------------------------------------------------------- discovery and KMS


def test_client_activates_over_tcp_through_dns_discovery(lab: Lab) -> None:
    kms_host(lab, "kms01")
    assert activate(lab, "ws01") == 0xC004F038  # counted over the wire: 1 of the 25 needed
    assert listener_stats(lab, "kms01")["responses"] == 1
    event = last_attempt(lab, "ws01")
    assert (event["host"], event["current_count"], event["unreachable"]) == (f"kms01.{ZONE}:1688", 1, [])
    with lab.world.lock:
        svc = CimSurface(lab.world.host("ws01")).query("SoftwareLicensingService")[0]
    assert (svc["DiscoveredKeyManagementServiceMachineName"],
            svc["DiscoveredKeyManagementServiceMachineIpAddress"]) == (f"kms01.{ZONE}", KMS1)
    # The host counted the client's address as the peer of a real connection.
    assert lab.world.host("kms01").events[-1]["client"] == f"ws01.{ZONE}"


def test_failover_to_the_second_host_when_the_first_is_down(lab: Lab) -> None:
    kms_host(lab, "kms01")
    kms_host(lab, "kms02")
    assert dig_srv(lab) == [f"0 0 1688 kms01.{ZONE}.", f"0 0 1688 kms02.{ZONE}."]
    lab.fault("kms01", "host_down")
    assert not probe_bind(KMS1, 1688)
    assert [activate(lab, n) for n in ("ws01", "ws02")] == [0xC004F038, 0xC004F038]
    for name in ("ws01", "ws02"):
        event = last_attempt(lab, name)
        assert event["host"] == f"kms02.{ZONE}:1688"
        assert all(u.startswith(f"kms01.{ZONE}:1688 (") for u in event["unreachable"])
    assert listener_stats(lab, "kms02")["responses"] == 2


def test_no_srv_record_is_0x8007232b(lab: Lab) -> None:
    assert activate(lab, "ws01") == 0x8007232B  # DNS_ERROR_RCODE_NAME_ERROR


@pytest.mark.parametrize("fault", ["kms_port_closed", "kms_service_stopped", "host_down"])
def test_kms_faults_close_the_listener(lab: Lab, fault: str) -> None:
    kms_host(lab, "kms01")
    assert probe_bind(KMS1, 1688, source_address=WS1)
    lab.fault("kms01", fault)
    assert not probe_bind(KMS1, 1688, source_address=WS1)
    assert activate(lab, "ws01") == 0xC004F074  # SL_E_VL_BINDING_SERVICE_UNAVAILABLE
    lab.clear()
    assert probe_bind(KMS1, 1688, source_address=WS1)
    assert activate(lab, "ws01") == 0xC004F038


def test_disabled_firewall_rule_means_no_listener(lab: Lab) -> None:
    kms_host(lab, "kms01", firewall=False)
    assert dig_srv(lab) == [f"0 0 1688 kms01.{ZONE}."]  # published, but unreachable
    assert not probe_bind(KMS1, 1688)
    with socket.socket() as s:
        assert s.connect_ex((KMS1, 1688)) != 0  # refused: nothing listens
    assert activate(lab, "ws01") == 0xC004F074
    assert "connection refused" in last_attempt(lab, "ws01")["unreachable"][0]


def test_rule_scope_admits_only_its_addresses(lab: Lab) -> None:
    kms_host(lab, "kms01")
    with lab.world.lock:
        rule = lab.world.host("kms01").firewall.get("SPPSVC-In-TCP")
        assert rule is not None
        rule.remote_addresses = [f"{WS2}/32"]
    lab.reconcile_network()
    assert activate(lab, "ws01") == 0xC004F074
    assert "reset" in last_attempt(lab, "ws01")["unreachable"][0]
    assert activate(lab, "ws02") == 0xC004F038
    assert (probe_bind(KMS1, 1688, source_address=WS1), probe_bind(KMS1, 1688, source_address=WS2)) == (False, True)


def test_manual_kms_name_beats_dns(lab: Lab) -> None:
    kms_host(lab, "kms01")
    kms_host(lab, "kms02", publish=False)
    assert dig_srv(lab) == [f"0 0 1688 kms01.{ZONE}."]
    ws = lab.world.host("ws01")
    with lab.world.lock:
        CimSurface(ws).invoke("SoftwareLicensingService", "SetKeyManagementServiceMachine", {"MachineName": "kms02"})
    assert activate(lab, "ws01") == 0xC004F038
    assert last_attempt(lab, "ws01")["host"] == f"kms02.{ZONE}:1688"
    assert (listener_stats(lab, "kms01")["responses"], listener_stats(lab, "kms02")["responses"]) == (0, 1)
    with lab.world.lock:  # an IPv4 literal works too
        CimSurface(ws).invoke("SoftwareLicensingService", "SetKeyManagementServiceMachine", {"MachineName": KMS1})
    assert activate(lab, "ws01") == 0xC004F038
    assert listener_stats(lab, "kms01")["responses"] == 1


def test_dns_down_is_0x8007232a_until_cleared(lab: Lab) -> None:
    kms_host(lab, "kms01")
    lab.fault("ws02", "dns_down")
    assert lab.network is not None and not lab.network.bind.running
    assert activate(lab, "ws01") == 0x8007232A  # DNS_ERROR_RCODE_SERVER_FAILURE
    lab.clear()
    assert lab.network.bind.running
    assert activate(lab, "ws01") == 0xC004F038  # the record survived the restart


def test_timer_retries_during_advance_go_over_tcp(lab: Lab) -> None:
    """The sppsvc timers of advance() reach the host over TCP: every GVLK client (ws01, ws02
    and kms02, a Server 2022 with its preinstalled GVLK) retries every 2 h and is counted once."""
    kms_host(lab, "kms01")
    assert activate(lab, "ws01") == 0xC004F038
    lab.advance("6h")
    # ws01: 3 retries after its Activate(); ws02 and kms02: first attempt at 2 h, then 4 h, 6 h.
    assert listener_stats(lab, "kms01")["responses"] == 1 + 3 + 3 + 3
    with lab.world.lock:
        row = CimSurface(lab.world.host("kms01")).query("SoftwareLicensingService")[0]
    assert row["KeyManagementServiceCurrentCount"] == 3


# ----------------------------------------------------------------------------- lifecycle


def test_reset_gives_a_fresh_zone(lab: Lab) -> None:
    kms_host(lab, "kms01")
    assert dig_srv(lab) == [f"0 0 1688 kms01.{ZONE}."]
    lab.reset()
    assert dig_srv(lab) == []
    assert lab.kms_listeners() == {}
    assert not probe_bind(KMS1, 1688)


def test_stop_leaves_no_named_and_no_listener(tmp_path: pathlib.Path) -> None:
    lab = Lab(parse_fleet(FLEET), tmp_path / "state").start()
    try:
        kms_host(lab, "kms01")
        assert lab.kms_listeners() == {"kms01": (KMS1, 1688)}
        assert lab.network is not None
        pid, port = lab.network.bind.pid, lab.dns_info()["port"]
        assert pid is not None
    finally:
        lab.stop()
    deadline = time.monotonic() + 5
    while pathlib.Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not pathlib.Path(f"/proc/{pid}").exists()
    with socket.socket() as s:
        assert s.connect_ex((KMS1, 1688)) != 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", port))  # the DNS port is free again


def test_network_false_keeps_kms_in_the_models(tmp_path: pathlib.Path) -> None:
    with Lab(parse_fleet({**FLEET, "lab": {**FLEET["lab"], "network": False}}), tmp_path / "s") as lab:
        assert lab.network is None
        kms_host(lab, "kms01")
        assert activate(lab, "ws01") == 0xC004F038
        assert lab.kms_listeners() == {}
        assert not probe_bind(KMS1, 1688)
