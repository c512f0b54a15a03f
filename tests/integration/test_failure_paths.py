"""The failure paths of issues 4 and 5, end to end: the message an administrator sees.

Real ansible-playbook, real WinRM, the lab's real DNS and KMS TCP; the lab's state (and request
log) is the independent check that nothing was sent when the collection refused.
"""

from __future__ import annotations

import subprocess
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


# Two KMS hosts and two clients (Windows 11; Windows 7 with Office 2010 on OSPP) for the discovery
# cases of issue 5: failover between SRV records, a host without the Office 2010 host key, and a
# host named on the client beating DNS. Synthetic key, as in lab/fleets/small.yml.
PAIR = {
    "lab": {"seed": 12, "start": "2026-11-01T09:00:00Z", "dns_port": 0},
    "domain": "pair.example.test",
    "defaults": {"username": "Administrator", "password": "Pair-Lab-Pw1", "http_port": 0, "https_port": 0},
    "keys": [{"name": "csvlk", "kind": "csvlk", "product": "windows-server-2022", "key": SMALL_CSVLK}],
    "hosts": [
        {"name": "kms{n}", "count": 2, "address": "127.0.72.10", "os": "windows-server-2022",
         "edition": "ServerStandard", "roles": ["kms_host"]},
        {"name": "ws01", "address": "127.0.72.20", "os": "windows-11", "edition": "Enterprise"},
        {"name": "ws02", "address": "127.0.72.21", "os": "windows-7", "edition": "Enterprise",
         "office": [{"version": "2010", "products": ["ProPlus"]}]},
    ],
}
PAIR_ZONE = "pair.example.test"


def kms_hosts(handle: LabHandle, ansible: Ansible, hosts: str, **host_settings: t.Any) -> None:
    """Make ``hosts`` activated Windows KMS hosts, TCP 1688 open to loopback, with the collection.
    Settings come before activation, as in the kms_server role: a host publishes its SRV record
    when it is activated, and turning publishing off later does not withdraw it."""
    tasks = [host_key(), *([task("Settings", "kms_host", host_settings)] if host_settings else []),
             task("Activate", "activation", {"product": "windows"}),
             task("Firewall", "kms_firewall", {"remote_addresses": ["127.0.0.0/8"]})]
    run = ansible.run(play(hosts, *tasks), handle)
    for name in ("Host key", "Activate", "Firewall", *(["Settings"] if host_settings else [])):
        bad = {h: r.get("msg") for h, r in run.results(name).items() if r["_status"] == "failed"}
        assert not bad, (name, bad)


def dig_srv(handle: LabHandle) -> list[str]:
    """The lab zone's ``_vlmcs._tcp`` SRV records as ``dig +short`` shows them (sorted), read from BIND."""
    port = handle.lab.dns_info()["port"]
    out = subprocess.run(["dig", "+tcp", "@127.0.0.1", "-p", str(port), f"_vlmcs._tcp.{PAIR_ZONE}", "SRV", "+short",
                          "+time=2", "+tries=1"], capture_output=True, text=True, check=True, timeout=10).stdout
    return sorted(line for line in out.splitlines() if line)


def last_attempt(handle: LabHandle, host: str) -> dict[str, t.Any]:
    """The lab's own record of the client's last KMS request (event 12288), not the module's."""
    return next(e for e in reversed(handle.lab.host_state(host)["events"]) if e["id"] == 12288)


@pytest.fixture(scope="module")
def pair_lab(start_lab: t.Callable[..., LabHandle]) -> LabHandle:
    return start_lab(PAIR)


@pytest.fixture
def pair(pair_lab: LabHandle) -> LabHandle:
    pair_lab.lab.reset()  # each test starts from the fleet as written
    return pair_lab


def test_clients_fail_over_to_the_second_srv_host_when_the_first_is_down(pair: LabHandle, ansible: Ansible) -> None:
    kms_hosts(pair, ansible, "kms1:kms2")
    assert dig_srv(pair) == [f"0 0 1688 kms1.{PAIR_ZONE}.", f"0 0 1688 kms2.{PAIR_ZONE}."]
    pair.lab.fault("kms1", "host_down")  # the machine is gone: no WinRM, no TCP 1688
    mark = pair.log_mark("ws01")
    run = ansible.run(play("ws01:ws02", task("Activate", "activation", {"product": "windows"})), pair)
    for client in ("ws01", "ws02"):
        result = run.result("Activate", client)
        assert result["_status"] == "ok", result.get("msg")
        (row,) = result["products"]
        # Windows client editions need 25 clients: the second host answered, and the client waits.
        assert row["outcome"] == "waiting_for_threshold", row
        assert row["kms_host"] == f"kms2.{PAIR_ZONE}:1688", row
        assert f"the KMS host kms2.{PAIR_ZONE}:1688 counts fewer than the 25 clients" in row["message"]
        # The lab's own record of the attempt: kms1 was tried (its order among equals is random)
        # or skipped, and kms2 answered; kms2 counted the client.
        event = last_attempt(pair, client)
        assert event["host"] == f"kms2.{PAIR_ZONE}:1688", event
        assert all(u.startswith(f"kms1.{PAIR_ZONE}:1688 (") for u in event["unreachable"]), event
    served = {e["client"] for e in pair.lab.host_state("kms2")["events"] if "client" in e}
    assert served == {f"ws01.{PAIR_ZONE}", f"ws02.{PAIR_ZONE}"}, served
    assert pair.round_trips("ws01", since=mark) == 2  # read, then activate with its read-back


def test_office_2010_client_against_a_host_without_the_office_2010_host_key(pair: LabHandle, ansible: Ansible) -> None:
    """The seed's rule: Office 2010 clients need a KMS host with the Office 2010 host key; a Windows
    host key alone gives 0xC004F042, explained with the Office-specific next step."""
    kms_hosts(pair, ansible, "kms1")
    run = ansible.run(play("ws02", task("Activate", "activation", {"product": "all"})), pair)
    result = run.result("Activate", "ws02")
    assert result["_status"] == "failed"
    rows = {p["family"]: p for p in result["products"]}
    assert set(rows) == {"windows", "office2010"}, rows
    office = rows["office2010"]
    assert office["outcome"] == "failed"
    assert (office["hresult"]["hex"], office["hresult"]["symbol"]) == (
        "0xC004F042", "SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH")
    assert office["kms_host"] == f"kms1.{PAIR_ZONE}:1688"
    assert "no Office 2010 KMS host key" in office["hresult"]["remedy"]
    assert "Office 2010 KMS Host License Pack" in result["msg"]
    assert f"kms1.{PAIR_ZONE}:1688" in result["msg"]
    # Windows on the same client reached the same host, which answered: only Office failed.
    assert rows["windows"]["outcome"] == "waiting_for_threshold", rows["windows"]
    assert result["summary"] == {"failed": 1, "waiting_for_threshold": 1}
    # The lab's record: the OSPP client's request reached kms1 (by DNS) and was refused there.
    ospp = [e for e in pair.lab.host_state("ws02")["events"] if e["id"] == 12288]
    assert {e["host"] for e in ospp} == {f"kms1.{PAIR_ZONE}:1688"}


def test_manual_kms_host_beats_dns(pair: LabHandle, ansible: Ansible) -> None:
    """kms1 publishes its SRV record; kms2 does not. A client given kms2 by kms_client goes there
    rather than to the host DNS offers; clearing the setting sends it back to DNS (and so to kms1)."""
    kms_hosts(pair, ansible, "kms1")
    kms_hosts(pair, ansible, "kms2", dns_publishing=False)
    assert dig_srv(pair) == [f"0 0 1688 kms1.{PAIR_ZONE}."]
    point = task("Point", "kms_client", {"product": "windows", "kms_host": f"kms2.{PAIR_ZONE}"})
    run = ansible.run(play("ws01", point, task("Activate", "activation", {"product": "windows"})), pair)
    assert run.result("Point", "ws01")["changed"] is True
    (row,) = run.result("Activate", "ws01")["products"]
    assert row["outcome"] == "waiting_for_threshold", row
    assert row["kms_host"] == f"kms2.{PAIR_ZONE}:1688", row
    assert last_attempt(pair, "ws01")["host"] == f"kms2.{PAIR_ZONE}:1688"
    clients = {h: {e["client"] for e in pair.lab.host_state(h)["events"] if "client" in e} for h in ("kms1", "kms2")}
    assert clients == {"kms1": set(), "kms2": {f"ws01.{PAIR_ZONE}"}}, clients
    # Back to DNS: state=absent clears the manual host; the next activation finds kms1 by SRV.
    clear = task("Clear", "kms_client", {"product": "windows", "state": "absent"})
    again = ansible.run(play("ws01", clear, task("Activate", "activation", {"product": "windows", "force": True})),
                        pair)
    assert again.result("Clear", "ws01")["changed"] is True
    (row,) = again.result("Activate", "ws01")["products"]
    assert row["kms_host"] == f"kms1.{PAIR_ZONE}:1688", row
    assert last_attempt(pair, "ws01")["host"] == f"kms1.{PAIR_ZONE}:1688"


def test_dns_server_failure_is_explained(lab: LabHandle, ansible: Ansible) -> None:
    """The lab's BIND is stopped (fault dns_down): the lookup gets no answer, 0x8007232A."""
    lab.lab.fault("ws01", "dns_down")
    run = ansible.run(play("ws01", task("Activate", "activation", {"product": "windows"})), lab)
    result = run.result("Activate", "ws01")
    assert result["_status"] == "failed"
    (row,) = result["products"]
    assert row["hresult"]["hex"] == "0x8007232A" and row["hresult"]["remedy"]
    assert "(looked for the _vlmcs._tcp SRV records of the client's own DNS domain)" in result["msg"]
    assert "next step: " in result["msg"]


def test_unreachable_configured_host_is_named(lab: LabHandle, ansible: Ansible) -> None:
    """The client is pointed at kms01, which is not a KMS host and has nothing on TCP 1688."""
    point = task("Point", "kms_client", {"product": "windows", "kms_host": "kms01.small.example.test"})
    run = ansible.run(play("ws01", point, task("Activate", "activation", {"product": "windows"})), lab)
    result = run.result("Activate", "ws01")
    assert result["_status"] == "failed"
    assert "0xC004F074 (SL_E_VL_BINDING_SERVICE_UNAVAILABLE)" in result["msg"]
    assert "(the KMS host configured on the service kms01.small.example.test:1688)" in result["msg"]
    event = next(e for e in reversed(lab.lab.host_state("ws01")["events"]) if e["id"] == 12288)
    assert [u.split(" (")[0] for u in event["unreachable"]] == ["kms01.small.example.test:1688"]
