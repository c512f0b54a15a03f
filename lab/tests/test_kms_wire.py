"""DCE/RPC framing of the lab's KMS exchange: hand-written vectors from C706, round trips, fragmentation, bodies."""

from __future__ import annotations

import typing as t
import uuid

import pytest

from winlab.protocols import kms_wire as w

# The bind a KMS client sends, written out byte by byte from C706 12.6.4.3 (bind) and
# 12.6.3.1 (common header, p_cont_list_t, p_syntax_id_t), not produced by the encoder.
BIND_VECTOR = bytes.fromhex(
    # rpc_vers 5, minor 0, PTYPE 11 (bind), pfc_flags FIRST|LAST, drep 10 00 00 00 (LE, ASCII, IEEE)
    "05 00 0b 03 10 00 00 00"
    # frag_length 72, auth_length 0, call_id 1
    "48 00 00 00 01 00 00 00"
    # max_xmit_frag 4280, max_recv_frag 4280, assoc_group_id 0
    "b8 10 b8 10 00 00 00 00"
    # n_context_elem 1, reserved, reserved2
    "01 00 00 00"
    # p_cont_id 0, n_transfer_syn 1, reserved
    "00 00 01 00"
    # abstract syntax 51c82175-844e-4750-b0d8-ec255555bc06 (first three fields little-endian), version 1.0
    "75 21 c8 51 4e 84 50 47 b0 d8 ec 25 55 55 bc 06 01 00 00 00"
    # transfer syntax NDR 8a885d04-1ceb-11c9-9fe8-08002b104860, version 2.0
    "04 5d 88 8a eb 1c c9 11 9f e8 08 00 2b 10 48 60 02 00 00 00"
)

# bind_ack accepting it on port 1688 (C706 12.6.4.4): secondary address "1688\0" then one
# pad byte so that the result list starts 4-aligned (offset 32 of the PDU).
BIND_ACK_VECTOR = bytes.fromhex(
    "05 00 0c 03 10 00 00 00 3c 00 00 00 01 00 00 00"
    "b8 10 b8 10 78 56 34 12"  # max_xmit, max_recv, assoc_group_id 0x12345678
    "05 00 31 36 38 38 00"  # sec_addr length 5, "1688\0"
    "00"  # pad
    "01 00 00 00"  # n_results 1
    "00 00 00 00"  # result acceptance, reason not specified
    "04 5d 88 8a eb 1c c9 11 9f e8 08 00 2b 10 48 60 02 00 00 00"
)

# fault for call 2 with nca_s_op_rng_error (C706 12.6.4.7 and appendix E).
FAULT_VECTOR = bytes.fromhex(
    "05 00 03 03 10 00 00 00 20 00 00 00 02 00 00 00"
    "00 00 00 00 00 00 00 00"  # alloc_hint, p_cont_id, cancel_count, reserved
    "02 00 01 1c 00 00 00 00"  # status 0x1c010002, reserved
)

CMID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
WINDOWS_APP_ID = "55c92734-d682-4d71-983e-d6ec3f16059f"
SKU_ID = "73111121-5638-40f6-bc11-f1d7b0d64300"

REQUEST_BODY: dict[str, t.Any] = {
    "client_machine_id": CMID,
    "client_fqdn": "client01.contoso.lab",
    "application_id": WINDOWS_APP_ID,
    "activation_id": SKU_ID,
    "kms_counted_id": None,
    "license_status": 1,
    "request_time": "2026-01-01T09:30:00Z",
}
RESPONSE_BODY: dict[str, t.Any] = {
    "hresult": 0xC004F038,
    "current_count": 3,
    "required_count": 25,
    "activation_interval": 120,
    "renewal_interval": 10080,
    "host_fqdn": "kms1.contoso.lab",
    "host_extended_pid": "06401-00206-271-392043-03-1033-17763.0000-0452019",
}


def test_bind_vector_from_the_spec() -> None:
    assert len(BIND_VECTOR) == 72
    assert w.encode(w.kms_bind(1)) == BIND_VECTOR
    decoded = w.decode(BIND_VECTOR)
    assert decoded == w.kms_bind(1)
    assert isinstance(decoded, w.Bind)
    assert decoded.contexts[0].abstract_syntax.uuid == uuid.UUID("51c82175-844e-4750-b0d8-ec255555bc06")


def test_bind_ack_vector_from_the_spec() -> None:
    ack = w.answer_bind(w.kms_bind(1), 1688, assoc_group_id=0x12345678)
    assert ack == w.BindAck(
        1, (w.ContextResult(w.RESULT_ACCEPTANCE, 0, w.NDR_SYNTAX),), "1688", 4280, 4280, 0x12345678
    )
    assert w.encode(ack) == BIND_ACK_VECTOR
    assert w.decode(BIND_ACK_VECTOR) == ack


def test_fault_vector_from_the_spec() -> None:
    fault = w.Fault(2, w.NCA_S_OP_RNG_ERROR)
    assert w.encode(fault) == FAULT_VECTOR
    decoded = w.decode(FAULT_VECTOR)
    assert decoded == fault
    assert isinstance(decoded, w.Fault)
    assert decoded.status_name == "nca_s_op_rng_error"


OTHER_IF = w.SyntaxId(uuid.UUID("e1af8308-5d1f-11c9-91a4-08002b14a0fa"), 3)  # the endpoint mapper

ROUND_TRIPS: list[w.Pdu] = [
    w.kms_bind(7, max_frag=5840, context_id=3),
    w.Bind(
        9,
        (
            w.ContextElement(0, OTHER_IF, (w.NDR_SYNTAX,)),
            w.ContextElement(1, w.KMS_SYNTAX, (w.NDR_SYNTAX, OTHER_IF)),
        ),
        2048,
        4096,
        5,
    ),
    w.BindAck(
        9,
        (
            w.ContextResult(
                w.RESULT_PROVIDER_REJECTION, w.REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED, w._NULL_SYNTAX
            ),
            w.ContextResult(w.RESULT_ACCEPTANCE, 0, w.NDR_SYNTAX),
        ),
        "49152",
        2048,
        2048,
        77,
    ),
    w.BindAck(1, (), ""),
    w.BindNak(4, w.REJECT_PROTOCOL_VERSION_NOT_SUPPORTED, ((5, 0), (5, 1))),
    w.Request(2, 0, 0, b'{"a":1}', 7),
    w.Request(3, 1, 5, b"\x00" * 40, 40, w.PFC_FIRST_FRAG, uuid.UUID("12345678-1234-5678-1234-567812345678")),
    w.Response(2, 0, b'{"hresult":0}', 13, w.PFC_LAST_FRAG, 1),
    w.Fault(8, w.NCA_S_FAULT_NDR, 1, 0, w.PFC_FIRST_FRAG | w.PFC_LAST_FRAG, 2),
]


@pytest.mark.parametrize("pdu", ROUND_TRIPS, ids=lambda p: type(p).__name__)
def test_round_trip(pdu: w.Pdu) -> None:
    data = w.encode(pdu)
    header = w.decode_header(data)
    assert header.frag_length == len(data)
    assert header.drep == w.DREP_LE
    assert header.call_id == pdu.call_id
    assert w.decode(data) == pdu


@pytest.mark.parametrize(
    ("size", "max_frag"), [(0, 1432), (1, 1432), (1400, 1432), (10_000, 1432), (10_000, 4280)]
)
def test_fragmentation_respects_max_frag_and_reassembles(size: int, max_frag: int) -> None:
    stub = bytes(i % 251 for i in range(size))
    fragments = w.response_fragments(5, stub, max_frag=max_frag)
    encoded = [w.encode(f) for f in fragments]
    assert all(len(e) <= max_frag for e in encoded)
    assert fragments[0].pfc_flags & w.PFC_FIRST_FRAG
    assert fragments[-1].pfc_flags & w.PFC_LAST_FRAG
    assert sum(1 for f in fragments if f.pfc_flags & w.PFC_FIRST_FRAG) == 1
    # alloc_hint: the stub bytes still to come, this fragment's included (C706 12.6.4.9).
    sent_before = [sum(len(f.stub) for f in fragments[:i]) for i in range(len(fragments))]
    assert [f.alloc_hint for f in fragments] == [size - n for n in sent_before]
    reassembler = w.Reassembler()
    results = [reassembler.add(t.cast(w.Response, w.decode(e))) for e in encoded]
    assert results[:-1] == [None] * (len(results) - 1)
    assert results[-1] == stub


def test_request_fragments_carry_opnum_in_each_fragment() -> None:
    fragments = w.request_fragments(11, b"x" * 5000, opnum=3, context_id=2, max_frag=1432)
    assert len(fragments) == 4
    assert {(f.opnum, f.context_id, f.call_id) for f in fragments} == {(3, 2, 11)}


@pytest.mark.parametrize(
    ("fragments", "message"),
    [
        ([w.Response(1, 0, b"a", 1, w.PFC_LAST_FRAG)], "lacks PFC_FIRST_FRAG"),
        (
            [w.Response(1, 0, b"a", 2, w.PFC_FIRST_FRAG), w.Response(2, 0, b"b", 1, w.PFC_LAST_FRAG)],
            "inside call 1",
        ),
        (
            [w.Response(1, 0, b"a", 2, w.PFC_FIRST_FRAG), w.Response(1, 0, b"b", 1, w.PFC_FIRST_FRAG)],
            "middle",
        ),
        ([w.Response(1, 0, b"a" * 20, 20, w.PFC_FIRST_FRAG)], "exceeds 16 bytes"),
    ],
)
def test_reassembler_rejects_broken_sequences(fragments: list[w.Response], message: str) -> None:
    reassembler = w.Reassembler(limit=16)
    with pytest.raises(w.WireError, match=message):
        for fragment in fragments:
            reassembler.add(fragment)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (BIND_VECTOR[:10], "truncated header"),
        (BIND_VECTOR[:-1], "frag_length 72 but 71 bytes given"),
        (b"\x04" + BIND_VECTOR[1:], r"rpc_vers 4"),
        (BIND_VECTOR[:4] + b"\x00\x00\x00\x00" + BIND_VECTOR[8:], "big-endian"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "rpc_vers 71"),
        (BIND_VECTOR[:2] + b"\x0e" + BIND_VECTOR[3:], "PDU type 14 is not spoken"),
        (BIND_VECTOR[:10] + b"\x08\x00" + BIND_VECTOR[12:], "authenticated PDUs"),
        (BIND_VECTOR[:8] + b"\x44\x00" + BIND_VECTOR[10:68], "contexts end at 68|truncated"),
        (FAULT_VECTOR[:8] + b"\x1c\x00" + FAULT_VECTOR[10:28], "truncated"),
    ],
    ids=[
        "short",
        "length",
        "version",
        "big-endian",
        "http",
        "alter-context",
        "auth",
        "bind-short",
        "fault-short",
    ],
)
def test_decode_rejects_malformed_pdus(data: bytes, message: str) -> None:
    with pytest.raises(w.WireError, match=message):
        w.decode(data)


def test_answer_bind_accepts_only_the_kms_interface_over_ndr() -> None:
    bind = w.Bind(
        3,
        (
            w.ContextElement(0, OTHER_IF, (w.NDR_SYNTAX,)),
            w.ContextElement(1, w.KMS_SYNTAX, (OTHER_IF,)),
            w.ContextElement(2, w.KMS_SYNTAX, (OTHER_IF, w.NDR_SYNTAX)),
        ),
        2000,
        8000,
    )
    ack = w.answer_bind(bind, 1688, assoc_group_id=9)
    assert isinstance(ack, w.BindAck)
    assert [(r.result, r.reason) for r in ack.results] == [
        (w.RESULT_PROVIDER_REJECTION, w.REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED),
        (w.RESULT_PROVIDER_REJECTION, w.REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED),
        (w.RESULT_ACCEPTANCE, 0),
    ]
    assert w.accepted_context_ids(bind, ack) == {2}
    # Server sends at most what the client receives, and receives at most what the client sends.
    assert (ack.max_xmit_frag, ack.max_recv_frag) == (4280, 2000)
    assert ack.secondary_address == "1688"


@pytest.mark.parametrize(
    ("bind", "reason"),
    [
        (w.Bind(1, (w.ContextElement(0, w.KMS_SYNTAX, (w.NDR_SYNTAX,)),), rpc_vers_minor=1), 4),
        (w.Bind(1, (w.ContextElement(0, w.KMS_SYNTAX, (w.NDR_SYNTAX,)),), 512, 512), 0),
    ],
    ids=["version-5.1", "fragments-too-small"],
)
def test_answer_bind_naks_what_it_cannot_serve(bind: w.Bind, reason: int) -> None:
    nak = w.answer_bind(bind, 1688, assoc_group_id=1)
    assert nak == w.BindNak(1, reason)
    assert w.decode(w.encode(nak)) == nak


def test_fragment_size_below_the_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="below C706's minimum 1432"):
        w.request_fragments(1, b"x", max_frag=1000)


# ------------------------------------------------------------------------ the bodies


def test_request_body_round_trip_is_compact_sorted_utf8_json() -> None:
    stub = w.encode_request_body(REQUEST_BODY)
    assert stub.startswith(b'{"activation_id":"73111121-')
    assert b" " not in stub
    decoded = w.decode_request_body(stub)
    assert decoded == {"schema": "winlab-kms/1", **REQUEST_BODY}


def test_response_body_round_trip() -> None:
    decoded = w.decode_response_body(w.encode_response_body(RESPONSE_BODY))
    assert decoded == {"schema": "winlab-kms/1", **RESPONSE_BODY}
    assert decoded["hresult"] == 0xC004F038


def test_kms_counted_id_is_optional() -> None:
    body = {k: v for k, v in REQUEST_BODY.items() if k != "kms_counted_id"}
    assert "kms_counted_id" not in w.decode_request_body(w.encode_request_body(body))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"client_machine_id": None}, "'client_machine_id' must be a GUID, got None"),
        ({"activation_id": "not-a-guid"}, "'activation_id' must be a GUID"),
        ({"license_status": 7}, "'license_status' must be an integer 0..6, got 7"),
        ({"license_status": True}, "'license_status' must be an integer 0..6, got True"),
        ({"request_time": "2026-01-01T09:30:00"}, "'request_time' must be an ISO 8601 UTC time"),
        ({"client_fqdn": "bad name"}, "'client_fqdn' must be a DNS name"),
        ({"product_key": "XXXXX"}, r"unknown key\(s\): product_key"),
        ({"schema": "ms-kms"}, "'schema' must be 'winlab-kms/1'"),
    ],
)
def test_request_body_errors_name_the_key(change: dict[str, t.Any], message: str) -> None:
    with pytest.raises(w.KmsBodyError, match=message):
        w.encode_request_body({**REQUEST_BODY, **change})


@pytest.mark.parametrize(
    ("stub", "message"),
    [
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b"[1, 2]", "must be a JSON object, not list"),
        (b'{"schema": "winlab-kms/1"}', "lacks 'hresult'"),
    ],
)
def test_response_body_decode_errors(stub: bytes, message: str) -> None:
    with pytest.raises(w.KmsBodyError, match=message):
        w.decode_response_body(stub)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hresult": -2147217352}, "'hresult' must be an unsigned 32-bit integer"),
        ({"renewal_interval": 10}, "'renewal_interval' must be minutes in 15..43200"),
        ({"host_extended_pid": ""}, "'host_extended_pid' must be a non-empty string"),
    ],
)
def test_response_body_errors_name_the_key(change: dict[str, t.Any], message: str) -> None:
    with pytest.raises(w.KmsBodyError, match=message):
        w.encode_response_body({**RESPONSE_BODY, **change})
