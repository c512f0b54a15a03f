from __future__ import annotations

import pytest

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _products


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Windows Server 2022 Standard", "VDYBN-27WPP-V4HQT-9VMD4-VMK7H"),
        ("windows server 2022 datacenter: azure edition", "NTBV8-9K7Q8-V27C6-M2BTV-KHMXV"),
        ("Windows 10 Enterprise", "NPPR9-FWDCX-D2C8J-H872K-2YT43"),
        ("Windows 11 Pro", "W269N-WFGWX-YVC9B-4J6C9-T83GX"),
        ("Windows 11/10 Pro N", "MH37W-N47XK-V7XM9-C7227-GCQG9"),
        ("Microsoft Windows(R) 7 Enterprise", "33PXH-7Y6KF-2VJC9-XBBR8-HVTHH"),
        ("Office Professional Plus 2016", "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99"),
        ("Office LTSC Professional Plus 2024", "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB"),
        ("Office Professional Plus 2010", "VYBBJ-TRJPB-QFQRF-QFT4D-H3GVB"),
        ("Visio Professional 2013", "C2FG9-N6J68-H8BTJ-BW3QX-RM3B3"),
    ],
)
def test_find_gvlk(name: str, key: str) -> None:
    row = _products.find_gvlk(name)
    assert row is not None
    assert row.key == key


@pytest.mark.parametrize("name", ["Windows Server 2022", "Office 2016", "Windows 12 Pro", ""])
def test_find_gvlk_does_not_guess(name: str) -> None:
    assert _products.find_gvlk(name) is None


def test_office_2010_and_2013_keys_are_marked_third_party() -> None:
    old = [g for g in _products.GVLKS if g.family != "windows" and g.product.endswith(("2010", "2013"))]
    assert len(old) == 31
    assert all(g.source.startswith("[3P]") for g in old)
    assert all(g.source.startswith("[WSD-KEYS]") for g in _products.GVLKS if g.family == "windows")
    assert all(g.source == "[ODO-GVLK]" for g in _products.GVLKS if g.family == "office" and not g.product.endswith("2013"))


def test_gvlk_product_names_are_unique() -> None:
    names = [g.product for g in _products.GVLKS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("app_id", "family"),
    [
        ("55c92734-d682-4d71-983e-d6ec3f16059f", "windows"),
        ("55C92734-D682-4D71-983E-D6EC3F16059F", "windows"),
        ("{0ff1ce15-a989-479d-af46-f275c6370663}", "office"),
        ("59a52881-a989-479d-af46-f275c6370663", "office2010"),
        ("0ff1ce16-a989-479d-af46-f275c6370663", "other"),
        (None, "other"),
    ],
)
def test_family_of(app_id: str | None, family: str) -> None:
    assert _products.family_of(app_id) == family


@pytest.mark.parametrize(
    ("name", "app_id", "act_id", "version"),
    [
        ("Office 14, OfficeProPlus-KMS_Client edition", _products.OFFICE2010_APP_ID, None, "2010"),
        ("Office 15, OfficeProPlusVL_KMS_Client edition", _products.OFFICE_APP_ID, None, "2013"),
        ("Office 16, Office16ProPlusVL_KMS_Client edition", _products.OFFICE_APP_ID, None, "2016"),
        ("Office 19, Office19ProPlus2019VL_KMS_Client_AE edition", _products.OFFICE_APP_ID, None, "2019"),
        ("Office 21, Office21ProPlus2021VL_KMS_Client_AE edition", _products.OFFICE_APP_ID, None, "2021"),
        ("Office 24, Office24ProPlus2024VL_KMS_Client_AE edition", _products.OFFICE_APP_ID, None, "2024"),
        ("Office 16, OfficeKMSHostVL_KMS_Host edition", _products.OFFICE_APP_ID,
         "98EBFE73-2084-4C97-932C-C0CD1643BEA7", "2016"),
        ("Microsoft Office 2010, KMSHost edition", _products.OFFICE2010_APP_ID,
         "bfe7a195-4f8f-4f0b-a622-cf13c7d16864", "2010"),
        ("Windows(R), ServerStandard edition", _products.WINDOWS_APP_ID, None, None),
        ("Office 99, Something edition", _products.OFFICE_APP_ID, None, None),
    ],
)
def test_office_version(name: str, app_id: str, act_id: str | None, version: str | None) -> None:
    assert _products.office_version(name, app_id, act_id) == version


def test_kms_host_ids() -> None:
    ids = [r.activation_id for r in _products.OFFICE_KMS_HOST_IDS]
    assert ids == [i.lower() for i in ids]
    assert len(set(ids)) == len(ids)
    assert "8d368fc1-9470-4be2-8d66-90e836cbb051" not in ids  # stale LTSC 2024 ID of [ODO-TOOLS]
    assert [r.version for r in _products.OFFICE_KMS_HOST_IDS] == list(_products.OFFICE_VERSIONS)
