from __future__ import annotations

import pytest

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _errors


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (0xC004F038, 0xC004F038),
        (-1073418184, 0xC004F038),
        ("0xC004F038", 0xC004F038),
        ("c004f038", 0xC004F038),
        ("3221549112", 0xC004F038),
        ("-1073418184", 0xC004F038),
        (0, 0),
    ],
)
def test_to_code(value: int | str, code: int) -> None:
    assert _errors.to_code(value) == code


@pytest.mark.parametrize("value", ["nope", 2**32, -(2**31) - 1, True, "0x1234567890"])
def test_to_code_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        _errors.to_code(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (0xC004F038, "0xC004F038 (SL_E_VL_NOT_ENOUGH_COUNT): the KMS host does not yet count enough clients"),
        (0xC004F074, "0xC004F074 (SL_E_VL_BINDING_SERVICE_UNAVAILABLE): no KMS host could be contacted"),
        (0x8007232B, "0x8007232B (DNS_ERROR_RCODE_NAME_ERROR): no _vlmcs._tcp SRV record"),
        (0x80041010, "0x80041010 (WBEM_E_INVALID_CLASS): the WMI class does not exist"),
        (0xC004D307, "0xC004D307 (FACILITY_ITF code 0xD307): the maximum number of rearms"),
        (0x80070490, "0x80070490 (FACILITY_WIN32 error 1168): no explanation is known"),
        (0xC0EA0001, "0xC0EA0001 (facility 234 code 0x0001): no explanation is known"),
    ],
)
def test_explain(code: int, expected: str) -> None:
    assert _errors.explain(code).startswith(expected)


def test_explain_unknown_uses_windows_message() -> None:
    assert _errors.explain(0x80070490, "Element not found.") == "0x80070490 (FACILITY_WIN32 error 1168): Element not found"


def test_describe() -> None:
    d = _errors.describe("0xC004F050", "The Software Licensing Service reported that the product key is invalid.")
    assert d == {
        "code": 0xC004F050,
        "hex": "0xC004F050",
        "symbol": "SL_E_INVALID_PRODUCT_KEY",
        "explanation": "the Software Licensing Service reported that the product key is invalid",
        "remedy": _errors.HRESULTS[0xC004F050].remedy,
        "message": "0xC004F050 (SL_E_INVALID_PRODUCT_KEY): the Software Licensing Service reported that the "
        "product key is invalid",
        "windows_message": "The Software Licensing Service reported that the product key is invalid.",
    }


def test_describe_unknown() -> None:
    d = _errors.describe(0x80070002)
    assert d["symbol"] == "FACILITY_WIN32 error 2"
    assert d["remedy"] is None
    assert d["explanation"] is None


@pytest.mark.parametrize("info", list(_errors.HRESULTS.values()), ids=lambda i: f"0x{i.code:08X}")
def test_table_rows_are_complete(info: _errors.HResultInfo) -> None:
    assert info.explanation and info.remedy and info.source
    assert info.explanation[0].islower() or info.explanation.startswith(("KMS", "DNS", "WMI"))
    assert _errors.is_failure(info.code) == (info.code >= 0x80000000)


def test_facility() -> None:
    assert _errors.facility(0xC004F038) == 4
    assert _errors.facility(0x8007232B) == 7


def test_e_invalidarg_explains_invoke_cim_methods_argument_check() -> None:
    """A parameter (or, through the class, a method) the class definition lacks fails in
    Invoke-CimMethod before WMI with an ArgumentException, 0x80070057 (PowerShell/PowerShell
    src/Microsoft.Management.Infrastructure.CimCmdlets/CimInvokeCimMethod.cs); the same code is
    the licensing service's answer to a bad value. Both causes are named."""
    info = _errors.HRESULTS[0x80070057]
    assert info.symbol == "E_INVALIDARG"
    assert "Invoke-CimMethod" in info.explanation and "licensing service refused a value" in info.explanation
    assert "Can not find Parameter" in info.remedy
    assert _errors.explain(0x80070057, "Can not find Parameter 'Key' in method 'InstallProductKey' of class "
                                       "'SoftwareLicensingService'.").startswith("0x80070057 (E_INVALIDARG): ")
