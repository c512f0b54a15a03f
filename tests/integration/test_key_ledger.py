"""The key ledger end to end: ansible-playbook (forks 20) -> winrm -> lab, and a kill mid-run.

The budget is recorded with key_budget; product_key and activation reserve under the ledger's
lock. Verified against the lab's simulated activation service (which hosts it activated, per
key) and the hosts' models, never by the modules' own results alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import signal
import subprocess
import time
import typing as t

import pytest

from .conftest import BIN, Ansible, LabHandle

HOSTS = 12
# Synthetic MAK (random product-key characters, not a Microsoft key). The activation service
# would take 10 activations; the operator's budget (what VLSC shows for this agreement) is 4.
MAK = "XV8QN-RB2TW-9JKCQ-7T4MP-Y6D3H"
FLEET: dict[str, t.Any] = {
    "lab": {"seed": 21, "start": "2026-11-01T09:00:00Z", "dns_port": 0, "network": False},
    "domain": "ledger.example.test",
    "defaults": {"username": "Administrator", "password": "Ledger-Lab-Pw1", "http_port": 0, "https_port": 0},
    "keys": [{"name": "ent-mak", "kind": "mak", "product": "windows-11/Enterprise", "count": 10, "key": MAK}],
    "hosts": [{"name": "pc{n}", "count": HOSTS, "address": "127.0.75.10", "os": "windows-11",
               "edition": "Enterprise"}],
}

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Budget
      winops.volume_activation.key_budget: {key: "{{ mak }}", key_type: mak, remaining: "{{ budget }}"}
      run_once: true
    - name: MAK
      winops.volume_activation.product_key: {key: "{{ mak }}", key_type: mak, product: windows}
    - name: Activate
      winops.volume_activation.activation: {product: windows}
"""


@pytest.fixture(scope="module")
def fleet(start_lab: t.Callable[..., LabHandle]) -> LabHandle:
    return start_lab(FLEET)


@pytest.fixture
def handle(fleet: LabHandle) -> LabHandle:
    fleet.lab.reset()
    return fleet


def service_hosts(handle: LabHandle) -> set[str]:
    """The machines the lab's activation service activated with the MAK."""
    return {m.split("|", 1)[0] for m in handle.lab.world.activation_service.usage("ent-mak")}


def holding(handle: LabHandle) -> set[str]:
    """Hosts whose model holds the MAK."""
    out = set()
    for i in range(1, HOSTS + 1):
        prods = handle.lab.host_state(f"pc{i}")["products"]
        if any(p["partial_product_key"] == MAK[-5:] for p in prods):
            out.add(f"pc{i}")
    return out


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc). ansible-core's workers call setsid(), so a kill of
    the playbook's process group alone leaves them running to the end of their task."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = pathlib.Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def kill_tree(pid: int) -> None:
    """SIGKILL ansible-playbook and all its forks at once (as a crash or an OOM kill would)."""
    for p in [pid, *descendants(pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


def ledger_view(path: pathlib.Path) -> tuple[set[str], list[str], dict[str, t.Any]]:
    doc = json.loads(path.read_text())
    hosts = [a["host"] for a in doc["activations"]]
    held = {h for hs in doc["holds"].values() for h in hs}
    return held, hosts, doc


def race(handle: LabHandle, ansible: Ansible, monkeypatch: pytest.MonkeyPatch, playbook: str,
         task: str) -> tuple[pathlib.Path, pathlib.Path, dict[str, t.Any], t.Any, dict[str, t.Any], set[str], set[str]]:
    """Run ``playbook`` on the 12 hosts at forks 20 with a budget of 4, the ledger beside the
    inventory: (ledger, playbook path, log marks, run, results of ``task``, hosts that got
    through, hosts refused). Asserts the key never shows and exactly 4 hosts got through."""
    ledger = handle.inventory.parent / "volume_activation_ledger.json"
    ledger.unlink(missing_ok=True)
    pb = ansible.tmp / "budget.yml"
    pb.write_text(playbook)
    marks = {f"pc{i}": handle.log_mark(f"pc{i}") for i in range(1, HOSTS + 1)}
    monkeypatch.setenv("ANSIBLE_FORKS", "20")
    run = ansible.run(pb, handle, extra_vars={"mak": MAK, "budget": 4})
    assert MAK not in run.stdout + run.stderr
    results = run.results(task)
    won = {h for h, r in results.items() if r["_status"] != "failed"}
    lost = {h for h, r in results.items() if r["_status"] == "failed"}
    assert len(won) == 4 and len(lost) == HOSTS - 4, run.stdout[-3000:]
    return ledger, pb, marks, run, results, won, lost


def test_budget_of_four_under_forks_20(handle: LabHandle, ansible: Ansible, monkeypatch: pytest.MonkeyPatch) -> None:
    """12 hosts race for 4 activations: exactly 4 get the key and are activated; the 8 others are
    refused before the key is installed (1 round trip, their own key left in place); the ledger
    beside the inventory records the 4; a second run changes nothing and attempts nothing."""
    ledger, pb, marks, run, keyed, won, lost = race(handle, ansible, monkeypatch, PLAYBOOK, "MAK")
    assert service_hosts(handle) == won == holding(handle)
    for h in lost:
        msg = keyed[h]["msg"]
        assert msg.startswith("Failed to install the MAK 'XXXXX-XXXXX-XXXXX-XXXXX-Y6D3H' for Windows through "
                              "SoftwareLicensingService: the key ledger shows no activation left for the MAK "
                              "'XXXXX-XXXXX-XXXXX-XXXXX-Y6D3H' (4 left on "), msg
        assert "nothing was sent to the host" in msg
        assert handle.round_trips(h, since=marks[h]) == 1
    acts = run.results("Activate")
    assert {h for h, r in acts.items() if r["products"][0]["outcome"] == "activated"} == won
    held, recorded, doc = ledger_view(ledger)
    assert sorted(recorded) == sorted(won) and held == set()
    assert MAK not in ledger.read_text()
    assert all(a["cmid"] for a in doc["activations"])

    again = ansible.run(pb, handle, extra_vars={"mak": MAK, "budget": 4}, limit=",".join(sorted(won)))
    assert again.rc == 0, again.stdout[-3000:]
    assert all(r["changed"] is False for r in again.results("MAK").values())
    assert all(r["changed"] is False for r in again.results("Activate").values())
    assert sorted(ledger_view(ledger)[1]) == sorted(won)
    ledger.unlink()


@pytest.mark.parametrize("kill_at", ["reserved", "activated"])
def test_kill_mid_run_loses_nothing_counts_nothing_twice(
        handle: LabHandle, ansible: Ansible, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch,
        kill_at: str) -> None:
    """SIGKILL to ansible-playbook and every fork while its 20 forks install and activate;
    then the same playbook again. Afterwards the ledger's records are exactly the activation
    service's activations, no reservation is left, and the service never went over the budget.

    ``reserved``: killed at the first reservation (keys being installed). ``activated``: every
    WinRM reply delayed 0.4 s (lab fault ``slow``) and killed as soon as the activation service
    has activated a host, i.e. while the Activate() replies are still on their way, so the
    ledger holds reservations for activations it has not recorded yet: the next run finds them
    activated on the hosts and records each once (method ``recovered``)."""
    if kill_at == "activated":
        for i in range(1, HOSTS + 1):
            handle.lab.fault(f"pc{i}", "slow", delay=0.4)
    ledger = tmp_path / "ledger" / "keys.json"
    pb = tmp_path / "kill.yml"
    pb.write_text(PLAYBOOK)
    extra = json.dumps({"mak": MAK, "budget": 6, "volume_activation_ledger": str(ledger)})
    record = tmp_path / "kill-record.jsonl"
    proc = subprocess.Popen([str(BIN / "ansible-playbook"), str(pb), "-i", str(handle.inventory), "-f", "20",
                             "-e", extra], env=ansible.env(record), cwd=str(tmp_path), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Kill as soon as the ledger shows the run in the middle of its work: a reservation taken.
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if kill_at == "reserved" and ledger.exists() and ledger_view(ledger)[0]:
            break
        if kill_at == "activated" and service_hosts(handle):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the playbook ended before it could be killed"
    kill_tree(proc.pid)
    proc.wait(30)
    time.sleep(1)  # let the lab finish what the killed forks had sent
    held, recorded, _doc = ledger_view(ledger)
    recorded_at_kill = list(recorded)
    assert len(held | set(recorded)) <= 6
    mid = service_hosts(handle)
    assert mid <= held | set(recorded)  # nothing activated without a reservation or a record
    if kill_at == "activated":
        assert mid - set(recorded), (mid, recorded)  # activated, not recorded: the case to recover
        handle.lab.clear()

    monkeypatch.setenv("ANSIBLE_FORKS", "20")
    run = ansible.run(pb, handle, extra_vars={"mak": MAK, "budget": 6, "volume_activation_ledger": str(ledger)})
    held, recorded, doc = ledger_view(ledger)
    assert held == set(), doc["holds"]
    assert sorted(recorded) == sorted(service_hosts(handle))  # each activation recorded, once
    assert len(recorded) == 6 == len(holding(handle))
    methods = {a["host"]: a["method"] for a in doc["activations"]}
    assert set(methods.values()) <= {"online", "recovered"}
    if kill_at == "activated":
        assert {h for h, m in methods.items() if m == "recovered"} == mid - set(recorded_at_kill)
    assert sorted(p.name for p in ledger.parent.iterdir()) == ["keys.json", "keys.json.lock"]
    assert MAK not in run.stdout + run.stderr


def test_key_budget_triad_and_refusals(handle: LabHandle, ansible: Ansible, tmp_path: pathlib.Path) -> None:
    """key_budget: check mode writes nothing, the real run writes, the repeat changes nothing; a
    negative budget and an unknown key are refused by name; no round trip to the host."""
    ledger = tmp_path / "budget.json"
    args = {"key": "{{ mak }}", "key_type": "mak", "remaining": 3, "ledger": str(ledger)}
    tasks = "".join(
        f"    - name: {name}\n      winops.volume_activation.key_budget: {json.dumps(a)}\n"
        + ("      check_mode: true\n" if name == "Check" else "")
        + ("      ignore_errors: true\n" if name in ("Negative", "Unknown") else "")
        for name, a in [("Check", args), ("Real", args), ("Repeat", args),
                        ("Negative", {**args, "remaining": -1}),
                        ("Unknown", {"key": "Q3VJ9-9DDQ6-B4CQK-J7P6F-PXJHH", "state": "query",
                                     "ledger": str(ledger)})])
    mark = handle.log_mark("pc1")
    run = ansible.run(f"- hosts: pc1\n  gather_facts: false\n  tasks:\n{tasks}", handle, diff=True,
                      extra_vars={"mak": MAK})
    check, real, repeat = (run.result(n, "pc1") for n in ("Check", "Real", "Repeat"))
    # real changed=true proves check mode wrote nothing (it would find the entry otherwise)
    assert (check["changed"], real["changed"], repeat["changed"]) == (True, True, False)
    assert check["diff"]["before"] == {}
    assert check["diff"]["after"] | {"as_of": None} == {"remaining": 3, "kind": "mak", "as_of": None, "note": None,
                                                        "edition": None}
    assert real["budget"] | {"as_of": None} == {"remaining": 3, "as_of": None, "used": 0, "reserved": 0,
                                                "available": 3, "reserved_by": []}
    assert real["product_key"] == "XXXXX-XXXXX-XXXXX-XXXXX-Y6D3H" and real["key_id"].startswith("Y6D3H:")
    assert run.result("Negative", "pc1")["msg"] == ("Failed to record the budget of 'XXXXX-XXXXX-XXXXX-XXXXX-Y6D3H': "
                                                    "remaining must be 0 or more, got -1")
    assert run.result("Unknown", "pc1")["msg"] == (
        f"Failed to read the budget of 'XXXXX-XXXXX-XXXXX-XXXXX-PXJHH': the key ledger '{ledger}' does not hold "
        "this key")
    assert MAK not in run.stdout + run.stderr + ledger.read_text()
    assert handle.round_trips("pc1", since=mark) == 0


def test_a_mak_for_another_edition_is_refused_before_anything_is_sent(
        handle: LabHandle, ansible: Ansible, tmp_path: pathlib.Path) -> None:
    """The ledger records the MAK as one for Professional; pc1 runs Enterprise: product_key refuses
    after its one read, and the host keeps its key."""
    ledger = tmp_path / "edition.json"
    mark = handle.log_mark("pc1")
    run = ansible.run(
        "- hosts: pc1\n  gather_facts: false\n  tasks:\n"
        "    - name: Budget\n      winops.volume_activation.key_budget: "
        + json.dumps({"key": "{{ mak }}", "key_type": "mak", "remaining": 5, "edition": "Professional"}) + "\n"
        "    - name: MAK\n      winops.volume_activation.product_key: "
        + json.dumps({"key": "{{ mak }}", "key_type": "mak", "product": "windows"}) + "\n      ignore_errors: true\n",
        handle, extra_vars={"mak": MAK, "volume_activation_ledger": str(ledger)})
    res = run.result("MAK", "pc1")
    assert res["_status"] == "failed" and res["msg"] == (
        "Failed to install the MAK 'XXXXX-XXXXX-XXXXX-XXXXX-Y6D3H' for Windows through SoftwareLicensingService: the key "
        "ledger records this key as one for the Professional edition, and this host runs the Enterprise edition; "
        "nothing was sent. Next step: use the key for Enterprise, or correct the edition with "
        "winops.volume_activation.key_budget")
    assert handle.round_trips("pc1", since=mark) == 1 and "pc1" not in holding(handle)
    assert MAK not in run.stdout + run.stderr


ONE_PASS = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Budget
      winops.volume_activation.key_budget: {key: "{{ mak }}", key_type: mak, remaining: "{{ budget }}"}
      run_once: true
    - name: One pass
      winops.volume_activation.host_licensing:
        product_keys: [{key: "{{ mak }}", key_type: mak, product: windows}]
        activation: {product: windows}
"""


def test_host_licensing_keeps_the_budget_under_forks_20(
        handle: LabHandle, ansible: Ansible, monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-pass module (what the roles call) goes through the same ledger as product_key and
    activation: of 12 hosts racing for 4 activations at forks 20, exactly 4 get the MAK and are
    activated by the activation service; the others are refused from their one read, with
    nothing sent; the ledger records exactly the 4."""
    ledger, _pb, marks, _run, res, won, lost = race(handle, ansible, monkeypatch, ONE_PASS, "One pass")
    assert service_hosts(handle) == won == holding(handle)
    for h in lost:
        assert "the key ledger shows no activation left for the MAK 'XXXXX-XXXXX-XXXXX-XXXXX-Y6D3H'" in res[h]["msg"]
        assert handle.round_trips(h, since=marks[h]) == 1
    assert {h for h, r in res.items() if r["_status"] != "failed"
            and r["activation"]["products"][0]["outcome"] == "activated"} == won
    held, recorded, _doc = ledger_view(ledger)
    assert sorted(recorded) == sorted(won) and held == set()
    ledger.unlink()
