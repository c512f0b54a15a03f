"""A DCE/RPC bind probe for the KMS port, written from the specification (not from the lab).

C706 chapter 12 (connection-oriented PDUs): a ``bind`` (PDU type 11) for the KMS interface
``51c82175-844e-4750-b0d8-ec255555bc06`` v1.0 with the NDR transfer syntax
``8a885d04-1ceb-11c9-9fe8-08002b104860`` v2.0; a KMS host answers ``bind_ack`` (type 12) with the
presentation context accepted (result 0). KMS uses anonymous RPC over TCP [WSD-PLAN]. The probe
sends no request, so it never counts as a KMS client.
"""

from __future__ import annotations

import dataclasses
import socket
import struct
import uuid

KMS_INTERFACE = uuid.UUID("51c82175-844e-4750-b0d8-ec255555bc06")
NDR = uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860")
BIND, BIND_ACK, BIND_NAK = 11, 12, 13
PFC_FIRST_LAST = 0x03
DREP = b"\x10\x00\x00\x00"  # little-endian integers, ASCII, IEEE floats


@dataclasses.dataclass
class BindResult:
    """What the endpoint answered: PDU type and, for a bind_ack, the first context's result."""

    ptype: int
    context_result: int | None

    @property
    def accepted(self) -> bool:
        return self.ptype == BIND_ACK and self.context_result == 0


def bind_pdu(call_id: int = 1, max_frag: int = 5840) -> bytes:
    """The bind PDU: common header + max frags, assoc group 0, one presentation context."""
    context = struct.pack("<HBB", 0, 1, 0) + KMS_INTERFACE.bytes_le + struct.pack("<HH", 1, 0) \
        + NDR.bytes_le + struct.pack("<I", 2)
    body = struct.pack("<HHI", max_frag, max_frag, 0) + struct.pack("<BBH", 1, 0, 0) + context
    header = struct.pack("<BBBB4sHHI", 5, 0, BIND, PFC_FIRST_LAST, DREP, 16 + len(body), 0, call_id)
    return header + body


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def probe(address: str, port: int = 1688, timeout: float = 5.0) -> BindResult:
    """Bind to the KMS interface at ``address:port``; raises OSError when nothing listens."""
    with socket.create_connection((address, port), timeout=timeout) as sock:
        sock.sendall(bind_pdu())
        header = _recv_exact(sock, 16)
        ptype = header[2]
        frag_len = struct.unpack_from("<H", header, 8)[0]
        body = _recv_exact(sock, frag_len - 16)
    if ptype != BIND_ACK:
        return BindResult(ptype, None)
    sec_len = struct.unpack_from("<H", body, 8)[0]
    offset = 10 + sec_len
    offset += (-(16 + offset)) % 4  # the result list is 4-aligned from the start of the PDU
    n_results = body[offset]
    result = struct.unpack_from("<H", body, offset + 4)[0] if n_results else None
    return BindResult(ptype, result)
