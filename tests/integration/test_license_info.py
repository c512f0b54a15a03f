"""license_info end to end: ansible-playbook -> winrm -> lab, checked against the lab's own state."""

from __future__ import annotations

import typing as t

import pytest

from winlab.surfaces.cim import CimSurface

from .conftest import Ansible, LabHandle

PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Read licensing
      winops.volume_activation.license_info:
"""

# The synthetic Windows Server 2022 KMS host key of lab/fleets/small.yml.
SMALL_CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"


def _lab_products(handle: LabHandle, host: str) -> dict[str, dict[str, t.Any]]:
    """Products with a key, read from the lab model (the independent check)."""
    state = handle.lab.host_state(host)
    return {p["id"].lower(): p for p in state["products"] if p["partial_product_key"]}


def _assert_matches_lab(handle: LabHandle, host: str, result: dict[str, t.Any]) -> None:
    lab_products = _lab_products(handle, host)
    got = {p["activation_id"].lower(): p for p in result["products"]}
    assert set(got) == set(lab_products), host
    for pid, lp in lab_products.items():
        p = got[pid]
        assert p["partial_product_key"] == lp["partial_product_key"]
        assert p["license_status_code"] == lp["license_status"]
        assert p["grace_remaining_minutes"] == lp["grace_minutes"]
        assert p["name"] == lp["name"]
    state = handle.lab.host_state(host)
    assert result["service"]["cmid"] == state["cmid"]


@pytest.mark.parametrize("transport", ["ntlm_http", "basic_https"])
def test_license_info_matches_the_lab(lab: LabHandle, ansible: Ansible, transport: str) -> None:
    inventory = lab.inventory if transport == "ntlm_http" else lab.inventory_basic
    marks = {h: lab.log_mark(h) for h in ("kms01", "ws01", "ws02")}
    run = ansible.run(PLAY, lab, inventory=inventory)
    assert run.rc == 0, run.stdout + run.stderr
    results = run.results("Read licensing")
    assert set(results) == {"kms01", "ws01", "ws02"}
    for host, result in results.items():
        assert result["changed"] is False
        assert result["round_trips"] == 1
        assert lab.round_trips(host, since=marks[host]) == 1
        _assert_matches_lab(lab, host, result)

    ws02 = results["ws02"]
    # Windows 7 + Office 2010: Office lives in OSPP, with its own CMID [OSPP15].
    assert ws02["ospp_service"]["cmid"] == lab.lab.host_state("ws02")["ospp_cmid"]
    office = ws02["summary"]["office"]
    assert [(o["version"], o["channel"], o["activated"]) for o in office] == [("2010", "kms_client", False)]
    assert ws02["summary"]["windows_status"] == "initial_grace"
    assert ws02["summary"]["kms_host"] is False
    # ws01: Windows 11 with Office 2016, which lives in SPP on Windows 8+ [OSPP15].
    ws01 = results["ws01"]
    assert ws01.get("ospp_service") is None
    assert [o["version"] for o in ws01["summary"]["office"]] == ["2016"]
    assert {p["source"] for p in ws01["products"]} == {"spp"}


def test_license_info_in_check_mode_reads_the_same(lab: LabHandle, ansible: Ansible) -> None:
    run = ansible.run(PLAY, lab, check=True, limit="ws01")
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("Read licensing", "ws01")
    assert result["changed"] is False
    _assert_matches_lab(lab, "ws01", result)


def test_license_info_after_time_passes_shows_notification(lab: LabHandle, ansible: Ansible) -> None:
    lab.lab.advance("31d")
    run = ansible.run(PLAY, lab, limit="ws01")
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("Read licensing", "ws01")
    win = next(p for p in result["products"] if p["family"] == "windows")
    assert win["license_status"] == "notification"
    assert win["grace_remaining_minutes"] == 0
    reason = win["license_status_reason"]
    # Grace expired -> Notification with 0xC004F009 [licensing-api §4], explained, never bare hex.
    assert reason["hex"] == "0xC004F009"
    assert reason["symbol"] == "SL_E_GRACE_TIME_EXPIRED"
    assert reason["message"].startswith("0xC004F009 (SL_E_GRACE_TIME_EXPIRED): ")
    assert result["summary"]["windows_activated"] is False


def test_license_info_reports_a_kms_host(lab: LabHandle, ansible: Ansible) -> None:
    # Make kms01 a KMS host through the lab's WMI model (the modules that do this are tested elsewhere).
    world = lab.lab.world
    host = world.host("kms01")
    with world.lock:
        CimSurface(host).invoke("SoftwareLicensingService", "InstallProductKey", {"ProductKey": SMALL_CSVLK})
        row = CimSurface(host).query("SoftwareLicensingProduct", "PartialProductKey = 'H4D3N'")[0]
        CimSurface(host).invoke("SoftwareLicensingProduct", "Activate", {}, row)
    run = ansible.run(PLAY, lab, limit="kms01")
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("Read licensing", "kms01")
    assert result["summary"]["kms_host"] is True
    kms = result["service"]["kms_host"]
    # No client has contacted the host yet: the count is -1 [SEED], delivered as uint32 4294967295.
    assert kms["current_count"] == -1
    assert kms["listening_port"] == 1688
    assert kms["dns_publishing"] is True
    csvlk = next(p for p in result["products"] if p["partial_product_key"] == "H4D3N")
    assert csvlk["channel"] == "kms_host"
    assert csvlk["activated"] is True
    assert SMALL_CSVLK not in run.stdout + run.stderr + str(run.records)


def test_slmgr_text_over_raw_winrm(lab: LabHandle, ansible: Ansible) -> None:
    """What an administrator reads: slmgr.vbs /dlv through Ansible's raw module over winrm."""
    play = """
- hosts: ws01
  gather_facts: false
  tasks:
    - name: Read slmgr
      ansible.builtin.raw: cscript //nologo slmgr.vbs /dlv
"""
    run = ansible.run(play, lab)
    assert run.rc == 0, run.stdout + run.stderr
    out = run.result("Read slmgr", "ws01")["stdout"]
    assert "License Status: Initial grace period" in out
    # Not activated yet: slmgr shows no KMS client block, only its advice [SLMGR10].
    assert "Please use slmgr.vbs /ato to activate and update KMS client information" in out
    assert "Client Machine ID (CMID)" not in out


def test_testinfra_reads_slmgr_over_winrm(lab: LabHandle) -> None:
    """testinfra's winrm backend (NTLM, its own shells) reads slmgr.vbs /dlv from a lab host."""
    testinfra = pytest.importorskip("testinfra")
    spec = lab.spec.host("ws02")
    http_port, _https = lab.lab.ports("ws02")
    host = testinfra.get_host(
        f"winrm://{spec.username}:{spec.password}@{spec.address}:{http_port}?no_ssl=true"
    )
    cmd = host.run("cscript //nologo slmgr.vbs /dlv")
    assert cmd.rc == 0, cmd.stderr
    assert "Name: Windows(R) 7, Enterprise edition" in cmd.stdout
    probe = host.run("python3 -c 1")
    assert probe.rc == 9009
