"""kms_srv_record with method=rfc2136 end to end: ansible-playbook on localhost against a real BIND 9.

Each test gets its own ``named`` (winlab.servers.bind.BindServer) on 127.0.0.1 with a fresh zone
and a TSIG key allowed to update it. What the module did is checked independently with ``dig``
over TCP, never with the module's own result alone. The Windows DNS (WMI) path cannot run here:
the lab does not model root/MicrosoftDNS; its unit tests replay WMI-shaped results.
"""

from __future__ import annotations

import base64
import json
import pathlib
import shutil
import subprocess
import typing as t

import dns.query
import dns.rcode
import dns.tsig
import dns.update
import pytest

from .conftest import Ansible

bind = pytest.importorskip("winlab.servers.bind")

pytestmark = pytest.mark.skipif(
    bind.named_binary() is None or shutil.which("dig") is None, reason="BIND 9 (named, dig) is not installed"
)

ZONE = "contoso.test"
OWNER = f"_vlmcs._tcp.{ZONE}"
TASK = "Manage the KMS SRV records"


@pytest.fixture
def server(tmp_path: pathlib.Path) -> t.Iterator[t.Any]:
    srv = bind.BindServer(ZONE, tmp_path / "named")
    with srv:
        yield srv


def dig(server: t.Any) -> list[str]:
    """``TTL priority weight port target`` of every SRV record at the owner name, as dig shows them (sorted)."""
    out = subprocess.run(
        ["dig", "+tcp", "+norecurse", "+noall", "+answer", f"@{server.address}", "-p", str(server.port), OWNER,
         "SRV"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout
    lines = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 8 and f[3] == "SRV":
            lines.append(" ".join([f[1], *f[4:]]))
    return sorted(lines)


def seed(server: t.Any, *rdatas: str, ttl: int = 3600) -> None:
    """Add records directly (the independent writer: what a KMS host publishing itself would do)."""
    update = dns.update.UpdateMessage(ZONE + ".")
    for rd in rdatas:
        update.add("_vlmcs._tcp", ttl, "SRV", rd)
    update.use_tsig(dns.tsig.Key(server.key_name, server.key_secret, server.key_algorithm))
    response = dns.query.tcp(update, server.address, port=server.port, timeout=5)
    assert response.rcode() == dns.rcode.NOERROR


def playbook(server: t.Any, records: list[dict[str, t.Any]], **options: t.Any) -> str:
    """A play on localhost whose one task is kms_srv_record against ``server``.

    The secret comes from the variable ``tsig_secret`` of the vars file written by :func:`run_play`.
    """
    args = {"method": "rfc2136", "zone": ZONE, "server": server.address, "server_port": server.port,
            "tsig_key_name": server.key_name, "tsig_key_secret": "{{ tsig_secret }}", "records": records,
            **options}
    return f"""
- name: KMS SRV records
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files:
    - tsig.yml
  tasks:
    - name: {TASK}
      winops.volume_activation.kms_srv_record: {json.dumps(args)}
"""


def run_play(ansible: Ansible, server: t.Any, play: str, *, secret: str | None = None, **kwargs: t.Any) -> t.Any:
    """Run ``play`` with the TSIG secret (the server's, or ``secret``) in the vars file ``tsig.yml``.

    A vars file, as Ansible Vault would hold it: at -vvvv ansible-playbook prints ``-e`` values,
    and on a failure ansible-core 2.19 prints the playbook lines around the task, so a secret on
    the command line or in the play itself would be shown by Ansible whatever the module does.
    """
    (ansible.tmp / "tsig.yml").write_text(
        json.dumps({"tsig_secret": server.key_secret if secret is None else secret}), encoding="utf-8"
    )
    return ansible.run(play, **kwargs)


def test_check_mode_then_real_run_then_repeat(server: t.Any, ansible: Ansible) -> None:
    play = playbook(server, [{"target": "kms1.contoso.test"}, {"target": "kms2.contoso.test", "priority": 10}])

    check = run_play(ansible, server, play, check=True, diff=True)
    assert check.rc == 0, check.stdout
    res = check.result(TASK, "localhost")
    assert res["changed"] is True
    assert res["added"] == [
        {"target": "kms1.contoso.test", "port": 1688, "priority": 0, "weight": 0, "ttl": 3600},
        {"target": "kms2.contoso.test", "port": 1688, "priority": 10, "weight": 0, "ttl": 3600},
    ]
    assert "+0 0 1688 kms1.contoso.test (TTL 3600)" in check.stdout
    assert "+10 0 1688 kms2.contoso.test (TTL 3600)" in check.stdout
    assert dig(server) == []  # check mode changed nothing

    real = run_play(ansible, server, play, diff=True)
    assert real.rc == 0, real.stdout
    res = real.result(TASK, "localhost")
    assert res["changed"] is True
    assert res["round_trips"] == 0
    assert dig(server) == ["3600 0 0 1688 kms1.contoso.test.", "3600 10 0 1688 kms2.contoso.test."]
    assert res["records"] == check.result(TASK, "localhost")["records"]

    again = run_play(ansible, server, play)
    assert again.rc == 0, again.stdout
    assert again.result(TASK, "localhost")["changed"] is False
    assert dig(server) == ["3600 0 0 1688 kms1.contoso.test.", "3600 10 0 1688 kms2.contoso.test."]


def test_exclusive_removes_the_stale_record_of_a_replaced_host(server: t.Any, ansible: Ansible) -> None:
    seed(server, "0 0 1688 kms-old.contoso.test.", "0 0 1688 kms1.contoso.test.")
    wanted = [{"target": "kms1.contoso.test"}, {"target": "kms2.contoso.test"}]
    run = run_play(ansible, server, playbook(server, wanted, exclusive=True))
    assert run.rc == 0, run.stdout
    res = run.result(TASK, "localhost")
    assert res["changed"] is True
    assert [r["target"] for r in res["removed"]] == ["kms-old.contoso.test"]
    assert [r["target"] for r in res["added"]] == ["kms2.contoso.test"]
    assert dig(server) == ["3600 0 0 1688 kms1.contoso.test.", "3600 0 0 1688 kms2.contoso.test."]


def test_priority_port_and_ttl_change_in_one_update(server: t.Any, ansible: Ansible) -> None:
    seed(server, "0 0 1688 kms1.contoso.test.", "0 0 1688 other.contoso.test.")
    run = run_play(ansible, server, playbook(server, [{"target": "kms1.contoso.test", "priority": 5, "port": 1689}], ttl=600))
    assert run.rc == 0, run.stdout
    res = run.result(TASK, "localhost")
    assert res["changed"] is True
    # one RRset, one TTL (RFC 2181 5.2): the record that is not listed keeps its data and takes the TTL
    assert dig(server) == ["600 0 0 1688 other.contoso.test.", "600 5 0 1689 kms1.contoso.test."]
    assert [u["target"] for u in res["updated"]] == ["other.contoso.test", "kms1.contoso.test"]


def test_state_absent_removes_the_listed_host(server: t.Any, ansible: Ansible) -> None:
    seed(server, "0 0 1689 kms-old.contoso.test.", "0 0 1688 kms1.contoso.test.")
    run = run_play(ansible, server, playbook(server, [{"target": "kms-old.contoso.test"}], state="absent"))
    assert run.rc == 0, run.stdout
    assert run.result(TASK, "localhost")["changed"] is True
    assert dig(server) == ["3600 0 0 1688 kms1.contoso.test."]


def test_wrong_tsig_secret_fails_with_badsig_and_never_shows_the_secret(server: t.Any, ansible: Ansible) -> None:
    wrong = base64.b64encode(b"not the key of this zone, 32 b!!").decode()
    run = run_play(ansible, server, playbook(server, [{"target": "kms1.contoso.test"}]), secret=wrong, verbosity=4)
    assert run.rc != 0
    res = run.result(TASK, "localhost")
    assert res["_status"] == "failed"
    assert res["msg"] == (
        f"Failed to read the SRV records '{OWNER}' in zone '{ZONE}' on DNS server '127.0.0.1' port {server.port}: "
        f"TSIG error BADSIG: the server rejected the signature made with key '{server.key_name}': tsig_key_secret "
        "(or tsig_algorithm) does not match the server's copy of the key"
    )
    everything = run.stdout + run.stderr + repr(run.records)
    assert "winops.volume_activation.kms_srv_record: querying" in run.stdout  # -vvvv logging was on
    assert wrong not in everything
    assert server.key_secret not in everything
    assert dig(server) == []


def test_unknown_tsig_key_fails_with_badkey(server: t.Any, ansible: Ansible) -> None:
    play = playbook(server, [{"target": "kms1.contoso.test"}]).replace(server.key_name, "nobody.contoso.test")
    run = run_play(ansible, server, play)
    res = run.result(TASK, "localhost")
    assert res["msg"] == (
        f"Failed to read the SRV records '{OWNER}' in zone '{ZONE}' on DNS server '127.0.0.1' port {server.port}: "
        "TSIG error BADKEY: the server does not know key 'nobody.contoso.test' with algorithm hmac-sha256 (check "
        "tsig_key_name and tsig_algorithm)"
    )


def test_refused_update_is_explained_and_changes_nothing(server: t.Any, ansible: Ansible) -> None:
    server.refuse_updates(True)
    run = run_play(ansible, server, playbook(server, [{"target": "kms1.contoso.test"}]), verbosity=4)
    assert run.rc != 0
    res = run.result(TASK, "localhost")
    assert res["msg"] == (
        f"Failed to update the SRV records '{OWNER}' in zone '{ZONE}' on DNS server '127.0.0.1' port {server.port}: "
        f"REFUSED: the server refused the update: its policy does not let this control node with TSIG key "
        f"'{server.key_name}' change the zone (BIND: allow-update / update-policy; Windows DNS: dynamic updates "
        "off or secure only)"
    )
    # -vvvv logs the UPDATE's prerequisite and update sections, never the key
    assert "update: _vlmcs._tcp.contoso.test. 3600 IN SRV 0 0 1688 kms1.contoso.test." in run.stdout
    assert server.key_secret not in run.stdout + run.stderr + repr(run.records)
    assert dig(server) == []


def test_wrong_zone_is_refused_by_the_server(server: t.Any, ansible: Ansible) -> None:
    play = playbook(server, [{"target": "kms1.contoso.test"}]).replace('"zone": "contoso.test"',
                                                                       '"zone": "fabrikam.test"')
    run = run_play(ansible, server, play)
    res = run.result(TASK, "localhost")
    assert res["msg"] == (
        "Failed to read the SRV records '_vlmcs._tcp.fabrikam.test' in zone 'fabrikam.test' on DNS server "
        f"'127.0.0.1' port {server.port}: REFUSED: the server refused the query: it does not serve the zone (or "
        "does not answer this control node)"
    )


def test_server_down_times_out_or_is_refused(server: t.Any, ansible: Ansible) -> None:
    server.stop()
    run = run_play(ansible, server, playbook(server, [{"target": "kms1.contoso.test"}], timeout=2))
    res = run.result(TASK, "localhost")
    assert res["msg"] == (
        f"Failed to read the SRV records '{OWNER}' in zone '{ZONE}' on DNS server '127.0.0.1' port {server.port}: "
        f"connection refused on TCP port {server.port} (no DNS server listening there)"
    )


def test_rfc2136_never_contacts_the_inventory_host(server: t.Any, ansible: Ansible) -> None:
    # A Windows inventory host whose WinRM port has nothing listening: any connection attempt would
    # make the task unreachable. The task runs without delegate_to and still succeeds.
    closed = bind.free_port("127.0.0.1", udp_too=False)
    inventory = ansible.tmp / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"kmsbox": {
        "ansible_host": "127.0.0.1", "ansible_port": closed, "ansible_connection": "winrm",
        "ansible_user": "nobody", "ansible_password": "unused", "ansible_winrm_transport": "basic",
        "ansible_winrm_scheme": "http"}}}}), encoding="utf-8")
    play = playbook(server, [{"target": "kms1.contoso.test"}]).replace(
        "hosts: localhost\n  connection: local\n", "hosts: kmsbox\n")
    run = run_play(ansible, server, play, inventory=inventory)
    assert run.rc == 0, run.stdout
    assert run.result(TASK, "kmsbox")["changed"] is True
    assert dig(server) == ["3600 0 0 1688 kms1.contoso.test."]


LOOKUP_PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Read
      ansible.builtin.set_fact:
        found: "{{{{ lookup('winops.volume_activation.kms_srv_records', '{zone}', server='127.0.0.1', port={port},
                           timeout=2, wantlist=True) }}}}"
      ignore_errors: true
"""


def test_kms_srv_records_lookup_reads_the_records_and_their_addresses(server: t.Any, ansible: Ansible) -> None:
    server.add_host("kms1", "127.0.0.41")
    seed(server, "0 0 1688 kms1.contoso.test.", "10 5 1689 gone.contoso.test.")
    run = ansible.run(LOOKUP_PLAY.format(zone=ZONE, port=server.port))
    found = run.result("Read", "localhost")["ansible_facts"]["found"]
    assert sorted(found, key=lambda r: r["priority"]) == [
        {"zone": ZONE, "owner": OWNER, "target": "kms1.contoso.test", "port": 1688, "priority": 0, "weight": 0,
         "ttl": 3600, "addresses": ["127.0.0.41"]},
        {"zone": ZONE, "owner": OWNER, "target": "gone.contoso.test", "port": 1689, "priority": 10, "weight": 5,
         "ttl": 3600, "addresses": []},
    ]
    # What dig reads from the same server, independently.
    assert dig(server) == ["3600 0 0 1688 kms1.contoso.test.", "3600 10 5 1689 gone.contoso.test."]


def test_kms_srv_records_lookup_names_the_server_when_it_fails(server: t.Any, ansible: Ansible) -> None:
    port = server.port
    server.stop()
    run = ansible.run(LOOKUP_PLAY.format(zone=ZONE, port=port))
    res = run.result("Read", "localhost")
    assert res["_status"] == "failed"
    assert (f"kms_srv_records: Failed to read the SRV records '{OWNER}' in zone '{ZONE}' on DNS server "
            f"'127.0.0.1' port {port}: connection refused") in res["msg"]


# method=windows_dns against a lab host with the dns_server role: the collection's WMI path
# (root/MicrosoftDNS over WinRM) changes the lab's real BIND zone, read back with dig.
WINDNS = {
    "lab": {"seed": 35, "start": "2026-11-01T09:00:00Z", "dns_port": 0},
    "domain": "windns.example.test",
    "defaults": {"username": "Administrator", "password": "WinDns-Lab-Pw1", "http_port": 0, "https_port": 0},
    "srv_records": [{"target": "kms-old", "priority": 0}],  # left by a decommissioned KMS host
    "hosts": [{"name": "dc01", "address": "127.0.35.5", "os": "windows-server-2022", "edition": "ServerStandard",
               "roles": ["dns_server"]}],
}
WINDNS_OWNER = "_vlmcs._tcp.windns.example.test"


def windns_play(**args: t.Any) -> str:
    return ("- hosts: dc01\n  gather_facts: false\n  tasks:\n    - name: Records\n"
            f"      winops.volume_activation.kms_srv_record: {json.dumps(args)}\n")


def windns_dig(handle: t.Any) -> list[str]:
    port = handle.lab.dns_info()["port"]
    out = subprocess.run(["dig", "+tcp", "+norecurse", "+noall", "+answer", "@127.0.0.1", "-p", str(port),
                          WINDNS_OWNER, "SRV"], capture_output=True, text=True, check=True, timeout=10).stdout
    return sorted(" ".join([f[1], *f[4:]]) for f in (line.split() for line in out.splitlines()) if len(f) == 8)


def test_windows_dns_method_end_to_end(start_lab: t.Callable[..., t.Any], ansible: Ansible) -> None:
    handle = start_lab(WINDNS)
    args = {"method": "windows_dns", "zone": "windns.example.test", "exclusive": True,
            "records": [{"target": "kms1.windns.example.test"}, {"target": "kms2.windns.example.test", "priority": 10}]}
    before = windns_dig(handle)
    assert before == ["3600 0 0 1688 kms-old.windns.example.test."]
    check = ansible.run(windns_play(**args), handle, check=True, diff=True)
    res = check.result("Records", "dc01")
    assert (res["changed"], res["round_trips"]) == (True, 1), res
    assert windns_dig(handle) == before  # check mode sent nothing that changes the zone
    real = ansible.run(windns_play(**args) + windns_play(**args).split("tasks:\n", 1)[1].replace(
        "name: Records", "name: Again"), handle)
    first, again = real.result("Records", "dc01"), real.result("Again", "dc01")
    assert (first["changed"], first["round_trips"]) == (True, 2), first
    assert (again["changed"], again["round_trips"]) == (False, 1), again
    assert windns_dig(handle) == ["3600 0 0 1688 kms1.windns.example.test.",
                                  "3600 10 0 1688 kms2.windns.example.test."]
