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
FLEET_MAK = "H2KQ9-TM4XW-R7CJB-8PVYD-3NWQF"  # synthetic too
FLEET: dict[str, t.Any] = {
    "lab": {"seed": 51, "start": "2026-11-01T09:00:00Z", "dns_port": 0, "network": False},
    "domain": "proxy.example.test",
    "defaults": {"username": "Administrator", "password": "Proxy-Lab-Pw1", "http_port": 0, "https_port": 0},
    "keys": [{"name": "pro-mak", "kind": "mak", "product": "windows-11/Professional", "count": 2, "key": MAK},
             {"name": "fleet-mak", "kind": "mak", "product": "windows-11/Professional", "count": 10,
              "key": FLEET_MAK}],
    "hosts": [{"name": "re1", "address": "127.0.79.10", "os": "windows-11", "edition": "Professional"},
              {"name": "px{n}", "count": 3, "address": "127.0.79.20", "os": "windows-11",
               "edition": "Professional"}],
}
KEY = task("MAK", "product_key", {"key": "{{ mak }}", "key_type": "mak", "product": "windows"})


@pytest.fixture(scope="module")
def fleet(start_lab: t.Callable[..., LabHandle]) -> LabHandle:
    return start_lab(FLEET)


@pytest.fixture
def handle(fleet: LabHandle) -> LabHandle:
    fleet.lab.reset()
    return fleet


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


PROXY = """\
- hosts: px1,px2,px3
  gather_facts: false
  tasks:
    - name: MAK
      winops.volume_activation.product_key: {key: "{{ mak }}", key_type: mak, product: windows}
    - name: Proxy
      ansible.builtin.include_role:
        name: proxy_activation
      vars:
        proxy_activation_product: windows
"""


def test_proxy_activation_of_a_fleet_through_one_file(
        handle: LabHandle, ansible: Ansible, tmp_path: pathlib.Path) -> None:
    """Run 1 writes one file of installation IDs (JSON and CSV, mode 0600) and changes no license;
    the whole file is phoned in (winlab phone --file); run 2 deposits every confirmation ID and
    empties the file; the ledger's CID store holds the three pairs; run 3 changes nothing."""
    from winlab.cli import fill_confirmation_ids

    pb = tmp_path / "proxy.yml"
    pb.write_text(PROXY)
    ev = {"mak": FLEET_MAK, "volume_activation_ledger": str(tmp_path / "ledger.json"),
          "proxy_activation_dir": str(tmp_path / "proxy")}
    first = ansible.run(pb, handle, extra_vars=ev)
    assert first.rc == 0, first.stdout[-3000:]
    rows = json.loads((tmp_path / "proxy" / "installation_ids.json").read_text())
    assert sorted(r["host"] for r in rows) == ["px1", "px2", "px3"]
    assert all(r["installation_id"].isdigit() and r["confirmation_id"] == "" for r in rows)
    assert {r["partial_product_key"] for r in rows} == {"XXXXX-XXXXX-XXXXX-XXXXX-3NWQF"}
    csv_lines = (tmp_path / "proxy" / "installation_ids.csv").read_text().splitlines()
    assert csv_lines[0] == "host,product,activation_id,partial_product_key,installation_id,confirmation_id"
    assert len(csv_lines) == 4 and all(line.endswith(",") for line in csv_lines[1:])
    assert oct((tmp_path / "proxy" / "installation_ids.json").stat().st_mode & 0o777) == "0o600"
    assert not any(p["activated"] for h in ("px1", "px2", "px3") for p in handle.lab.host_state(h)["products"])

    assert fill_confirmation_ids(handle.lab, tmp_path / "proxy" / "installation_ids.json") == 3
    rows = json.loads((tmp_path / "proxy" / "installation_ids.json").read_text())
    assert all(len(r["confirmation_id"]) == 48 for r in rows)
    second = ansible.run(pb, handle, extra_vars=ev)
    assert second.rc == 0, second.stdout[-3000:]
    deposited = second.results("proxy_activation : Activate by phone (installation IDs out, confirmation IDs in)")
    assert {h: [p["outcome"] for p in r["products"]] for h, r in deposited.items()} == {
        h: ["confirmation_deposited"] for h in ("px1", "px2", "px3")}
    assert json.loads((tmp_path / "proxy" / "installation_ids.json").read_text()) == []
    for h in ("px1", "px2", "px3"):
        assert [p["activated"] for p in handle.lab.host_state(h)["products"] if p["partial_product_key"]] == [True]
    assert sorted(c["host"] for c in json.loads((tmp_path / "ledger.json").read_text())["cids"].values()) == [
        "px1", "px2", "px3"]
    cids = [r["confirmation_id"] for r in rows]
    assert not any(c in second.stdout + second.stderr for c in cids if c)

    third = ansible.run(pb, handle, extra_vars=ev)
    assert third.rc == 0 and not any(r["result"].get("changed") for r in third.records)

    # px1's confirmation ID given for px2: the CID store knows it belongs to another installation ID
    px1 = next(r for r in rows if r["host"] == "px1")
    px2 = next(r for r in rows if r["host"] == "px2")
    mark = handle.log_mark("px2")
    wrong = ansible.run(play("px2", task("Wrong", "activation", {
        "method": "offline", "force": True, "confirmation_ids": {px2["activation_id"]: "{{ cid }}"}})
        + "      ignore_errors: true\n"), handle, extra_vars={**ev, "cid": px1["confirmation_id"]})
    res = wrong.result("Wrong", "px2")
    assert res["_status"] == "failed" and res["msg"].startswith(
        f"Failed to activate the product '{px2['activation_id']}' by phone: its confirmation ID was issued for "
        "another installation ID (deposited on px1 on ")
    assert px1["confirmation_id"] not in wrong.stdout + wrong.stderr
    assert {op["op"] for e in handle.lab.request_log("px2", since=mark) if "module" in e for op in e["ops"]} <= {
        "cim_query"}
