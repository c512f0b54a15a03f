"""Scale: ``winlab up`` of a generated 200-host fleet, time to ready and daemon memory.

It takes a few seconds, so it runs with the rest of the suite (marked ``slow`` so a
quick run can deselect it with ``-m 'not slow'``). ``pytest lab/tests/test_scale.py -s`` prints
``scale: ...`` lines with the time ``winlab up`` took until the control API answered,
the daemon's resident and peak memory, and the time of one WinRM command.
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import time
import typing as t

import pytest
import winrm

Winlab = t.Callable[..., subprocess.CompletedProcess[str]]

# (os, edition, office version or None): a mix like the demo fleet's.
MIX: list[tuple[str, str, str | None]] = [
    ("windows-11", "Enterprise", "2021"), ("windows-11", "Professional", "2016"),
    ("windows-10", "Enterprise", None), ("windows-10", "Enterprise", "2010"),
    ("windows-10", "Professional", None), ("windows-7", "Enterprise", "2010"),
    ("windows-server-2019", "ServerStandard", None), ("windows-server-2022", "ServerDatacenter", None),
]


def scale_fleet(n_hosts: int, first: str = "127.0.30.10") -> dict[str, t.Any]:
    """A fleet document with one KMS host and ``n_hosts - 1`` clients cycling through MIX,
    on consecutive loopback addresses from ``first``, every port 0 (free ports)."""
    base = [int(x) for x in first.split(".")]
    hosts: list[dict[str, t.Any]] = [{"name": "kms01", "address": first, "os": "windows-server-2022",
                                      "edition": "ServerStandard", "roles": ["kms_host"]}]
    for i in range(1, n_hosts):
        osid, edition, office = MIX[i % len(MIX)]
        n = base[3] + i
        addr = f"{base[0]}.{base[1]}.{base[2] + n // 256}.{n % 256}"
        host: dict[str, t.Any] = {"name": f"ws{i:04d}", "address": addr, "os": osid, "edition": edition}
        if office:
            host["office"] = [{"version": office, "products": ["ProPlus"]}]
        hosts.append(host)
    return {"lab": {"seed": 11, "start": "2026-11-01T09:00:00Z"}, "domain": "scale.example.test",
            "defaults": {"password": "Scale-Pw-1", "http_port": 0, "https_port": 0}, "hosts": hosts}


def _proc_kib(pid: int, field: str) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


@pytest.mark.slow
def test_up_200_hosts(winlab: Winlab, write_fleet: t.Callable[..., pathlib.Path], tmp_path: pathlib.Path) -> None:
    fleet = write_fleet(scale_fleet(200))
    inventory = tmp_path / "inv.yml"
    t0 = time.monotonic()
    proc = winlab("up", "--fleet", str(fleet), "--inventory", str(inventory), timeout=180)
    wall = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    ready = float(re.match(r"lab up in (\d+\.\d+) s", proc.stdout).group(1))  # type: ignore[union-attr]
    control = json.loads((winlab.state_dir / "control.json").read_text())  # type: ignore[attr-defined]
    pid = control["pid"]
    assert len(control["ports"]) == 200
    rss, hwm = _proc_kib(pid, "VmRSS"), _proc_kib(pid, "VmHWM")

    http_port = control["ports"]["ws0199"][0]
    addr = scale_fleet(200)["hosts"][199]["address"]
    session = winrm.Session(f"http://{addr}:{http_port}/wsman", auth=("Administrator", "Scale-Pw-1"),
                            transport="ntlm")
    t1 = time.monotonic()
    r = session.run_cmd("hostname")
    cmd = time.monotonic() - t1
    assert (r.status_code, r.std_out) == (0, b"ws0199\r\n")

    t2 = time.monotonic()
    status = winlab("status")
    status_wall = time.monotonic() - t2
    assert status.returncode == 0, status.stderr
    assert len(status.stdout.splitlines()) == 202  # lab time, header, 200 hosts
    rss_after = _proc_kib(pid, "VmRSS")

    print(f"\nscale: winlab up of 200 hosts: ready in {ready:.2f} s (CLI wall {wall:.2f} s, "
          f"daemon startup {control.get('startup_seconds')} s)")
    print(f"scale: daemon RSS {rss / 1024:.1f} MiB (peak {hwm / 1024:.1f} MiB)")
    print(f"scale: one WinRM command (NTLM handshake + shell + command) {cmd * 1000:.0f} ms")
    print(f"scale: winlab status of 200 hosts {status_wall:.2f} s (CLI process included); "
          f"daemon RSS afterwards {rss_after / 1024:.1f} MiB")
    down = winlab("down")
    assert down.returncode == 0, down.stderr
    # Bounds with wide margins, so the test fails on a regression, not on a slow machine.
    assert ready < 60
    assert rss < 1024 * 1024
