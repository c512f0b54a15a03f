"""KMS over real TCP between lab addresses: a host's listener and a client's connector.

Sockets and threads only; the PDUs come from :mod:`winlab.protocols.kms_wire` and
every licensing decision from the ``handler`` the host model supplies.

- :class:`KmsListener` listens on one 127/8 address and port (1688 by default on a
  Windows KMS host [WSD-PLAN]; tests use free ports). The socket is bound and
  listening before :meth:`KmsListener.start` returns. Per connection it answers
  ``bind`` with ``bind_ack``/``bind_nak`` and each ``request`` (opnum 0) with a
  ``response`` whose body the handler produced, or a ``fault``.
- Firewall scoping: ``allow(peer_ip)`` is asked for every accepted connection;
  when it says no, the connection is closed with SO_LINGER 0, so the client gets a
  TCP reset. Windows Firewall drops (or, with a block rule, rejects) the SYN
  instead, and the client waits for its connect timeout; the lab resets so tests do
  not wait 21 s. What the client reports is the same either way: the host is
  unreachable (RPC_S_SERVER_UNAVAILABLE per host, 0xC004F074 when no host answered
  [SUP error-0xc004f074-activate-windows.md]). A rule that is off altogether is
  :meth:`KmsListener.stop`: connection refused.
- :class:`KmsConnector` is the client side: it binds its socket to the client's
  own loopback address (so the host sees, and scopes by, the client's address),
  binds to the KMS interface, sends one request and returns the response body.
  Failures are typed: :class:`KmsUnreachable` (refused, reset, timeout, closed),
  :class:`KmsRpcRejected` (bind_nak or no accepted context), :class:`KmsRpcFault`
  (a fault PDU), :class:`KmsProtocolError` (malformed answer).

One accept thread per listener and one short-lived thread per connection: enough
for a fleet of a few KMS hosts and dozens of clients. The handler may be called
from several threads at once; pass ``handler_lock`` to serialise calls into a
shared model.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import itertools
import selectors
import socket
import struct
import threading
import types
import typing as t

from winlab.protocols import kms_wire as w

#: Default KMS port [WSD-PLAN].
KMS_PORT = 1688

# Win32 RPC status codes as HRESULT_FROM_WIN32 (winerror.h), the per-host errors a
# Windows client records before giving up with 0xC004F074.
RPC_S_SERVER_UNAVAILABLE = 0x800706BA  # 1722
RPC_S_UNKNOWN_IF = 0x800706B5  # 1717
RPC_S_CALL_FAILED = 0x800706BE  # 1726
RPC_S_PROTOCOL_ERROR = 0x800706C0  # 1728
RPC_S_PROCNUM_OUT_OF_RANGE = 0x800706D1  # 1745
RPC_X_BAD_STUB_DATA = 0x800706F7  # 1783
#: SL_E_VL_BINDING_SERVICE_UNAVAILABLE: no KMS host could be contacted [licensing-api §4].
SL_E_VL_BINDING_SERVICE_UNAVAILABLE = 0xC004F074

# How a Windows RPC runtime surfaces a fault status to the caller (MS-RPCE 3.1.1.5.5 / winerror.h).
_FAULT_TO_WIN32 = {
    w.NCA_S_OP_RNG_ERROR: RPC_S_PROCNUM_OUT_OF_RANGE,
    w.NCA_S_UNK_IF: RPC_S_UNKNOWN_IF,
    w.NCA_S_PROTO_ERROR: RPC_S_PROTOCOL_ERROR,
    w.NCA_S_FAULT_NDR: RPC_X_BAD_STUB_DATA,
}

Handler = t.Callable[[dict[str, t.Any], str], t.Mapping[str, t.Any]]
Allow = t.Callable[[str], bool]


def _loopback(address: str, what: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError as exc:
        raise ValueError(
            f"Failed to use {what} '{address}': not an IPv4 address (resolve names through DNS first)"
        ) from exc
    if ip.version != 4 or not ip.is_loopback:
        raise ValueError(f"Failed to use {what} '{address}': the lab uses 127.0.0.0/8 addresses only")
    return str(ip)


# ----------------------------------------------------------------------------- errors


class KmsTransportError(Exception):
    """A KMS exchange failed below the licensing layer; ``hresult`` is what the client records."""

    def __init__(self, hresult: int, message: str) -> None:
        self.hresult = hresult
        super().__init__(message)


class KmsUnreachable(KmsTransportError):
    """The host could not be reached: ``reason`` is ``refused``, ``reset``, ``timeout`` or ``closed``.

    ``hresult`` is 0xC004F074 (SL_E_VL_BINDING_SERVICE_UNAVAILABLE), what the client
    reports when no host answered; ``rpc_status`` is the per-host cause,
    0x800706BA (RPC_S_SERVER_UNAVAILABLE) [licensing-api §4].
    """

    def __init__(self, target: str, port: int, reason: str, detail: str) -> None:
        self.target = target
        self.port = port
        self.reason = reason
        self.rpc_status = RPC_S_SERVER_UNAVAILABLE
        super().__init__(
            SL_E_VL_BINDING_SERVICE_UNAVAILABLE,
            f"Failed to reach KMS host {target}:{port}: {detail} (RPC_S_SERVER_UNAVAILABLE 0x{RPC_S_SERVER_UNAVAILABLE:08X})",
        )


class KmsRpcRejected(KmsTransportError):
    """The host refused the RPC association: a bind_nak, or a bind_ack accepting no context."""

    def __init__(self, target: str, port: int, answer: w.BindAck | w.BindNak) -> None:
        self.answer = answer
        if isinstance(answer, w.BindNak):
            detail = f"bind_nak reason {answer.reject_reason}"
            hresult = RPC_S_PROTOCOL_ERROR
        else:
            reasons = (
                ", ".join(f"result {r.result} reason {r.reason}" for r in answer.results) or "no results"
            )
            detail = f"bind_ack accepted no context ({reasons})"
            hresult = RPC_S_UNKNOWN_IF
        super().__init__(hresult, f"Failed to bind to the KMS interface on {target}:{port}: {detail}")


class KmsRpcFault(KmsTransportError):
    """The host answered the call with a fault PDU; ``status`` is its C706/MS-RPCE status."""

    def __init__(self, target: str, port: int, fault: w.Fault) -> None:
        self.status = fault.status
        self.status_name = fault.status_name
        super().__init__(
            _FAULT_TO_WIN32.get(fault.status, RPC_S_CALL_FAILED),
            f"Failed to call KMS host {target}:{port}: fault {fault.status_name} (0x{fault.status:08X})",
        )


class KmsProtocolError(KmsTransportError):
    """The host's answer was not valid DCE/RPC or not a valid lab response body."""

    def __init__(self, target: str, port: int, detail: str) -> None:
        super().__init__(
            RPC_S_PROTOCOL_ERROR, f"Failed to read the answer of KMS host {target}:{port}: {detail}"
        )


# ----------------------------------------------------------------------- socket helpers


class _Closed(Exception):
    """The peer closed the connection cleanly (EOF)."""


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise _Closed
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_pdu(sock: socket.socket, limit: int = 65536) -> w.Pdu:
    """Read one PDU (one fragment) from ``sock``; raises :class:`winlab.protocols.kms_wire.WireError`."""
    head = _recv_exact(sock, w.HEADER_SIZE)
    header = w.decode_header(head)
    if header.frag_length > limit:
        raise w.WireError(f"frag_length {header.frag_length} exceeds {limit}")
    return w.decode(head + _recv_exact(sock, header.frag_length - w.HEADER_SIZE))


def _reset(sock: socket.socket) -> None:
    # SO_LINGER on with a zero timeout: close() sends RST instead of FIN.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


# ------------------------------------------------------------------------------ server

_assoc_groups = itertools.count(0x1000)


class KmsListener:
    """A KMS host's TCP listener on ``address``:``port`` (``port=0`` picks a free one).

    ``handler(request_body, peer_ip)`` gets the validated lab request body (see
    :mod:`winlab.protocols.kms_wire`) and returns the response body; an invalid
    return or an exception becomes a ``nca_s_fault_other`` fault and is kept in
    :attr:`errors`. ``allow(peer_ip)`` scopes the listener like a firewall rule's
    remote addresses; both may be replaced while running (:attr:`handler`,
    :attr:`allow`).
    """

    def __init__(
        self,
        address: str,
        port: int = KMS_PORT,
        handler: Handler | None = None,
        allow: Allow = lambda peer: True,
        *,
        handler_lock: threading.Lock | threading.RLock | None = None,
        max_frag: int = w.DEFAULT_MAX_FRAG,
        connection_timeout: float = 10.0,
    ) -> None:
        if handler is None:
            raise TypeError("KmsListener needs a handler(request_body, peer_ip) -> response_body")
        self.address = _loopback(address, "listener address")
        self._requested_port = int(port)
        self.handler: Handler = handler
        self.allow: Allow = allow
        self.handler_lock = handler_lock
        self.max_frag = max_frag
        self.connection_timeout = connection_timeout
        #: Exceptions raised by the handler (or invalid bodies it returned), newest last.
        self.errors: list[BaseException] = []
        #: Counters: connections accepted and served, reset by ``allow``, calls answered, faults sent.
        self.stats = {"connections": 0, "resets": 0, "responses": 0, "faults": 0, "binds": 0}
        self._sock: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._conns: dict[socket.socket, threading.Thread] = {}
        self._lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        """The bound port (the requested one, or the free one picked for ``port=0``)."""
        if self._sock is not None:
            return int(self._sock.getsockname()[1])
        return self._requested_port

    @property
    def listening(self) -> bool:
        """Whether the listening socket is open."""
        return self._sock is not None

    def start(self) -> None:
        """Bind and listen, then start the accept thread. Raises ``OSError`` if the port is taken."""
        with self._lock:
            if self._sock is not None:
                return
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                # Restarting a host must not wait for TIME_WAIT of earlier connections.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((self.address, self._requested_port))
                sock.listen(128)
                sock.setblocking(False)
            except OSError:
                sock.close()
                raise
            self._wake_r, self._wake_w = socket.socketpair()
            self._selector = selectors.DefaultSelector()
            self._selector.register(sock, selectors.EVENT_READ)
            self._selector.register(self._wake_r, selectors.EVENT_READ)
            self._sock = sock
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._accept_loop, name=f"kms-listener-{self.address}:{self.port}", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listening socket and every open connection; join all threads.

        Afterwards nothing listens on the port (a connect is refused). Idempotent.
        """
        with self._lock:
            if self._sock is None:
                return
            self._stopping.set()
            assert self._wake_w is not None
            with contextlib.suppress(OSError):
                self._wake_w.send(b"x")
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            for sock in (self._sock, self._wake_r, self._wake_w):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()
            if self._selector is not None:
                self._selector.close()
            self._sock = self._wake_r = self._wake_w = None
            self._selector = None
            self._thread = None
            conns = dict(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in conns.values():
            thread.join(timeout)

    def __enter__(self) -> KmsListener:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"KmsListener(address={self.address!r}, port={self.port}, listening={self.listening})"

    # -------------------------------------------------------------------- internals
    def _accept_loop(self) -> None:
        selector, sock = self._selector, self._sock
        assert selector is not None and sock is not None
        while not self._stopping.is_set():
            for key, _ in selector.select():
                if key.fileobj is not sock:
                    continue
                try:
                    conn, (peer, _peer_port) = sock.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    return
                self._admit(conn, peer)

    def _admit(self, conn: socket.socket, peer: str) -> None:
        try:
            allowed = bool(self.allow(peer))
        except Exception as exc:  # a broken rule must not kill the listener
            self.errors.append(exc)
            allowed = False
        if not allowed:
            self._count("resets")
            _reset(conn)
            return
        self._count("connections")
        conn.setblocking(True)
        conn.settimeout(self.connection_timeout)
        thread = threading.Thread(target=self._serve, args=(conn, peer), name=f"kms-conn-{peer}", daemon=True)
        with self._lock:
            self._conns[conn] = thread
        thread.start()

    def _serve(self, conn: socket.socket, peer: str) -> None:
        try:
            self._conversation(conn, peer)
        except (_Closed, OSError, w.WireError):
            # EOF, reset, timeout, or bytes that are not DCE/RPC: the association ends (C706 12.4).
            pass
        finally:
            with self._lock:
                self._conns.pop(conn, None)
            with contextlib.suppress(OSError):
                conn.close()

    def _conversation(self, conn: socket.socket, peer: str) -> None:
        contexts: set[int] = set()
        xmit = w.DEFAULT_MAX_FRAG
        assembler = w.Reassembler()
        while not self._stopping.is_set():
            pdu = read_pdu(conn, limit=max(self.max_frag, w.DEFAULT_MAX_FRAG))
            if isinstance(pdu, w.Bind):
                self._count("binds")
                answer = w.answer_bind(
                    pdu, self.port, assoc_group_id=next(_assoc_groups), max_frag=self.max_frag
                )
                conn.sendall(w.encode(answer))
                if isinstance(answer, w.BindAck):
                    contexts = w.accepted_context_ids(pdu, answer)
                    xmit = answer.max_xmit_frag
                continue
            if not isinstance(pdu, w.Request):
                return  # a client sending bind_ack/response/fault has broken the protocol
            if pdu.context_id not in contexts:
                # A call on a context that was never accepted (or before any bind).
                self._fault(conn, pdu.call_id, w.NCA_S_PROTO_ERROR if not contexts else w.NCA_S_UNK_IF, pdu)
                return
            stub = assembler.add(pdu)
            if stub is None:
                continue
            first = assembler.first
            assembler.reset()
            assert isinstance(first, w.Request)
            if first.opnum != w.KMS_OPNUM:
                self._fault(conn, first.call_id, w.NCA_S_OP_RNG_ERROR, first)
                continue
            try:
                body = w.decode_request_body(stub)
            except w.KmsBodyError:
                self._fault(conn, first.call_id, w.NCA_S_FAULT_NDR, first)
                continue
            try:
                if self.handler_lock is not None:
                    with self.handler_lock:
                        answer_body = self.handler(dict(body), peer)
                else:
                    answer_body = self.handler(dict(body), peer)
                out = w.encode_response_body(answer_body)
            except Exception as exc:
                self.errors.append(exc)
                self._fault(conn, first.call_id, w.NCA_S_FAULT_OTHER, first)
                continue
            # Counted before sending, so a client that has its answer sees the count.
            self._count("responses")
            fragments = w.response_fragments(first.call_id, out, context_id=first.context_id, max_frag=xmit)
            for fragment in fragments:
                conn.sendall(w.encode(fragment))

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self.stats[key] += 1

    def _fault(self, conn: socket.socket, call_id: int, status: int, request: w.Request) -> None:
        self._count("faults")
        conn.sendall(w.encode(w.Fault(call_id, status, request.context_id)))


# ------------------------------------------------------------------------------ client


class KmsConnector:
    """A KMS client's side of the exchange; one TCP connection per :meth:`request`."""

    def __init__(self, *, max_frag: int = w.DEFAULT_MAX_FRAG) -> None:
        self.max_frag = max_frag
        self._call_ids = itertools.count(1)

    def request(
        self,
        target_host: str,
        port: int,
        body: t.Mapping[str, t.Any],
        source_address: str,
        timeout: float = 5.0,
    ) -> dict[str, t.Any]:
        """Send ``body`` (a lab request body) to the KMS host at ``target_host``:``port``; return its answer.

        ``target_host`` must be a 127/8 address (resolve names with the lab's DNS
        first); the socket is bound to ``source_address``, the client's own address.
        ``timeout`` bounds the connect and each read. Raises :class:`KmsUnreachable`,
        :class:`KmsRpcRejected`, :class:`KmsRpcFault` or :class:`KmsProtocolError`;
        ``ValueError`` (:class:`winlab.protocols.kms_wire.KmsBodyError`) for an invalid body.
        """
        stub = w.encode_request_body(body)
        target = _loopback(target_host, "KMS host address")
        with self._connect(target, port, source_address, timeout) as sock:
            try:
                self._bind(sock, target, port)
                call_id = next(self._call_ids)
                for fragment in w.request_fragments(call_id, stub, max_frag=self.max_frag):
                    sock.sendall(w.encode(fragment))
                answer = self._read_answer(sock, target, port, call_id)
            except (_Closed, OSError) as exc:
                raise self._unreachable(target, port, exc) from exc
        try:
            return dict(w.decode_response_body(answer))
        except w.KmsBodyError as exc:
            raise KmsProtocolError(target, port, str(exc)) from exc

    def probe_bind(
        self, host: str, port: int, source_address: str | None = None, timeout: float = 2.0
    ) -> bool:
        """Whether ``host``:``port`` accepts a DCE/RPC bind to the KMS interface (connect, bind, close).

        False for refused/reset/timeout, a bind_nak, a rejected context or non-RPC bytes.
        """
        try:
            target = _loopback(host, "KMS host address")
            with self._connect(target, port, source_address, timeout) as sock:
                self._bind(sock, target, port)
        except (KmsTransportError, _Closed, OSError, w.WireError):
            return False
        return True

    # -------------------------------------------------------------------- internals
    def _connect(self, target: str, port: int, source: str | None, timeout: float) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            if source is not None:
                sock.bind((_loopback(source, "client source address"), 0))
            sock.connect((target, port))
        except OSError as exc:
            sock.close()
            raise self._unreachable(target, port, exc) from exc
        except ValueError:
            sock.close()
            raise
        return sock

    def _bind(self, sock: socket.socket, target: str, port: int) -> None:
        bind = w.kms_bind(next(self._call_ids), max_frag=self.max_frag)
        sock.sendall(w.encode(bind))
        try:
            answer = read_pdu(sock)
        except w.WireError as exc:
            raise KmsProtocolError(target, port, f"bind answer: {exc}") from exc
        if isinstance(answer, w.BindNak):
            raise KmsRpcRejected(target, port, answer)
        if not isinstance(answer, w.BindAck) or answer.call_id != bind.call_id:
            raise KmsProtocolError(target, port, f"expected bind_ack for call {bind.call_id}, got {answer!r}")
        if not w.accepted_context_ids(bind, answer):
            raise KmsRpcRejected(target, port, answer)

    def _read_answer(self, sock: socket.socket, target: str, port: int, call_id: int) -> bytes:
        assembler = w.Reassembler()
        while True:
            try:
                pdu = read_pdu(sock)
            except w.WireError as exc:
                raise KmsProtocolError(target, port, str(exc)) from exc
            if pdu.call_id != call_id:
                raise KmsProtocolError(
                    target, port, f"answer for call {pdu.call_id}, expected call {call_id}"
                )
            if isinstance(pdu, w.Fault):
                raise KmsRpcFault(target, port, pdu)
            if not isinstance(pdu, w.Response):
                raise KmsProtocolError(target, port, f"expected a response, got {type(pdu).__name__}")
            try:
                stub = assembler.add(pdu)
            except w.WireError as exc:
                raise KmsProtocolError(target, port, str(exc)) from exc
            if stub is not None:
                return stub

    @staticmethod
    def _unreachable(target: str, port: int, exc: BaseException) -> KmsUnreachable:
        if isinstance(exc, _Closed):
            return KmsUnreachable(target, port, "closed", "connection closed by the host")
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return KmsUnreachable(target, port, "timeout", "timed out")
        if isinstance(exc, ConnectionRefusedError):
            return KmsUnreachable(target, port, "refused", "connection refused")
        if (
            isinstance(exc, (ConnectionResetError, BrokenPipeError))
            or getattr(exc, "errno", None) == errno.ECONNRESET
        ):
            return KmsUnreachable(target, port, "reset", "connection reset by the host")
        return KmsUnreachable(target, port, "unreachable", f"{type(exc).__name__}: {exc}")


def probe_bind(host: str, port: int, source_address: str | None = None, timeout: float = 2.0) -> bool:
    """Whether ``host``:``port`` accepts a DCE/RPC bind to the KMS interface; see :meth:`KmsConnector.probe_bind`."""
    return KmsConnector().probe_bind(host, port, source_address, timeout)
