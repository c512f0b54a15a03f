"""KMS over real TCP on 127.0.x.y: bind, request/response, scoping, faults, stop."""

from __future__ import annotations

import socket
import threading
import time
import typing as t

import pytest

from winlab.protocols import kms_wire as w
from winlab.servers import kms
from winlab.servers.kms import (
    KmsConnector,
    KmsListener,
    KmsRpcFault,
    KmsRpcRejected,
    KmsUnreachable,
    probe_bind,
)

HOST = "127.0.20.1"
CLIENT_A = "127.0.20.11"
CLIENT_B = "127.0.20.12"


def body(cmid_suffix: str = "01", fqdn: str = "client01.contoso.lab") -> dict[str, t.Any]:
    return {
        "client_machine_id": f"3f2504e0-4f89-41d3-9a0c-0305e82c33{cmid_suffix}",
        "client_fqdn": fqdn,
        "application_id": "55c92734-d682-4d71-983e-d6ec3f16059f",
        "activation_id": "73111121-5638-40f6-bc11-f1d7b0d64300",
        "license_status": 1,
        "request_time": "2026-01-01T09:30:00Z",
    }


class CountingHost:
    """A stand-in handler with real state: counts distinct CMIDs and answers with the count.

    (The licensing decisions of the lab live in the host model; this only proves the
    transport carries what the handler decides, in both directions.)
    """

    def __init__(self) -> None:
        self.cmids: set[str] = set()
        self.calls: list[tuple[dict[str, t.Any], str]] = []

    def __call__(self, request: dict[str, t.Any], peer: str) -> dict[str, t.Any]:
        self.calls.append((request, peer))
        self.cmids.add(request["client_machine_id"])
        count = len(self.cmids)
        return {
            "hresult": 0 if count >= 2 else 0xC004F038,
            "current_count": count,
            "required_count": 2,
            "activation_interval": 120,
            "renewal_interval": 10080,
            "host_fqdn": "kms1.contoso.lab",
            "host_extended_pid": "06401-00206-271-392043-03-1033-17763.0000-0452019",
        }


@pytest.fixture
def host() -> CountingHost:
    return CountingHost()


@pytest.fixture
def listener(host: CountingHost) -> t.Iterator[KmsListener]:
    with KmsListener(HOST, 0, host) as server:
        yield server


def kms_threads() -> list[str]:
    return [th.name for th in threading.enumerate() if th.name.startswith("kms-")]


def raw_exchange(port: int, *pdus: bytes, source: str = CLIENT_A) -> list[w.Pdu]:
    """Send raw PDUs one at a time, reading one answer after each."""
    answers = []
    with socket.create_connection((HOST, port), timeout=3, source_address=(source, 0)) as sock:
        for data in pdus:
            sock.sendall(data)
            answers.append(kms.read_pdu(sock))
    return answers


# ------------------------------------------------------------------------ round trip


def test_bind_request_response_round_trip(listener: KmsListener, host: CountingHost) -> None:
    began = time.perf_counter()
    first = KmsConnector().request(HOST, listener.port, body("01"), CLIENT_A)
    elapsed = time.perf_counter() - began
    assert first["hresult"] == 0xC004F038
    assert first["current_count"] == 1
    second = KmsConnector().request(HOST, listener.port, body("02", "client02.contoso.lab"), CLIENT_B)
    assert (second["hresult"], second["current_count"], second["required_count"]) == (0, 2, 2)
    assert second["host_fqdn"] == "kms1.contoso.lab"
    # The handler saw the validated body (schema filled in) and the client's own source address.
    assert host.calls[0] == ({"schema": "winlab-kms/1", **body("01")}, CLIENT_A)
    assert host.calls[1][1] == CLIENT_B
    assert listener.stats["responses"] == 2
    assert listener.stats["binds"] == 2
    assert elapsed < 2.0, f"one KMS round trip took {elapsed:.3f} s"


def test_tcp_port_accepts_a_dce_rpc_bind(listener: KmsListener) -> None:
    assert probe_bind(HOST, listener.port, CLIENT_A)
    (ack,) = raw_exchange(listener.port, w.encode(w.kms_bind(42)))
    assert isinstance(ack, w.BindAck)
    assert ack.call_id == 42
    assert ack.secondary_address == str(listener.port)
    assert [(r.result, r.transfer_syntax) for r in ack.results] == [(w.RESULT_ACCEPTANCE, w.NDR_SYNTAX)]


def test_fragmented_request_is_reassembled(listener: KmsListener, host: CountingHost) -> None:
    stub = w.encode_request_body(body("07"))
    fragments = [
        w.Request(9, 0, 0, stub[:40], len(stub), w.PFC_FIRST_FRAG),
        w.Request(9, 0, 0, stub[40:], len(stub) - 40, w.PFC_LAST_FRAG),
    ]
    with socket.create_connection((HOST, listener.port), timeout=3, source_address=(CLIENT_A, 0)) as sock:
        sock.sendall(w.encode(w.kms_bind(8)))
        assert isinstance(kms.read_pdu(sock), w.BindAck)
        sock.sendall(w.encode(fragments[0]) + w.encode(fragments[1]))
        answer = kms.read_pdu(sock)
    assert isinstance(answer, w.Response)
    assert answer.call_id == 9
    assert w.decode_response_body(answer.stub)["current_count"] == 1
    assert host.calls[0][0]["client_machine_id"].endswith("07")


# -------------------------------------------------------------------- firewall scope


def test_scoped_away_peer_is_reset_and_gets_0xc004f074(host: CountingHost) -> None:
    with KmsListener(HOST, 0, host, allow=lambda peer: peer == CLIENT_A) as server:
        with pytest.raises(KmsUnreachable) as info:
            KmsConnector().request(HOST, server.port, body(), CLIENT_B)
        err = info.value
        assert (err.reason, err.hresult, err.rpc_status) == ("reset", 0xC004F074, 0x800706BA)
        assert str(err) == (
            f"Failed to reach KMS host {HOST}:{server.port}: connection reset by the host "
            "(RPC_S_SERVER_UNAVAILABLE 0x800706BA)"
        )
        assert not probe_bind(HOST, server.port, CLIENT_B)
        assert server.stats["resets"] == 2
        assert host.calls == []
        # The same listener still serves the client inside the scope.
        assert KmsConnector().request(HOST, server.port, body(), CLIENT_A)["current_count"] == 1
        # Changing the rule at run time takes effect for the next connection.
        server.allow = lambda peer: True
        assert probe_bind(HOST, server.port, CLIENT_B)


def test_closed_port_is_refused() -> None:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]  # bound, never listening: a port with no service
        with pytest.raises(KmsUnreachable) as info:
            KmsConnector().request(HOST, port, body(), CLIENT_A)
    assert (info.value.reason, info.value.hresult) == ("refused", 0xC004F074)
    assert not probe_bind(HOST, port)


def test_slow_host_times_out() -> None:
    def slow(request: dict[str, t.Any], peer: str) -> dict[str, t.Any]:
        time.sleep(1.0)
        return CountingHost()(request, peer)

    with KmsListener(HOST, 0, slow) as server, pytest.raises(KmsUnreachable) as info:
        KmsConnector().request(HOST, server.port, body(), CLIENT_A, timeout=0.3)
    assert info.value.reason == "timeout"


# ----------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("request_pdu", "status"),
    [
        (w.Request(2, 0, 5, w.encode_request_body(body()), 0), w.NCA_S_OP_RNG_ERROR),
        (w.Request(2, 0, 0, b'{"not": "the schema"}', 0), w.NCA_S_FAULT_NDR),
        (w.Request(2, 0, 0, b"\x00\x01binary", 0), w.NCA_S_FAULT_NDR),
        (w.Request(2, 3, 0, w.encode_request_body(body()), 0), w.NCA_S_UNK_IF),
    ],
    ids=["unknown-opnum", "wrong-schema", "not-json", "unbound-context"],
)
def test_bad_calls_get_a_fault_and_the_association_survives(
    listener: KmsListener, host: CountingHost, request_pdu: w.Request, status: int
) -> None:
    good = w.Request(4, 0, 0, w.encode_request_body(body()), 0)
    pdus = [w.encode(w.kms_bind(1)), w.encode(request_pdu)]
    if status != w.NCA_S_UNK_IF:  # an unknown context ends the association; the others do not
        pdus.append(w.encode(good))
    answers = raw_exchange(listener.port, *pdus)
    fault = answers[1]
    assert isinstance(fault, w.Fault)
    assert (fault.call_id, fault.status) == (2, status)
    if status != w.NCA_S_UNK_IF:
        assert isinstance(answers[2], w.Response)
        assert answers[2].call_id == 4
    assert listener.stats["faults"] == 1


def test_request_before_bind_is_a_protocol_error(listener: KmsListener) -> None:
    (fault,) = raw_exchange(listener.port, w.encode(w.Request(1, 0, 0, w.encode_request_body(body()), 0)))
    assert isinstance(fault, w.Fault)
    assert fault.status_name == "nca_s_proto_error"


@pytest.mark.parametrize(
    ("bind", "expected"),
    [
        (
            w.Bind(1, (w.ContextElement(0, w.SyntaxId(w.NDR_UUID, 2), (w.NDR_SYNTAX,)),)),
            (w.RESULT_PROVIDER_REJECTION, w.REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED),
        ),
        (
            w.Bind(1, (w.ContextElement(0, w.KMS_SYNTAX, (w.SyntaxId(w.KMS_INTERFACE_UUID, 9),)),)),
            (w.RESULT_PROVIDER_REJECTION, w.REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED),
        ),
        (
            w.Bind(1, (w.ContextElement(0, w.KMS_SYNTAX, (w.NDR_SYNTAX,)),), rpc_vers_minor=1),
            w.BindNak(1, w.REJECT_PROTOCOL_VERSION_NOT_SUPPORTED),
        ),
    ],
    ids=["other-interface", "no-ndr", "rpc-5.1"],
)
def test_listener_rejects_binds_it_cannot_serve(listener: KmsListener, bind: w.Bind, expected: t.Any) -> None:
    (answer,) = raw_exchange(listener.port, w.encode(bind))
    if isinstance(expected, w.BindNak):
        assert answer == expected
    else:
        assert isinstance(answer, w.BindAck)
        assert [(r.result, r.reason) for r in answer.results] == [expected]


class FakeHost:
    """A one-connection TCP peer that answers a bind and a request with chosen PDUs."""

    def __init__(
        self, on_bind: t.Callable[[w.Bind], w.Pdu], on_request: t.Callable[[w.Request], w.Pdu]
    ) -> None:
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, args=(on_bind, on_request))
        self.thread.start()

    def _serve(
        self, on_bind: t.Callable[[w.Bind], w.Pdu], on_request: t.Callable[[w.Request], w.Pdu]
    ) -> None:
        conn, _ = self.sock.accept()
        with conn:
            bind = kms.read_pdu(conn)
            assert isinstance(bind, w.Bind)
            conn.sendall(w.encode(on_bind(bind)))
            try:
                request = kms.read_pdu(conn)
            except (OSError, kms._Closed):
                return
            assert isinstance(request, w.Request)
            conn.sendall(w.encode(on_request(request)))

    def close(self) -> None:
        self.thread.join(5)
        self.sock.close()


def _accept(bind: w.Bind) -> w.Pdu:
    return w.answer_bind(bind, 1688, assoc_group_id=1)


@pytest.mark.parametrize(
    ("on_bind", "on_request", "error", "message", "hresult"),
    [
        (
            lambda b: w.BindNak(b.call_id, w.REJECT_PROTOCOL_VERSION_NOT_SUPPORTED),
            None,
            KmsRpcRejected,
            "bind_nak reason 4",
            0x800706C0,
        ),
        (
            lambda b: w.BindAck(
                b.call_id, (w.ContextResult(w.RESULT_PROVIDER_REJECTION, 1, w._NULL_SYNTAX),), "1688"
            ),
            None,
            KmsRpcRejected,
            "bind_ack accepted no context",
            0x800706B5,
        ),
        (
            _accept,
            lambda r: w.Fault(r.call_id, w.NCA_S_OP_RNG_ERROR),
            KmsRpcFault,
            "nca_s_op_rng_error",
            0x800706D1,
        ),
        (
            _accept,
            lambda r: w.Response(r.call_id + 100, 0, b"{}"),
            kms.KmsProtocolError,
            r"answer for call \d+, expected call \d+",
            0x800706C0,
        ),
        (
            _accept,
            lambda r: w.Response(r.call_id, 0, b'{"schema": "winlab-kms/1", "hresult": 0}'),
            kms.KmsProtocolError,
            "lacks 'current_count'",
            0x800706C0,
        ),
    ],
    ids=["bind-nak", "context-rejected", "fault", "wrong-call-id", "bad-body"],
)
def test_connector_types_every_failure(
    on_bind: t.Callable[[w.Bind], w.Pdu],
    on_request: t.Callable[[w.Request], w.Pdu] | None,
    error: type[kms.KmsTransportError],
    message: str,
    hresult: int,
) -> None:
    fake = FakeHost(on_bind, on_request or (lambda r: w.Fault(r.call_id, 0)))
    try:
        with pytest.raises(error, match=message) as info:
            KmsConnector().request(HOST, fake.port, body(), CLIENT_A)
        assert info.value.hresult == hresult
    finally:
        fake.close()


def test_handler_failure_becomes_a_fault_and_is_recorded() -> None:
    def broken(request: dict[str, t.Any], peer: str) -> dict[str, t.Any]:
        return {"hresult": "not a number"}

    with KmsListener(HOST, 0, broken) as server:
        with pytest.raises(KmsRpcFault) as info:
            KmsConnector().request(HOST, server.port, body(), CLIENT_A)
        assert (info.value.status_name, info.value.hresult) == ("nca_s_fault_other", 0x800706BE)
        assert len(server.errors) == 1
        assert isinstance(server.errors[0], w.KmsBodyError)


# -------------------------------------------------------------------------- lifecycle


def test_stop_closes_everything(host: CountingHost) -> None:
    server = KmsListener(HOST, 0, host)
    server.start()
    port = server.port
    # An idle client keeps a connection open; stop must close it too.
    idle = socket.create_connection((HOST, port), timeout=3, source_address=(CLIENT_A, 0))
    idle.sendall(w.encode(w.kms_bind(1)))
    assert isinstance(kms.read_pdu(idle), w.BindAck)
    server.stop()
    assert idle.recv(1) == b""  # the host closed the association
    idle.close()
    assert kms_threads() == []
    assert not server.listening
    with socket.socket() as s:
        assert s.connect_ex((HOST, port)) != 0
    # The port can be taken again at once (a restarted sppsvc).
    with KmsListener(HOST, port, host) as again:
        assert again.port == port
        assert probe_bind(HOST, port)
    server.stop()  # idempotent


@pytest.mark.parametrize(
    ("target", "source", "message"),
    [
        ("192.0.2.10", CLIENT_A, "127.0.0.0/8 addresses only"),
        ("kms1.contoso.lab", CLIENT_A, "resolve names through DNS first"),
        (HOST, "10.0.0.1", "127.0.0.0/8 addresses only"),
    ],
)
def test_connector_refuses_non_loopback(target: str, source: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KmsConnector().request(target, 1688, body(), source)


def test_listener_refuses_non_loopback() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.0/8 addresses only"):
        KmsListener("0.0.0.0", 0, CountingHost())


def test_several_hosts_serve_several_clients_concurrently() -> None:
    hosts = [CountingHost() for _ in range(3)]
    listeners = [KmsListener(f"127.0.21.{i + 1}", 0, h) for i, h in enumerate(hosts)]
    for listener in listeners:
        listener.start()
    try:
        results: list[int] = []
        errors: list[BaseException] = []

        def client(n: int) -> None:
            target = listeners[n % 3]
            try:
                answer = KmsConnector().request(
                    target.address,
                    target.port,
                    body(f"{n:02d}", f"client{n:02d}.contoso.lab"),
                    f"127.0.22.{n + 1}",
                )
                results.append(answer["current_count"])
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(30)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(10)
        assert errors == []
        assert len(results) == 30
        assert [len(h.cmids) for h in hosts] == [10, 10, 10]
        assert {peer for h in hosts for _, peer in h.calls} == {f"127.0.22.{n + 1}" for n in range(30)}
    finally:
        for listener in listeners:
            listener.stop()
