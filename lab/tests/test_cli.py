"""The ``winlab`` command line end to end (a real background daemon per test), and the
Ansible inventory it writes, checked with ansible-inventory."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import typing as t

import pytest
import winrm
import yaml

from winlab.cli import format_log_entry, format_status, mask_keys
from winlab.control import StatusRow, process_gone
from winlab.inventory import render_inventory
from winlab.spec import load_fleet

Winlab = t.Callable[..., subprocess.CompletedProcess[str]]
FLEETS = pathlib.Path(__file__).resolve().parents[1] / "fleets"
ANSIBLE_INVENTORY = shutil.which("ansible-inventory") or str(pathlib.Path(sys.executable).with_name(
    "ansible-inventory"))


def listening_sockets() -> set[tuple[str, int]]:
    """(address, port) of every IPv4 TCP socket in LISTEN state, from /proc/net/tcp."""
    out: set[tuple[str, int]] = set()
    for line in pathlib.Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state = fields[1], fields[3]
        if state != "0A":  # TCP_LISTEN
            continue
        hex_addr, hex_port = local.split(":")
        addr = socket.inet_ntoa(bytes.fromhex(hex_addr)[::-1])
        out.add((addr, int(hex_port, 16)))
    return out


def _inventory_list(path: pathlib.Path) -> dict[str, t.Any]:
    proc = subprocess.run([ANSIBLE_INVENTORY, "-i", str(path), "--list"], capture_output=True, text=True,
                          check=False, env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true", "PATH": "/usr/bin:/bin",
                                            "HOME": str(path.parent)})
    assert proc.returncode == 0, proc.stderr
    return t.cast(dict[str, t.Any], json.loads(proc.stdout))


# --------------------------------------------------------------------------- inventory


def test_demo_inventory_parses_with_ansible_inventory(tmp_path: pathlib.Path) -> None:
    spec = load_fleet(FLEETS / "demo.yml")
    path = tmp_path / "inv.yml"
    path.write_text(render_inventory(spec, {"kms01": (15985, 15986)}, "ntlm"), encoding="utf-8")
    inv = _inventory_list(path)
    hostvars = inv["_meta"]["hostvars"]
    assert len(hostvars) == 32
    assert hostvars["kms01"] == {
        "ansible_connection": "winrm", "ansible_host": "127.0.10.10", "ansible_port": 15985,
        "ansible_user": "Administrator", "ansible_password": "Lab-Passw0rd!",
        "ansible_winrm_transport": "ntlm", "ansible_winrm_scheme": "http",
        "ansible_winrm_server_cert_validation": "ignore",
    }
    # A host the lab reported no ports for keeps the fleet file's.
    assert hostvars["tokyo01"]["ansible_port"] == 5985
    groups = {g: sorted(v.get("hosts", [])) for g, v in inv.items() if g not in ("_meta", "all")}
    assert groups["kms_hosts"] == ["kms-office2010", "kms01"]
    assert len(groups["windows_clients"]) == 30
    assert not set(groups["windows_clients"]) & set(groups["kms_hosts"])
    assert groups["office2010_clients"] == ["acct-w7e", "acct-w7p", "acct01", "acct02", "acct03"]
    assert groups["ja_hosts"] == ["tokyo01"]
    assert len(groups["office_clients"]) == 19  # eng 7, sales 4, acct 5, tokyo01, img01-02
    assert set(inv["all"]["children"]) >= {"kms_hosts", "windows_clients", "office_clients",
                                          "office2010_clients", "ja_hosts"}


def test_basic_transport_uses_https(tmp_path: pathlib.Path) -> None:
    spec = load_fleet(FLEETS / "small.yml")
    path = tmp_path / "inv.yml"
    path.write_text(render_inventory(spec, {"kms01": (1, 2), "ws01": (3, 4), "ws02": (5, 6)}, "basic"),
                    encoding="utf-8")
    hostvars = _inventory_list(path)["_meta"]["hostvars"]
    assert {h: (v["ansible_port"], v["ansible_winrm_transport"], v["ansible_winrm_scheme"])
            for h, v in hostvars.items()} == {
        "kms01": (2, "basic", "https"), "ws01": (4, "basic", "https"), "ws02": (6, "basic", "https")}


def test_per_host_credentials_override_the_common_ones(write_fleet: t.Callable[..., pathlib.Path]) -> None:
    spec = load_fleet(write_fleet({
        "domain": "x.example.test", "defaults": {"password": "A-pw"},
        "hosts": [{"name": "a", "address": "127.0.0.2", "os": "windows-11", "edition": "Enterprise"},
                  {"name": "b", "address": "127.0.0.3", "os": "windows-11", "edition": "Enterprise",
                   "username": "other", "password": "B-pw"}]}))
    doc = yaml.safe_load(render_inventory(spec, {}, "ntlm"))
    assert doc["all"]["vars"]["ansible_password"] == "A-pw"
    assert "ansible_password" not in doc["all"]["hosts"]["a"]
    assert doc["all"]["hosts"]["b"]["ansible_user"] == "other"
    assert doc["all"]["hosts"]["b"]["ansible_password"] == "B-pw"


# --------------------------------------------------------------------------- output helpers


@pytest.mark.parametrize(("text", "masked"), [
    ("key VK7JG-NPHTM-C97JM-9MPGT-3V66T installed", "key XXXXX-XXXXX-XXXXX-XXXXX-3V66T installed"),
    ("two: aaaaa-bbbbb-ccccc-ddddd-eeeee, 11111-22222-33333-44444-55555",
     "two: XXXXX-XXXXX-XXXXX-XXXXX-eeeee, XXXXX-XXXXX-XXXXX-XXXXX-55555"),
    ("a GUID 55c92734-d682-4d71-983e-d6ec3f16059f is not a key", "a GUID 55c92734-d682-4d71-983e-d6ec3f16059f "
                                                               "is not a key"),
])
def test_mask_keys(text: str, masked: str) -> None:
    assert mask_keys(text) == masked


def test_status_table_layout() -> None:
    rows = [
        StatusRow("kms01", "127.0.10.10", "windows-server-2022", "ServerStandard", "en-US", "Licensed", 180,
                  "-", "-", True, "Windows 29, Office 2010 4", []),
        StatusRow("tokyo01", "127.0.10.38", "windows-11", "Enterprise", "ja-JP", "OOBGrace", 30,
                  "2021 ProPlus", "OOBGrace", False, "-", ["slow"]),
    ]
    assert format_status(rows, "2026-11-01T09:00:00+00:00").splitlines() == [
        "lab time: 2026-11-01T09:00:00+00:00   hosts: 2",
        "HOST     ADDRESS      OS                   EDITION         WINDOWS   GRACE  OFFICE        OFFICE STATUS"
        "  KMS HOST  KMS COUNT                  FAULTS",
        "kms01    127.0.10.10  windows-server-2022  ServerStandard  Licensed  180d   -             -            "
        "  yes       Windows 29, Office 2010 4  -",
        "tokyo01  127.0.10.38  windows-11 (ja-JP)   Enterprise      OOBGrace  30d    2021 ProPlus  OOBGrace     "
        "  no        -                          slow",
    ]


@pytest.mark.parametrize(("entry", "line"), [
    pytest.param({"host": "kms01", "seq": 3, "time": "2026-11-01T09:00:00+00:00",
                  "module": "winops.volume_activation.licensing_batch", "check_mode": False, "changed": True,
                  "ops": [{"op": "cim_query", "ok": True, "class": "SoftwareLicensingProduct"},
                          {"op": "cim_invoke", "ok": False, "class": "SoftwareLicensingService",
                           "method": "InstallProductKey", "hresult_hex": "0xC004F050"},
                          {"op": "service_restart", "ok": False, "skipped": True, "name": "sppsvc"}]},
                 "#3 kms01 2026-11-01T09:00:00+00:00 module winops.volume_activation.licensing_batch changed: "
                 "cim_query SoftwareLicensingProduct ok; cim_invoke SoftwareLicensingService.InstallProductKey "
                 "0xC004F050; service_restart sppsvc skipped", id="module"),
    pytest.param({"host": "ws01", "seq": 0, "time": "t", "module": "m", "check_mode": True, "ops": []},
                 "#0 ws01 t module m (check mode): ", id="check-mode"),
    pytest.param({"host": "ws01", "seq": 1, "time": "t", "kind": "command", "rc": 9009,
                  "command_line": "python3 -c VK7JG-NPHTM-C97JM-9MPGT-3V66T"},
                 "#1 ws01 t command rc=9009: python3 -c XXXXX-XXXXX-XXXXX-XXXXX-3V66T", id="command-masked"),
    pytest.param({"host": "ws01", "seq": 2, "kind": "other", "n": 1}, '#2 ws01 - {"kind":"other","n":1}',
                 id="other"),
])
def test_log_line(entry: dict[str, t.Any], line: str) -> None:
    assert format_log_entry(entry) == line


# --------------------------------------------------------------------------- errors without a lab


def test_commands_without_a_lab_say_so(winlab: Winlab) -> None:
    proc = winlab("status")
    assert proc.returncode == 1
    assert proc.stderr == (f"winlab: error: no lab is running in {winlab.state_dir} "  # type: ignore[attr-defined]
                           "(start one with 'winlab up')\n")
    proc = winlab("down")
    assert (proc.returncode, proc.stdout) == (0, f"no lab is running in {winlab.state_dir}\n")  # type: ignore[attr-defined]


def test_up_refuses_an_invalid_fleet_in_one_line(winlab: Winlab, write_fleet: t.Callable[..., pathlib.Path],
                                                 tmp_path: pathlib.Path) -> None:
    path = write_fleet({"domain": "x.example.test", "defaults": {"password": "p"},
                        "hosts": [{"name": "a", "address": "10.1.2.3", "os": "windows-11",
                                   "edition": "Enterprise"}]})
    proc = winlab("up", "--fleet", str(path), "--inventory", str(tmp_path / "inv.yml"))
    assert proc.returncode == 1
    assert proc.stderr == (f"winlab: error: {path}: hosts[0]: address '10.1.2.3' is not a loopback address "
                           "(127.0.0.0/8); the lab binds loopback addresses only\n")
    assert not (tmp_path / "inv.yml").exists()


def test_up_names_the_port_in_use(winlab: Winlab, write_fleet: t.Callable[..., pathlib.Path],
                                  tmp_path: pathlib.Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.21.7", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        path = write_fleet({"domain": "x.example.test", "defaults": {"password": "p"},
                            "hosts": [{"name": "a", "address": "127.0.21.7", "os": "windows-11",
                                       "edition": "Enterprise", "http_port": port, "https_port": 0}]})
        proc = winlab("up", "--fleet", str(path), "--inventory", str(tmp_path / "inv.yml"))
    assert proc.returncode == 1
    assert proc.stderr == f"winlab: error: 127.0.21.7:{port} is already in use (host 'a')\n"
    assert not (winlab.state_dir / "control.json").exists()  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- the whole life of a lab


def test_lab_lifecycle(winlab: Winlab, small_fleet: pathlib.Path, tmp_path: pathlib.Path) -> None:
    state_dir: pathlib.Path = winlab.state_dir  # type: ignore[attr-defined]
    inventory = tmp_path / "inv.yml"
    before = listening_sockets()

    proc = winlab("up", "--fleet", str(small_fleet), "--inventory", str(inventory))
    assert proc.returncode == 0, proc.stderr
    assert re.match(r"lab up in \d+\.\d\d s: 3 hosts in small\.example\.test on 127\.0\.20\.10\.\.127\.0\.20\.12 "
                    r"\(daemon pid \d+, control 127\.0\.0\.1:\d+\)\n", proc.stdout), proc.stdout
    assert "Small-Lab-Pw1" not in proc.stdout + proc.stderr
    control = json.loads((state_dir / "control.json").read_text())
    assert (state_dir / "control.json").stat().st_mode & 0o777 == 0o600
    assert inventory.stat().st_mode & 0o777 == 0o600
    pid, control_port = control["pid"], control["port"]

    # The inventory names the ports the listeners really got (the fleet file asked for 0).
    hostvars = _inventory_list(inventory)["_meta"]["hostvars"]
    addresses = {"kms01": "127.0.20.10", "ws01": "127.0.20.11", "ws02": "127.0.20.12"}
    bound = {("127.0.0.1", control_port)} | {(addresses[name], port) for name, ports in control["ports"].items()
                                             for port in ports}
    assert len(bound) == 7
    assert bound <= listening_sockets() - before
    assert {name: (v["ansible_host"], v["ansible_port"]) for name, v in hostvars.items()} == {
        name: (addr, control["ports"][name][0]) for name, addr in addresses.items()}

    # A second 'up' in the same state directory is refused and changes nothing.
    again = winlab("up", "--fleet", str(small_fleet), "--inventory", str(tmp_path / "inv2.yml"))
    assert again.returncode == 1
    assert again.stderr == (f"winlab: error: a lab is already running in {state_dir} (pid {pid}); "
                            "stop it with 'winlab down'\n")
    assert not (tmp_path / "inv2.yml").exists()

    status = winlab("status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == "lab time: 2026-11-01T09:00:00+00:00   hosts: 3"
    assert lines[1].split()[:4] == ["HOST", "ADDRESS", "OS", "EDITION"]
    assert [ln.split()[0] for ln in lines[2:]] == ["kms01", "ws01", "ws02"]

    adv = winlab("advance", "31d")
    assert (adv.returncode, adv.stdout) == (0, "lab time is now 2026-12-02T09:00:00+00:00\n")
    bad = winlab("advance", "soon")
    assert (bad.returncode, bad.stderr) == (1, "winlab: error: duration 'soon' is not like 31d, 2h, 90m, 45s "
                                               "or 1d12h\n")

    f = winlab("fault", "ws01", "winrm_down")
    assert (f.returncode, f.stdout) == (0, "fault 'winrm_down' on ws01 (until 'winlab clear')\n")
    ws01_http = hostvars["ws01"]["ansible_port"]
    assert ("127.0.20.11", ws01_http) not in listening_sockets()
    status_json = json.loads(winlab("status", "--json").stdout)
    assert {r["name"]: r["faults"] for r in status_json} == {"kms01": [], "ws01": ["winrm_down"], "ws02": []}
    unknown = winlab("fault", "ws01", "meteor")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("winlab: error: unknown fault 'meteor' (known: ")
    assert "winrm_down" in unknown.stderr and "drop_connection" in unknown.stderr
    nohost = winlab("fault", "nosuch", "slow")
    assert nohost.stderr == "winlab: error: no host 'nosuch' in this fleet (hosts: kms01, ws01, ws02)\n"
    cleared = winlab("clear")
    assert cleared.stdout == "cleared: ws01:winrm_down\n"
    assert ("127.0.20.11", ws01_http) in listening_sockets()

    # One command over WinRM shows in the request log; its Installation ID goes to the phone
    # line, which refuses it: a KMS client setup key is never phone-activated.
    assert winlab("log", "ws01").stdout == "no requests logged for ws01\n"
    session = winrm.Session(f"http://127.0.20.11:{ws01_http}/wsman", auth=("Administrator", "Small-Lab-Pw1"),
                            transport="ntlm")
    dlv = session.run_cmd("cscript //nologo slmgr.vbs /dlv")
    assert dlv.status_code == 0
    iid = re.search(r"Installation ID: (\d+)", dlv.std_out.decode()).group(1)  # type: ignore[union-attr]
    log = winlab("log", "ws01")
    assert log.stdout == ("#0 ws01 2026-12-02T09:00:00+00:00 command rc=0: cscript //nologo slmgr.vbs /dlv\n")
    assert json.loads(winlab("log", "--json").stdout)[0]["command_line"] == "cscript //nologo slmgr.vbs /dlv"
    phone = winlab("phone", iid)
    assert phone.returncode == 1
    assert phone.stderr == (f"winlab: error: the activation service refused installation ID '{iid}': "
                            "0xC004F04D: The Software Licensing Service determined that the Installation ID (IID) "
                            "or the Confirmation ID (CID) is invalid. (the activation service does not know "
                            "this IID)\n")

    reset = winlab("reset")
    assert reset.returncode == 0, reset.stderr
    assert json.loads(winlab("status", "--json").stdout)[0]["name"] == "kms01"
    assert winlab("advance", "1m").stdout == "lab time is now 2026-11-01T09:01:00+00:00\n"

    down = winlab("down")
    assert (down.returncode, down.stdout) == (0, f"lab stopped (pid {pid})\n")
    assert process_gone(pid)
    assert not (listening_sockets() & bound)
    assert not (state_dir / "control.json").exists()
    assert winlab("status").returncode == 1


def test_down_kills_a_daemon_that_ignores_sigterm(winlab: Winlab, small_fleet: pathlib.Path,
                                                  tmp_path: pathlib.Path) -> None:
    state_dir: pathlib.Path = winlab.state_dir  # type: ignore[attr-defined]
    assert winlab("up", "--fleet", str(small_fleet), "--inventory", str(tmp_path / "inv.yml")).returncode == 0
    control = json.loads((state_dir / "control.json").read_text())
    os.kill(control["pid"], signal.SIGSTOP)  # a stopped process cannot act on SIGTERM
    down = winlab("down", "--timeout", "1")
    assert (down.returncode, down.stdout) == (0, f"lab killed (did not stop within 1 s of SIGTERM) "
                                                 f"(pid {control['pid']})\n")
    assert process_gone(control["pid"])
    assert ("127.0.0.1", control["port"]) not in listening_sockets()


def test_a_crashed_daemon_is_reported_and_cleaned_up(winlab: Winlab, small_fleet: pathlib.Path,
                                                     tmp_path: pathlib.Path) -> None:
    state_dir: pathlib.Path = winlab.state_dir  # type: ignore[attr-defined]
    up = ("up", "--fleet", str(small_fleet), "--inventory", str(tmp_path / "inv.yml"))
    assert winlab(*up).returncode == 0
    pid = json.loads((state_dir / "control.json").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not process_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    status = winlab("status")
    assert status.stderr == (f"winlab: error: the lab daemon in {state_dir} (pid {pid}) is no longer running; "
                             f"see {state_dir / 'daemon.log'}, and 'winlab down' to clean up\n")
    down = winlab("down")
    assert down.stdout == f"no lab is running in {state_dir} (removed a stale control file)\n"
    # The lock died with the daemon: a new lab starts in the same directory.
    assert winlab(*up).returncode == 0
    assert winlab("down").returncode == 0
