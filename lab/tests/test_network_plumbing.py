"""The pieces around the lab's network: advance() replays that keep results identical,
RFC 2782 ordering, the WinRS code page reaching the runner, a clean WinRMServer.stop(),
the lock hand-off, and the DNS facts in the inventory and the control API."""

from __future__ import annotations

import datetime as dt
import json
import logging
import pathlib
import socket
import threading
import typing as t

import pytest
import winrm
import yaml

from winlab.control import CONTROL_FILE, ControlClient, Lab, write_private_json
from winlab.daemon import ControlServer
from winlab.inventory import render_inventory
from winlab.models.host import WindowsHost
from winlab.models.srv import SrvRecord
from winlab.models.world import World
from winlab.network import LockDelegate
from winlab.servers.winrm import WinRMServer
from winlab.spec import parse_fleet
from winlab.surfaces.cim import CimSurface
from winlab.types import CommandResult, Endpoint

WINDOWS = "55c92734-d682-4d71-983e-d6ec3f16059f"
CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"  # synthetic


def _fleet(clients: int, kms: bool) -> dict[str, t.Any]:
    hosts: list[dict[str, t.Any]] = [{"name": "ws{n:02d}", "count": clients, "address": "127.0.41.20",
                                      "os": "windows-11", "edition": "Enterprise",
                                      "office": [{"version": "2021", "products": ["ProPlus"]}]}]
    if kms:
        hosts.insert(0, {"name": "kms01", "address": "127.0.41.10", "os": "windows-server-2022",
                         "edition": "ServerStandard", "roles": ["kms_host"]})
    return {"lab": {"seed": 5}, "domain": "adv.example.test", "defaults": {"password": "Adv-Pw-1"},
            "keys": [{"name": "c", "kind": "csvlk", "product": "windows-server-2022", "key": CSVLK}],
            "hosts": hosts}


def _world(scenario: str) -> World:
    world = World(parse_fleet(_fleet(6, scenario != "no-kms")))
    if scenario == "no-kms":
        return world
    kms = world.host("kms01")
    with world.lock:
        CimSurface(kms).invoke("SoftwareLicensingService", "InstallProductKey", {"ProductKey": CSVLK})
        row = CimSurface(kms).query("SoftwareLicensingProduct", f"PartialProductKey IS NOT NULL AND ApplicationID = '{WINDOWS}'")[0]
        CimSurface(kms).invoke("SoftwareLicensingProduct", "Activate", {}, row=row)
        rule = kms.firewall.get("SPPSVC-In-TCP")
        assert rule is not None
        rule.enabled = scenario != "closed"
        if scenario == "stale-and-live":
            # A stale record of a retired host beside the live one: every attempt draws an order.
            world.dns.publish(SrvRecord("adv.example.test", "old-kms.adv.example.test", 1688, 0, 10))
        if scenario == "manual-dead":
            for h in world.hosts.values():
                if h.name.startswith("ws"):
                    CimSurface(h).invoke("SoftwareLicensingService", "SetKeyManagementServiceMachine",
                             {"MachineName": "nowhere.adv.example.test"})
    return world


def _digest(world: World) -> str:
    return json.dumps(world.snapshot(), sort_keys=True, default=str)


@pytest.mark.parametrize("scenario", ["no-kms", "closed", "open", "stale-and-live", "manual-dead"])
def test_advance_replays_give_identical_results(scenario: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """advance() with its replays and coalescing gives the very state (events, counters,
    timers, random draws) that trying every retry for real gives."""
    fast = _world(scenario)
    fast.advance(dt.timedelta(days=45))
    fast.advance(dt.timedelta(hours=7))
    with monkeypatch.context() as m:
        m.setattr(WindowsHost, "_reach_token", lambda self, p, s: object())  # never equal: no replay
        m.setattr(WindowsHost, "replay_timers", lambda self, until, horizon: 0)
        slow = _world(scenario)
        slow.advance(dt.timedelta(days=45))
        slow.advance(dt.timedelta(hours=7))
    assert _digest(fast) == _digest(slow)


def test_advance_work_is_proportional_to_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no KMS host, 180 days of 2-hourly retries ask DNS once per product per advance()."""
    world = _world("no-kms")
    calls: list[str] = []
    inner = world.kms_transport.discover

    def counting(client: t.Any, domain: str) -> list[SrvRecord]:
        calls.append(client.name)
        return inner(client, domain)

    monkeypatch.setattr(world.kms_transport, "discover", counting)
    world.advance(dt.timedelta(days=180))
    products = sum(1 for h in world.hosts.values() for p in h.products if p.key_kind == "gvlk")
    assert len(calls) == products == 12  # 6 clients x (Windows + Office 2021)
    ws = world.host("ws01")
    attempts = [e for e in ws.events if e["id"] == 12288]
    assert len(attempts) == 2000  # the log keeps the newest EVENT_LOG_SIZE: 2 x 12/day x 180 days were run
    assert attempts[-1]["hresult"] == "0x8007232B"


def test_srv_order_follows_priority_then_weight() -> None:
    world = _world("no-kms")
    for target, prio, weight in (("low.adv.example.test", 0, 90), ("zero.adv.example.test", 0, 10),
                                 ("backup.adv.example.test", 10, 0)):
        world.dns.publish(SrvRecord("adv.example.test", target, 1688, prio, weight))
    ws = world.host("ws01")
    p = next(p for p in ws.products if p.key_kind == "gvlk" and p.sku.product == "windows")
    orders = [ws.kms_targets(p) for _ in range(400)]
    assert all(o[-1] == ("backup.adv.example.test", 1688) for o in orders)  # priority 10 last
    first = [o[0][0] for o in orders]
    # RFC 2782: weight 90 vs 10 -> about 9 in 10 start with "low" (seeded, so exact).
    assert 320 <= first.count("low.adv.example.test") <= 390


# ----------------------------------------------------------------------------- lock hand-off


def test_lock_delegate_runs_jobs_on_the_lock_holder() -> None:
    lock = threading.RLock()
    delegate = LockDelegate(lock)
    ran_on: list[str] = []

    def job() -> str:
        ran_on.append(threading.current_thread().name)
        return "served"

    def handler_thread() -> str:
        # A listener thread: the lock is held by the caller of call_out, so the job is handed over.
        return delegate.run_locked(job)

    def io() -> str:
        out: list[str] = []
        th = threading.Thread(target=lambda: out.append(handler_thread()), name="conn")
        th.start()
        th.join(5)
        return out[0]

    with lock:
        assert delegate.call_out(io) == "served"
    assert ran_on == [threading.current_thread().name]
    # Without a holder the handler takes the lock itself.
    th_result: list[str] = []
    th = threading.Thread(target=lambda: th_result.append(handler_thread()), name="alone")
    th.start()
    th.join(5)
    assert (th_result, ran_on[-1]) == (["served"], "alone")
    delegate.close()


# ----------------------------------------------------------------------------- WinRM


class RecordingRunner:
    def __init__(self) -> None:
        self.codepages: list[int] = []

    def __call__(self, command_line: str, stdin: bytes, codepage: int = 65001) -> CommandResult:
        self.codepages.append(codepage)
        return CommandResult(0, b"ok\r\n")


@pytest.mark.parametrize(("sent", "received"), [(None, 437), (65001, 65001), (932, 932)])
def test_shell_codepage_reaches_the_runner(tmp_path: pathlib.Path, sent: int | None, received: int) -> None:
    runner = RecordingRunner()
    ep = Endpoint("cp", "127.0.41.50", {"Administrator": "Cp-Pw-1"}, runner, 0, 0)
    server = WinRMServer([ep], tmp_path)
    server.start()
    try:
        proto = winrm.Protocol(f"http://127.0.41.50:{server.ports('cp')[0]}/wsman", transport="ntlm",
                               username="Administrator", password="Cp-Pw-1")
        shell = proto.open_shell() if sent is None else proto.open_shell(codepage=sent)
        command = proto.run_command(shell, "hostname")
        assert proto.get_command_output(shell, command)[0] == b"ok\r\n"
        proto.cleanup_command(shell, command)
        proto.close_shell(shell)
    finally:
        server.stop()
    assert runner.codepages == [received]


def test_two_argument_runners_still_work(tmp_path: pathlib.Path) -> None:
    def old(command_line: str, stdin: bytes) -> CommandResult:
        return CommandResult(0, b"old\r\n")

    server = WinRMServer([Endpoint("old", "127.0.41.51", {"Administrator": "Cp-Pw-1"}, old, 0, 0)], tmp_path)  # type: ignore[arg-type]
    server.start()
    try:
        s = winrm.Session(f"http://127.0.41.51:{server.ports('old')[0]}/wsman", auth=("Administrator", "Cp-Pw-1"),
                          transport="ntlm")
        assert s.run_cmd("hostname").std_out == b"old\r\n"
    finally:
        server.stop()


def test_stop_with_an_open_keep_alive_connection_is_quiet(tmp_path: pathlib.Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    server = WinRMServer([Endpoint("ka", "127.0.41.52", {"a": "b"}, RecordingRunner(), 0, 0)], tmp_path)
    server.start()
    conn = socket.create_connection(("127.0.41.52", server.ports("ka")[0]), timeout=5)
    conn.sendall(b"GET /wsman HTTP/1.1\r\nHost: ka\r\nContent-Length: 0\r\n\r\n")
    assert conn.recv(12) == b"HTTP/1.1 405"  # answered, and the connection stays open
    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        server.stop()
    conn.close()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


# ----------------------------------------------------------------------------- DNS facts


def test_inventory_and_control_api_carry_the_dns_facts(tmp_path: pathlib.Path) -> None:
    spec = parse_fleet({**_fleet(1, True), "defaults": {"password": "Adv-Pw-1", "http_port": 0, "https_port": 0}})
    with Lab(spec, tmp_path / "state") as lab:
        info = lab.dns_info()
        server = ControlServer(lab, "tok")
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            write_private_json(tmp_path / CONTROL_FILE, {"pid": 1, "port": server.server_address[1], "token": "tok"})
            client = ControlClient(tmp_path)
            assert client.dns_info() == info
            assert client.ping()["network"] is True
        finally:
            server.shutdown()
            server.server_close()
        doc = yaml.safe_load(render_inventory(spec, lab.all_ports(), dns=info))
    assert {k: v for k, v in doc["all"]["vars"].items() if k.startswith("winlab_")} == {
        "winlab_dns_server": "127.0.0.1", "winlab_dns_port": info["port"], "winlab_dns_zone": "adv.example.test",
        "winlab_tsig_key_name": "winlab-ddns.adv.example.test", "winlab_tsig_algorithm": "hmac-sha256",
        "winlab_tsig_key_secret": info["tsig_key_secret"]}
    assert len(info["tsig_key_secret"]) >= 40  # a real generated HMAC-SHA256 key (base64)
