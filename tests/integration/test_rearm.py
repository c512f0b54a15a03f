"""rearm end to end: ansible-playbook -> winrm -> lab, with the restart (WinRM down, a new boot).

Windows 11 (ReArmWindows, then a restart the module waits for) and Windows 7 with Office 2010
(OSPPREARM.EXE, as ospp.vbs /rearm). Verified from the lab's models (CMID, counts, boot time,
request log), never from the module's own result alone.
"""

from __future__ import annotations

import typing as t

import pytest

from .conftest import Ansible, LabHandle
from .test_kms_modules import play, task

FLEET: dict[str, t.Any] = {
    "lab": {"seed": 31, "start": "2026-11-01T09:00:00Z", "dns_port": 0, "network": False},
    "domain": "rearm.example.test",
    "defaults": {"username": "Administrator", "password": "Rearm-Lab-Pw1", "http_port": 0, "https_port": 0},
    "hosts": [
        {"name": "w11", "address": "127.0.76.10", "os": "windows-11", "edition": "Enterprise",
         "office": [{"version": "2016", "products": ["ProPlus"]}]},
        {"name": "w7", "address": "127.0.76.11", "os": "windows-7", "edition": "Enterprise",
         "office": [{"version": "2010", "products": ["ProPlus"]}]},
    ],
}
READS = {"cim_query", "reg_get", "firewall_get", "service_get"}


@pytest.fixture(scope="module")
def fleet(start_lab: t.Callable[..., LabHandle]) -> LabHandle:
    return start_lab(FLEET)


@pytest.fixture
def handle(fleet: LabHandle) -> LabHandle:
    fleet.lab.reset()
    return fleet


def model(handle: LabHandle, host: str) -> dict[str, t.Any]:
    return handle.lab.host_state(host)


def sent(handle: LabHandle, host: str, since: int) -> list[str]:
    """The operations of the module calls the host answered since ``since``."""
    return [op["op"] for e in handle.lab.request_log(host, since=since) if "module" in e for op in e["ops"]]


def test_rearm_windows_11_restarts_and_the_cmid_changes(handle: LabHandle, ansible: Ansible) -> None:
    """Check mode, real run, repeat: the real run rearms, orders the restart, waits while WinRM is
    down and reads the new CMID after the boot; the repeat finds the CMID no longer listed."""
    before = model(handle, "w11")
    args = {"cmids": [before["cmid"]], "restart_timeout": 60}
    mark = handle.log_mark("w11")
    run = ansible.run(play("w11", task("Check", "rearm", args, check=True) + task("Real", "rearm", args)
                           + task("Repeat", "rearm", args)), handle, diff=True)
    assert run.rc == 0, run.stdout[-3000:]
    check, real, again = (run.result(n, "w11") for n in ("Check", "Real", "Repeat"))
    after = model(handle, "w11")

    assert (check["changed"], check["restarted"], check["round_trips"]) == (True, False, 1)
    assert check["changes"] == ["rearm Windows (RemainingWindowsReArmCount 1001 before)",
                                "restart the host so that the rearm takes effect"]
    assert check["diff"] == {"before": {"windows": {"cmid": before["cmid"], "remaining": 1001}},
                             "after": {"windows": {"cmid": "(a new one)", "remaining": 1000}}}

    assert (real["changed"], real["restarted"]) == (True, True)
    (row,) = real["targets"]
    assert (row["action"], row["cmid_before"], row["remaining_before"], row["remaining"]) == (
        "rearmed", before["cmid"], 1001, 1000)
    assert row["cmid"] == after["cmid"] != before["cmid"]
    assert after["remaining_rearm"] == 1000 and after["pending_at_boot"] == []
    assert after["last_boot"] > before["last_boot"]
    # the restart took WinRM down: at least one attempt found the listener closed
    assert real["restart"]["attempts"] >= 2 and real["restart"]["elapsed"] >= handle.lab.restart_down_seconds
    # round trips: read, rearm + restart order + read back, then the read after the restart
    assert real["round_trips"] == 3

    assert (again["changed"], again["round_trips"], again["targets"][0]["action"]) == (False, 1, "unchanged")
    assert "not one of cmids" in again["targets"][0]["reason"]
    ops = sent(handle, "w11", mark)
    assert ops.count("cim_invoke") == 1 and ops.count("os_restart") == 1
    assert set(ops) - {"cim_invoke", "os_restart"} <= READS


def test_rearm_office_2010_on_windows_7_with_ospprearm(handle: LabHandle, ansible: Ansible) -> None:
    """OSPP has no rearm method: the module runs OSPPREARM.EXE; Office's CMID (OSPP's) is new at
    once, no restart; Windows on the same host keeps its CMID."""
    before = model(handle, "w7")
    run = ansible.run(play("w7", task("Office", "rearm", {"product": "office", "force": True})), handle)
    assert run.rc == 0, run.stdout[-3000:]
    res = run.result("Office", "w7")
    after = model(handle, "w7")
    (row,) = res["targets"]
    assert (row["scope"], row["method"], row["action"], res["restarted"], res["round_trips"]) == (
        "office_ospp", "OSPPREARM", "rearmed", False, 2)
    assert row["cmid_before"] == before["ospp_cmid"] and row["cmid"] == after["ospp_cmid"] != before["ospp_cmid"]
    assert after["cmid"] == before["cmid"]
    assert (before["office_rearm_remaining"], after["office_rearm_remaining"]) == (5, 4)


def test_rearm_windows_7_refused_at_zero_before_anything_is_sent(handle: LabHandle, ansible: Ansible) -> None:
    with handle.lab.world.lock:
        handle.lab.world.host("w7").remaining_rearm = 0
    mark = handle.log_mark("w7")
    run = ansible.run(play("w7", task("Windows", "rearm", {"force": True}) + "      ignore_errors: true\n"), handle)
    res = run.result("Windows", "w7")
    assert res["_status"] == "failed" and res["changed"] is False
    assert res["msg"] == ("Failed to rearm Windows: RemainingWindowsReArmCount is 0, no rearm is left (Windows would "
                          "answer 0xC004D307 (SL_E_REARM_EXCEEDED)); nothing was sent. Next step: activate the product "
                          "instead (a KMS activation gives Office one more rearm), or reinstall")
    assert set(sent(handle, "w7", mark)) <= READS


def test_rearm_needs_a_condition(handle: LabHandle, ansible: Ansible) -> None:
    mark = handle.log_mark("w11")
    run = ansible.run(play("w11", task("Bare", "rearm", {}) + "      ignore_errors: true\n"), handle)
    res = run.result("Bare", "w11")
    assert res["msg"].startswith("Failed to rearm: each rearm uses up one of the few a machine has")
    assert sent(handle, "w11", mark) == []


def test_image_prep_playbook_on_windows_7_rearms_office_and_windows(handle: LabHandle, ansible: Ansible) -> None:
    """The image_prep playbook with -e image_prep_windows=true (a string, as -e passes it):
    OSPPREARM for Office 2010 and ReArmWindows with the restart on Windows 7."""
    from .conftest import ROOT

    before = model(handle, "w7")
    run = ansible.run(ROOT / "playbooks" / "image_prep.yml", handle,
                      extra_vars={"image_prep_target": "w7", "image_prep_windows": "true",
                                  "image_prep_restart_timeout": "60"})
    assert run.rc == 0, run.stdout[-3000:]
    after = model(handle, "w7")
    assert after["ospp_cmid"] != before["ospp_cmid"] and after["cmid"] != before["cmid"]
    assert (after["office_rearm_remaining"], after["remaining_rearm"]) == (4, before["remaining_rearm"] - 1)
    assert after["last_boot"] > before["last_boot"]
    windows = run.result("winops.volume_activation.image_prep : Rearm Windows before the capture, restart, wait", "w7")
    assert windows["restarted"] is True and windows["targets"][0]["method"] == "ReArmWindows"
