"""kms_probe end to end against the lab: one round trip from the client, every failure kind told
apart, and the KMS host's count and counters unchanged (the probe never sends an activation request).

The lab answers through its real BIND (the client's DNS queries, sent from its own address) and
its real TCP listeners (the KMS host's listener, the WinRM listeners as management ports); each
failure is the lab's own fault or state, never something the probe is told:
no SRV record (a fresh zone), a name that does not resolve (a static record for kms-old), a port
closed by a firewall (``kms_port_closed``), a host that is down (``host_down``), sppsvc stopped
(``kms_service_stopped``) and a host that is not a KMS host (ws02, a client).
"""

from __future__ import annotations

import typing as t

import pytest

from .conftest import Ansible, LabHandle

# The Windows Server 2022 KMS host key of lab/fleets/small.yml (synthetic).
SMALL_CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"
KMS = "kms01"
CLIENT = "ws01"

MAKE_KMS_HOST = """
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
    - name: Open the KMS port
      winops.volume_activation.kms_firewall:
"""

PROBE = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Read the licensing state (what the report role registers)
      winops.volume_activation.license_info:
      register: activation_report_info
      when: read_state | default(true) | bool
- hosts: ws01
  gather_facts: false
  tasks:
    - name: Probe
      winops.volume_activation.kms_probe: "{{ probe_args | default({}) }}"
      register: probe
"""


def kms_counters(handle: LabHandle) -> list[t.Any]:
    """The KMS host's own record, from the lab's model: each KMS host product's state (count, clients
    counted, request counters), the host's event log, and the KMS calls its listener answered."""
    state = handle.lab.host_state(KMS)
    listeners = handle.lab.network.listeners.values()
    return [p["kms_host"] for p in state["products"] if p.get("kms_host")] + [
        state["events"], sorted(lst.stats["responses"] for lst in listeners)]


def binds(handle: LabHandle) -> int:
    """DCE/RPC binds the KMS listeners answered."""
    return sum(lst.stats["binds"] for lst in handle.lab.network.listeners.values())


def probe(handle: LabHandle, ansible: Ansible, **extra: t.Any) -> dict[str, t.Any]:
    before = kms_counters(handle)
    mark = handle.log_mark(CLIENT)
    run = ansible.run(PROBE, handle, extra_vars=extra)
    assert run.rc == 0, run.stdout[-4000:]
    result = run.result("Probe", CLIENT)
    assert result["round_trips"] == 1 and handle.round_trips(CLIENT, since=mark) == 1 + bool(
        extra.get("read_state", True))
    assert not result["changed"]
    assert kms_counters(handle) == before  # no activation request: the host counted nothing
    return result


@pytest.fixture
def kms_host(lab: LabHandle, ansible: Ansible) -> LabHandle:
    run = ansible.run(MAKE_KMS_HOST, lab, extra_vars={"csvlk": SMALL_CSVLK})
    assert run.rc == 0, run.stdout[-4000:]
    return lab


def test_a_kms_host_that_answers(kms_host: LabHandle, ansible: Ansible) -> None:
    assert kms_counters(kms_host)[0]["current_count"] is not None  # the comparison below has something to compare
    before = binds(kms_host)
    res = probe(kms_host, ansible)
    assert binds(kms_host) == before + 1  # the bind reached the real listener; nothing after it
    assert res["verdict"] == "ok", res
    assert res["source"] == "srv" and res["srv_status"] == 0
    [host] = res["kms_hosts"]
    assert host["name"].startswith("kms01.") and host["port"] == 1688
    assert (host["resolved"], host["tcp_reachable"], host["rpc_bind"]) == (True, True, "accepted")
    assert host["latency_ms"] is not None and host["latency_ms"] >= 0


def test_no_srv_record(lab: LabHandle, ansible: Ansible) -> None:
    res = probe(lab, ansible)
    assert (res["verdict"], res["srv_status"], res["kms_hosts"]) == ("no_srv_record", 9003, []), res
    assert res["next_step"].startswith("publish the KMS host in DNS")


def test_kms_port_closed(kms_host: LabHandle, ansible: Ansible) -> None:
    kms_host.lab.fault(KMS, "kms_port_closed")
    res = probe(kms_host, ansible)
    assert res["verdict"] == "port_closed", res
    host = res["kms_hosts"][0]
    # The lab turns the client away at once: a reset during the handshake or right after it (where
    # Windows Firewall would let the connection time out); the management port answers either way.
    assert host["tcp_error"] == "reset" or host["rpc_bind"] == "reset", host
    assert "while the host answers" in res["message"] or "accepted the connection, then reset" in res["message"]


def test_host_down(kms_host: LabHandle, ansible: Ansible) -> None:
    kms_host.lab.fault(KMS, "host_down")
    res = probe(kms_host, ansible, read_state=False)
    host = res["kms_hosts"][0]
    assert res["verdict"] == "host_down", res
    assert (host["resolved"], host["tcp_reachable"], host["host_up"]) == (True, False, False)


@pytest.mark.parametrize(("read_state", "verdict"), [(True, "sppsvc_stopped"), (False, "not_listening")])
def test_sppsvc_stopped(kms_host: LabHandle, ansible: Ansible, read_state: bool, verdict: str) -> None:
    """Nothing listens on the KMS port while the host is up. With the KMS host's licensing state read
    in the same run (an activated KMS host listening on 1688), that is sppsvc not running."""
    kms_host.lab.fault(KMS, "kms_service_stopped")
    res = probe(kms_host, ansible, read_state=read_state)
    host = res["kms_hosts"][0]
    assert (res["verdict"], host["tcp_error"], host["host_up"]) == (verdict, "refused", True), res


@pytest.mark.parametrize(("read_state", "verdict"), [(True, "not_kms_host"), (False, "not_listening")])
def test_not_a_kms_host(lab: LabHandle, ansible: Ansible, read_state: bool, verdict: str) -> None:
    res = probe(lab, ansible, read_state=read_state, probe_args={"kms_host": "ws02"})
    assert res["source"] == "targets" and res["verdict"] == verdict, res


def test_name_that_does_not_resolve(lab: LabHandle, ansible: Ansible) -> None:
    res = probe(lab, ansible, probe_args={"kms_host": "kms-old"})
    host = res["kms_hosts"][0]
    assert res["verdict"] == "name_not_resolved", res
    assert (host["resolved"], host["dns_status"]) == (False, 9003)


def test_the_bind_is_what_a_dce_rpc_server_decodes() -> None:
    """The collection's bind (written from C706) read by the lab's own, separately written decoder,
    and the lab listener's answer read by the collection's parser."""
    import importlib
    import sys

    from winlab.protocols import kms_wire

    from .conftest import COLLECTIONS

    if str(COLLECTIONS) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS))
    kp = importlib.import_module("ansible_collections.winops.volume_activation.plugins.plugin_utils._kms_probe")
    bind = kms_wire.decode(kp.build_bind(call_id=3))
    assert isinstance(bind, kms_wire.Bind) and bind.call_id == 3
    assert [c.abstract_syntax for c in bind.contexts] == [kms_wire.KMS_SYNTAX]
    assert list(bind.contexts[0].transfer_syntaxes) == [kms_wire.NDR_SYNTAX]
    answer = kms_wire.answer_bind(bind, 1688, assoc_group_id=1)
    assert kp.parse_answer(kms_wire.encode(answer), call_id=3).kind == "accepted"


def test_a_stale_srv_record_whose_name_does_not_resolve(lab: LabHandle, ansible: Ansible) -> None:
    """The zone's only _vlmcs._tcp record names kms-old, a host no longer in DNS: found, not resolved."""
    setup = ansible.run("""
- hosts: kms01
  gather_facts: false
  tasks:
    - name: The stale record
      winops.volume_activation.kms_srv_record:
        method: rfc2136
        zone: "{{ winlab_dns_zone }}"
        server: "{{ winlab_dns_server }}"
        server_port: "{{ winlab_dns_port }}"
        tsig_key_name: "{{ winlab_tsig_key_name }}"
        tsig_key_secret: "{{ winlab_tsig_key_secret }}"
        tsig_algorithm: "{{ winlab_tsig_algorithm }}"
        records:
          - {target: "kms-old.{{ winlab_dns_zone }}", priority: 10}
""", lab)
    assert setup.rc == 0, setup.stdout[-4000:]
    res = probe(lab, ansible)
    zone = lab.lab.dns_info()["zone"]
    assert res["srv_records"] == [{"target": f"kms-old.{zone}", "port": 1688, "priority": 10, "weight": 0}]
    assert res["verdict"] == "name_not_resolved", res
    assert res["kms_hosts"][0]["priority"] == 10 and res["kms_hosts"][0]["dns_status"] == 9003


def test_a_kms_port_that_drops_packets(kms_host: LabHandle, ansible: Ansible) -> None:
    """kms_no_answer: the SYN is never answered (a firewall that drops). The client waits its bounded
    connect timeout, not the 21 s of Windows' own connect, and the host answers on WinRM."""
    kms_host.lab.fault(KMS, "kms_no_answer", delay=30)
    res = probe(kms_host, ansible, read_state=False, probe_args={"connect_timeout_ms": 500})
    host = res["kms_hosts"][0]
    assert (res["verdict"], host["tcp_error"], host["host_up"]) == ("port_closed", "timeout", True), res
    assert "not answered (timed out)" in res["message"]
