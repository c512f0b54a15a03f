"""winlab.protocols.md4: RFC 1320's test suite, and the NT hash NTLM builds on.

Sources: RFC 1320 appendix A.5 (MD4 test suite); MS-NLMP 3.3.1 (NTOWFv1 = MD4(UNICODE(Passwd))).
"""

from __future__ import annotations

import pytest

from winlab.protocols.md4 import md4, nt_hash


@pytest.mark.parametrize(
    ("message", "digest"),
    [
        (b"", "31d6cfe0d16ae931b73c59d7e0c089c0"),
        (b"a", "bde52cb31de33e46245e05fbdbd6fb24"),
        (b"abc", "a448017aaf21d8525fc10ae87aa6729d"),
        (b"message digest", "d9130a8164549fe818874806e1c7014b"),
        (b"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
        (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"),
        (b"1234567890" * 8, "e33b4ddc9c38f2199c3e7b164fcc0536"),
    ],
)
def test_rfc1320_test_suite(message: bytes, digest: str) -> None:
    assert md4(message).hex() == digest


@pytest.mark.parametrize("length", [55, 56, 63, 64, 119, 120])
def test_padding_boundaries_give_distinct_16_byte_digests(length: int) -> None:
    # lengths around the 56-byte padding limit need one or two extra blocks
    digest = md4(b"x" * length)
    assert len(digest) == 16
    assert digest != md4(b"x" * (length + 1))


def test_nt_hash_of_a_known_password() -> None:
    # the NT hash of "password", as stored by Windows (MD4 of its UTF-16LE bytes)
    assert nt_hash("password").hex().upper() == "8846F7EAEE8FB117AD06BDD830B7586C"
    assert nt_hash("password") == md4("password".encode("utf-16-le"))
