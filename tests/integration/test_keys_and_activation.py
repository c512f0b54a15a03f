"""product_key and activation end to end: ansible-playbook -> winrm -> lab.

The triad (check mode, real run, repeat run) of each module, verified from the lab's own model
(partial keys, license status, the activation service's MAK counts) and its request log, never
by the module under test. Keys in the output are checked masked at -vvvv.
"""

from __future__ import annotations

import typing as t

from .conftest import Ansible, LabHandle
from .test_kms_modules import PREPARE_HOST, SMALL_CSVLK, play, task, triad

# The public KMS client setup key of Windows 11 Enterprise [WSD-KEYS]: public, and still masked.
WIN11_ENTERPRISE_GVLK = "NPPR9-FWDCX-D2C8J-H872K-2YT43"


def windows(handle: LabHandle, host: str) -> list[dict[str, t.Any]]:
    """The host's Windows products that hold a key, as the lab's model has them."""
    return [p for p in handle.lab.host_state(host)["products"]
            if p["partial_product_key"] and p["name"].startswith("Windows")]


def test_product_key_absent_then_gvlk_auto(lab: LabHandle, ansible: Ansible) -> None:
    assert [p["partial_product_key"] for p in windows(lab, "ws01")] == ["2YT43"]  # volume media: the GVLK

    gone = triad(ansible, lab, "ws01", "product_key", {"product": "windows", "state": "absent"})
    assert gone["check"]["changed"] is True and gone["check"]["round_trips"] == 1
    assert [p["partial_product_key"] for p in gone["check_state"]["products"]
            if p["name"].startswith("Windows") and p["partial_product_key"]] == ["2YT43"]  # check mode sent nothing
    assert gone["real"]["changed"] is True and gone["real"]["round_trips"] == 2
    assert gone["repeat"]["changed"] is False and gone["repeat"]["round_trips"] == 1
    assert windows(lab, "ws01") == []

    back = triad(ansible, lab, "ws01", "product_key", {"gvlk": "auto", "product": "windows"})
    assert back["check"]["changed"] is True and back["check"]["round_trips"] == 1
    assert back["real"]["changed"] is True and back["real"]["round_trips"] == 2
    assert back["repeat"]["changed"] is False and back["repeat"]["round_trips"] == 1
    assert [p["partial_product_key"] for p in windows(lab, "ws01")] == ["2YT43"]


def test_product_key_diff_and_verbose_output_keep_keys_masked(lab: LabHandle, ansible: Ansible) -> None:
    text = play("ws01", task("Gone", "product_key", {"product": "windows", "state": "absent"})
                + task("Back", "product_key", {"gvlk": "auto", "product": "windows"}))
    run = ansible.run(text, lab, diff=True, verbosity=4)
    assert run.rc == 0, run.stdout[-3000:]
    back = run.result("Back", "ws01")
    assert back["diff"]["before"]["product_keys"]["windows"] == []
    assert back["diff"]["after"]["product_keys"]["windows"] == ["XXXXX-XXXXX-XXXXX-XXXXX-2YT43"]
    assert WIN11_ENTERPRISE_GVLK not in run.stdout + run.stderr
    assert "NPPR9" not in run.stdout + run.stderr


def test_gvlk_auto_leaves_an_activated_kms_host_alone(lab: LabHandle, ansible: Ansible) -> None:
    prepared = ansible.run(play("kms01", PREPARE_HOST), lab)
    assert prepared.rc == 0, prepared.stdout[-3000:]
    mark = lab.log_mark("kms01")
    run = ansible.run(play("kms01", task("Auto", "product_key", {"gvlk": "auto", "product": "all"})), lab)
    result = run.result("Auto", "kms01")
    assert result["_status"] == "ok" and result["changed"] is False, result
    assert any("this machine is a KMS host" in w for w in result.get("warnings", [])), result
    assert lab.round_trips("kms01", since=mark) == 1
    assert [p["partial_product_key"] for p in windows(lab, "kms01")] == [SMALL_CSVLK[-5:]]


def test_activation_triad_on_a_kms_host(lab: LabHandle, ansible: Ansible) -> None:
    # The host key goes in first (product_key's job); activation then activates it online.
    r = triad(ansible, lab, "kms01", "activation", {"product": "windows"},
              prepare=task("Key", "product_key", {"key": SMALL_CSVLK, "key_type": "kms_host",
                                                  "product": "windows"}) + "      no_log: true\n")
    (check_row,) = r["check"]["products"]
    assert (check_row["outcome"], r["check"]["changed"], r["check"]["round_trips"]) == ("would_activate", True, 1)
    # Check mode sent nothing that changes the host: the key was there, still not activated.
    assert [p["activated"] for p in r["check_state"]["products"]
            if p["name"].startswith("Windows") and p["partial_product_key"]] == [False]
    (row,) = r["real"]["products"]
    assert (row["outcome"], r["real"]["changed"], r["real"]["round_trips"]) == ("activated", True, 2)
    assert row["license_status"] == "licensed"
    (again,) = r["repeat"]["products"]
    assert (again["outcome"], r["repeat"]["changed"], r["repeat"]["round_trips"]) == ("already_activated", False, 1)
    assert [p["activated"] for p in windows(lab, "kms01")] == [True]


MAK_FLEET: dict[str, t.Any] = {
    "lab": {"seed": 13, "start": "2026-11-01T09:00:00Z", "dns_port": 0},
    "domain": "mak.example.test",
    "defaults": {"username": "Administrator", "password": "Mak-Lab-Pw1", "http_port": 0, "https_port": 0},
    # Synthetic MAK with one activation left (not a Microsoft key).
    "keys": [{"name": "pro-mak", "kind": "mak", "product": "windows-11/Professional", "count": 1,
              "key": "F6G9Y-G2WJW-VHJXC-H4NRX-7T794"}],
    "hosts": [{"name": "pro{n}", "count": 2, "address": "127.0.73.10", "os": "windows-11",
               "edition": "Professional"}],
}


def test_mak_with_one_activation_left_activates_one_host_and_explains_the_other(
        start_lab: t.Callable[..., LabHandle], ansible: Ansible) -> None:
    handle = start_lab(MAK_FLEET)
    mak = MAK_FLEET["keys"][0]["key"]
    # The key comes in a variable, as from a vault: ansible-core prints the playbook lines around a
    # failed task, so a key written into the playbook next to it would be shown by Ansible itself.
    text = ("- hosts: all\n  gather_facts: false\n  serial: 1\n  tasks:\n"
            + task("MAK", "product_key", {"key": "{{ pro_mak }}", "key_type": "mak", "product": "windows"})
            + "      no_log: true\n"
            + task("Activate", "activation", {"product": "windows"}) + "      ignore_errors: true\n")
    run = ansible.run(text, handle, verbosity=3, extra_vars={"pro_mak": mak})
    results = run.results("Activate")
    assert results["pro1"]["_status"] == "ok" and results["pro1"]["products"][0]["outcome"] == "activated"
    failed = results["pro2"]
    assert failed["_status"] == "failed"
    assert "0xC004C020 (SL_E_CHPA_DMAK_LIMIT_EXCEEDED)" in failed["msg"]
    assert failed["products"][0]["hresult"]["remedy"]
    assert failed["products"][0]["product_key"] == "XXXXX-XXXXX-XXXXX-XXXXX-7T794"
    assert mak not in run.stdout + run.stderr
    assert [p["activated"] for p in windows(handle, "pro2")] == [False]


def test_mak_by_phone_installation_id_out_confirmation_id_in(
        start_lab: t.Callable[..., LabHandle], ansible: Ansible) -> None:
    """Offline (telephone or proxy) MAK activation: the first run returns the installation ID and
    changes nothing; the confirmation ID the activation service gives for it is deposited; the
    MAK's count is consumed once. A second deposit run finds the product licensed."""
    fleet = {**MAK_FLEET, "lab": {**MAK_FLEET["lab"], "seed": 14},
             "hosts": [{"name": "phone1", "address": "127.0.74.10", "os": "windows-11", "edition": "Professional"}]}
    handle = start_lab(fleet)
    mak = MAK_FLEET["keys"][0]["key"]
    key = task("MAK", "product_key", {"key": "{{ pro_mak }}", "key_type": "mak", "product": "windows"})
    first = ansible.run(play("phone1", key + "      no_log: true\n"
                             + task("IID", "activation", {"product": "windows", "method": "offline"})),
                        handle, extra_vars={"pro_mak": mak})
    assert first.rc == 0, first.stdout[-3000:]
    iid_result = first.result("IID", "phone1")
    (row,) = iid_result["products"]
    assert (row["outcome"], iid_result["changed"]) == ("installation_id", False)
    assert row["installation_id"] and row["installation_id"].isdigit()
    assert [p["activated"] for p in windows(handle, "phone1")] == [False]

    cid = handle.lab.phone(row["installation_id"])  # the Microsoft Activation Center's answer
    deposit = task("CID", "activation", {"product": "windows", "method": "offline",
                                         "confirmation_ids": {row["activation_id"]: "{{ cid }}"}})
    second = ansible.run(play("phone1", deposit + deposit.replace("name: CID", "name: Again")), handle,
                         extra_vars={"cid": cid}, verbosity=3)
    assert second.rc == 0, second.stdout[-3000:]
    (done,) = second.result("CID", "phone1")["products"]
    assert (done["outcome"], done["license_status"]) == ("confirmation_deposited", "licensed")
    assert second.result("CID", "phone1")["changed"] is True
    (again,) = second.result("Again", "phone1")["products"]
    assert (again["outcome"], second.result("Again", "phone1")["changed"]) == ("already_activated", False)
    assert [p["activated"] for p in windows(handle, "phone1")] == [True]
    assert handle.lab.world.activation_service.remaining("pro-mak") == 0
    assert cid not in second.stdout + second.stderr  # confirmation IDs are no_log
    assert mak not in first.stdout + first.stderr
