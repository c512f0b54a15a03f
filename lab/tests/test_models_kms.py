"""KMS host and client behaviour: thresholds, CMID counting, discovery, failover, timers."""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from winlab.models.errors import WmiError
from winlab.models.firewall import FirewallRule
from winlab.models.host import WindowsHost
from winlab.models.kms import UNCONTACTED
from winlab.models.world import World
from winlab.spec import parse_fleet
from winlab.surfaces.cim import CimSurface

ALPHABET = "BCDFGHJKMPQRTVWXY2346789"  # the 24 key symbols; N only marks a position, once
O2016 = "d450596f-894d-49e0-966a-fd39ed4c4c64"  # Office 2016 ProPlus KMS client SKU [3P PYKMS]
O2010 = "6f327760-8c5c-417c-9b61-836a98287e0c"  # Office 2010 ProPlus KMS client SKU [3P PYKMS]
WINDOWS_APP = "55c92734-d682-4d71-983e-d6ec3f16059f"


def synth_key(n: int) -> str:
    s = "".join(ALPHABET[(n * 11 + i * (n + 5)) % len(ALPHABET)] for i in range(25))
    return "-".join(s[i:i + 5] for i in range(0, 25, 5))


WS22_CSVLK, WS19_CSVLK, O2016_CSVLK, O2010_CSVLK = (synth_key(i) for i in (1, 2, 3, 4))


def fleet(clients: list[dict[str, t.Any]], hosts: list[dict[str, t.Any]] | None = None) -> World:
    hosts = hosts if hosts is not None else [
        {"name": "kms01", "address": "127.0.20.10", "os": "windows-server-2022", "edition": "ServerStandard"}]
    return World(parse_fleet({
        "domain": "corp.example.test", "defaults": {"password": "P@ss"}, "lab": {"seed": 3},
        "keys": [
            {"name": "ws22", "kind": "csvlk", "product": "windows-server-2022", "key": WS22_CSVLK},
            {"name": "ws19", "kind": "csvlk", "product": "windows-server-2019", "key": WS19_CSVLK},
            {"name": "o2016", "kind": "csvlk", "product": "office-2016", "key": O2016_CSVLK},
            {"name": "o2010", "kind": "csvlk", "product": "office-2010", "key": O2010_CSVLK},
        ],
        "hosts": hosts + clients}))


def office_clients(n: int, start: int = 1, **extra: t.Any) -> list[dict[str, t.Any]]:
    return [{"name": f"pc{i:02d}", "address": f"127.0.21.{i}", "os": "windows-11", "edition": "Enterprise",
             "office": [{"version": "2016", "products": ["ProPlus"]}], **extra} for i in range(start, start + n)]


def make_host(w: World, name: str = "kms01", keys: t.Sequence[str] = (WS22_CSVLK, O2016_CSVLK),
              firewall: bool = True) -> WindowsHost:
    h = w.hosts[name]
    for key in keys:
        CimSurface(h).invoke("SoftwareLicensingService", "InstallProductKey", {"ProductKey": key})
        row = CimSurface(h).query("SoftwareLicensingProduct", f"PartialProductKey = '{key[-5:]}'")[0]
        CimSurface(h).invoke("SoftwareLicensingProduct", "Activate", {}, row)
    if firewall:
        h.firewall.rules["sppsvc-in-tcp"].enabled = True
    return h


def activate(h: WindowsHost, sku_id: str, cls: str = "SoftwareLicensingProduct") -> str:
    row = CimSurface(h).query(cls, f"ID = '{sku_id}'")[0]
    try:
        CimSurface(h).invoke(cls, "Activate", {}, row)
        return "ok"
    except WmiError as e:
        return e.hex


def status(h: WindowsHost, sku_id: str, cls: str = "SoftwareLicensingProduct") -> int:
    return int(CimSurface(h).query(cls, f"ID = '{sku_id}'")[0]["LicenseStatus"])


def host_row(h: WindowsHost, cond: str) -> dict[str, t.Any]:
    return CimSurface(h).query("SoftwareLicensingProduct", cond)[0]


# -- thresholds -------------------------------------------------------------------------

def test_office_threshold_four_clients_then_fifth() -> None:
    w = fleet(office_clients(5))
    kms = make_host(w)
    first = [activate(w.hosts[f"pc{i:02d}"], O2016) for i in range(1, 5)]
    assert first == ["0xC004F038"] * 4
    office_host = host_row(kms, "ID = '98ebfe73-2084-4c97-932c-c0cd1643bea7'")
    assert office_host["KeyManagementServiceCurrentCount"] == 4
    assert office_host["RequiredClientCount"] == 5
    assert activate(w.hosts["pc05"], O2016) == "ok"
    assert [activate(w.hosts[f"pc{i:02d}"], O2016) for i in range(1, 5)] == ["ok"] * 4
    office_host = host_row(kms, "ID = '98ebfe73-2084-4c97-932c-c0cd1643bea7'")
    assert office_host["KeyManagementServiceCurrentCount"] == 5
    assert office_host["KeyManagementServiceTotalRequests"] == 9
    assert office_host["KeyManagementServiceOOBGraceRequests"] == 9  # all clients were in initial grace
    client = host_row(w.hosts["pc01"], f"ID = '{O2016}'")
    assert (client["LicenseStatus"], client["GracePeriodRemaining"]) == (1, 180 * 1440)
    assert client["DiscoveredKeyManagementServiceMachineName"] == "kms01.corp.example.test"
    assert client["DiscoveredKeyManagementServiceMachinePort"] == 1688
    assert client["KeyManagementServiceProductKeyID"] == office_host["ProductKeyID"]


def test_fifth_client_lets_the_others_activate_on_their_two_hour_retry() -> None:
    w = fleet(office_clients(5))
    make_host(w)
    assert [activate(w.hosts[f"pc{i:02d}"], O2016) for i in range(1, 6)] == ["0xC004F038"] * 4 + ["ok"]
    w.advance(dt.timedelta(hours=2, minutes=1))  # VLActivationInterval 120 [MS-TIMING]
    assert [status(w.hosts[f"pc{i:02d}"], O2016) for i in range(1, 6)] == [1] * 5


@pytest.mark.parametrize(("n", "os", "edition", "threshold"), [
    (5, "windows-server-2019", "ServerStandard", 5),
    (25, "windows-10", "Enterprise", 25),
])
def test_windows_thresholds(n: int, os: str, edition: str, threshold: int) -> None:
    clients = [{"name": f"c{i:02d}", "address": f"127.0.22.{i}", "os": os, "edition": edition}
               for i in range(1, n + 1)]
    w = fleet(clients)
    make_host(w)
    outcomes = []
    for i in range(1, n + 1):
        h = w.hosts[f"c{i:02d}"]
        win = CimSurface(h).query("SoftwareLicensingProduct", f"ApplicationID = '{WINDOWS_APP}' AND PartialProductKey <> NULL")[0]
        outcomes.append(activate(h, win["ID"]))
    assert outcomes == ["0xC004F038"] * (threshold - 1) + ["ok"]


def test_cloned_cmids_count_once() -> None:
    clients = [*office_clients(4), {**office_clients(1, start=5)[0], "cmid_from": "pc01"}]
    w = fleet(clients)
    kms = make_host(w)
    assert w.hosts["pc05"].cmid == w.hosts["pc01"].cmid
    assert [activate(w.hosts[f"pc{i:02d}"], O2016) for i in range(1, 6)] == ["0xC004F038"] * 5
    assert host_row(kms, "ID = '98ebfe73-2084-4c97-932c-c0cd1643bea7'")["KeyManagementServiceCurrentCount"] == 4


def test_count_minus_one_before_first_client_and_window_expiry() -> None:
    w = fleet(office_clients(5))
    kms = make_host(w)
    host = host_row(kms, "ID = '98ebfe73-2084-4c97-932c-c0cd1643bea7'")
    assert host["KeyManagementServiceCurrentCount"] == UNCONTACTED == 4294967295
    for i in range(1, 6):
        activate(w.hosts[f"pc{i:02d}"], O2016)
        # take the clients away so they do not renew
        w.hosts[f"pc{i:02d}"].reachable = False
        row = CimSurface(w.hosts[f"pc{i:02d}"]).query("SoftwareLicensingProduct", f"ID = '{O2016}'")[0]
        CimSurface(w.hosts[f"pc{i:02d}"]).invoke("SoftwareLicensingProduct", "UninstallProductKey", {}, row)
    w.advance(dt.timedelta(days=31))  # 30-day window [WSD-PLAN]
    assert host_row(kms, "ID = '98ebfe73-2084-4c97-932c-c0cd1643bea7'")["KeyManagementServiceCurrentCount"] == 0


def test_office_count_is_capped_at_ten() -> None:
    w = fleet(office_clients(12))
    kms = make_host(w)
    for i in range(1, 13):
        activate(w.hosts[f"pc{i:02d}"], O2016)
    assert host_row(kms, "ID = '98ebfe73-2084-4c97-932c-c0cd1643bea7'")["KeyManagementServiceCurrentCount"] == 10


# -- refusals by the host ---------------------------------------------------------------

def test_unactivated_host_answers_not_activated() -> None:
    w = fleet(office_clients(1))
    kms = w.hosts["kms01"]
    CimSurface(kms).invoke("SoftwareLicensingService", "InstallProductKey", {"ProductKey": O2016_CSVLK})
    kms.firewall.rules["sppsvc-in-tcp"].enabled = True
    # DNS publishing happens at activation; point the client at the host.
    CimSurface(w.hosts["pc01"]).invoke("SoftwareLicensingService", "SetKeyManagementServiceMachine",
                           {"MachineName": "kms01.corp.example.test"})
    assert activate(w.hosts["pc01"], O2016) == "0xC004F041"


@pytest.mark.parametrize(("host_keys", "client", "sku"), [
    # a 2019 CSVLK cannot activate Server 2022 clients [WSD-PLAN]
    ((WS19_CSVLK,), {"os": "windows-server-2022", "edition": "ServerDatacenter"},
     "ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03"),
    # a host without the Office 2010 pack cannot serve Office 2010 (needs the 2010 host SKU)
    ((WS22_CSVLK, O2016_CSVLK), {"os": "windows-10", "edition": "Enterprise",
                                 "office": [{"version": "2010", "products": ["ProPlus"]}]}, O2010),
])
def test_host_cannot_serve_product(host_keys: tuple[str, ...], client: dict[str, t.Any], sku: str) -> None:
    hosts = [{"name": "kms01", "address": "127.0.20.10", "os": "windows-server-2019", "edition": "ServerStandard"}]
    if WS22_CSVLK in host_keys:
        hosts[0]["os"] = "windows-server-2022"
    w = fleet([{"name": "cl", "address": "127.0.23.1", **client}], hosts)
    kms = make_host(w, keys=host_keys)
    cls = "OfficeSoftwareProtectionProduct" if sku == O2010 else "SoftwareLicensingProduct"
    assert activate(w.hosts["cl"], sku, cls) == "0xC004F042"
    total = sum(r["KeyManagementServiceFailedRequests"] or 0 for r in
                CimSurface(kms).query("SoftwareLicensingProduct", "IsKeyManagementServiceMachine = 1"))
    assert total == 1


def test_office_2010_clients_on_win7_and_2008r2_host() -> None:
    hosts = [{"name": "kms08", "address": "127.0.20.11", "os": "windows-server-2008-r2", "edition": "ServerEnterprise"}]
    clients = [{"name": f"w7-{i}", "address": f"127.0.24.{i}", "os": "windows-7", "edition": "Enterprise",
                "office": [{"version": "2010", "products": ["ProPlus"]}]} for i in range(1, 6)]
    w = fleet(clients, hosts)
    make_host(w, "kms08", keys=(O2010_CSVLK,))
    results = [activate(w.hosts[f"w7-{i}"], O2010, "OfficeSoftwareProtectionProduct") for i in range(1, 6)]
    assert results == ["0xC004F038"] * 4 + ["ok"]
    # Office 2010 counts the OSPP CMID, not the Windows one.
    ev = [e for e in w.hosts["kms08"].events if e["id"] == 12290][-1]
    assert ev["cmid"] == w.hosts["w7-5"].ospp_cmid


# -- discovery and reachability ----------------------------------------------------------

def test_no_srv_record() -> None:
    w = fleet(office_clients(1))
    assert activate(w.hosts["pc01"], O2016) == "0x8007232B"


@pytest.mark.parametrize("fault", ["firewall_disabled", "firewall_scoped_away", "sppsvc_stopped", "host_down",
                                   "listening_elsewhere"])
def test_unreachable_host(fault: str) -> None:
    w = fleet(office_clients(5))
    kms = make_host(w)
    rule = kms.firewall.rules["sppsvc-in-tcp"]
    if fault == "firewall_disabled":
        rule.enabled = False
    elif fault == "firewall_scoped_away":
        rule.remote_addresses = ["127.0.99.0/24"]
    elif fault == "sppsvc_stopped":
        kms.stop_service("sppsvc")
    elif fault == "host_down":
        kms.reachable = False
    else:
        CimSurface(kms).invoke("SoftwareLicensingService", "SetKeyManagementServiceListeningPort", {"PortNumber": 1700})
        kms.restart_service("sppsvc")
        w.dns.remove("corp.example.test", None)  # only the client's configured port remains
        CimSurface(w.hosts["pc01"]).invoke("SoftwareLicensingService", "SetKeyManagementServiceMachine",
                               {"MachineName": "kms01"})
    assert activate(w.hosts["pc01"], O2016) == "0xC004F074"
    ev = [e for e in w.hosts["pc01"].events if e["id"] == 12288][-1]
    assert ev["hresult"] == "0xC004F074" and ev["unreachable"]


def test_firewall_scoped_to_client_subnet_admits() -> None:
    w = fleet(office_clients(5))
    kms = make_host(w)
    kms.firewall.rules["sppsvc-in-tcp"].remote_addresses = ["127.0.21.0/24"]
    kms.firewall.rules["sppsvc-in-tcp"].profiles = ["Domain"]
    assert [activate(w.hosts[f"pc{i:02d}"], O2016) for i in range(1, 6)][-1] == "ok"


def test_failover_to_second_srv_record() -> None:
    hosts = [{"name": "kms01", "address": "127.0.20.10", "os": "windows-server-2022", "edition": "ServerStandard"},
             {"name": "kms02", "address": "127.0.20.11", "os": "windows-server-2022", "edition": "ServerStandard"}]
    w = fleet(office_clients(5), hosts)
    make_host(w, "kms01")
    make_host(w, "kms02")
    assert len(w.dns.srv_records("corp.example.test")) == 2
    w.hosts["kms01"].reachable = False
    assert [activate(w.hosts[f"pc{i:02d}"], O2016) for i in range(1, 6)][-1] == "ok"
    assert host_row(w.hosts["pc05"], f"ID = '{O2016}'")["DiscoveredKeyManagementServiceMachineName"] == \
        "kms02.corp.example.test"


def test_manual_kms_machine_without_dns_and_per_sku_override() -> None:
    w = fleet(office_clients(5))
    kms = make_host(w)
    w.dns.remove("corp.example.test")
    CimSurface(kms).invoke("SoftwareLicensingService", "SetKeyManagementServiceListeningPort", {"PortNumber": 1690})
    kms.restart_service("sppsvc")
    w.dns.remove("corp.example.test")
    # The built-in SPPSVC-In-TCP rule opens 1688 only: a moved port needs its own rule.
    assert activate(_point(w.hosts["pc01"], "127.0.20.10", 1690), O2016) == "0xC004F074"
    kms.firewall.add(FirewallRule(name="winops-va-kms-1690", display_name="KMS 1690", enabled=True,
                                  local_ports=["1690"], remote_addresses=["LocalSubnet"], service="sppsvc"))
    for i in range(1, 6):
        pc = w.hosts[f"pc{i:02d}"]
        row = CimSurface(pc).query("SoftwareLicensingProduct", f"ID = '{O2016}'")[0]
        CimSurface(pc).invoke("SoftwareLicensingProduct", "SetKeyManagementServiceMachine", {"MachineName": "127.0.20.10"}, row)
        CimSurface(pc).invoke("SoftwareLicensingProduct", "SetKeyManagementServicePort", {"PortNumber": 1690}, row)
    assert [activate(w.hosts[f"pc{i:02d}"], O2016) for i in range(1, 6)][-1] == "ok"
    row = host_row(w.hosts["pc01"], f"ID = '{O2016}'")
    assert (row["KeyManagementServiceMachine"], row["KeyManagementServicePort"]) == ("127.0.20.10", 1690)
    # Windows on the same client still has no KMS configured.
    win = host_row(w.hosts["pc01"], f"ApplicationID = '{WINDOWS_APP}' AND PartialProductKey <> NULL")
    assert win["KeyManagementServiceMachine"] == ""


def _point(pc: WindowsHost, machine: str, port: int) -> WindowsHost:
    row = CimSurface(pc).query("SoftwareLicensingProduct", f"ID = '{O2016}'")[0]
    CimSurface(pc).invoke("SoftwareLicensingProduct", "SetKeyManagementServiceMachine", {"MachineName": machine}, row)
    CimSurface(pc).invoke("SoftwareLicensingProduct", "SetKeyManagementServicePort", {"PortNumber": port}, row)
    return pc


def test_lookup_domain_is_used() -> None:
    hosts = [{"name": "kms01", "address": "127.0.20.10", "os": "windows-server-2022", "edition": "ServerStandard"}]
    w = World(parse_fleet({
        "domain": "corp.example.test", "defaults": {"password": "P@ss"},
        "keys": [{"name": "o2016", "kind": "csvlk", "product": "office-2016", "key": O2016_CSVLK},
                 {"name": "ws22", "kind": "csvlk", "product": "windows-server-2022", "key": WS22_CSVLK}],
        "hosts": hosts + office_clients(5)}))
    kms = make_host(w)
    recs = w.dns.srv_records("corp.example.test")
    w.dns.remove("corp.example.test")
    for r in recs:
        w.dns.publish(type(r)(domain="kms.example.test", target=r.target, port=r.port))
    pc = w.hosts["pc01"]
    assert activate(pc, O2016) == "0x8007232B"
    for i in range(1, 6):
        CimSurface(w.hosts[f"pc{i:02d}"]).invoke("SoftwareLicensingService", "SetKeyManagementServiceLookupDomain",
                                     {"LookupDomain": "kms.example.test"})
    assert [activate(w.hosts[f"pc{i:02d}"], O2016) for i in range(1, 6)][-1] == "ok"
    assert kms.fqdn == "kms01.corp.example.test"


# -- timers -------------------------------------------------------------------------------

def test_renewal_every_seven_days_keeps_validity() -> None:
    w = fleet(office_clients(5))
    make_host(w)
    for i in range(1, 6):
        activate(w.hosts[f"pc{i:02d}"], O2016)
    # pc05 activated at once; pc01..04 at their 2-hour retry.
    w.advance(dt.timedelta(days=7))
    row = host_row(w.hosts["pc05"], f"ID = '{O2016}'")
    assert (row["LicenseStatus"], row["GracePeriodRemaining"]) == (1, 180 * 1440)
    assert host_row(w.hosts["pc01"], f"ID = '{O2016}'")["GracePeriodRemaining"] == 180 * 1440 - (7 * 1440 - 120)
    w.advance(dt.timedelta(days=3))
    assert host_row(w.hosts["pc05"], f"ID = '{O2016}'")["GracePeriodRemaining"] == 177 * 1440


@pytest.mark.parametrize(("days", "expected"), [(179, 1), (181, 3), (209, 3), (211, 5)])
def test_validity_expires_without_renewal(days: int, expected: int) -> None:
    w = fleet(office_clients(5))
    kms = make_host(w)
    for _ in range(2):
        for i in range(1, 6):
            activate(w.hosts[f"pc{i:02d}"], O2016)
    assert status(w.hosts["pc01"], O2016) == 1
    kms.reachable = False
    w.advance(dt.timedelta(days=days))
    assert status(w.hosts["pc01"], O2016) == expected


def test_automatic_activation_attempt_two_hours_after_install() -> None:
    w = fleet(office_clients(5))
    make_host(w)
    w.advance(dt.timedelta(hours=2))
    # All five tried at 2h: count reached 5 at the fifth, so the first four activate at 4h.
    assert [status(w.hosts[f"pc{i:02d}"], O2016) for i in range(1, 6)] == [2, 2, 2, 2, 1]
    w.advance(dt.timedelta(hours=2))
    assert [status(w.hosts[f"pc{i:02d}"], O2016) for i in range(1, 6)] == [1] * 5
