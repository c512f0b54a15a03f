"""The kms_server role end to end on a one-host fleet: online and offline (phone) activation.

Checked against the lab's own state (products, KMS listener, firewall rule, DNS zone), and a
second run must change nothing at one module execution per module task.
"""

from __future__ import annotations

import subprocess
import typing as t

import pytest

from .conftest import ROOT, Ansible, LabHandle
from .test_site import module_executions

KMS_HOST = ROOT / "playbooks" / "kms_host.yml"
REPORT = ROOT / "playbooks" / "report.yml"


def task(role: str, name: str) -> str:
    """The task name the callback records for a task of a collection role."""
    return f"winops.volume_activation.{role} : {name}"


# Synthetic keys (random product-key characters), as in the lab's fleet files.
WS2022_CSVLK = "TGB3R-RPMHX-WBWHG-296WF-BGXGH"
OFFICE2021_CSVLK = "PFH7K-7264K-VCMPB-PHXP6-Q3RRP"
OFFICE2010_CSVLK = "8NHQ3-YWMVD-8WMH3-H4WMD-F8RT6"
HOST_KEYS = [{"product": "windows", "key": WS2022_CSVLK}, {"product": "office2021", "key": OFFICE2021_CSVLK}]
# The Windows Server 2022 KMS host key of lab/fleets/small.yml (synthetic).
SMALL_CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"


def fleet(octet: int, os: str = "windows-server-2022") -> dict[str, t.Any]:
    return {
        "lab": {"seed": octet, "start": "2026-11-01T09:00:00Z", "dns_port": 0},
        "domain": "roles.example.test",
        "defaults": {"username": "Administrator", "password": "Roles-Lab-Pw1", "http_port": 0, "https_port": 0},
        "keys": [
            {"name": "ws2022", "kind": "csvlk", "product": "windows-server-2022", "key": WS2022_CSVLK},
            {"name": "o2021", "kind": "csvlk", "product": "office-2021", "key": OFFICE2021_CSVLK},
            {"name": "o2010", "kind": "csvlk", "product": "office-2010", "key": OFFICE2010_CSVLK},
        ],
        "hosts": [{"name": "kms01", "address": f"127.0.{octet}.10", "os": os, "edition": "ServerStandard",
                   "roles": ["kms_host"]}],
    }


def host_products(handle: LabHandle) -> dict[str, dict[str, t.Any]]:
    return {p["name"]: p for p in handle.lab.host_state("kms01")["products"] if p["partial_product_key"]}


def test_online_kms_host_then_idempotent(start_lab: t.Callable[..., LabHandle], ansible: Ansible) -> None:
    handle = start_lab(fleet(61))
    run = ansible.run(KMS_HOST, handle, extra_vars={"kms_server_host_keys": HOST_KEYS})
    assert run.rc == 0, run.stdout[-5000:]
    assert WS2022_CSVLK not in run.stdout and OFFICE2021_CSVLK not in run.stdout

    products = host_products(handle)
    kms = [p for p in products.values() if p["channel"] == "CSVLK"]
    assert len(kms) == 2 and all(p["activated"] for p in kms), products
    assert "kms01" in handle.lab.kms_listeners()
    rule = next(r for r in handle.lab.host_state("kms01")["firewall"] if "1688" in r["local_ports"])
    assert rule["enabled"] and rule["remote_addresses"] == ["LocalSubnet"]
    assert sorted(rule["profiles"]) == ["Domain", "Private"]

    mark = handle.log_mark("kms01")
    again = ansible.run(KMS_HOST, handle, extra_vars={"kms_server_host_keys": HOST_KEYS})
    assert again.rc == 0, again.stdout[-5000:]
    assert [r["task"] for r in again.records if r["result"].get("changed")] == []
    assert handle.round_trips("kms01", since=mark) == module_executions(again, "kms01")


def test_offline_activation_prints_the_installation_id_and_stops(
        start_lab: t.Callable[..., LabHandle], ansible: Ansible) -> None:
    handle = start_lab(fleet(62))
    keys = [{"product": "windows", "key": WS2022_CSVLK}]
    run = ansible.run(KMS_HOST, handle, extra_vars={"kms_server_host_keys": keys,
                                                    "kms_server_activation_method": "offline"})
    assert run.rc == 0, run.stdout[-5000:]
    shown = run.result(task("kms_server", "Print the installation IDs to read to the Microsoft Activation Center"), "kms01")
    iids = shown["msg"]
    assert iids, shown
    assert not any(p["activated"] for p in host_products(handle).values() if p["channel"] == "CSVLK")
    # The role stopped at activation: the host settings ran before it (they precede activation so
    # that an activated host publishes with the right settings), the verification did not.
    applied = run.result(task("kms_server", "Bring the KMS host to the desired state in one pass"), "kms01")
    assert applied["kms_firewall"]["rule"]["enabled"] is True and "activation" not in applied
    assert not [r for r in run.records if r["task"] == task("kms_server", "Check that every KMS host product is activated")]

    iid = next(iter(iids.values())) if isinstance(iids, dict) else iids[0]
    cid = handle.lab.phone(str(iid))
    done = ansible.run(KMS_HOST, handle, extra_vars={"kms_server_host_keys": keys,
                                                     "kms_server_activation_method": "offline",
                                                     "kms_server_confirmation_ids": {"windows": cid}})
    assert done.rc == 0, done.stdout[-5000:]
    assert all(p["activated"] for p in host_products(handle).values() if p["channel"] == "CSVLK")


def test_preflight_refuses_office_2010_on_server_2022(
    start_lab: t.Callable[..., LabHandle], ansible: Ansible
) -> None:
    handle = start_lab(fleet(63))
    mark = handle.log_mark("kms01")
    run = ansible.run(KMS_HOST, handle, extra_vars={
        "kms_server_host_keys": [{"product": "office2010", "key": OFFICE2010_CSVLK}]})
    assert run.rc != 0
    # host_licensing refuses the key from its one read, before anything is installed (the check the
    # role's own preflight read made before host_licensing).
    failed = run.result(task("kms_server", "Bring the KMS host to the desired state in one pass"), "kms01")
    assert ("the Office 2010 KMS host license pack supports Windows Server 2003 (Standard, Enterprise, Datacenter), "
            "Windows 7 volume editions and Windows Server 2008 R2 only") in failed["msg"]
    assert OFFICE2010_CSVLK not in run.stdout
    # Only the one read reached the host: nothing was installed.
    assert handle.round_trips("kms01", since=mark) == 1


@pytest.mark.parametrize("os", ["windows-server-2008-r2"])
def test_preflight_accepts_office_2010_on_2008_r2(
    start_lab: t.Callable[..., LabHandle], ansible: Ansible, os: str
) -> None:
    handle = start_lab(fleet(64, os))
    run = ansible.run(KMS_HOST, handle, extra_vars={
        "kms_server_host_keys": [{"product": "office2010", "key": OFFICE2010_CSVLK}],
        "kms_server_dns_publishing": False})
    assert run.rc == 0, run.stdout[-5000:]
    assert any(p["activated"] for p in host_products(handle).values() if p["channel"] == "CSVLK")


def test_report_summarises_the_fleet_in_one_read_per_host(lab: LabHandle, ansible: Ansible) -> None:
    hosts = ["kms01", "ws01", "ws02"]
    marks = {h: lab.log_mark(h) for h in hosts}
    # Without the probes (kms_probe adds a round trip on each host that is not activated).
    run = ansible.run(REPORT, lab, extra_vars={"activation_report_probe": False})
    assert run.rc == 0, run.stdout[-5000:]
    for h in hosts:
        assert lab.round_trips(h, since=marks[h]) == 1
    facts = run.result(task("activation_report", "Summarise the fleet on the controller"), "kms01")
    summary = facts["ansible_facts"]["activation_report_summary"]
    assert [r["host"] for r in summary["hosts"]] == hosts
    # The independent read: what the lab's model says about each host.
    for row in summary["hosts"]:
        state = lab.lab.host_state(row["host"])
        assert row["cmid"] == state["cmid"]
        keyed = [p for p in state["products"] if p["partial_product_key"]]
        win = next(p for p in keyed if p["name"] == row["windows"]["name"])
        assert row["windows"]["activated"] is win["activated"]
        assert row["windows"]["grace_days"] == -(-win["grace_minutes"] // 1440)
    assert summary["totals"]["office_total"] == 2
    lines = run.result(task("activation_report", "Print the fleet summary"), "kms01")["msg"]
    assert lines == summary["lines"]
    assert lines[0].startswith("Fleet: 3 hosts, 3 read; Windows activated 0/3; Office activated 0/2")


def test_report_names_an_unreachable_host(lab: LabHandle, ansible: Ansible) -> None:
    lab.lab.fault("ws01", "winrm_down")
    run = ansible.run(REPORT, lab)
    summary = run.result(task("activation_report", "Summarise the fleet on the controller"), "kms01")[
        "ansible_facts"]["activation_report_summary"]
    row = next(r for r in summary["hosts"] if r["host"] == "ws01")
    assert row["ok"] is False
    assert row["error"].startswith("unreachable: ")
    assert summary["totals"]["reachable"] == 2


def test_report_checks_the_srv_records_against_the_fleet(lab: LabHandle, ansible: Ansible) -> None:
    """kms01 becomes an activated KMS host that publishes itself; two more records are put in the
    zone with the lab's TSIG key: one naming the client ws01, one a host that no longer exists.
    The report reads the zone from the controller (real BIND) and flags the two as stale."""
    setup = ansible.run("""
- hosts: kms01
  gather_facts: false
  tasks:
    - name: Host key
      winops.volume_activation.product_key:
        key: "{{ csvlk }}"
        key_type: kms_host
        product: windows
      no_log: true
    - name: Activate
      winops.volume_activation.activation:
        product: windows
    - name: Stale records
      winops.volume_activation.kms_srv_record:
        method: rfc2136
        zone: "{{ winlab_dns_zone }}"
        server: "{{ winlab_dns_server }}"
        server_port: "{{ winlab_dns_port }}"
        tsig_key_name: "{{ winlab_tsig_key_name }}"
        tsig_key_secret: "{{ winlab_tsig_key_secret }}"
        tsig_algorithm: "{{ winlab_tsig_algorithm }}"
        records:
          - {target: "ws01.{{ winlab_dns_zone }}", priority: 5}
          - {target: "kms-old.{{ winlab_dns_zone }}", priority: 10}
""", lab, extra_vars={"csvlk": SMALL_CSVLK})
    assert setup.rc == 0, setup.stdout[-4000:]
    zone = lab.lab.dns_info()["zone"]
    marks = {h: lab.log_mark(h) for h in ("kms01", "ws01", "ws02")}
    run = ansible.run(REPORT, lab, extra_vars={
        "activation_report_probe": False,
        "activation_report_srv_zones": [zone], "activation_report_srv_server": "{{ winlab_dns_server }}",
        "activation_report_srv_port": "{{ winlab_dns_port }}"})
    assert run.rc == 0, run.stdout[-4000:]
    assert all(lab.round_trips(h, since=m) == 1 for h, m in marks.items())  # DNS is read from the controller
    summary = run.result(task("activation_report", "Summarise the fleet on the controller"), "kms01")[
        "ansible_facts"]["activation_report_summary"]
    got = {r["target"]: (r["status"], r["host"], r["addresses"]) for r in summary["srv_records"]}
    assert got == {
        f"kms01.{zone}": ("ok", "kms01", ["127.0.20.10"]),  # published by the host itself on activation
        f"ws01.{zone}": ("stale", "ws01", ["127.0.20.11"]),  # a client, not a KMS host
        f"kms-old.{zone}": ("stale", None, []),  # no such host in DNS
    }, got
    stale = {p["host"] for p in summary["problems"] if p["status"] == "stale_srv_record"}
    assert stale == {"ws01", f"kms-old.{zone}"}
    assert summary["totals"]["stale_srv_records"] == 2
    assert next(k for k in summary["kms_hosts"] if k["host"] == "kms01")["in_dns"] is True
    assert f"  {zone}: 0 0 1688 kms01.{zone}: ok (kms01)" in summary["lines"]
    assert lab.lab.dns_info()["tsig_key_secret"] not in run.stdout + setup.stdout


def test_kms_server_role_publishes_through_a_windows_dns_server(
        start_lab: t.Callable[..., LabHandle], ansible: Ansible) -> None:
    """kms_server_srv_mode=windows_dns: the host does not publish itself; the role manages the
    record on the Windows DNS server dc01 (root/MicrosoftDNS over WinRM), exclusive of others."""
    spec = fleet(66)
    spec["hosts"].append({"name": "dc01", "address": "127.0.66.5", "os": "windows-server-2022",
                          "edition": "ServerStandard", "roles": ["dns_server"]})
    spec["srv_records"] = [{"target": "kms-old", "priority": 0}]  # a decommissioned host's record
    handle = start_lab(spec)
    zone = "roles.example.test"
    extra = {"kms_server_host_keys": HOST_KEYS[:1], "kms_server_srv_mode": "windows_dns",
             "kms_server_srv_zone": zone, "kms_server_srv_windows_dns_host": "dc01",
             "kms_server_srv_priority": 5, "kms_server_firewall_remote_addresses": ["127.0.0.0/8"]}

    def dig() -> list[str]:
        port = handle.lab.dns_info()["port"]
        out = subprocess.run(["dig", "+tcp", "+short", "@127.0.0.1", "-p", str(port), f"_vlmcs._tcp.{zone}", "SRV"],
                             capture_output=True, text=True, check=True, timeout=10).stdout
        return sorted(line for line in out.splitlines() if line)

    run = ansible.run(KMS_HOST, handle, extra_vars=extra, limit="kms01")
    assert run.rc == 0, run.stdout[-5000:]
    srv = run.result(task("kms_server", "Manage the _vlmcs._tcp SRV records on a Windows DNS server"), "kms01")
    assert srv["changed"] is True
    # Only the role's record: the host's own publishing is off, and exclusive removed kms-old's.
    assert dig() == [f"5 0 1688 kms01.{zone}."]
    dc_mark = handle.log_mark("dc01")
    again = ansible.run(KMS_HOST, handle, extra_vars=extra, limit="kms01")
    assert again.rc == 0, again.stdout[-5000:]
    assert [r["task"] for r in again.records if r["result"].get("changed")] == []
    assert handle.round_trips("dc01", since=dc_mark) == 1  # one read on the DNS server, nothing to change
