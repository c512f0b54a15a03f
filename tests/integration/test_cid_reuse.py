"""Proxy (phone) activation with the key ledger's CID store, and CID reuse after a reimage.

Run 1 reads the installation ID; the operator phones it in (the lab's activation service);
run 2 deposits the confirmation ID and the CID store keeps the pair. The machine is then
reinstalled on the same hardware (``Lab.reimage``, as ``winlab reimage``): same MAK, same
installation ID, and run 3 deposits the stored confirmation ID without asking Microsoft again.
Verified against the lab's activation service log and the host model.
"""

from __future__ import annotations

import json
import pathlib
import typing as t

import pytest

from .conftest import Ansible, LabHandle
from .test_kms_modules import play, task

MAK = "C7QJ4-NW2KB-TPQ8M-R3VXY-6GH9D"  # synthetic (random product-key characters), not a Microsoft key
FLEET: dict[str, t.Any] = {
    "lab": {"seed": 51, "start": "2026-11-01T09:00:00Z", "dns_port": 0, "network": False},
    "domain": "proxy.example.test",
    "defaults": {"username": "Administrator", "password": "Proxy-Lab-Pw1", "http_port": 0, "https_port": 0},
    "keys": [{"name": "pro-mak", "kind": "mak", "product": "windows-11/Professional", "count": 2, "key": MAK}],
    "hosts": [{"name": "re1", "address": "127.0.79.10", "os": "windows-11", "edition": "Professional"}],
}
KEY = task("MAK", "product_key", {"key": "{{ mak }}", "key_type": "mak", "product": "windows"})


@pytest.fixture(scope="module")
def handle(start_lab: t.Callable[..., LabHandle]) -> LabHandle:
    return start_lab(FLEET)


def phone_calls(handle: LabHandle) -> list[dict[str, t.Any]]:
    return [e for e in handle.lab.world.activation_service.log if e["channel"] == "phone"]


def test_cid_reuse_after_reimage(handle: LabHandle, ansible: Ansible, tmp_path: pathlib.Path) -> None:
    ledger = tmp_path / "ledger.json"
    ev = {"mak": MAK, "volume_activation_ledger": str(ledger)}
    first = ansible.run(play("re1", KEY + task("IID", "activation", {"product": "windows", "method": "offline"})),
                        handle, extra_vars=ev)
    assert first.rc == 0, first.stdout[-3000:]
    (row,) = first.result("IID", "re1")["products"]
    iid, aid = row["installation_id"], row["activation_id"]
    cid = handle.lab.phone(iid)  # the operator phones the Microsoft Activation Center

    second = ansible.run(play("re1", task("CID", "activation", {
        "product": "windows", "method": "offline", "confirmation_ids": {aid: "{{ cid }}"}})), handle,
        extra_vars={**ev, "cid": cid})
    assert second.rc == 0, second.stdout[-3000:]
    (done,) = second.result("CID", "re1")["products"]
    assert (done["outcome"], done["confirmation_id_reused"]) == ("confirmation_deposited", False)
    stored = json.loads(ledger.read_text())["cids"]
    assert stored[iid]["cid"] == cid and stored[iid]["host"] == "re1"

    state = handle.lab.reimage("re1")  # a fresh install on the same hardware
    assert not any(p["partial_product_key"] == MAK[-5:] for p in state["products"])

    third = ansible.run(play("re1", KEY + task("Again", "activation", {"product": "windows", "method": "offline"})),
                        handle, extra_vars=ev, verbosity=3)
    assert third.rc == 0, third.stdout[-3000:]
    (again,) = third.result("Again", "re1")["products"]
    assert (again["outcome"], again["confirmation_id_reused"], again["license_status"]) == (
        "confirmation_deposited", True, "licensed")
    assert "CID reuse" in again["message"]
    assert len(phone_calls(handle)) == 1  # Microsoft was asked once
    assert handle.lab.world.activation_service.remaining("pro-mak") == 1  # and counted once
    assert cid not in first.stdout + second.stdout + third.stdout + third.stderr
