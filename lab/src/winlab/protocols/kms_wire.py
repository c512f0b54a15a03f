"""The KMS exchange on the wire, without sockets: real DCE/RPC framing around a lab-defined body.

What is real
------------
The transport is connection-oriented DCE/RPC over TCP (ncacn_ip_tcp) as C706
chapter 12 ("Connection-oriented RPC PDUs") and MS-RPCE 2.2.2 define it, so a
port check, a DCE/RPC bind probe or a packet dissector sees a genuine RPC endpoint
on the KMS port [WSD-PLAN: "anonymous RPC over TCP 1688"]:

- the 16-byte common header (version 5.0, PDU type, PFC flags, data representation
  label, fragment length, auth length, call id), little-endian integers, ASCII
  characters, IEEE floats (drep ``10 00 00 00``);
- ``bind`` for the KMS interface ``51c82175-844e-4750-b0d8-ec255555bc06`` version 1.0
  with the NDR transfer syntax ``8a885d04-1ceb-11c9-9fe8-08002b104860`` version 2.0;
  ``bind_ack`` (per-context acceptance or provider rejection) and ``bind_nak``;
- ``request`` (opnum 0) and ``response`` with stub data split into fragments no
  larger than the negotiated maximum, PFC_FIRST_FRAG/PFC_LAST_FRAG and alloc_hint
  set as C706 12.6.4 says, call_id matching between request and response;
- ``fault`` with C706 appendix E / MS-RPCE status codes (``nca_s_op_rng_error`` for
  an unknown opnum, ``nca_s_proto_error``, ``nca_s_fault_ndr`` for unreadable stub
  data); status names as Wireshark's DCE/RPC dissector lists them.

Not implemented: authentication verifiers (KMS binds anonymously), alter_context,
multiplexed calls, big-endian senders, the MS-RPCE bind-time feature negotiation.

What is NOT Microsoft's
-----------------------
The stub data is a LAB-DEFINED body: UTF-8 JSON of the small schema below. This is
deliberately not Microsoft's KMS activation payload. The project never implements
that protocol, its encryption or its keys; that is what KMS emulators used for
piracy do. Only the RPC framing is real. A real Windows client talking to a lab KMS
host (or the reverse) gets past the bind and then fails on the body, which is
intended.

Request body (client -> host), all keys required unless marked::

    {"schema": "winlab-kms/1",
     "client_machine_id": "<CMID GUID>",          # SoftwareLicensingService.ClientMachineID
     "client_fqdn": "client01.contoso.lab",
     "application_id": "<ApplicationID GUID>",    # Windows 55c92734-..., Office 59a52881-...
     "activation_id": "<SKU ID GUID>",            # SoftwareLicensingProduct.ID of the GVLK product
     "kms_counted_id": "<GUID>" | null,           # optional: the KMS counted ID of the product family
     "license_status": 0..6,                      # SoftwareLicensingProduct.LicenseStatus of the client
     "request_time": "2026-01-01T00:00:00Z"}      # client clock, ISO 8601 UTC

Response body (host -> client)::

    {"schema": "winlab-kms/1",
     "hresult": 0 | 0xC004F038 | ...,             # unsigned 32-bit, 0 = activated
     "current_count": 25,                         # host's count after this request
     "required_count": 25,                        # threshold for this product (25 / 5)
     "activation_interval": 120,                  # minutes, host's /sai value [MS-TIMING]
     "renewal_interval": 10080,                   # minutes, host's /sri value [MS-TIMING]
     "host_fqdn": "kms1.contoso.lab",
     "host_extended_pid": "06401-00206-..."}      # KMS machine extended PID shown by slmgr /dlv
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import re
import struct
import typing as t
import uuid

# --------------------------------------------------------------------------- constants

#: The KMS RPC interface. Microsoft documents only "RPC over TCP 1688" [WSD-PLAN]; this UUID
#: is the one seen in captures of KMS traffic and in third-party tools [3P, UNCONFIRMED].
KMS_INTERFACE_UUID = uuid.UUID("51c82175-844e-4750-b0d8-ec255555bc06")
KMS_INTERFACE_VERSION = (1, 0)
#: NDR transfer syntax (C706 14, "NDR Transfer Syntax Identifier").
NDR_UUID = uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860")
NDR_VERSION = (2, 0)
#: Operation number of the lab's single KMS call.
KMS_OPNUM = 0

RPC_VERSION = 5
RPC_VERSION_MINOR = 0
#: Data representation label: little-endian integers, ASCII, IEEE floating point (C706 14.1).
DREP_LE = b"\x10\x00\x00\x00"

# PDU types (C706 12.6.4 / MS-RPCE 2.2.2.1).
PTYPE_REQUEST = 0
PTYPE_RESPONSE = 2
PTYPE_FAULT = 3
PTYPE_BIND = 11
PTYPE_BIND_ACK = 12
PTYPE_BIND_NAK = 13

# pfc_flags (C706 12.6.3.1).
PFC_FIRST_FRAG = 0x01
PFC_LAST_FRAG = 0x02
PFC_OBJECT_UUID = 0x80

HEADER_SIZE = 16
#: C706 12.6.3.1 "MustRecvFragSize": every implementation accepts fragments of this size.
MIN_FRAG_SIZE = 1432
#: The lab's proposal for max_xmit_frag/max_recv_frag (any value >= MIN_FRAG_SIZE is legal).
DEFAULT_MAX_FRAG = 4280

# p_cont_def_result_t / p_provider_reason_t (C706 12.6.3.1).
RESULT_ACCEPTANCE = 0
RESULT_USER_REJECTION = 1
RESULT_PROVIDER_REJECTION = 2
REASON_NOT_SPECIFIED = 0
REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED = 1
REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED = 2

# p_reject_reason_t for bind_nak (C706 12.6.3.1).
REJECT_REASON_NOT_SPECIFIED = 0
REJECT_PROTOCOL_VERSION_NOT_SUPPORTED = 4

# Fault status codes (C706 appendix E; Windows values from MS-RPCE 2.2.2.x, names as Wireshark prints them).
NCA_S_FAULT_OTHER = 0x00000001
NCA_S_FAULT_NDR = 0x000006F7
NCA_S_OP_RNG_ERROR = 0x1C010002
NCA_S_UNK_IF = 0x1C010003
NCA_S_PROTO_ERROR = 0x1C01000B

FAULT_NAMES: dict[int, str] = {
    NCA_S_FAULT_OTHER: "nca_s_fault_other",
    NCA_S_FAULT_NDR: "nca_s_fault_ndr",
    NCA_S_OP_RNG_ERROR: "nca_s_op_rng_error",
    NCA_S_UNK_IF: "nca_s_unk_if",
    NCA_S_PROTO_ERROR: "nca_s_proto_error",
}

#: Schema tag of the lab-defined body.
BODY_SCHEMA = "winlab-kms/1"

_HEADER = struct.Struct("<BBBB4sHHI")


class WireError(ValueError):
    """Bytes that are not a well-formed PDU (or body) of the kind expected."""


class KmsBodyError(WireError):
    """A KMS body that does not follow the lab's schema; the message names the key."""


# ------------------------------------------------------------------------------ types


@dataclasses.dataclass(frozen=True)
class SyntaxId:
    """p_syntax_id_t: an interface or transfer syntax UUID with major.minor version."""

    uuid: uuid.UUID
    major: int
    minor: int = 0

    def encode(self) -> bytes:
        # if_version is a u_int32 carrying major in the low and minor in the high 16 bits.
        return self.uuid.bytes_le + struct.pack("<HH", self.major, self.minor)

    @classmethod
    def decode(cls, data: bytes, offset: int) -> SyntaxId:
        if len(data) < offset + 20:
            raise WireError("truncated syntax identifier")
        major, minor = struct.unpack_from("<HH", data, offset + 16)
        return cls(uuid.UUID(bytes_le=bytes(data[offset : offset + 16])), major, minor)


KMS_SYNTAX = SyntaxId(KMS_INTERFACE_UUID, *KMS_INTERFACE_VERSION)
NDR_SYNTAX = SyntaxId(NDR_UUID, *NDR_VERSION)


@dataclasses.dataclass(frozen=True)
class ContextElement:
    """p_cont_elem_t: one presentation context proposed in a bind."""

    context_id: int
    abstract_syntax: SyntaxId
    transfer_syntaxes: tuple[SyntaxId, ...]


@dataclasses.dataclass(frozen=True)
class ContextResult:
    """p_result_t: the server's answer for one proposed context."""

    result: int
    reason: int
    transfer_syntax: SyntaxId


@dataclasses.dataclass(frozen=True)
class Bind:
    """bind PDU (type 11)."""

    call_id: int
    contexts: tuple[ContextElement, ...]
    max_xmit_frag: int = DEFAULT_MAX_FRAG
    max_recv_frag: int = DEFAULT_MAX_FRAG
    assoc_group_id: int = 0
    rpc_vers: int = RPC_VERSION
    rpc_vers_minor: int = RPC_VERSION_MINOR


@dataclasses.dataclass(frozen=True)
class BindAck:
    """bind_ack PDU (type 12). ``secondary_address`` is the port as text (``"1688"``) on TCP."""

    call_id: int
    results: tuple[ContextResult, ...]
    secondary_address: str
    max_xmit_frag: int = DEFAULT_MAX_FRAG
    max_recv_frag: int = DEFAULT_MAX_FRAG
    assoc_group_id: int = 0

    @property
    def accepted(self) -> bool:
        """Whether at least one context was accepted."""
        return any(r.result == RESULT_ACCEPTANCE for r in self.results)


@dataclasses.dataclass(frozen=True)
class BindNak:
    """bind_nak PDU (type 13): the association is refused; ``versions`` lists supported (major, minor)."""

    call_id: int
    reject_reason: int
    versions: tuple[tuple[int, int], ...] = ((RPC_VERSION, RPC_VERSION_MINOR),)


@dataclasses.dataclass(frozen=True)
class Request:
    """One request PDU fragment (type 0)."""

    call_id: int
    context_id: int
    opnum: int
    stub: bytes
    alloc_hint: int = 0
    pfc_flags: int = PFC_FIRST_FRAG | PFC_LAST_FRAG
    object_uuid: uuid.UUID | None = None


@dataclasses.dataclass(frozen=True)
class Response:
    """One response PDU fragment (type 2)."""

    call_id: int
    context_id: int
    stub: bytes
    alloc_hint: int = 0
    pfc_flags: int = PFC_FIRST_FRAG | PFC_LAST_FRAG
    cancel_count: int = 0


@dataclasses.dataclass(frozen=True)
class Fault:
    """fault PDU (type 3) with a C706/MS-RPCE status code."""

    call_id: int
    status: int
    context_id: int = 0
    alloc_hint: int = 0
    pfc_flags: int = PFC_FIRST_FRAG | PFC_LAST_FRAG
    cancel_count: int = 0

    @property
    def status_name(self) -> str:
        """Symbolic name of :attr:`status` (``nca_s_op_rng_error`` ...) or its hex value."""
        return FAULT_NAMES.get(self.status, f"0x{self.status:08X}")


Pdu = Bind | BindAck | BindNak | Request | Response | Fault


# --------------------------------------------------------------------------- encoding


def _header(ptype: int, flags: int, body_len: int, call_id: int, *, vers: int = 5, minor: int = 0) -> bytes:
    return _HEADER.pack(vers, minor, ptype, flags, DREP_LE, HEADER_SIZE + body_len, 0, call_id)


def _pad4(length: int) -> bytes:
    return b"\x00" * (-length % 4)


def encode(pdu: Pdu) -> bytes:
    """Serialize one PDU (one fragment) to bytes, little-endian, without an auth verifier."""
    if isinstance(pdu, Bind):
        body = struct.pack("<HHI", pdu.max_xmit_frag, pdu.max_recv_frag, pdu.assoc_group_id)
        body += struct.pack("<BBH", len(pdu.contexts), 0, 0)
        for ctx in pdu.contexts:
            body += struct.pack("<HBB", ctx.context_id, len(ctx.transfer_syntaxes), 0)
            body += ctx.abstract_syntax.encode() + b"".join(s.encode() for s in ctx.transfer_syntaxes)
        # First-fragment flags: a bind is always one fragment (C706 12.6.3.1).
        return (
            _header(
                PTYPE_BIND,
                PFC_FIRST_FRAG | PFC_LAST_FRAG,
                len(body),
                pdu.call_id,
                vers=pdu.rpc_vers,
                minor=pdu.rpc_vers_minor,
            )
            + body
        )
    if isinstance(pdu, BindAck):
        body = struct.pack("<HHI", pdu.max_xmit_frag, pdu.max_recv_frag, pdu.assoc_group_id)
        addr = pdu.secondary_address.encode("ascii") + b"\x00" if pdu.secondary_address else b""
        body += struct.pack("<H", len(addr)) + addr
        body += _pad4(HEADER_SIZE + len(body))  # the result list starts 4-aligned in the PDU
        body += struct.pack("<BBH", len(pdu.results), 0, 0)
        for r in pdu.results:
            body += struct.pack("<HH", r.result, r.reason) + r.transfer_syntax.encode()
        return _header(PTYPE_BIND_ACK, PFC_FIRST_FRAG | PFC_LAST_FRAG, len(body), pdu.call_id) + body
    if isinstance(pdu, BindNak):
        body = struct.pack("<HB", pdu.reject_reason, len(pdu.versions))
        body += b"".join(struct.pack("<BB", major, minor) for major, minor in pdu.versions)
        return _header(PTYPE_BIND_NAK, PFC_FIRST_FRAG | PFC_LAST_FRAG, len(body), pdu.call_id) + body
    if isinstance(pdu, Request):
        flags = pdu.pfc_flags | (PFC_OBJECT_UUID if pdu.object_uuid is not None else 0)
        body = struct.pack("<IHH", pdu.alloc_hint, pdu.context_id, pdu.opnum)
        if pdu.object_uuid is not None:
            body += pdu.object_uuid.bytes_le
        body += pdu.stub
        return _header(PTYPE_REQUEST, flags, len(body), pdu.call_id) + body
    if isinstance(pdu, Response):
        body = struct.pack("<IHBB", pdu.alloc_hint, pdu.context_id, pdu.cancel_count, 0) + pdu.stub
        return _header(PTYPE_RESPONSE, pdu.pfc_flags, len(body), pdu.call_id) + body
    if isinstance(pdu, Fault):
        body = struct.pack(
            "<IHBBI4s", pdu.alloc_hint, pdu.context_id, pdu.cancel_count, 0, pdu.status, b"\x00" * 4
        )
        return _header(PTYPE_FAULT, pdu.pfc_flags, len(body), pdu.call_id) + body
    raise TypeError(f"not a PDU: {pdu!r}")


# --------------------------------------------------------------------------- decoding


@dataclasses.dataclass(frozen=True)
class Header:
    """The common header of a connection-oriented PDU."""

    rpc_vers: int
    rpc_vers_minor: int
    ptype: int
    pfc_flags: int
    drep: bytes
    frag_length: int
    auth_length: int
    call_id: int


def decode_header(data: bytes) -> Header:
    """Decode the 16-byte common header; raises :class:`WireError` on a short or foreign header.

    Checks what a receiver must check before reading ``frag_length`` more bytes:
    version 5, little-endian integer representation, a length of at least 16.
    """
    if len(data) < HEADER_SIZE:
        raise WireError(f"truncated header: {len(data)} of {HEADER_SIZE} bytes")
    header = Header(*_HEADER.unpack_from(data, 0))
    if header.rpc_vers != RPC_VERSION:
        raise WireError(f"not a connection-oriented DCE/RPC PDU (rpc_vers {header.rpc_vers})")
    if header.drep[0] & 0xF0 != 0x10:
        raise WireError("big-endian data representation is not supported by the lab")
    if header.frag_length < HEADER_SIZE:
        raise WireError(f"frag_length {header.frag_length} shorter than the header")
    return header


def decode(data: bytes) -> Pdu:
    """Decode exactly one PDU; ``len(data)`` must equal its ``frag_length``.

    Raises :class:`WireError` for truncated or inconsistent PDUs and for PDU types
    the lab does not speak.
    """
    header = decode_header(data)
    if len(data) != header.frag_length:
        raise WireError(f"frag_length {header.frag_length} but {len(data)} bytes given")
    if header.auth_length:
        raise WireError("authenticated PDUs are not supported (KMS binds anonymously)")
    body = memoryview(data)[HEADER_SIZE:]
    try:
        return _decode_body(header, bytes(body))
    except (struct.error, IndexError) as exc:
        raise WireError(f"truncated PDU type {header.ptype}: {exc}") from exc


def _decode_body(h: Header, b: bytes) -> Pdu:
    if h.ptype == PTYPE_BIND:
        max_xmit, max_recv, assoc = struct.unpack_from("<HHI", b, 0)
        n_ctx = b[8]
        offset = 12
        contexts = []
        for _ in range(n_ctx):
            ctx_id, n_syn = struct.unpack_from("<HB", b, offset)
            abstract = SyntaxId.decode(b, offset + 4)
            syntaxes = tuple(SyntaxId.decode(b, offset + 24 + 20 * i) for i in range(n_syn))
            contexts.append(ContextElement(ctx_id, abstract, syntaxes))
            offset += 24 + 20 * n_syn
        if offset != len(b):
            raise WireError(f"bind body is {len(b)} bytes, contexts end at {offset}")
        return Bind(h.call_id, tuple(contexts), max_xmit, max_recv, assoc, h.rpc_vers, h.rpc_vers_minor)
    if h.ptype == PTYPE_BIND_ACK:
        max_xmit, max_recv, assoc, addr_len = struct.unpack_from("<HHIH", b, 0)
        addr = b[10 : 10 + addr_len]
        if len(addr) != addr_len:
            raise WireError("truncated secondary address")
        offset = 10 + addr_len
        offset += -(HEADER_SIZE + offset) % 4
        n_results = b[offset]
        offset += 4
        results = []
        for _ in range(n_results):
            result, reason = struct.unpack_from("<HH", b, offset)
            results.append(ContextResult(result, reason, SyntaxId.decode(b, offset + 4)))
            offset += 24
        address = addr.rstrip(b"\x00").decode("ascii", "replace")
        return BindAck(h.call_id, tuple(results), address, max_xmit, max_recv, assoc)
    if h.ptype == PTYPE_BIND_NAK:
        reason, n = struct.unpack_from("<HB", b, 0)
        versions = tuple(struct.unpack_from("<BB", b, 3 + 2 * i) for i in range(n))
        return BindNak(h.call_id, reason, t.cast(tuple[tuple[int, int], ...], versions))
    if h.ptype == PTYPE_REQUEST:
        alloc_hint, ctx_id, opnum = struct.unpack_from("<IHH", b, 0)
        offset = 8
        obj = None
        if h.pfc_flags & PFC_OBJECT_UUID:
            if len(b) < 24:
                raise WireError("truncated object UUID")
            obj = uuid.UUID(bytes_le=b[8:24])
            offset = 24
        flags = h.pfc_flags & ~PFC_OBJECT_UUID
        return Request(h.call_id, ctx_id, opnum, b[offset:], alloc_hint, flags, obj)
    if h.ptype == PTYPE_RESPONSE:
        alloc_hint, ctx_id, cancel = struct.unpack_from("<IHB", b, 0)
        return Response(h.call_id, ctx_id, b[8:], alloc_hint, h.pfc_flags, cancel)
    if h.ptype == PTYPE_FAULT:
        alloc_hint, ctx_id, cancel, _r, status = struct.unpack_from("<IHBBI", b, 0)
        if len(b) < 16:
            raise WireError("truncated fault PDU")
        return Fault(h.call_id, status, ctx_id, alloc_hint, h.pfc_flags, cancel)
    raise WireError(f"PDU type {h.ptype} is not spoken by the lab's KMS endpoint")


# ------------------------------------------------------------------- fragmentation


def _max_stub(max_frag: int, header_len: int) -> int:
    if max_frag < MIN_FRAG_SIZE:
        raise ValueError(f"max fragment size {max_frag} below C706's minimum {MIN_FRAG_SIZE}")
    # Stub fragments stay multiples of 8 so NDR alignment would survive reassembly (C706 12.6.4.9).
    return (max_frag - header_len) // 8 * 8


def _split(stub: bytes, size: int) -> list[tuple[int, bytes, int]]:
    chunks = [stub[i : i + size] for i in range(0, len(stub), size)] or [b""]
    out = []
    remaining = len(stub)
    for index, chunk in enumerate(chunks):
        flags = (PFC_FIRST_FRAG if index == 0 else 0) | (PFC_LAST_FRAG if index == len(chunks) - 1 else 0)
        out.append((flags, chunk, remaining))  # alloc_hint: stub bytes still to come, this one included
        remaining -= len(chunk)
    return out


def request_fragments(
    call_id: int,
    stub: bytes,
    *,
    context_id: int = 0,
    opnum: int = KMS_OPNUM,
    max_frag: int = DEFAULT_MAX_FRAG,
) -> list[Request]:
    """Split one call's stub into request fragments of at most ``max_frag`` bytes each."""
    return [
        Request(call_id, context_id, opnum, chunk, hint, flags)
        for flags, chunk, hint in _split(stub, _max_stub(max_frag, HEADER_SIZE + 8))
    ]


def response_fragments(
    call_id: int, stub: bytes, *, context_id: int = 0, max_frag: int = DEFAULT_MAX_FRAG
) -> list[Response]:
    """Split one call's result stub into response fragments of at most ``max_frag`` bytes each."""
    return [
        Response(call_id, context_id, chunk, hint, flags)
        for flags, chunk, hint in _split(stub, _max_stub(max_frag, HEADER_SIZE + 8))
    ]


class Reassembler:
    """Collects the fragments of one call (requests or responses) and yields the whole stub.

    :meth:`add` returns ``None`` until the PFC_LAST_FRAG fragment arrives, then the
    concatenated stub. Raises :class:`WireError` when fragments are out of order,
    belong to another call, mix types, or exceed ``limit`` bytes.
    """

    def __init__(self, limit: int = 1 << 20) -> None:
        self.limit = limit
        self._parts: list[bytes] = []
        self._first: Request | Response | None = None
        self._size = 0

    @property
    def first(self) -> Request | Response | None:
        """The first fragment of the call being collected (its opnum, context id, call id)."""
        return self._first

    def add(self, pdu: Request | Response) -> bytes | None:
        if self._first is None:
            if not pdu.pfc_flags & PFC_FIRST_FRAG:
                raise WireError(f"call {pdu.call_id}: first fragment lacks PFC_FIRST_FRAG")
            self._first = pdu
        else:
            if pdu.pfc_flags & PFC_FIRST_FRAG:
                raise WireError(
                    f"call {pdu.call_id}: PFC_FIRST_FRAG in the middle of call {self._first.call_id}"
                )
            if pdu.call_id != self._first.call_id or type(pdu) is not type(self._first):
                raise WireError(f"fragment of call {pdu.call_id} inside call {self._first.call_id}")
        self._size += len(pdu.stub)
        if self._size > self.limit:
            raise WireError(f"call {pdu.call_id}: stub exceeds {self.limit} bytes")
        self._parts.append(pdu.stub)
        if pdu.pfc_flags & PFC_LAST_FRAG:
            stub = b"".join(self._parts)
            self._parts, self._size = [], 0
            return stub
        return None

    def reset(self) -> None:
        """Forget the call being collected (after it was handled)."""
        self._parts, self._first, self._size = [], None, 0


# ------------------------------------------------------------------ bind negotiation


def kms_bind(call_id: int = 1, *, max_frag: int = DEFAULT_MAX_FRAG, context_id: int = 0) -> Bind:
    """The bind a KMS client sends: one context, KMS interface 1.0 over NDR 2.0."""
    return Bind(call_id, (ContextElement(context_id, KMS_SYNTAX, (NDR_SYNTAX,)),), max_frag, max_frag)


def answer_bind(
    bind: Bind, port: int, *, assoc_group_id: int, max_frag: int = DEFAULT_MAX_FRAG
) -> BindAck | BindNak:
    """The server's answer to ``bind`` for the KMS endpoint on ``port``.

    - RPC version other than 5.0: ``bind_nak`` with protocol_version_not_supported.
    - Otherwise ``bind_ack``; each context is accepted when its abstract syntax is the
      KMS interface 1.x and it offers NDR 2.0, else provider-rejected with
      abstract_syntax_not_supported / proposed_transfer_syntaxes_not_supported (how a
      Windows RPC server answers a bind for an interface it does not have).
    - Fragment sizes: the smaller of the client's and ``max_frag`` (C706 12.6.3.1).
    """
    if (bind.rpc_vers, bind.rpc_vers_minor) != (RPC_VERSION, RPC_VERSION_MINOR):
        return BindNak(bind.call_id, REJECT_PROTOCOL_VERSION_NOT_SUPPORTED)
    if bind.max_xmit_frag < MIN_FRAG_SIZE or bind.max_recv_frag < MIN_FRAG_SIZE:
        return BindNak(bind.call_id, REJECT_REASON_NOT_SPECIFIED)
    results = []
    for ctx in bind.contexts:
        if (
            ctx.abstract_syntax.uuid != KMS_INTERFACE_UUID
            or ctx.abstract_syntax.major != KMS_INTERFACE_VERSION[0]
        ):
            results.append(
                ContextResult(RESULT_PROVIDER_REJECTION, REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED, _NULL_SYNTAX)
            )
        elif NDR_SYNTAX not in ctx.transfer_syntaxes:
            results.append(
                ContextResult(RESULT_PROVIDER_REJECTION, REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED, _NULL_SYNTAX)
            )
        else:
            results.append(ContextResult(RESULT_ACCEPTANCE, REASON_NOT_SPECIFIED, NDR_SYNTAX))
    return BindAck(
        bind.call_id,
        tuple(results),
        str(port),
        min(bind.max_recv_frag, max_frag),  # server transmits at most what the client receives
        min(bind.max_xmit_frag, max_frag),
        assoc_group_id,
    )


_NULL_SYNTAX = SyntaxId(uuid.UUID(int=0), 0, 0)


def accepted_context_ids(bind: Bind, ack: BindAck) -> set[int]:
    """Context ids of ``bind`` that ``ack`` accepted (results are positional, C706 12.6.3.1)."""
    return {
        ctx.context_id
        for ctx, r in zip(bind.contexts, ack.results, strict=False)
        if r.result == RESULT_ACCEPTANCE
    }


# ------------------------------------------------------------------------ the bodies


class KmsRequestBody(t.TypedDict):
    """What a lab KMS client sends (see the module docstring)."""

    schema: str
    client_machine_id: str
    client_fqdn: str
    application_id: str
    activation_id: str
    kms_counted_id: t.NotRequired[str | None]
    license_status: int
    request_time: str


class KmsResponseBody(t.TypedDict):
    """What a lab KMS host answers (see the module docstring)."""

    schema: str
    hresult: int
    current_count: int
    required_count: int
    activation_interval: int
    renewal_interval: int
    host_fqdn: str
    host_extended_pid: str


_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_FQDN_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*$")


def _guid(v: t.Any) -> bool:
    return isinstance(v, str) and bool(_GUID_RE.match(v))


def _fqdn(v: t.Any) -> bool:
    return isinstance(v, str) and bool(_FQDN_RE.match(v))


def _int_in(low: int, high: int) -> t.Callable[[t.Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _utc_time(v: t.Any) -> bool:
    if not isinstance(v, str) or not v.endswith("Z"):
        return False
    try:
        _dt.datetime.fromisoformat(v[:-1] + "+00:00")
    except ValueError:
        return False
    return True


_ANY_TEXT: t.Callable[[t.Any], bool] = lambda v: isinstance(v, str) and 0 < len(v) <= 256  # noqa: E731

_REQUEST_RULES: dict[str, tuple[t.Callable[[t.Any], bool], str]] = {
    "schema": (lambda v: v == BODY_SCHEMA, f"'{BODY_SCHEMA}'"),
    "client_machine_id": (_guid, "a GUID"),
    "client_fqdn": (_fqdn, "a DNS name"),
    "application_id": (_guid, "a GUID"),
    "activation_id": (_guid, "a GUID"),
    "kms_counted_id": (lambda v: v is None or _guid(v), "a GUID or null"),
    # SoftwareLicensingProduct.LicenseStatus 0..6 (licensing-api §1).
    "license_status": (_int_in(0, 6), "an integer 0..6"),
    "request_time": (_utc_time, "an ISO 8601 UTC time ending in Z"),
}
_RESPONSE_RULES: dict[str, tuple[t.Callable[[t.Any], bool], str]] = {
    "schema": (lambda v: v == BODY_SCHEMA, f"'{BODY_SCHEMA}'"),
    "hresult": (_int_in(0, 0xFFFFFFFF), "an unsigned 32-bit integer"),
    "current_count": (_int_in(0, 1 << 31), "a non-negative integer"),
    "required_count": (_int_in(0, 1 << 31), "a non-negative integer"),
    # /sai and /sri accept 15 minutes .. 30 days [WSD-SLMGR].
    "activation_interval": (_int_in(15, 43200), "minutes in 15..43200"),
    "renewal_interval": (_int_in(15, 43200), "minutes in 15..43200"),
    "host_fqdn": (_fqdn, "a DNS name"),
    "host_extended_pid": (_ANY_TEXT, "a non-empty string"),
}
_OPTIONAL = {"kms_counted_id"}


def _validate(body: t.Any, rules: dict[str, tuple[t.Callable[[t.Any], bool], str]], what: str) -> None:
    if not isinstance(body, dict):
        raise KmsBodyError(f"KMS {what} body must be a JSON object, not {type(body).__name__}")
    unknown = sorted(set(body) - set(rules))
    if unknown:
        raise KmsBodyError(f"KMS {what} body has unknown key(s): {', '.join(unknown)}")
    for key, (check, expected) in rules.items():
        if key not in body:
            if key in _OPTIONAL:
                continue
            raise KmsBodyError(f"KMS {what} body lacks '{key}'")
        if not check(body[key]):
            raise KmsBodyError(f"KMS {what} body key '{key}' must be {expected}, got {body[key]!r}")


def _dump(body: t.Mapping[str, t.Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _load(stub: bytes, what: str) -> t.Any:
    try:
        return json.loads(stub.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KmsBodyError(f"KMS {what} body is not UTF-8 JSON: {exc}") from exc


def encode_request_body(body: t.Mapping[str, t.Any]) -> bytes:
    """Validate a request body and return its stub bytes (compact UTF-8 JSON, sorted keys).

    ``schema`` may be omitted and is filled in. Raises :class:`KmsBodyError`.
    """
    full = {"schema": BODY_SCHEMA, **body}
    _validate(full, _REQUEST_RULES, "request")
    return _dump(full)


def decode_request_body(stub: bytes) -> KmsRequestBody:
    """Parse and validate request stub bytes; raises :class:`KmsBodyError`."""
    body = _load(stub, "request")
    _validate(body, _REQUEST_RULES, "request")
    return t.cast(KmsRequestBody, body)


def encode_response_body(body: t.Mapping[str, t.Any]) -> bytes:
    """Validate a response body and return its stub bytes; ``schema`` is filled in if absent."""
    full = {"schema": BODY_SCHEMA, **body}
    _validate(full, _RESPONSE_RULES, "response")
    return _dump(full)


def decode_response_body(stub: bytes) -> KmsResponseBody:
    """Parse and validate response stub bytes; raises :class:`KmsBodyError`."""
    body = _load(stub, "response")
    _validate(body, _RESPONSE_RULES, "response")
    return t.cast(KmsResponseBody, body)
