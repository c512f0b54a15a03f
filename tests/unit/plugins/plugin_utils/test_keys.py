from __future__ import annotations

import pytest

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _keys, _products


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("W269N-WFGWX-YVC9B-4J6C9-T83GX", "W269N-WFGWX-YVC9B-4J6C9-T83GX"),
        ("w269n-wfgwx-yvc9b-4j6c9-t83gx", "W269N-WFGWX-YVC9B-4J6C9-T83GX"),
        ("  W269N-WFGWX-YVC9B-4J6C9-T83GX\n", "W269N-WFGWX-YVC9B-4J6C9-T83GX"),
        ("W269N\u2014WFGWX\u2013YVC9B-4J6C9-T83GX", "W269N-WFGWX-YVC9B-4J6C9-T83GX"),
        ("FJ82H-XT6CR-J8D7P-XQJJ2-GPDD4", "FJ82H-XT6CR-J8D7P-XQJJ2-GPDD4"),
    ],
)
def test_validate_accepts_and_normalizes(key: str, expected: str) -> None:
    assert _keys.validate_product_key(key) == expected


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("W269N-WFGWX-YVC9B-4J6C9", "five groups of five"),
        ("W269N-WFGWX-YVC9B-4J6C9-T83G", "five groups of five"),
        ("W269NWFGWXYVC9B4J6C9T83GX", "five groups of five"),
        ("W269A-WFGWX-YVC9B-4J6C9-T83GX", "'A'"),
        ("W2690-WFGWX-YVC9B-4J6C9-T83GX", "'0'"),
        ("W269N-WFGWX-YVC9B-4J6C9-T83GS", "'S'"),
        ("W269N-NFGWX-YVC9B-4J6C9-T83GX", "N more than once"),
    ],
)
def test_validate_rejects_without_leaking(key: str, fragment: str) -> None:
    with pytest.raises(_keys.ProductKeyError) as e:
        _keys.validate_product_key(key)
    assert fragment in str(e.value)
    norm = _keys.normalize_product_key(key)
    assert norm[:20].replace("-", "") not in str(e.value).replace("-", "")


def test_validate_rejects_non_string() -> None:
    with pytest.raises(_keys.ProductKeyError, match="must be a string"):
        _keys.validate_product_key(12345)


@pytest.mark.parametrize("gvlk", _products.GVLKS, ids=lambda g: g.product)
def test_every_public_gvlk_obeys_the_key_rule(gvlk: _products.Gvlk) -> None:
    # Evidence for the documented alphabet and N rule: every key Microsoft publishes passes.
    assert _keys.validate_product_key(gvlk.key) == gvlk.key
    assert gvlk.key.count("N") <= 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("W269N-WFGWX-YVC9B-4J6C9-T83GX", "XXXXX-XXXXX-XXXXX-XXXXX-T83GX"),
        ("w269n-wfgwx-yvc9b-4j6c9-t83gx", "XXXXX-XXXXX-XXXXX-XXXXX-T83GX"),
        ("W269NWFGWXYVC9B4J6C9T83GX", "XXXXX-XXXXX-XXXXX-XXXXX-T83GX"),
        ("T83GX", "XXXXX-XXXXX-XXXXX-XXXXX-T83GX"),
        ("not a key at all", _keys.FULL_MASK),
        ("W269N-WFGWX", _keys.FULL_MASK),
        (None, None),
    ],
)
def test_mask(value: str | None, expected: str | None) -> None:
    assert _keys.mask_product_key(value) == expected


def test_last5() -> None:
    assert _keys.last5("vdybn-27wpp-v4hqt-9vmd4-vmk7h") == "VMK7H"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Installed product key W269N-WFGWX-YVC9B-4J6C9-T83GX successfully.",
         "Installed product key XXXXX-XXXXX-XXXXX-XXXXX-T83GX successfully."),
        ("key=w269n-wfgwx-yvc9b-4j6c9-t83gx;", "key=XXXXX-XXXXX-XXXXX-XXXXX-T83GX;"),
        ("em W269N\u2014WFGWX\u2014YVC9B\u20144J6C9\u2014T83GX dash", "em XXXXX-XXXXX-XXXXX-XXXXX-T83GX dash"),
        ("typo A269N-WFGWX-YVC9B-4J6C9-T83G0 still secret", "typo XXXXX-XXXXX-XXXXX-XXXXX-T83G0 still secret"),
        ("plain W269NWFGWXYVC9B4J6C9T83GX", "plain XXXXX-XXXXX-XXXXX-XXXXX-T83GX"),
        # Not keys: GUIDs, extended PIDs, a partial key, hex codes stay untouched.
        ("ID de32eafd-aaee-4662-9444-c1befb41bde2", "ID de32eafd-aaee-4662-9444-c1befb41bde2"),
        ("ePID 06401-00206-551-012345-03-1033-20348.0000-3322026",
         "ePID 06401-00206-551-012345-03-1033-20348.0000-3322026"),
        ("partial T83GX and 0xC004F050", "partial T83GX and 0xC004F050"),
        # Already masked values are stable.
        ("XXXXX-XXXXX-XXXXX-XXXXX-T83GX", "XXXXX-XXXXX-XXXXX-XXXXX-T83GX"),
    ],
)
def test_scrub_text(text: str, expected: str) -> None:
    assert _keys.scrub_text(text) == expected


def test_scrub_nested_and_literal_secrets() -> None:
    value = {
        "msg": "bad key VDYBN-27WPP-V4HQT-9VMD4-VMK7H",
        "list": ["ok", ("CID 123456-123456",)],
        "VDYBN-27WPP-V4HQT-9VMD4-VMK7H": 1,
        "n": 5,
        "none": None,
    }
    out = _keys.scrub(value, secrets=["123456-123456"])
    assert out == {
        "msg": "bad key XXXXX-XXXXX-XXXXX-XXXXX-VMK7H",
        "list": ["ok", ["CID ********"]],
        "XXXXX-XXXXX-XXXXX-XXXXX-VMK7H": 1,
        "n": 5,
        "none": None,
    }
    msg = str(value["msg"])
    assert msg.endswith("VMK7H") and "VDYBN" in msg  # input not modified


def test_is_valid() -> None:
    assert _keys.is_valid_product_key("VDYBN-27WPP-V4HQT-9VMD4-VMK7H")
    assert not _keys.is_valid_product_key("VDYBN-27WPP-V4HQT-9VMD4-VMK7")
