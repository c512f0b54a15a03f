"""The failure paths of issues 4 and 5, end to end: the message an administrator sees.

Real ansible-playbook, real WinRM, the lab's real DNS and KMS TCP; the lab's state (and request
log) is the independent check that nothing was sent when the collection refused.
"""

from __future__ import annotations

import typing as t

import pytest

from .conftest import Ansible, LabHandle

# The synthetic Windows Server 2022 KMS host key of lab/fleets/small.yml (never printed: no_log).
SMALL_CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"


def play(hosts: str, *tasks: str) -> str:
    return f"- hosts: {hosts}\n  gather_facts: false\n  tasks:\n" + "".join(tasks)


def task(name: str, module: str, args: dict[str, t.Any]) -> str:
    lines = "".join(f"        {k}: {v!r}\n" if isinstance(v, str) else f"        {k}: {v}\n" for k, v in args.items())
    return f"    - name: {name}\n      winops.volume_activation.{module}:\n{lines}      ignore_errors: true\n"


def host_key(host: str = "kms01") -> str:
    return task("Host key", "product_key", {"key": SMALL_CSVLK, "key_type": "kms_host", "product": "windows"})


def test_malformed_key_is_refused_before_the_host_is_contacted(lab: LabHandle, ansible: Ansible) -> None:
    mark = lab.log_mark("ws01")
    bad = {"key": "W269N-WFGWX-YVC9B-4J6C9-T83G", "product": "windows", "key_type": "mak"}
    run = ansible.run(play("ws01", task("Key", "product_key", bad)), lab, verbosity=4)
    result = run.result("Key", "ws01")
    assert result["_status"] == "failed"
    assert result["msg"].startswith("Failed to install the product key: the product key 'XXXXX-")
    assert "not five groups of five characters" in result["msg"]
    assert lab.round_trips("ws01", since=mark) == 0
    assert "W269N-WFGWX" not in run.stdout + run.stderr


def test_server_host_key_on_a_client_edition_fails_explained(lab: LabHandle, ansible: Ansible) -> None:
    run = ansible.run(play("ws01", host_key()), lab, verbosity=4)
    result = run.result("Host key", "ws01")
    assert result["_status"] == "failed"
    assert result["msg"].startswith("Failed to install the KMS host key (CSVLK) 'XXXXX-XXXXX-XXXXX-XXXXX-H4D3N' for Windows")
    # Windows refuses a Windows Server CSVLK on Windows 11 Enterprise; the HRESULT comes explained.
    assert "0xC004F050 (SL_E_INVALID_PRODUCT_KEY)" in result["msg"]
    assert SMALL_CSVLK not in run.stdout + run.stderr
    assert not [p for p in lab.lab.host_state("ws01")["products"] if p["partial_product_key"] == "H4D3N"]


def test_no_srv_record_is_explained(lab: LabHandle, ansible: Ansible) -> None:
    run = ansible.run(play("ws01", task("Activate", "activation", {"product": "windows"})), lab)
    result = run.result("Activate", "ws01")
    assert result["_status"] == "failed"
    assert "0x8007232B" in result["msg"]
    row = next(p for p in result["products"] if p["family"] == "windows")
    assert row["outcome"] == "failed"
    assert row["hresult"]["hex"] == "0x8007232B"
    assert row["hresult"]["remedy"]


def test_closed_firewall_gives_clients_0xc004f074_explained(lab: LabHandle, ansible: Ansible) -> None:
    # kms01 becomes an activated KMS host that publishes its SRV record, but its firewall rule
    # SPPSVC-In-TCP stays disabled (Windows' default): clients find it and cannot connect.
    setup = ansible.run(play("kms01", host_key(), task("Activate", "activation", {"product": "windows"})), lab)
    assert setup.result("Host key", "kms01")["_status"] == "ok"
    assert setup.result("Activate", "kms01")["_status"] == "ok"
    run = ansible.run(play("ws01", task("Activate", "activation", {"product": "windows"})), lab)
    result = run.result("Activate", "ws01")
    assert result["_status"] == "failed"
    assert "0xC004F074 (SL_E_VL_BINDING_SERVICE_UNAVAILABLE)" in result["msg"]
    assert "next step" in result["msg"]
    # The same client activates once the port is opened (scoped to the lab's subnet).
    fw = ansible.run(play("kms01", task("Firewall", "kms_firewall", {"remote_addresses": ["127.0.0.0/8"]})), lab)
    assert fw.result("Firewall", "kms01")["_status"] == "ok"
    again = ansible.run(play("ws01", task("Activate", "activation", {"product": "windows"})), lab)
    row = next(p for p in again.result("Activate", "ws01")["products"] if p["family"] == "windows")
    # Windows 11 needs 25 clients: the host answers, and the client waits for the threshold.
    assert row["outcome"] == "waiting_for_threshold", row
    assert again.result("Activate", "ws01")["_status"] == "ok"


SEVEN = {
    "lab": {"seed": 9, "dns_port": 0},
    "domain": "seven.example.test",
    "defaults": {"username": "Administrator", "password": "Seven-Lab-Pw1", "http_port": 0, "https_port": 0},
    "keys": [{"name": "csvlk", "kind": "csvlk", "product": "windows-server-2022", "key": SMALL_CSVLK}],
    "hosts": [{"name": "kms{n}", "count": 7, "address": "127.0.71.10", "os": "windows-server-2022",
               "edition": "ServerStandard", "roles": ["kms_host"]}],
}


def test_seventh_host_activation_of_one_host_key_is_refused_0xc004c008(
    start_lab: t.Callable[..., LabHandle], ansible: Ansible
) -> None:
    """One KMS host key activates at most 6 hosts [SEED][WSD-PLAN]; the 7th gets 0xC004C008."""
    handle = start_lab(SEVEN)
    text = "- hosts: all\n  gather_facts: false\n  serial: 1\n  tasks:\n" + host_key() + task(
        "Activate", "activation", {"product": "windows"})
    run = ansible.run(text, handle)
    results = run.results("Activate")
    failed = {h: r for h, r in results.items() if r["_status"] == "failed"}
    assert sorted(results) == [f"kms{n}" for n in range(1, 8)]
    assert list(failed) == ["kms7"], {h: r.get("msg") for h, r in results.items()}
    assert "0xC004C008 (SL_E_CHPA_MAXIMUM_UNLOCK_EXCEEDED)" in failed["kms7"]["msg"]
    assert SMALL_CSVLK not in run.stdout + run.stderr


@pytest.mark.parametrize("transport", ["ntlm_http"])
def test_wrong_password_is_unreachable_not_a_crash(lab: LabHandle, ansible: Ansible, transport: str) -> None:
    text = play("ws01", "    - name: Read\n      winops.volume_activation.license_info:\n")
    run = ansible.run(text, lab, extra_vars={"ansible_password": "wrong-password"})
    assert run.records and run.records[0]["status"] == "unreachable"
    assert "wrong-password" not in run.stdout
