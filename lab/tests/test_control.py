"""The control plane: an in-process Lab reached over real pywinrm (NTLM, sealed http), its
faults, clock, request log and status, and the control API with its Python client."""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.client
import json
import os
import pathlib
import re
import socket
import threading
import typing as t

import pytest
import requests
import winrm

from winlab.control import (
    CONTROL_FILE,
    FAULTS,
    ControlClient,
    ControlError,
    Lab,
    LabError,
    NotRunning,
    check_ports_free,
    parse_duration,
    summarize_licensing,
    write_private_json,
)
from winlab.daemon import ApiError, ControlServer, dispatch
from winlab.models.errors import WmiError
from winlab.spec import load_fleet
from winlab.surfaces.cim import CimSurface
from winlab.types import CommandResult, Endpoint

WINDOWS = "55c92734-d682-4d71-983e-d6ec3f16059f"
OFFICE = "0ff1ce15-a989-479d-af46-f275c6370663"
OFFICE14 = "59a52881-a989-479d-af46-f275c6370663"


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(("text", "delta"), [
    ("31d", dt.timedelta(days=31)), ("2h", dt.timedelta(hours=2)), ("90m", dt.timedelta(minutes=90)),
    ("45s", dt.timedelta(seconds=45)), ("1d12h", dt.timedelta(days=1, hours=12)), (" 7D ", dt.timedelta(days=7)),
])
def test_parse_duration(text: str, delta: dt.timedelta) -> None:
    assert parse_duration(text) == delta


@pytest.mark.parametrize(("text", "message"), [
    ("", "duration '' is not like 31d, 2h, 90m, 45s or 1d12h"),
    ("3 weeks", "duration '3 weeks' is not like 31d, 2h, 90m, 45s or 1d12h"),
    ("-1d", "duration '-1d' is not like 31d, 2h, 90m, 45s or 1d12h"),
    ("0d", "duration '0d' must be positive: the lab clock only moves forward"),
])
def test_parse_duration_refuses(text: str, message: str) -> None:
    with pytest.raises(LabError) as exc:
        parse_duration(text)
    assert str(exc.value) == message


def _p(**kw: t.Any) -> dict[str, t.Any]:
    base = {"ID": "id", "ApplicationID": WINDOWS, "PartialProductKey": "3V66T", "LicenseStatus": 1,
            "GracePeriodRemaining": 0, "LicenseIsAddon": False, "IsKeyManagementServiceMachine": 0,
            "KeyManagementServiceCurrentCount": 0}
    return {**base, **kw}


@pytest.mark.parametrize(("products", "expected"), [
    pytest.param([], {"windows": "no key", "windows_grace_days": None, "office_status": "-", "kms_host": False,
                      "kms_count": "-"}, id="nothing"),
    pytest.param([_p(PartialProductKey=None, LicenseStatus=1), _p(ID="b", LicenseStatus=2,
                                                                   GracePeriodRemaining=43200)],
                 {"windows": "OOBGrace", "windows_grace_days": 30, "office_status": "-", "kms_host": False,
                  "kms_count": "-"}, id="grace-ignores-keyless-skus"),
    pytest.param([_p(GracePeriodRemaining=259199)],
                 {"windows": "Licensed", "windows_grace_days": 180, "office_status": "-", "kms_host": False,
                  "kms_count": "-"}, id="kms-client-days-round-up"),
    pytest.param([_p(IsKeyManagementServiceMachine=1, KeyManagementServiceCurrentCount=4294967295),
                  _p(ID="bfe7a195-4f8f-4f0b-a622-cf13c7d16864", ApplicationID=OFFICE14,
                     IsKeyManagementServiceMachine=1, KeyManagementServiceCurrentCount=4)],
                 {"windows": "Licensed", "windows_grace_days": None, "office_status": "-", "kms_host": True,
                  "kms_count": "Windows -1, Office 2010 4"}, id="kms-host-with-office-pack"),
    pytest.param([_p(LicenseStatus=5), _p(ID="o", ApplicationID=OFFICE14, LicenseStatus=2),
                  _p(ID="o2", ApplicationID=OFFICE, LicenseStatus=1), _p(ID="o3", ApplicationID=OFFICE,
                                                                         LicenseStatus=1)],
                 {"windows": "Notification", "windows_grace_days": None, "office_status": "OOBGrace, Licensed",
                  "kms_host": False, "kms_count": "-"}, id="office-statuses"),
])
def test_summarize_licensing(products: list[dict[str, t.Any]], expected: dict[str, t.Any]) -> None:
    assert summarize_licensing(products) == expected


def test_fault_table_has_the_server_and_model_faults() -> None:
    assert set(FAULTS) == {"winrm_down", "drop_connection", "slow", "host_down", "kms_port_closed",
                           "kms_service_stopped", "dns_refuse_updates", "dns_down", "kms_no_answer",
                           "sppsvc_restart_refused"}
    assert all(f.description for f in FAULTS.values())


def _noop(command_line: str, stdin: bytes) -> CommandResult:
    return CommandResult(0)


def test_check_ports_free_names_the_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.22.5", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        eps = [Endpoint("free", "127.0.22.4", {}, _noop, 0, 0), Endpoint("ws7", "127.0.22.5", {}, _noop, port, 0)]
        with pytest.raises(LabError) as exc:
            check_ports_free(eps)
    assert str(exc.value) == f"127.0.22.5:{port} is already in use (host 'ws7')"


# --------------------------------------------------------------------------- the in-process lab


@pytest.fixture
def lab(small_fleet: pathlib.Path, tmp_path: pathlib.Path) -> t.Iterator[Lab]:
    with Lab(load_fleet(small_fleet), tmp_path / "state") as running:
        yield running


def _session(lab: Lab, host: str) -> winrm.Session:
    addr = lab.spec.host(host).address
    http_port, _ = lab.ports(host)
    spec = lab.spec.host(host)
    return winrm.Session(f"http://{addr}:{http_port}/wsman", auth=(spec.username, spec.password),
                         transport="ntlm", read_timeout_sec=30, operation_timeout_sec=20)


def test_slmgr_dlv_over_pywinrm(lab: Lab) -> None:
    r = _session(lab, "ws01").run_cmd("cscript //nologo slmgr.vbs /dlv")
    assert r.status_code == 0, r.std_err
    lines = r.std_out.decode("utf-8").split("\r\n")
    for line in ("Name: Windows(R), Enterprise edition",
                 "Description: Windows(R) Operating System, VOLUME_KMSCLIENT channel",
                 "Product Key Channel: Volume:GVLK",
                 "Partial Product Key: 2YT43",  # the public Windows 11/10 Enterprise GVLK [WSD-KEYS]
                 "License Status: Initial grace period",
                 "Time remaining: 43200 minute(s) (30 day(s))"):
        assert line in lines
    log = lab.request_log("ws01")
    assert [(e["host"], e["seq"], e["kind"], e["command_line"], e["rc"]) for e in log] == [
        ("ws01", 0, "command", "cscript //nologo slmgr.vbs /dlv", 0)]
    assert lab.request_log("kms01") == []
    assert lab.request_log("ws01", since=1) == []


def test_winrm_down_refuses_connections_until_cleared(lab: Lab) -> None:
    lab.fault("ws02", "winrm_down")
    assert lab.faults() == {"ws02": ["winrm_down"]}
    with pytest.raises(requests.exceptions.ConnectionError):
        _session(lab, "ws02").run_cmd("hostname")
    assert _session(lab, "ws01").run_cmd("hostname").status_code == 0
    assert lab.clear() == ["ws02:winrm_down"]
    r = _session(lab, "ws02").run_cmd("hostname")
    assert (r.status_code, r.std_out) == (0, b"ws02\r\n")


@pytest.mark.parametrize(("host", "name", "params", "message"), [
    ("ws01", "meteor", {}, "unknown fault 'meteor' (known: dns_down, dns_refuse_updates, drop_connection, "
                           "host_down, kms_no_answer, kms_port_closed, kms_service_stopped, slow, sppsvc_restart_refused, winrm_down)"),
    ("nosuch", "slow", {}, "no host 'nosuch' in this fleet (hosts: kms01, ws01, ws02)"),
    ("ws01", "slow", {"times": 2}, "fault 'slow' takes no parameter 'times' (it takes: delay)"),
    ("ws01", "slow", {"delay": "long"}, "fault 'slow': delay must be a number of seconds >= 0"),
    ("ws01", "drop_connection", {"times": 0}, "fault 'drop_connection': times must be an integer >= 1"),
])
def test_bad_fault_requests(lab: Lab, host: str, name: str, params: dict[str, t.Any], message: str) -> None:
    with pytest.raises(LabError) as exc:
        lab.fault(host, name, **params)
    assert str(exc.value) == message
    assert lab.faults() == {}


def test_clock_reset_and_status(lab: Lab) -> None:
    start = lab.now()
    assert lab.advance("31d") == start + dt.timedelta(days=31)
    _session(lab, "kms01").run_cmd("hostname")
    lab.fault("kms01", "slow", delay=0.01)
    rows = {r.name: r for r in lab.status_rows()}
    assert list(rows) == ["kms01", "ws01", "ws02"]
    assert rows["kms01"].faults == ["slow"]
    assert (rows["ws01"].os, rows["ws01"].edition, rows["ws01"].office) == ("windows-11", "Enterprise",
                                                                           "2016 ProPlus")
    assert rows["ws02"].office == "2010 ProPlus"
    lab.reset()
    assert lab.now() == start
    assert lab.request_log() == []
    assert lab.faults() == {}


def _setup_kms_host(lab: Lab, phone: bool = True) -> None:
    """Make kms01 a KMS host as an administrator would: install the CSVLK, activate by phone
    (installation ID -> lab.phone -> DepositOfflineConfirmationId), open SPPSVC-In-TCP."""
    kms = lab.world.host("kms01")
    with lab.world.lock:
        CimSurface(kms).invoke("SoftwareLicensingService", "InstallProductKey", {"ProductKey": lab.spec.keys[0].key})
        row = CimSurface(kms).query("SoftwareLicensingProduct",
                        f"ApplicationID = '{WINDOWS}' AND PartialProductKey IS NOT NULL")[0]
        assert row["Description"] == "Windows(R) Operating System, VOLUME_KMS_WS22 channel"
        iid = row["OfflineInstallationId"]
        rule = kms.firewall.get("SPPSVC-In-TCP")
        assert rule is not None
        rule.enabled = True
    cid = lab.phone(iid)
    assert re.fullmatch(r"\d{48}", cid)
    with lab.world.lock:
        CimSurface(kms).invoke("SoftwareLicensingProduct", "DepositOfflineConfirmationId",
                   {"InstallationId": iid, "ConfirmationId": cid}, row=row)


def _activate_windows(lab: Lab, name: str) -> int:
    """Activate() on the host's Windows SKU; the HRESULT (0 = activated)."""
    host = lab.world.host(name)
    with lab.world.lock:
        row = CimSurface(host).query("SoftwareLicensingProduct", f"ApplicationID = '{WINDOWS}' AND PartialProductKey IS NOT NULL")[0]
        try:
            CimSurface(host).invoke("SoftwareLicensingProduct", "Activate", {}, row=row)
        except WmiError as e:
            return e.hresult
    return 0


def test_phone_activated_kms_host_shows_in_status(lab: Lab) -> None:
    _setup_kms_host(lab)
    assert _activate_windows(lab, "ws01") == 0xC004F038  # 1 client of the 25 a Windows client needs
    rows = {r.name: r for r in lab.status_rows()}
    assert (rows["kms01"].windows, rows["kms01"].kms_host, rows["kms01"].kms_count) == ("Licensed", True, "Windows 1")
    assert (rows["ws01"].kms_host, rows["ws01"].kms_count) == (False, "-")


@pytest.mark.parametrize("fault", ["kms_port_closed", "host_down"])
def test_kms_faults_make_clients_fail_with_c004f074(lab: Lab, fault: str) -> None:
    _setup_kms_host(lab)
    lab.fault("kms01", fault)
    assert _activate_windows(lab, "ws01") == 0xC004F074  # SL_E_VL_BINDING_SERVICE_UNAVAILABLE
    unreachable = lab.world.host("ws01").events[-1]["unreachable"]
    assert unreachable and unreachable[0].startswith("kms01.small.example.test:1688 (")
    lab.clear("kms01")
    assert _activate_windows(lab, "ws01") == 0xC004F038  # reached again; the count is still short


def test_dns_refusing_updates_leaves_clients_without_a_kms_record(lab: Lab) -> None:
    lab.fault("ws02", "dns_refuse_updates")
    _setup_kms_host(lab)
    assert lab.world.dns.srv_records("small.example.test") == []
    assert _activate_windows(lab, "ws01") == 0x8007232B  # DNS name does not exist
    assert lab.clear() == ["ws02:dns_refuse_updates"]
    assert lab.world.dns.refuse_updates is False


def test_faults_survive_nothing_across_reset(lab: Lab) -> None:
    _setup_kms_host(lab)
    lab.fault("kms01", "kms_port_closed")
    lab.reset()
    assert lab.faults() == {}
    assert {r.name: r.kms_host for r in lab.status_rows()} == {"kms01": False, "ws01": False, "ws02": False}
    # The runners follow the rebuilt hosts: a command after reset is logged on the new host.
    r = _session(lab, "ws01").run_cmd("hostname")
    assert (r.status_code, r.std_out) == (0, b"ws01\r\n")
    assert [e["command_line"] for e in lab.request_log("ws01")] == ["hostname"]


@pytest.fixture
def demo_lab(tmp_path: pathlib.Path) -> t.Iterator[Lab]:
    """lab/fleets/demo.yml in process, on free ports (the file's 5985/5986 may be in use)."""
    spec = load_fleet(pathlib.Path(__file__).resolve().parents[1] / "fleets" / "demo.yml")
    for h in spec.hosts:
        h.http_port = h.https_port = 0
    with Lab(spec, tmp_path / "state") as running:
        yield running


def _kms_host_online(lab: Lab, host_name: str, key_name: str, sku_filter: str) -> None:
    """Install a CSVLK, activate it online, open SPPSVC-In-TCP."""
    host = lab.world.host(host_name)
    key = next(k.key for k in lab.spec.keys if k.name == key_name)
    with lab.world.lock:
        CimSurface(host).invoke("SoftwareLicensingService", "InstallProductKey", {"ProductKey": key})
        row = CimSurface(host).query("SoftwareLicensingProduct", f"PartialProductKey IS NOT NULL AND {sku_filter}")[0]
        CimSurface(host).invoke("SoftwareLicensingProduct", "Activate", {}, row=row)
        rule = host.firewall.get("SPPSVC-In-TCP")
        assert rule is not None
        rule.enabled = True


def _activate(lab: Lab, name: str, cls: str, condition: str) -> int:
    host = lab.world.host(name)
    with lab.world.lock:
        row = CimSurface(host).query(cls, f"PartialProductKey IS NOT NULL AND {condition}")[0]
        try:
            CimSurface(host).invoke(cls, "Activate", {}, row=row)
        except WmiError as e:
            return e.hresult
    return 0


def test_demo_office2010_threshold_story(demo_lab: Lab) -> None:
    """[SEED]: an Office KMS host activates clients once 5 have asked; the fifth Office 2010
    client activates, the four before it got 0xC004F038 until they retry."""
    lab = demo_lab
    with lab.world.lock, pytest.raises(WmiError) as exc:
        CimSurface(lab.world.host("kms01")).invoke("SoftwareLicensingService", "InstallProductKey",
                                       {"ProductKey": next(k.key for k in lab.spec.keys
                                                           if k.name == "office2010-csvlk")})
    assert exc.value.hresult == 0xC004F069  # the 2010 host pack does not install on Server 2022
    _kms_host_online(lab, "kms-office2010", "office2010-csvlk", "ID = 'bfe7a195-4f8f-4f0b-a622-cf13c7d16864'")
    office = ("OfficeSoftwareProtectionProduct", f"ApplicationID = '{OFFICE14}'")
    first_four = [_activate(lab, n, *office) for n in ("acct01", "acct02", "acct03", "acct-w7e")]
    assert first_four == [0xC004F038] * 4
    assert _activate(lab, "acct-w7p", *office) == 0
    assert _activate(lab, "acct01", *office) == 0
    rows = {r.name: r for r in lab.status_rows()}
    assert rows["kms-office2010"].kms_count == "Office 2010 5"
    assert [rows[n].office_status for n in ("acct01", "acct02", "acct-w7p")] == ["Licensed", "OOBGrace", "Licensed"]


def test_demo_clones_count_once(demo_lab: Lab) -> None:
    """img02 is a clone of img01 without rearm: one CMID, so the KMS count rises by one."""
    lab = demo_lab
    _kms_host_online(lab, "kms01", "ws2022-csvlk", f"ApplicationID = '{WINDOWS}'")
    windows = ("SoftwareLicensingProduct", f"ApplicationID = '{WINDOWS}'")
    assert [_activate(lab, n, *windows) for n in ("img01", "img02")] == [0xC004F038, 0xC004F038]
    assert {r.name: r.kms_count for r in lab.status_rows()}["kms01"] == "Windows 1"
    assert _activate(lab, "ops01", *windows) == 0xC004F038
    assert {r.name: r.kms_count for r in lab.status_rows()}["kms01"] == "Windows 2"


def _install_and_activate(lab: Lab, name: str, key_name: str) -> int:
    host = lab.world.host(name)
    key = next(k.key for k in lab.spec.keys if k.name == key_name)
    with lab.world.lock:
        CimSurface(host).invoke("SoftwareLicensingService", "InstallProductKey", {"ProductKey": key})
    return _activate(lab, name, "SoftwareLicensingProduct", f"ApplicationID = '{WINDOWS}'")


def test_demo_mak_keys(demo_lab: Lab) -> None:
    """pro-mak has 3 activations for the four Windows 11 Pro sales machines; blocked-mak is blocked."""
    lab = demo_lab
    results = [_install_and_activate(lab, n, "pro-mak") for n in ("sales01", "sales02", "sales03", "sales04")]
    assert results == [0, 0, 0, 0xC004C020]  # SL_E_CHPA_DMAK_LIMIT_EXCEEDED
    assert _install_and_activate(lab, "ops01", "blocked-mak") == 0xC004C003  # SL_E_CHPA_PRODUCT_KEY_BLOCKED


def test_phone_refuses_a_bad_installation_id(lab: Lab) -> None:
    with pytest.raises(LabError, match=r"^the activation service refused installation ID '12345': "):
        lab.phone("12345")


# --------------------------------------------------------------------------- control API


@pytest.fixture
def control(lab: Lab, tmp_path: pathlib.Path) -> t.Iterator[ControlClient]:
    """A ControlServer for ``lab`` on a thread, and a ControlClient reading its control.json."""
    server = ControlServer(lab, "test-token")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state_dir = tmp_path / "ctl"
    state_dir.mkdir()
    write_private_json(state_dir / CONTROL_FILE, {"pid": 1, "port": server.server_address[1],
                                                   "token": "test-token", "fleet": "", "ports": {}})
    try:
        yield ControlClient(state_dir)
    finally:
        server.shutdown()
        server.server_close()


def test_control_client_round_trip(control: ControlClient, lab: Lab) -> None:
    assert control.ping()["hosts"] == 3
    assert control.ports() == lab.all_ports()
    assert control.advance("2h") == (lab.spec.lab.start + dt.timedelta(hours=2)).isoformat()
    control.fault("ws01", "drop_connection", times=1)
    assert control.faults() == {"ws01": ["drop_connection"]}
    assert [r.faults for r in control.status_rows()] == [[], ["drop_connection"], []]
    assert control.clear("ws01") == ["ws01:drop_connection"]
    with pytest.raises(ControlError) as exc:
        control.fault("ws01", "meteor")
    assert str(exc.value).startswith("unknown fault 'meteor' (known: ")
    assert control.host_state("WS02")["name"] == "ws02"
    control.reset()
    assert control.ping()["now"] == lab.spec.lab.start.isoformat()


def test_control_api_needs_the_token(control: ControlClient) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", control.port, timeout=10)
    conn.request("GET", "/v1/ping", headers={"Authorization": "Bearer wrong"})
    resp = conn.getresponse()
    assert (resp.status, json.loads(resp.read())) == (401, {"error": "missing or wrong bearer token "
                                                                     "(see control.json)"})
    conn.close()


def test_control_api_binds_loopback_only(control: ControlClient, lab: Lab) -> None:
    server = ControlServer(lab, "x")
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


@pytest.mark.parametrize(("method", "path", "body", "answer"), [
    ("GET", "/v2/ping", {}, (404, "no such control endpoint: GET /v2/ping")),
    ("DELETE", "/v1/ping", {}, (404, "no such control endpoint: DELETE /v1/ping")),
    ("POST", "/v1/advance", {}, (400, "'duration' is required")),
    ("POST", "/v1/advance", {"duration": 5}, (400, "'duration' must be a string")),
    ("POST", "/v1/log", {"since": "x"}, (400, "'since' must be an integer (a log sequence number)")),
    ("POST", "/v1/fault", {"host": "ws01", "name": "slow", "params": [1]}, (400, "'params' must be an object")),
])
def test_dispatch_refusals(lab: Lab, method: str, path: str, body: dict[str, t.Any],
                           answer: tuple[int, str]) -> None:
    with pytest.raises(ApiError) as exc:
        dispatch(lab, method, path, body)
    assert (exc.value.status, str(exc.value)) == answer


def test_client_without_a_lab(tmp_path: pathlib.Path) -> None:
    with pytest.raises(NotRunning) as exc:
        ControlClient(tmp_path)
    assert str(exc.value) == f"no lab is running in {tmp_path} (start one with 'winlab up')"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_client_reports_a_lab_that_does_not_answer(tmp_path: pathlib.Path) -> None:
    port = _closed_port()
    # Our own pid: a process that runs but does not answer on that port.
    write_private_json(tmp_path / CONTROL_FILE, {"pid": os.getpid(), "port": port, "token": "t"})
    with pytest.raises(ControlError) as exc:
        ControlClient(tmp_path).ping()
    assert str(exc.value) == (f"the lab in {tmp_path} does not answer on 127.0.0.1:{port} (pid {os.getpid()}): "
                              f"Connection refused; see {tmp_path / 'daemon.log'}")


def test_client_reports_a_dead_lab(tmp_path: pathlib.Path) -> None:
    dead = 2**22 + 1  # above the largest pid_max Linux allows: no such process
    write_private_json(tmp_path / CONTROL_FILE, {"pid": dead, "port": _closed_port(), "token": "t"})
    with pytest.raises(ControlError) as exc:
        ControlClient(tmp_path).ping()
    assert str(exc.value) == (f"the lab daemon in {tmp_path} (pid {dead}) is no longer running; see "
                              f"{tmp_path / 'daemon.log'}, and 'winlab down' to clean up")


def test_status_rows_serialise(lab: Lab) -> None:
    rows = [dataclasses.asdict(r) for r in lab.status_rows()]
    assert json.loads(json.dumps(rows))[0]["name"] == "kms01"
