"""Active Directory-based activation end to end: ansible-playbook -> winrm -> lab.

ad_activation_object runs the triad (check mode, real run, repeat run) online and by phone,
bad input is refused before anything changes, and what happened is verified from the lab's
own model (the forest's activation objects, the activation service's counts, the clients'
license state), never by the module under test. license_info and kms_client are checked
against AD-activated products.
"""

from __future__ import annotations

import json
import typing as t

import pytest

from .conftest import Ansible, LabHandle

# Synthetic keys (random product-key characters), not Microsoft keys.
CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"
OFFICE_CSVLK = "B4GMK-YC6VW-8TQ3R-JXM7D-9QF2P"
MAK = "J8GKC-4RVQX-HYW7T-2BMDP-63XCF"
WIN11_GVLK = "NPPR9-FWDCX-D2C8J-H872K-2YT43"  # public KMS client setup key [WSD-KEYS]
DN_SUFFIX = "CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,DC=adba,DC=example,DC=test"

FLEET: dict[str, t.Any] = {
    "lab": {"seed": 11, "start": "2026-11-01T09:00:00Z", "network": False},
    "domain": "adba.example.test",
    "defaults": {"username": "Administrator", "password": "Adba-Lab-Pw1", "http_port": 0, "https_port": 0},
    "keys": [
        {"name": "ws22-csvlk", "kind": "csvlk", "product": "windows-server-2022", "key": CSVLK},
        {"name": "o16-csvlk", "kind": "csvlk", "product": "office-2016", "key": OFFICE_CSVLK},
        {"name": "w11-mak", "kind": "mak", "product": "windows-11/Enterprise", "count": 3, "key": MAK},
    ],
    "hosts": [
        {"name": "mgmt01", "address": "127.0.41.10", "os": "windows-server-2022", "edition": "ServerStandard"},
        {"name": "ws01", "address": "127.0.41.11", "os": "windows-11", "edition": "Enterprise",
         "office": [{"version": "2016", "products": ["ProPlus"]}]},
        {"name": "w7", "address": "127.0.41.12", "os": "windows-7", "edition": "Enterprise"},
        {"name": "wg01", "address": "127.0.41.13", "os": "windows-11", "edition": "Enterprise",
         "domain_joined": False},
    ],
}


@pytest.fixture(scope="module")
def adba_lab(start_lab: t.Callable[..., LabHandle]) -> LabHandle:
    return start_lab(FLEET)


@pytest.fixture
def lab(adba_lab: LabHandle) -> LabHandle:
    adba_lab.lab.reset()
    return adba_lab


def play(hosts: str, tasks: str) -> str:
    return f"- hosts: {hosts}\n  gather_facts: false\n  tasks:\n{tasks}"


def task(name: str, module: str, args: dict[str, t.Any], *, check: bool = False) -> str:
    return (f"    - name: {name}\n      winops.volume_activation.{module}: {json.dumps(args)}\n"
            + ("      check_mode: true\n" if check else ""))


def objects(handle: LabHandle) -> list[dict[str, t.Any]]:
    world = handle.lab.world
    with world.lock:
        return list(world.forest.snapshot()["objects"])


def csvlk_uses(handle: LabHandle, name: str) -> int:
    world = handle.lab.world
    with world.lock:
        return sum(world.activation_service.usage(name).values())


def test_online_triad(lab: LabHandle, ansible: Ansible) -> None:
    args = {"name": "WS2022", "product_key": CSVLK}
    run = ansible.run(play("mgmt01", task("Check", "ad_activation_object", args, check=True)), lab, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    check = run.result("Check", "mgmt01")
    assert (check["changed"], check["round_trips"], objects(lab)) == (True, 1, [])
    assert check["diff"]["after"]["masked_product_key"] == "XXXXX-XXXXX-XXXXX-XXXXX-H4D3N"
    mark = lab.log_mark("mgmt01")
    run = ansible.run(play("mgmt01", task("Real", "ad_activation_object", args)
                           + task("Repeat", "ad_activation_object", args)), lab, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    real, repeat = run.result("Real", "mgmt01"), run.result("Repeat", "mgmt01")
    assert (real["changed"], real["round_trips"]) == (True, 2)
    assert (repeat["changed"], repeat["round_trips"]) == (False, 1)
    assert lab.round_trips("mgmt01", since=mark) == 3
    [obj] = objects(lab)
    assert (obj["displayName"], obj["distinguishedName"]) == ("WS2022", f"CN=WS2022,{DN_SUFFIX}")
    assert real["object"]["dn"] == obj["distinguishedName"]
    assert real["object"]["csvlk_pid"] == obj["msSPP-CSVLKPid"]
    assert real["object"]["masked_product_key"] == "XXXXX-XXXXX-XXXXX-XXXXX-H4D3N"
    assert real["changes"] == ["create the activation object 'WS2022' with the KMS host key "
                               "'XXXXX-XXXXX-XXXXX-XXXXX-H4D3N' online"]
    assert csvlk_uses(lab, "ws22-csvlk") == 1
    # The key never appears: not in the results, the diff, the output or the lab's request log.
    everything = run.stdout + run.stderr + json.dumps(run.records) + json.dumps(lab.lab.request_log("mgmt01"))
    assert CSVLK not in everything


def test_phone_activation_and_removal(lab: LabHandle, ansible: Ansible) -> None:
    args: dict[str, t.Any] = {"name": "Office2016", "product_key": OFFICE_CSVLK, "method": "phone"}
    run = ansible.run(play("mgmt01", task("IID", "ad_activation_object", args)), lab)
    iid_result = run.result("IID", "mgmt01")
    assert (iid_result["changed"], iid_result["round_trips"], iid_result["awaiting_confirmation_id"]) == (False, 1, True)
    iid = iid_result["installation_id"]
    assert len(iid) == 63 and not objects(lab)
    cid = lab.lab.phone(iid)  # the Microsoft activation line
    run = ansible.run(play("mgmt01", task("Deposit", "ad_activation_object", {**args, "confirmation_id": cid})), lab)
    deposit = run.result("Deposit", "mgmt01")
    assert (deposit["changed"], deposit["round_trips"], deposit["object"]["name"]) == (True, 2, "Office2016")
    assert cid not in run.stdout + json.dumps(run.records)
    assert [o["displayName"] for o in objects(lab)] == ["Office2016"]
    # Remove: check mode, real, repeat.
    gone = {"name": "Office2016", "state": "absent"}
    run = ansible.run(play("mgmt01", task("Check", "ad_activation_object", gone, check=True)
                           + task("Real", "ad_activation_object", gone)
                           + task("Repeat", "ad_activation_object", gone)), lab)
    assert [(run.result(n, "mgmt01")["changed"], run.result(n, "mgmt01")["round_trips"])
            for n in ("Check", "Real", "Repeat")] == [(True, 1), (True, 2), (False, 1)]
    assert objects(lab) == []


REFUSALS: list[tuple[str, dict[str, t.Any], str]] = [
    ("mgmt01", {"name": "AO", "product_key": WIN11_GVLK},
     "Failed to create the activation object 'AO' with the key 'XXXXX-XXXXX-XXXXX-XXXXX-2YT43': it is the public "
     "KMS client setup key (GVLK) of "),
    ("mgmt01", {"name": "AO", "product_key": MAK},
     "Failed to create the activation object 'AO' with the key 'XXXXX-XXXXX-XXXXX-XXXXX-63XCF': Windows refused "
     "the key: 0xC004F050 (SL_E_INVALID_PRODUCT_KEY)"),
    ("wg01", {"name": "AO", "product_key": CSVLK},
     "Failed to create the activation object 'AO': the host is not joined to a domain (workgroup 'WORKGROUP')"),
    ("w7", {"name": "AO", "product_key": CSVLK},
     "Failed to create the activation object 'AO': the host runs Microsoft Windows 7 Enterprise (version 6.1.7601); "
     "Active Directory-based activation needs Windows 8 / Windows Server 2012 or later"),
    ("mgmt01", {"name": "A,O", "product_key": CSVLK}, "Failed to manage the activation object 'A,O': the name "),
]


def test_bad_input_is_refused_before_anything_changes(lab: LabHandle, ansible: Ansible) -> None:
    """Each refusal in one playbook (one task per case, on its host, errors ignored so that every case runs)."""
    tasks = "".join(
        f"    - name: Case {i}\n      winops.volume_activation.ad_activation_object: {json.dumps(args)}\n"
        f"      when: inventory_hostname == '{host}'\n      ignore_errors: true\n"
        for i, (host, args, _message) in enumerate(REFUSALS))
    run = ansible.run(play("mgmt01:wg01:w7", tasks), lab)
    for i, (host, args, message) in enumerate(REFUSALS):
        result = run.result(f"Case {i}", host)
        assert result["_status"] == "failed", (i, result)
        assert result["msg"].startswith(message), (i, result["msg"])
        assert result["changed"] is False and result["round_trips"] <= 1, (i, result)
        assert args["product_key"] not in run.stdout + json.dumps(run.records), i
    assert objects(lab) == [] and csvlk_uses(lab, "ws22-csvlk") == 0 and csvlk_uses(lab, "w11-mak") == 0


def test_clients_activate_from_ad_and_license_info_reports_it(lab: LabHandle, ansible: Ansible) -> None:
    run = ansible.run(play("mgmt01", task("AO", "ad_activation_object", {"name": "WS2022", "product_key": CSVLK})), lab)
    assert run.rc == 0, run.stdout
    lab.lab.advance("3h")  # the clients' first activation attempt (2 h after install)
    summary_task = ("    - name: Summary\n      ansible.builtin.debug:\n        msg: \"{{ hostvars | "
                    "winops.volume_activation.fleet_summary(hosts=ansible_play_hosts, key='info') }}\"\n"
                    "      run_once: true\n")
    run = ansible.run(play("ws01:w7:wg01", task("Info", "license_info", {"application": "windows"})
                           + "      register: info\n" + summary_task), lab)
    info = run.results("Info")
    # fleet_summary: ws01 activates through AD, the others still need a KMS host.
    fleet = run.result("Summary", "ws01")["msg"]
    assert fleet["activation_paths"] == {
        "active_directory": [{"host": "ws01", "products": ["Windows(R), Enterprise edition"]}],
        "kms": [{"host": "w7", "products": ["Windows(R) 7, Enterprise edition"]},
                {"host": "wg01", "products": ["Windows(R), Enterprise edition"]}]}
    assert fleet["hosts"][0]["windows"]["activated_by"] == "Active Directory (WS2022)"
    assert "  through Active Directory: ws01 (1)" in fleet["lines"]
    assert "  still need a KMS host: w7 (1), wg01 (1)" in fleet["lines"]
    ws01 = info["ws01"]["products"][0]
    assert ws01["activated"] is True
    assert ws01["ad_activation"] == {
        "object_name": "WS2022", "object_dn": f"CN=WS2022,{DN_SUFFIX}",
        "csvlk_pid": objects(lab)[0]["msSPP-CSVLKPid"], "csvlk_sku_id": objects(lab)[0]["msSPP-CSVLKSkuId"]}
    assert ws01["activated_by"] == "ad"
    assert info["ws01"]["summary"]["activated_by_ad"] == 1
    # Windows 7 and the workgroup machine fall back to KMS: no KMS host here, not activated.
    for name in ("w7", "wg01"):
        product = info[name]["products"][0]
        assert (product["activated"], product["ad_activation"]) == (False, None), name
    # activation (force) names the activation object, not a KMS host.
    run = ansible.run(play("ws01", task("Activate", "activation", {"product": "windows", "force": True})), lab)
    row = run.result("Activate", "ws01")["products"][0]
    assert (row["outcome"], row["kms_host"]) == ("activated", None)
    assert row["message"] == f"activated from the Active Directory activation object 'WS2022' (CN=WS2022,{DN_SUFFIX})"
    # kms_client activation_type=kms makes ws01 ignore the object: KMS only, and DNS has no
    # _vlmcs._tcp record here.
    run = ansible.run(play("ws01", task("Type", "kms_client", {"activation_type": "kms"})
                           + task("Activate", "activation", {"product": "windows", "force": True})), lab)
    assert run.result("Type", "ws01")["changed"] is True
    activate = run.result("Activate", "ws01")
    assert activate["_status"] == "failed"
    assert "0x8007232B" in activate["msg"], activate["msg"]
    # activation_type=ad: the object again, and without one the AD-only client says why.
    run = ansible.run(play("ws01", task("Type", "kms_client", {"activation_type": "ad"})
                           + task("Activate", "activation", {"product": "windows", "force": True})), lab)
    assert run.result("Activate", "ws01")["products"][0]["outcome"] == "activated"
    run = ansible.run(play("mgmt01", task("Remove", "ad_activation_object", {"name": "WS2022", "state": "absent"})), lab)
    assert run.result("Remove", "mgmt01")["changed"] is True
    run = ansible.run(play("ws01", task("Activate", "activation", {"product": "windows", "force": True})), lab)
    activate = run.result("Activate", "ws01")
    assert activate["_status"] == "failed"
    assert "0xC004F081 (SL_E_VL_AD_AO_NOT_FOUND)" in activate["msg"], activate["msg"]


ROLE = "winops.volume_activation.adba : "
ROLE_PLAY = """
- hosts: mgmt01:ws01
  gather_facts: false
  roles:
    - role: winops.volume_activation.adba
"""


def test_role_validates_everything_before_any_change(lab: LabHandle, ansible: Ansible) -> None:
    """One bad object (a GVLK) stops the role on every host before anything changed; the strings
    -e passes are accepted as booleans."""
    objs = [{"name": "WS2022", "product_key": CSVLK}, {"name": "Bad", "product_key": MAK}]
    run = ansible.run(ROLE_PLAY, lab, extra_vars={"adba_management_host": "mgmt01", "adba_activation_objects": objs,
                                                  "adba_activate": "no", "adba_require_ad": "false"})
    assert run.rc != 0
    failed = [r for r in run.records if r["status"] == "failed"]
    assert [r["task"] for r in failed] == [
        ROLE + "Ask the management host what would change (key type, domain membership, Windows version)"]
    assert "0xC004F050 (SL_E_INVALID_PRODUCT_KEY)" in json.dumps(failed[0]["result"])
    assert objects(lab) == [] and not any(r["task"] == ROLE + "Create or remove the activation objects"
                                          for r in run.records)
    assert CSVLK not in run.stdout + json.dumps(run.records) and MAK not in run.stdout + json.dumps(run.records)
    run = ansible.run(ROLE_PLAY, lab, extra_vars={"adba_management_host": "mgmt01", "adba_activation_objects": [],
                                                  "adba_activate": "maybe"})
    assert run.rc != 0
    # The role's argument spec refuses it first (on every host, before any task).
    failed = [r for r in run.records if r["status"] == "failed"]
    assert {r["action"] for r in failed} == {"ansible.builtin.validate_argument_spec"}
    assert "adba_activate" in json.dumps(failed) and objects(lab) == []


def test_role_creates_objects_and_clients_activate_through_ad(lab: LabHandle, ansible: Ansible) -> None:
    extra = {"adba_management_host": "mgmt01", "adba_activation_type": "all", "adba_require_ad": "true",
             "adba_activation_objects": [{"name": "WS2022", "product_key": CSVLK},
                                         {"name": "Office2016", "product_key": OFFICE_CSVLK}]}
    run = ansible.run(ROLE_PLAY, lab, extra_vars=extra)
    assert run.rc == 0, run.stdout[-3000:]
    assert sorted(o["displayName"] for o in objects(lab)) == ["Office2016", "WS2022"]
    facts = {h: run.result(ROLE + "Record which products activated through Active Directory and which still need a "
                           "KMS host", h)["ansible_facts"]["adba_activation"] for h in ("mgmt01", "ws01")}
    assert (int(facts["ws01"]["activated_by_ad"]), int(facts["ws01"]["needs_kms_host"])) == (2, 0)
    assert [p["activation_object"] for p in facts["ws01"]["products"]] == ["WS2022", "Office2016"]
    assert facts["mgmt01"]["windows_activated_by"] == "ad"
    # Independent check: the lab's own view of ws01's products.
    states = {p["name"]: (p["license_status"], p["key_kind"]) for p in lab.lab.host_state("ws01")["products"]
              if p["partial_product_key"]}
    assert all(status == 1 for status, _kind in states.values()), states
    # Second run: nothing to do, one round trip per module call: on ws01 license_info, kms_client,
    # activation, license_info; on mgmt01 also two objects checked (check mode) and two found in place.
    marks = {h: lab.log_mark(h) for h in ("mgmt01", "ws01")}
    run = ansible.run(ROLE_PLAY, lab, extra_vars=extra)
    assert run.rc == 0
    assert {h: lab.round_trips(h, since=m) for h, m in marks.items()} == {"mgmt01": 8, "ws01": 4}
    changed = [r["task"] for r in run.records if r["result"].get("changed")
               and not r["task"].startswith((ROLE + "Record", ROLE + "Start", ROLE + "Note"))]
    assert changed == []
    assert CSVLK not in run.stdout + json.dumps(run.records)
