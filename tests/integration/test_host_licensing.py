"""host_licensing end to end: ansible-playbook -> winrm -> lab (lab/fleets/small.yml).

A KMS host from scratch (key, then settings, firewall and activation: 3 round trips), then
converged (1); a KMS client whose GVLK is already there (settings and activation: 2, then 1);
check mode changes nothing and costs 1; a failed part stops the parts after it; the returned
license_info is the state license_info reads; the host key never appears. Round trips are
counted in the lab's request log (the independent count), outcomes read from the lab's model.
"""

from __future__ import annotations

import json
import typing as t

from .conftest import Ansible, LabHandle

SMALL_CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"  # lab/fleets/small.yml's synthetic KMS host key
SPP_KEY = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\SoftwareProtectionPlatform"
KMS_HOST_ARGS: dict[str, t.Any] = {
    "product_keys": [{"key": SMALL_CSVLK, "key_type": "kms_host", "product": "windows"}],
    "kms_host": {"port": 1689, "low_priority": True},
    "kms_firewall": {"remote_addresses": ["LocalSubnet"]},
    "activation": {"product": "windows"},
}
CLIENT_ARGS: dict[str, t.Any] = {
    "product_keys": [{"gvlk": "auto", "product": "windows"}],
    "kms_client": [{"product": "windows", "kms_host": "kms01.small.example.test:1689"}],
    "activation": {"product": "windows"},
}


def play(hosts: str, args: dict[str, t.Any], *, name: str = "Host", check: bool = False,
         register: bool = True) -> str:
    return (f"- hosts: {hosts}\n  gather_facts: false\n  tasks:\n"
            f"    - name: {name}\n      winops.volume_activation.host_licensing: {json.dumps(args)}\n"
            + ("      check_mode: true\n" if check else "")
            + ("      register: volume_activation_host_result\n" if register else ""))


def run_host(ansible: Ansible, lab: LabHandle, host: str, args: dict[str, t.Any], **kw: t.Any
             ) -> tuple[dict[str, t.Any], int, t.Any]:
    mark = lab.log_mark(host)
    run = ansible.run(play(host, args, **kw), lab, diff=True)
    assert SMALL_CSVLK not in run.stdout + run.stderr + json.dumps(run.records)
    return run.result("Host", host), lab.round_trips(host, since=mark), run


def test_kms_host_from_scratch_then_converged(lab: LabHandle, ansible: Ansible) -> None:
    before = lab.lab.host_state("kms01")
    check, calls, run = run_host(ansible, lab, "kms01", KMS_HOST_ARGS, check=True)
    assert run.rc == 0, run.stdout
    assert check["changed"] is True and check["round_trips"] == 1 and calls == 1
    assert lab.lab.host_state("kms01")["registry"] == before["registry"]
    assert lab.lab.request_log("kms01")[-1]["check_mode"] is True

    real, calls, run = run_host(ansible, lab, "kms01", KMS_HOST_ARGS)
    assert run.rc == 0, run.stdout
    # the key first (round trip 2), then settings, firewall and activation together (3)
    assert real["round_trips"] == 3 == calls
    assert real["changed"] is True
    assert real["product_keys"][0]["changed"] is True
    assert real["product_keys"][0]["targets"][0]["product_key"] == "XXXXX-XXXXX-XXXXX-XXXXX-H4D3N"
    assert real["kms_host"]["changed"] is True and real["kms_host"]["restarted"] is True
    assert real["kms_firewall"]["changed"] is True and real["kms_firewall"]["port"] == 1689  # kms_host's port
    assert real["activation"]["summary"] == {"activated": 1}
    assert [d["before_header"] for d in real["diff"]] == ["product_keys[0]", "kms_host", "kms_firewall",
                                                          "activation"]
    assert all(c.split(": ", 1)[0] in ("product_keys[0]", "kms_host", "kms_firewall", "activation")
               for c in real["changes"])
    assert lab.lab.host_state("kms01")["kms_effective"]["port"] == 1689
    info = real["license_info"]
    assert info["summary"]["kms_host"] is True and info["summary"]["windows_activated"] is True

    again, calls, run = run_host(ansible, lab, "kms01", KMS_HOST_ARGS)
    assert run.rc == 0, run.stdout
    assert again["changed"] is False and again["round_trips"] == 1 == calls
    assert {k: again[k]["changed"] for k in ("kms_host", "kms_firewall", "activation")} == {
        "kms_host": False, "kms_firewall": False, "activation": False}

    # The returned license_info is what license_info itself reads.
    run = ansible.run("- hosts: kms01\n  gather_facts: false\n  tasks:\n    - name: Info\n"
                      "      winops.volume_activation.license_info:\n", lab)
    alone = run.result("Info", "kms01")
    for key in ("os", "service", "ospp_service", "products", "summary"):
        assert again["license_info"][key] == alone[key], key


def test_client_settings_and_activation_in_one_batch(lab: LabHandle, ansible: Ansible) -> None:
    _r, _c, run = run_host(ansible, lab, "kms01", KMS_HOST_ARGS)
    assert run.rc == 0, run.stdout
    first, calls, run = run_host(ansible, lab, "ws01", CLIENT_ARGS)
    assert run.rc == 0, run.stdout
    # The GVLK is already installed: read, then KMS client settings + activation in one batch.
    assert first["round_trips"] == 2 == calls
    assert first["product_keys"][0]["changed"] is False
    assert first["kms_client"][0]["changed"] is True
    assert first["activation"]["products"][0]["outcome"] in ("activated", "waiting_for_threshold")
    sent = lab.lab.request_log("ws01")[-1]["ops"]
    methods = [op.get("method") for op in sent if op["op"] == "cim_invoke"]
    assert methods.index("SetKeyManagementServiceMachine") < methods.index("Activate")
    again, calls, run = run_host(ansible, lab, "ws01", {**CLIENT_ARGS, "activation": {"product": "windows"}})
    assert again["kms_client"][0]["changed"] is False


def test_a_failed_part_stops_the_parts_after_it(lab: LabHandle, ansible: Ansible) -> None:
    # A well-formed MAK the lab's activation service does not know: InstallProductKey fails on the host.
    args = {"product_keys": [{"key": "BCDFG-HJKMN-PQRTV-WXY23-46789", "key_type": "mak", "product": "windows"}],
            "kms_client": [{"product": "windows", "kms_host": "kms01.small.example.test"}],
            "activation": {"product": "windows"}}
    before = lab.lab.host_state("ws01")["registry"].get(SPP_KEY, {})
    result, calls, run = run_host(ansible, lab, "ws01", args)
    assert run.rc != 0
    assert result["msg"].startswith("product_keys[0]: Failed to install the MAK 'XXXXX-XXXXX-XXXXX-XXXXX-46789'")
    assert "0xC004F050 (SL_E_INVALID_PRODUCT_KEY)" in result["msg"]
    assert result["product_keys"][0]["failed"] is True
    assert calls == 2 and result["round_trips"] == 2
    for part in (result["kms_client"][0], result["activation"]):
        assert part["skipped"] is True and "product_keys[0] failed" in part["msg"]
    assert lab.lab.host_state("ws01")["registry"].get(SPP_KEY, {}) == before
    assert "BCDFG-HJKMN-PQRTV-WXY23-46789" not in run.stdout + run.stderr + json.dumps(run.records)


def test_validate_only_on_the_controller(lab: LabHandle, ansible: Ansible) -> None:
    mark = lab.log_mark("ws01")
    run = ansible.run(
        "- hosts: ws01\n  gather_facts: false\n  tasks:\n    - name: Validate\n"
        "      winops.volume_activation.host_licensing:\n"
        "        kms_client: [{product: windows, kms_host: 'not a host name'}]\n"
        "        validate_only: true\n      delegate_to: localhost\n      ignore_errors: true\n", lab)
    res = run.result("Validate", "ws01")
    assert "kms_client[0]: Failed to configure the KMS client" in res["msg"]
    assert lab.round_trips("ws01", since=mark) == 0
