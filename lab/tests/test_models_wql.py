"""WQL condition parsing and evaluation (winlab.models.wql)."""

from __future__ import annotations

import typing as t

import pytest

from winlab.models.errors import WBEM_E_INVALID_QUERY, WmiError
from winlab.models.wql import compile_condition, like_to_regex, select

PROPS = ("ID", "Name", "PartialProductKey", "LicenseStatus", "GracePeriodRemaining", "LicenseIsAddon",
         "Description")
ROWS: list[dict[str, t.Any]] = [
    {"ID": "a1", "Name": "Windows(R), ServerStandard edition", "PartialProductKey": "VMK7H", "LicenseStatus": 1,
     "GracePeriodRemaining": 259200, "LicenseIsAddon": False,
     "Description": "Windows(R) Operating System, VOLUME_KMSCLIENT channel"},
    {"ID": "b2", "Name": "Windows(R), ServerStandard edition", "PartialProductKey": None, "LicenseStatus": 0,
     "GracePeriodRemaining": 0, "LicenseIsAddon": False,
     "Description": "Windows(R) Operating System, VOLUME_MAK channel"},
    {"ID": "c3", "Name": "Office 16, Office16ProPlusVL_KMS_Client edition", "PartialProductKey": "WFG99",
     "LicenseStatus": 2, "GracePeriodRemaining": 43200, "LicenseIsAddon": True,
     "Description": "Office 16, VOLUME_KMSCLIENT channel"},
]


def ids(cond: str) -> list[str]:
    return [r["ID"] for r in select(ROWS, cond, PROPS)]


@pytest.mark.parametrize(("cond", "expected"), [
    ("PartialProductKey <> null", ["a1", "c3"]),  # slmgr.vbs' own filter [SLMGR10]
    ("PartialProductKey IS NOT NULL", ["a1", "c3"]),
    ("PartialProductKey IS NULL", ["b2"]),
    ("PartialProductKey = NULL", ["b2"]),
    ("LicenseStatus = 1", ["a1"]),
    ("LicenseStatus <> 1", ["b2", "c3"]),
    ("LicenseStatus != 1", ["b2", "c3"]),
    ("LicenseStatus > 0", ["a1", "c3"]),
    ("LicenseStatus >= 1 AND LicenseStatus <= 1", ["a1"]),
    ("GracePeriodRemaining < 50000", ["b2", "c3"]),
    ("id = 'A1'", ["a1"]),  # names and strings compare case-insensitively
    ('ID = "c3"', ["c3"]),
    ("Description LIKE '%VOLUME_KMSCLIENT%'", ["a1", "c3"]),
    ("Description NOT LIKE '%VOLUME_KMSCLIENT%'", ["b2"]),
    ("Name LIKE 'Office 1_,%'", ["c3"]),
    ("ID LIKE '[ab]%'", ["a1", "b2"]),
    ("ID LIKE '[^ab]%'", ["c3"]),
    ("NOT LicenseStatus = 1", ["b2", "c3"]),
    ("LicenseStatus = 1 OR LicenseStatus = 2", ["a1", "c3"]),
    ("(LicenseStatus = 1 OR LicenseStatus = 2) AND LicenseIsAddon = TRUE", ["c3"]),
    ("LicenseStatus = 0 OR LicenseStatus = 2 AND LicenseIsAddon = false", ["b2"]),  # AND binds tighter
    ("LicenseIsAddon = 'true'", ["c3"]),
    ("1 = LicenseStatus", ["a1"]),
    ("0 < LicenseStatus", ["a1", "c3"]),
    ("LicenseStatus = 0x1", ["a1"]),
    ("PartialProductKey = 'it\\'s'", []),
    ("", ["a1", "b2", "c3"]),
])
def test_conditions(cond: str, expected: list[str]) -> None:
    assert ids(cond) == expected


@pytest.mark.parametrize("cond", [
    "LicenseStatus =",
    "LicenseStatus = 1 AND",
    "(LicenseStatus = 1",
    "LicenseStatus = 1)",
    "LicenseStatu = 1",  # unknown property
    "Foo IS NULL",
    "LicenseStatus IS 1",
    "LicenseStatus LIKE 1",
    "LicenseStatus < NULL",
    "ID = 'unterminated",
    "ID = 'a' ; DROP",
    "AND ID = 'a'",
])
def test_bad_conditions_fail_as_wmi_invalid_query(cond: str) -> None:
    with pytest.raises(WmiError) as exc:
        compile_condition(cond, PROPS)
    assert exc.value.hresult == WBEM_E_INVALID_QUERY
    assert exc.value.hex == "0x80041017"


@pytest.mark.parametrize(("pattern", "text", "ok"), [
    ("%", "", True), ("a%", "ABC", True), ("a_c", "abc", True), ("a_c", "abbc", False),
    ("100[%]", "100%", True), ("x.y", "xzy", False),
])
def test_like(pattern: str, text: str, ok: bool) -> None:
    assert bool(like_to_regex(pattern).match(text)) is ok
