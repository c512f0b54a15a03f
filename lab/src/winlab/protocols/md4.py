"""MD4 (RFC 1320) and the NT one-way function of NTLM, for the lab's NTLM user file.

Windows stores a local account's password as its NT hash, MD4 of the UTF-16LE password
(MS-NLMP section 3.3.1, NTOWFv1; the same value NTOWFv2 builds on). pyspnego's acceptor reads
those hashes from its user file. OpenSSL 3 no longer offers MD4 (hashlib.new("md4") fails), and
pyspnego's own helper lives in a private module, so the lab carries this small implementation
written from RFC 1320 section 3 and tested with the RFC's test suite (appendix A.5).
"""

from __future__ import annotations

import struct

__all__ = ["md4", "nt_hash"]

_MASK = 0xFFFFFFFF


def _rotl(value: int, shift: int) -> int:
    value &= _MASK
    return ((value << shift) | (value >> (32 - shift))) & _MASK


def _f(x: int, y: int, z: int) -> int:
    return (x & y) | (~x & z)


def _g(x: int, y: int, z: int) -> int:
    return (x & y) | (x & z) | (y & z)


def _h(x: int, y: int, z: int) -> int:
    return x ^ y ^ z


# RFC 1320 3.4: the order in which each round reads the 16 words, and its shifts
_ROUND1 = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
_ROUND2 = (0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15)
_ROUND3 = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)
_SHIFTS1 = (3, 7, 11, 19)
_SHIFTS2 = (3, 5, 9, 13)
_SHIFTS3 = (3, 9, 11, 15)


def md4(data: bytes) -> bytes:
    """The 16-byte MD4 digest of ``data`` (RFC 1320)."""
    # 3.1-3.2: pad with 0x80 and zeros to 56 mod 64, then the bit length as 64-bit little endian
    message = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", (len(data) * 8) & 0xFFFFFFFFFFFFFFFF)
    # 3.3: initial buffer
    state = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
    for offset in range(0, len(message), 64):
        x = struct.unpack("<16I", message[offset : offset + 64])
        a, b, c, d = state
        for i, k in enumerate(_ROUND1):
            a = _rotl(a + _f(b, c, d) + x[k], _SHIFTS1[i % 4])
            a, b, c, d = d, a, b, c
        for i, k in enumerate(_ROUND2):
            a = _rotl(a + _g(b, c, d) + x[k] + 0x5A827999, _SHIFTS2[i % 4])
            a, b, c, d = d, a, b, c
        for i, k in enumerate(_ROUND3):
            a = _rotl(a + _h(b, c, d) + x[k] + 0x6ED9EBA1, _SHIFTS3[i % 4])
            a, b, c, d = d, a, b, c
        state = [(s + v) & _MASK for s, v in zip(state, (a, b, c, d), strict=True)]
    return struct.pack("<4I", *state)


def nt_hash(password: str) -> bytes:
    """NTOWFv1 (MS-NLMP 3.3.1): MD4 of the password encoded as UTF-16LE."""
    return md4(password.encode("utf-16-le"))
