"""clone_remediation end to end: three Windows Server clones share one CMID, the KMS host counts
them once; the role (clone groups found by license_info + fleet_summary) rearms, restarts and
activates the two that are not first, and the KMS host's count rises from 1 to 3. The repeat
run changes nothing. Verified from the lab's KMS host model, not from the role's results."""

from __future__ import annotations

import typing as t

import pytest

from winlab.surfaces.cim import CimSurface

from .conftest import Ansible, LabHandle

CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"  # synthetic (the lab's small fleet key), not a Microsoft key
FLEET: dict[str, t.Any] = {
    "lab": {"seed": 41, "start": "2026-11-01T09:00:00Z", "dns_port": 0, "network": False},
    "domain": "clones.example.test",
    "defaults": {"username": "Administrator", "password": "Clone-Lab-Pw1", "http_port": 0, "https_port": 0},
    "keys": [{"name": "ws2022-csvlk", "kind": "csvlk", "product": "windows-server-2022", "key": CSVLK}],
    "hosts": [
        {"name": "kms01", "address": "127.0.78.10", "os": "windows-server-2022", "edition": "ServerStandard",
         "roles": ["kms_host"]},
        {"name": "app1", "address": "127.0.78.11", "os": "windows-server-2022", "edition": "ServerStandard"},
        {"name": "app2", "address": "127.0.78.12", "os": "windows-server-2022", "edition": "ServerStandard",
         "cmid_from": "app1"},
        {"name": "app3", "address": "127.0.78.13", "os": "windows-server-2022", "edition": "ServerStandard",
         "cmid_from": "app1"},
    ],
}
PLAYBOOK = """\
- hosts: app1,app2,app3
  gather_facts: false
  tasks:
    - name: Remediate
      ansible.builtin.include_role:
        name: clone_remediation
      vars:
        clone_remediation_restart_timeout: 60
"""


@pytest.fixture(scope="module")
def handle(start_lab: t.Callable[..., LabHandle]) -> LabHandle:
    return start_lab(FLEET)


def kms_count(handle: LabHandle) -> int:
    counts = [p["kms_host"]["current_count"] for p in handle.lab.host_state("kms01")["products"] if p["kms_host"]]
    assert len(counts) == 1
    return int(counts[0])


def test_clone_remediation_raises_the_kms_count(handle: LabHandle, ansible: Ansible) -> None:
    host = handle.lab.world.host("kms01")
    with handle.lab.world.lock:  # a KMS host, activated (set up through the lab, not under test)
        CimSurface(host).invoke("SoftwareLicensingService", "InstallProductKey", {"ProductKey": CSVLK})
        row = CimSurface(host).query("SoftwareLicensingProduct", "PartialProductKey = 'H4D3N'")[0]
        CimSurface(host).invoke("SoftwareLicensingProduct", "Activate", {}, row=row)
        rule = host.firewall.get("SPPSVC-In-TCP")
        assert rule is not None
        rule.enabled = True
    first = ansible.run("- hosts: app1,app2,app3\n  gather_facts: false\n  tasks:\n"
                        "    - name: Activate\n      winops.volume_activation.activation: {product: windows}\n",
                        handle)
    assert first.rc == 0, first.stdout[-3000:]
    cmids = {handle.lab.host_state(h)["cmid"] for h in ("app1", "app2", "app3")}
    assert len(cmids) == 1 and kms_count(handle) == 1

    run = ansible.run(PLAYBOOK, handle)
    assert run.rc == 0, run.stdout[-3000:]
    after = {h: handle.lab.host_state(h)["cmid"] for h in ("app1", "app2", "app3")}
    assert after["app1"] in cmids and len(set(after.values())) == 3
    assert kms_count(handle) == 3
    rearmed = run.results("clone_remediation : Rearm Windows while the host still has the shared CMID, restart, wait")
    assert rearmed["app1"]["_status"] == "skipped"
    assert all(rearmed[h]["restarted"] for h in ("app2", "app3"))

    again = ansible.run(PLAYBOOK, handle)
    assert again.rc == 0, again.stdout[-3000:]
    assert not any(r["result"].get("changed") for r in again.records
                   if r["task"].startswith(("clone_remediation : Rearm", "clone_remediation : Activate")))
    assert kms_count(handle) == 3
