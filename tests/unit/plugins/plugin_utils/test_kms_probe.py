"""Unit tests of the kms_probe engine (plugin_utils/_kms_probe.py) and its action plugin.

The bind is checked field by field against C706 12.6 (the offsets written out here, not
computed by the code under test); answers are built by hand in the C706 layout; the
verdicts are checked for every failure kind from executor results in the documented
shape of docs/executor-protocol.md (dns_query, tcp_exchange).
"""

from __future__ import annotations

import base64
import struct
import typing as t
import uuid

import pytest

from ansible_collections.winops.volume_activation.plugins.action import kms_probe as action
from ansible_collections.winops.volume_activation.plugins.plugin_utils import _kms_probe as kp
from ansible_collections.winops.volume_activation.tests.unit.plugins.conftest import make_action

KMS_UUID = uuid.UUID("51c82175-844e-4750-b0d8-ec255555bc06")
NDR_UUID = uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860")


def test_bind_pdu_follows_c706() -> None:
    pdu = kp.build_bind(call_id=7)
    assert len(pdu) == 72
    # common header (C706 12.6.3.1): rpc_vers 5, rpc_vers_minor 0, PTYPE bind (11), first+last frag,
    # drep little-endian/ASCII/IEEE, frag_length, auth_length 0, call_id
    assert pdu[:4] == bytes([5, 0, 11, 3]) and pdu[4:8] == b"\x10\x00\x00\x00"
    assert struct.unpack_from("<HHI", pdu, 8) == (72, 0, 7)
    # bind body (C706 12.6.4.3): max_xmit_frag, max_recv_frag, assoc_group_id, one context
    assert struct.unpack_from("<HHI", pdu, 16) == (5840, 5840, 0)
    assert pdu[24] == 1 and struct.unpack_from("<HBB", pdu, 28) == (0, 1, 0)
    assert uuid.UUID(bytes_le=pdu[32:48]) == KMS_UUID and struct.unpack_from("<HH", pdu, 48) == (1, 0)
    assert uuid.UUID(bytes_le=pdu[52:68]) == NDR_UUID and struct.unpack_from("<HH", pdu, 68) == (2, 0)


def bind_ack(results: list[tuple[int, int]], call_id: int = 1, port: bytes = b"1688\x00") -> bytes:
    body = struct.pack("<HHIH", 5840, 5840, 0x1234, len(port)) + port
    body += b"\x00" * (-(16 + len(body)) % 4)
    body += struct.pack("<BBH", len(results), 0, 0)
    for result, reason in results:
        body += struct.pack("<HH", result, reason) + NDR_UUID.bytes_le + struct.pack("<HH", 2, 0)
    return struct.pack("<BBBB4sHHI", 5, 0, 12, 3, b"\x10\0\0\0", 16 + len(body), 0, call_id) + body


@pytest.mark.parametrize(("data", "kind", "detail"), [
    (bind_ack([(0, 0)]), "accepted", "the KMS interface was accepted"),
    (bind_ack([(2, 1)]), "rejected", "provider_rejection (abstract_syntax_not_supported)"),
    (struct.pack("<BBBB4sHHIHB", 5, 0, 13, 3, b"\x10\0\0\0", 19, 0, 1, 4, 0), "nak", "protocol_version_not_supported"),
    (b"HTTP/1.1 400 Bad Request\r\n\r\n", "not_rpc", "not a little-endian DCE/RPC"),
    (b"", "no_answer", "no byte"),
    (b"\x05\x00\x0c", "not_rpc", "shorter than a DCE/RPC header"),
    (bind_ack([(0, 0)], call_id=9), "not_rpc", "for call 9"),
    (bind_ack([(0, 0)])[:40], "not_rpc", "not a little-endian"),  # frag_length beyond the bytes
])
def test_answers(data: bytes, kind: str, detail: str) -> None:
    answer = kp.parse_answer(data)
    assert answer.kind == kind and detail in answer.detail


def test_bind_ack_port_is_read() -> None:
    assert kp.parse_answer(bind_ack([(0, 0)], port=b"1688\x00")).port == "1688"


def results(*, srv_status: int = 0, targets: list[dict[str, t.Any]] | None = None, source: str = "srv",
            service: dict[str, t.Any] | None = None) -> list[dict[str, t.Any]]:
    """A batch result in the executor's documented shape."""
    records = [{"section": "answer", "type": "SRV", "name": "_vlmcs._tcp.corp.test", "ttl": 3600,
                "target": t_["host"], "port": t_["port"], "priority": 0, "weight": 0} for t_ in targets or []]
    return [
        {"op": "cim_query", "ok": True, "instances": [service or {"KeyManagementServiceMachine": None}]},
        {"op": "cim_query", "ok": True, "instances": [{"Domain": "corp.test", "PartOfDomain": True}]},
        {"op": "dns_query", "ok": True, "name": "_vlmcs._tcp.corp.test", "status": srv_status,
         "records": records if srv_status == 0 else []},
        {"op": "tcp_exchange", "ok": True, "source": source, "targets": targets or []},
    ]


def target(host: str = "kms01.corp.test", *, addresses: list[str] | None = None, connected: bool = True,
           error_code: int | None = None, received: bytes = b"", closed: bool = False,
           check: list[tuple[int, bool]] | None = None, receive_error: int | None = None) -> dict[str, t.Any]:
    return {"host": host, "port": 1688, "addresses": ["10.0.0.5"] if addresses is None else addresses,
            "dns_status": 0 if addresses is None or addresses else 9003, "connected": connected,
            "address": "10.0.0.5" if connected else None, "error_code": error_code, "connect_ms": 1.0,
            "received": base64.b64encode(received).decode(), "receive_ms": 0.5, "receive_error_code": receive_error,
            "closed": closed, "check_ports": [{"port": p, "connected": c, "error_code": None if c else 10061}
                                              for p, c in check or []]}


KMS_STATE = {"products": [{"channel": "kms_host", "activated": True, "kms_host": {"listening_port": 1688}}]}
KMS_ON_1689 = {"products": [{"channel": "kms_host", "activated": True, "kms_host": {"listening_port": 1689}}]}
CLIENT_STATE = {"products": [{"channel": "kms_client", "activated": False}]}


@pytest.mark.parametrize(("batch", "state", "verdict"), [
    (results(targets=[target(received=bind_ack([(0, 0)]))]), None, "ok"),
    (results(srv_status=9003), None, "no_srv_record"),
    (results(srv_status=9501), None, "no_srv_record"),
    (results(srv_status=9002), None, "dns_failure"),
    (results(targets=[target("kms-old.corp.test", addresses=[], connected=False)]), None, "name_not_resolved"),
    (results(targets=[target(connected=False, error_code=10060, check=[(5985, False), (5986, False)])]), None,
     "host_down"),
    (results(targets=[target(connected=False, error_code=10060, check=[(5985, True)])]), None, "port_closed"),
    (results(targets=[target(received=b"", closed=True)]), None, "port_closed"),  # accepted, then reset
    (results(targets=[target(received=b"", receive_error=10054)]), None, "port_closed"),
    (results(targets=[target(connected=False, error_code=10061, check=[(5985, True)])]), None, "not_listening"),
    (results(targets=[target(connected=False, error_code=10061, check=[(5985, True)])]), KMS_STATE, "sppsvc_stopped"),
    (results(targets=[target(connected=False, error_code=10061, check=[(5985, True)])]), KMS_ON_1689, "wrong_port"),
    (results(targets=[target(connected=False, error_code=10061, check=[(5985, True)])]), CLIENT_STATE, "not_kms_host"),
    (results(targets=[target(received=bind_ack([(2, 1)]))]), None, "not_kms_host"),
    (results(targets=[target(received=b"SSH-2.0-OpenSSH\r\n")]), None, "not_kms_host"),
    (results(targets=[target(received=b"", receive_error=10060)]), None, "no_answer"),
    (results(targets=[], source="none", service={}), None, "no_srv_record"),
])
def test_verdicts(batch: list[dict[str, t.Any]], state: t.Any, verdict: str) -> None:
    out = kp.judge(batch, lambda name: state)
    assert out["verdict"] == verdict, out
    assert out["next_step"] == kp.NEXT_STEPS[verdict]
    for row in out["kms_hosts"]:
        assert (row["error"] is None) == (row["verdict"] == "ok")


def test_one_host_answering_is_enough_and_rows_keep_the_order_tried() -> None:
    batch = results(targets=[target("kms-old.corp.test", addresses=[], connected=False),
                             target(received=bind_ack([(0, 0)]))])
    out = kp.judge(batch, lambda name: None)
    assert out["verdict"] == "ok"
    assert [r["verdict"] for r in out["kms_hosts"]] == ["name_not_resolved", "ok"]
    assert out["kms_hosts"][1]["latency_ms"] == 1.5 and out["kms_hosts"][1]["priority"] == 0


def test_all_failing_names_the_first_and_the_count() -> None:
    batch = results(targets=[target("a.corp.test", addresses=[], connected=False),
                             target(connected=False, error_code=10060, check=[(5985, False)])])
    out = kp.judge(batch, lambda name: None)
    assert out["verdict"] == "name_not_resolved"
    assert out["message"].startswith("no KMS host answered; 2 tried, the first: a.corp.test does not resolve")


def test_a_failed_probe_operation_is_reported() -> None:
    batch = results()
    batch[3] = {"op": "tcp_exchange", "ok": False, "error": "Add-Type failed", "hresult": 0x80004005}
    out = kp.judge(batch, lambda name: None)
    assert (out["verdict"], out["next_step"]) == ("probe_failed", None)
    assert "Add-Type failed" in out["message"]


def test_batch_reads_only_and_sends_the_bind() -> None:
    ops = kp.operations(domain=None, kms_host=None, kms_port=None, check_ports=[5985],
                        connect_timeout_ms=1000, receive_timeout_ms=500)
    assert [o["op"] for o in ops] == ["cim_query", "cim_query", "dns_query", "tcp_exchange"]
    assert base64.b64decode(ops[3]["send"]) == kp.build_bind()
    assert ops[2]["name_from"]["first_of"][0]["property"] == "KeyManagementServiceLookupDomain"
    assert ops[3]["configured_from"]["host_property"] == "KeyManagementServiceMachine" and ops[3]["srv_from"] == 2
    given = kp.operations(domain="corp.test.", kms_host="kms9", kms_port=1689, check_ports=[],
                          connect_timeout_ms=1000, receive_timeout_ms=500)
    assert given[2]["name"] == "_vlmcs._tcp.corp.test"
    assert given[3]["targets"] == [{"host": "kms9", "port": 1689}] and "srv_from" not in given[3]


# ------------------------------------------------------------------ the action plugin


def answered(module_args: dict[str, t.Any]) -> dict[str, t.Any]:
    """The executor's answer: kms01 (SRV) accepts the bind."""
    return {"changed": False, "results": results(targets=[target(received=bind_ack([(0, 0)]))])}


def test_action_one_round_trip_in_check_mode_too() -> None:
    plugin, fake = make_action(action.ActionModule, {}, [answered], check_mode=True,
                               action="winops.volume_activation.kms_probe")
    res = plugin.run(task_vars={"groups": {"all": ["ws01", "kms01"]},
                                "hostvars": {"ws01": {"ansible_port": 5985}, "kms01": {"ansible_port": 45986}}})
    assert res["verdict"] == "ok" and res["round_trips"] == 1 and not res["changed"]
    assert len(fake.calls) == 1 and fake.calls[0]["check_mode"]
    assert fake.operations[0][3]["check_ports"] == [5985, 5986, 45986]


def test_action_refines_with_the_kms_hosts_known_state() -> None:
    def refused(module_args: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"changed": False, "results": results(targets=[target(
            "kms01.corp.test", connected=False, error_code=10061, check=[(5985, True)])])}
    hostvars = {"kms01": {"volume_activation_host_result": {"failed": True, "license_info": CLIENT_STATE},
                          "activation_report_info": KMS_STATE}}
    plugin, _fake = make_action(action.ActionModule, {}, [refused], action="winops.volume_activation.kms_probe")
    res = plugin.run(task_vars={"groups": {"all": ["kms01", "ws01"]}, "hostvars": hostvars})
    # the failed host-level result is not trusted; the report's license_info read is
    assert res["verdict"] == "sppsvc_stopped", res


@pytest.mark.parametrize(("args", "message"), [
    ({"connect_timeout_ms": 50}, "connect_timeout_ms must be between 100 and 10000 ms, got 50"),
    ({"kms_port": 0}, "kms_port must be a TCP port (1-65535), got 0"),
    ({"kms_host": "kms 01"}, "kms_host 'kms 01' is not a DNS name or an IPv4 address"),
    ({"check_ports": [1, 2, 3, 4, 5, 6, 7, 8, 9]}, "check_ports must be up to 8 TCP ports, got [1, 2, 3, 4, 5, 6, 7, 8, 9]"),
])
def test_action_refuses_bad_options_before_any_round_trip(args: dict[str, t.Any], message: str) -> None:
    plugin, fake = make_action(action.ActionModule, args, [], action="winops.volume_activation.kms_probe")
    res = plugin.run(task_vars={})
    assert res["failed"] and res["msg"] == f"Failed to probe the KMS hosts: {message}"
    assert fake.calls == []
