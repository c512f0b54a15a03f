"""playbooks/site.yml end to end on the demo fleet: KMS hosts, clients, fleet summary.

The demo fleet (lab/fleets/demo.yml) is started on its own loopback range and free ports, so
this test runs beside a `make demo`. The run is checked against the lab's own state (the
independent read), the Office 2010 threshold story is checked in the recorded task results,
and a second run must change nothing and cost one module execution per module task per host
(counted in the lab's request log).
"""

from __future__ import annotations

import pathlib
import shutil
import typing as t

import pytest
import yaml

from .conftest import ROOT, Ansible, LabHandle, PlaybookRun

DEMO = ROOT / "lab" / "fleets" / "demo.yml"
SITE = ROOT / "playbooks" / "site.yml"
SETTINGS = ROOT / "tools" / "demo" / "settings.yml"
COLLECTION = "winops.volume_activation."
ROLE_TASK = COLLECTION + "{} : {}"
ASSIGN = {"kms01": ["ws2022-csvlk", "office2021-csvlk", "office2016-csvlk"], "kms-office2010": ["office2010-csvlk"]}
PRODUCTS = {"windows-server-2022": "windows", "office-2021": "office2021", "office-2016": "office2016",
            "office-2010": "office2010"}


def demo_fleet() -> dict[str, t.Any]:
    """The demo fleet moved to 127.0.50.0/24 with free WinRM and DNS ports."""
    text = DEMO.read_text(encoding="utf-8").replace("127.0.10.", "127.0.50.")
    fleet = t.cast(dict[str, t.Any], yaml.safe_load(text))
    fleet["lab"]["dns_port"] = 0
    fleet["defaults"].update(http_port=0, https_port=0)
    return fleet


def inventory_dir(handle: LabHandle, fleet: dict[str, t.Any], where: pathlib.Path) -> pathlib.Path:
    """The lab inventory + the KMS host keys + the demo settings, as one inventory directory."""
    where.mkdir(parents=True, exist_ok=True)
    shutil.copy(handle.inventory, where / "10-lab.yml")
    keys = {k["name"]: k for k in fleet["keys"]}
    hosts = {h: {"kms_server_host_keys": [{"product": PRODUCTS[keys[n]["product"]], "key": keys[n]["key"]}
                                          for n in names]} for h, names in ASSIGN.items()}
    (where / "20-keys.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}), encoding="utf-8")
    shutil.copy(SETTINGS, where / "30-settings.yml")
    return where


def module_executions(run: PlaybookRun, host: str) -> int:
    """Module executions the recorded results account for on ``host`` (loops and retries included)."""
    total = 0
    for r in run.records:
        if r["host"] != host or not r["action"].startswith(COLLECTION) or r["status"] == "skipped":
            continue
        if r["action"] in (COLLECTION + "validate_args", COLLECTION + "fleet_report"):
            continue  # run on the controller, contact no host
        res = r["result"]
        if res.get("round_trips") == 0:
            continue  # ran on the controller only (fleet_report, kms_srv_record over RFC 2136)
        if "results" in res and isinstance(res["results"], list) and r["action"] != COLLECTION + "licensing_batch":
            total += sum(1 for item in res["results"] if not item.get("skipped"))
        else:
            total += int(res.get("attempts", 1))
    return total


@pytest.fixture(scope="module")
def demo(start_lab: t.Callable[..., LabHandle], tmp_path_factory: pytest.TempPathFactory
         ) -> tuple[LabHandle, pathlib.Path]:
    fleet = demo_fleet()
    handle = start_lab(fleet)
    return handle, inventory_dir(handle, fleet, tmp_path_factory.mktemp("inventory"))


def test_site_from_scratch_then_again(demo: tuple[LabHandle, pathlib.Path], ansible: Ansible) -> None:
    handle, inventory = demo
    hosts = [h.name for h in handle.spec.hosts]

    # Check mode first, on the fresh fleet: it completes, reports what it would change, and the
    # lab's model is exactly as before; every module call reached the executor in check mode.
    fresh = {h: handle.lab.host_state(h) for h in hosts}
    marks = {h: handle.log_mark(h) for h in hosts}
    dry = ansible.run(SITE, inventory=inventory, check=True, timeout=1200)
    assert dry.rc == 0, dry.stdout[-6000:] + dry.stderr[-3000:]
    assert any(r["result"].get("changed") for r in dry.records)
    for h in hosts:
        now = handle.lab.host_state(h)
        for part in ("products", "registry", "firewall", "kms_effective"):
            assert now[part] == fresh[h][part], (h, part)
        calls = handle.lab.request_log(h, since=marks[h])
        assert calls and all(c.get("check_mode") is True and "failed" not in c for c in calls if "module" in c), h

    first = ansible.run(SITE, inventory=inventory, timeout=1200)
    assert first.rc == 0, first.stdout[-6000:] + first.stderr[-3000:]

    # Every Windows and Office product with a key on every host is activated, read from the lab's
    # model: the clients', the KMS hosts' host keys, and the Windows of the Office 2010 KMS host,
    # which is a KMS client of kms01 (site.yml runs the client role on the KMS hosts too).
    for host in hosts:
        keyed = [p for p in handle.lab.host_state(host)["products"] if p["partial_product_key"]]
        assert keyed and all(p["license_status"] == 1 for p in keyed), (host, [(p["name"], p["license_status"]) for p in keyed])
    office2010_host = [p for p in handle.lab.host_state("kms-office2010")["products"] if p["partial_product_key"]]
    assert sorted(p["channel"] for p in office2010_host) == ["CSVLK", "GVLK"], office2010_host
    # kms01 kept its Windows KMS host key: the client role's gvlk=auto left it alone.
    kms01_windows = [p for p in handle.lab.host_state("kms01")["products"]
                     if p["partial_product_key"] and p["name"].startswith("Windows")]
    assert [p["channel"] for p in kms01_windows] == ["CSVLK"], kms01_windows

    # The Office 2010 story: four clients waited for the fifth, then all were activated.
    office2010 = [h.name for h in handle.spec.hosts if any(o.version == "2010" for o in h.office)]
    assert len(office2010) == 5
    # host_licensing's activation part is the first attempt; the fleet's wait retries the waiting ones.
    first_pass = {h: r.get("activation") or {} for h, r in first.results(
        ROLE_TASK.format("kms_activation", "Bring the host's volume licensing to the desired state in one pass")).items()}

    def office2010_waits(result: dict[str, t.Any]) -> bool:
        return any(p["family"] == "office2010" and p["outcome"] == "waiting_for_threshold"
                   for p in result.get("products") or [])

    waiting = [h for h in office2010 if office2010_waits(first_pass[h])]
    assert len(waiting) == 4, {h: first_pass[h].get("products") for h in office2010}
    messages = [p["message"] for h in waiting for p in first_pass[h]["products"]
                if p["family"] == "office2010" and p["outcome"] == "waiting_for_threshold"]
    assert all("waiting for threshold" in m for m in messages), messages
    wait_task = ROLE_TASK.format("kms_activation", "Activate again the products waiting for their KMS host's threshold")
    waited = {r["host"]: r["result"]["activation"] for r in first.records
              if r["task"] == wait_task and r["status"] != "skipped"}
    assert set(waiting) <= set(waited)  # the hosts that waited tried again, after every host had asked
    assert all(not office2010_waits(waited[h]) for h in waiting)

    # The summary the report printed says the same.
    summary = first.result(ROLE_TASK.format("activation_report", "Summarise the fleet on the controller"), hosts[0])["ansible_facts"][
        "activation_report_summary"]
    totals = summary["totals"]
    assert totals["windows_activated"] == totals["windows_total"] == len(hosts)
    assert not any(line.startswith("  kms-office2010: Windows") for line in summary["lines"]), summary["lines"]
    assert totals["office_activated"] == totals["office_total"] == 19
    assert [c["hosts"] for c in summary["clones"] if c["source"] == "spp"] == [["img01", "img02"]]
    # DNS, read from the controller: kms01's own record, and the stale one of the decommissioned kms-old
    # (lab/fleets/demo.yml) - the one problem of the fleet.
    srv = {r["target"]: (r["status"], r["priority"]) for r in summary["srv_records"]}
    assert srv == {"kms01.corp.example.test": ("ok", 0), "kms-old.corp.example.test": ("stale", 10)}, srv
    assert [(p["host"], p["status"]) for p in summary["problems"]] == [
        ("kms-old.corp.example.test", "stale_srv_record")], summary["problems"]
    # Activation outcomes are labelled by product family in the printed lines.
    at = summary["lines"].index(next(x for x in summary["lines"] if x.lstrip().startswith("kms-office2010 ")))
    assert summary["lines"][at + 1].strip() == "windows: activated by the KMS host kms01.corp.example.test:1688"
    tokyo = next(r for r in summary["hosts"] if r["host"] == "tokyo01")
    assert tokyo["windows"]["activated"] and tokyo["office"][0]["activated"]

    # Second run: nothing changes, one module execution per module task and host.
    marks = {h: handle.log_mark(h) for h in hosts}
    second = ansible.run(SITE, inventory=inventory, timeout=1200)
    assert second.rc == 0, second.stdout[-6000:]
    changed = [(r["host"], r["task"]) for r in second.records if r["result"].get("changed")]
    assert changed == []
    for host in hosts:
        assert handle.round_trips(host, since=marks[host]) == module_executions(second, host), host
        assert all(r["result"].get("attempts", 1) == 1 for r in second.records if r["host"] == host)
