"""Filters mask_product_key, explain_hresult and gvlk: values, errors, and docs that match the code."""

from __future__ import annotations

import pathlib

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.winops.volume_activation.plugins.filter import licensing

FILTER_DIR = pathlib.Path(licensing.__file__).parent


def test_filters_are_registered() -> None:
    assert sorted(licensing.FilterModule().filters()) == ["explain_hresult", "gvlk", "mask_product_key"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("W269N-WFGWX-YVC9B-4J6C9-T83GX", "XXXXX-XXXXX-XXXXX-XXXXX-T83GX"), ("t83gx", "XXXXX-XXXXX-XXXXX-XXXXX-T83GX"),
     ("secret", "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX"), (None, None)],
)
def test_mask_product_key(value: str | None, expected: str | None) -> None:
    assert licensing.mask_product_key(value) == expected


def test_explain_hresult() -> None:
    assert licensing.explain_hresult("0xC004F074") == \
        "0xC004F074 (SL_E_VL_BINDING_SERVICE_UNAVAILABLE): no KMS host could be contacted"
    d = licensing.explain_hresult(-1073418184, output="dict")
    assert (d["hex"], d["symbol"]) == ("0xC004F038", "SL_E_VL_NOT_ENOUGH_COUNT") and d["remedy"]


@pytest.mark.parametrize(("value", "output", "match"), [("zz", "message", "not an HRESULT"),
                                                        (0xC004F074, "text", "output must be")])
def test_explain_hresult_errors(value: object, output: str, match: str) -> None:
    with pytest.raises(AnsibleFilterError, match=match):
        licensing.explain_hresult(value, output=output)


def test_gvlk() -> None:
    assert licensing.gvlk("Windows Server 2022 Standard") == "VDYBN-27WPP-V4HQT-9VMD4-VMK7H"
    assert licensing.gvlk("Windows 10 Enterprise") == "NPPR9-FWDCX-D2C8J-H872K-2YT43"
    with pytest.raises(AnsibleFilterError, match="no public KMS client setup key is known for 'Windows 2022'"):
        licensing.gvlk("Windows 2022")


@pytest.mark.parametrize("name", ["mask_product_key", "explain_hresult", "gvlk"])
def test_docs(name: str) -> None:
    doc = yaml.safe_load(FILTER_DIR.joinpath(f"{name}.yml").read_text(encoding="utf-8"))
    assert doc["DOCUMENTATION"]["name"] == name
    assert doc["DOCUMENTATION"]["version_added"] == "0.1.0"
    assert doc["RETURN"]["_value"]["sample"]
    assert f"winops.volume_activation.{name}" in doc["EXAMPLES"]
    options = doc["DOCUMENTATION"]["options"]
    assert "_input" in options
    if name == "explain_hresult":
        assert options["output"]["choices"] == ["message", "dict"] and options["output"]["default"] == "message"
