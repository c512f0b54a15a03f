"""_product_key: edition and Office-name mapping to the public GVLK tables, the Office KMS host pack
matrix, and planner decisions on synthesized states (no executor)."""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _product_key, _products, _state

WIN = _products.WINDOWS_APP_ID
OFFICE = _products.OFFICE_APP_ID
OFFICE2010 = _products.OFFICE2010_APP_ID


def os_view(version: str, product_type: int, edition: str | None, *, sku: int = 7, channel: str = "kms_client",
            caption: str = "Microsoft Windows") -> _product_key.OsView:
    parts = [int(p) for p in version.split(".")]
    return _product_key.OsView(caption=caption, version=version, major=parts[0], minor=parts[1], build=parts[2],
                               server=product_type != 1, sku=sku, edition=edition, windows_channel=channel)


def product(aid: str, name: str, app: str, description: str, ppk: str | None, *, status: int = 1,
            **extra: t.Any) -> dict[str, t.Any]:
    return {"ID": aid, "Name": name, "ApplicationID": app, "Description": description, "PartialProductKey": ppk,
            "LicenseStatus": status, **extra}


def state(os_props: dict[str, t.Any], rows: list[dict[str, t.Any]], ospp: bool | None = False) -> _state.HostState:
    osi = _state.OperatingSystem.from_cim(os_props)
    prods = tuple(_state.LicensingProduct.from_cim(r, "spp", None, dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc))
                  for r in rows)
    return _state.HostState(os=osi, service=None, ospp_service=None, ospp_present=ospp, products=prods)


@pytest.mark.parametrize(("version", "ptype", "edition", "name"), [
    ("10.0.20348", 3, "ServerStandard", "Windows Server 2022 Standard"),
    ("10.0.26100", 3, "ServerDatacenter", "Windows Server 2025 Datacenter"),
    ("10.0.17763", 2, "ServerDatacenter", "Windows Server 2019 Datacenter"),
    ("6.1.7601", 3, "ServerEnterprise", "Windows Server 2008 R2 Enterprise"),
    ("10.0.22631", 1, "Professional", "Windows 11 Pro"),
    ("10.0.19045", 1, "EnterpriseN", "Windows 10 Enterprise N"),
    ("10.0.19044", 1, "EnterpriseS", "Windows 10 Enterprise LTSC 2021"),
    ("10.0.14393", 1, "EnterpriseS", "Windows 10 Enterprise LTSB 2016"),
    ("6.1.7601", 1, "Professional", "Windows 7 Professional"),
    ("6.3.9600", 1, "Professional", "Windows 8.1 Pro"),
    ("10.0.22631", 1, "Core", None),
    ("10.0.22631", 1, None, None),
    ("10.0.18362", 3, "ServerStandard", None),  # a SAC build: no row is guessed
])
def test_windows_table_name_from_release_and_edition_id(
        version: str, ptype: int, edition: str | None, name: str | None) -> None:
    assert _product_key.windows_table_name(os_view(version, ptype, edition)) == name


@pytest.mark.parametrize(("version", "ptype", "edition", "key"), [
    ("10.0.20348", 3, "ServerStandard", "VDYBN-27WPP-V4HQT-9VMD4-VMK7H"),
    ("10.0.22631", 1, "Enterprise", "NPPR9-FWDCX-D2C8J-H872K-2YT43"),
    ("6.1.7601", 1, "Enterprise", "33PXH-7Y6KF-2VJC9-XBBR8-HVTHH"),
    ("10.0.26100", 1, "EnterpriseS", "M7XTQ-FN8P6-TTKYV-9D4CC-J462D"),
])
def test_expected_windows_gvlk(version: str, ptype: int, edition: str, key: str) -> None:
    row = _product_key.expected_windows_gvlk(os_view(version, ptype, edition))
    assert row is not None
    assert row.key == key


@pytest.mark.parametrize(("name", "app", "row_product"), [
    ("Office 16, Office16ProPlusVL_KMS_Client edition", OFFICE, "Office Professional Plus 2016"),
    ("Office 19, Office19ProPlus2019VL_KMS_Client_AE edition", OFFICE, "Office Professional Plus 2019"),
    ("Office 21, Office21ProPlus2021VL_KMS_Client_AE edition", OFFICE, "Office LTSC Professional Plus 2021"),
    ("Office 16, Office16VisioProVL_KMS_Client edition", OFFICE, "Visio Professional 2016"),
    ("Office 15, OfficeProjectProVL_MAK edition", OFFICE, "Project Professional 2013"),
    ("Office 14, OfficeProPlus-KMS_Client edition", OFFICE2010, "Office Professional Plus 2010"),
    ("Office 16, Office16MondoVL_KMS_Client edition", OFFICE, None),
])
def test_office_product_names_map_to_gvlk_rows(name: str, app: str, row_product: str | None) -> None:
    p = _state.LicensingProduct.from_cim(product("aaaa", name, app, "Office, VOLUME_KMSCLIENT channel", "ABCDE"),
                                         "spp", None, None)
    row = _product_key.expected_office_gvlk(p)
    assert (row.product if row else None) == row_product


@pytest.mark.parametrize("row", _products.GVLKS, ids=lambda g: g.product)
def test_every_public_gvlk_is_recognised_with_its_product(row: _products.Gvlk) -> None:
    found = _product_key.gvlk_for_key(row.key)
    assert found is not None
    assert _product_key.gvlk_product(found) in _product_key.PRODUCTS


@pytest.mark.parametrize(("version", "nt", "server", "allowed"), [
    ("2010", (6, 1, 7601), True, True),     # Server 2008 R2 [SEED]
    ("2010", (6, 1, 7601), False, True),    # Windows 7 VL [SEED]
    ("2010", (5, 2, 3790), True, True),     # Server 2003 [SEED]
    ("2010", (6, 0, 6002), True, False),    # never Server 2008 [SEED]
    ("2010", (6, 2, 9200), True, False),    # not a later release [SEED]
    ("2010", (10, 0, 20348), True, False),
    ("2013", (5, 2, 3790), True, False),    # not 2003 [technet jj219430]
    ("2013", (6, 3, 9600), True, True),
    ("2016", (6, 1, 7601), False, True),
    ("2019", (6, 2, 9200), True, True),
    ("2019", (6, 1, 7601), True, False),
    ("2019", (6, 2, 9200), False, False),   # Windows 8 client: 8.1 or later [ODO-HOST]
    ("2021", (10, 0, 14393), True, True),
    ("2021", (6, 3, 9600), True, False),
    ("2021", (10, 0, 19045), False, True),
    ("2024", (10, 0, 17763), True, False),
    ("2024", (10, 0, 20348), True, True),
    ("2024", (10, 0, 22631), False, True),
])
def test_office_kms_host_pack_matrix(version: str, nt: tuple[int, int, int], server: bool, allowed: bool) -> None:
    v = os_view(".".join(map(str, nt)), 3 if server else 1, "ServerStandard" if server else "Enterprise")
    assert _product_key.OFFICE_HOST_PACKS[version].allows(v) is allowed


SERVER_2022 = {"Caption": "Microsoft Windows Server 2022 Standard", "Version": "10.0.20348", "BuildNumber": "20348",
               "ProductType": 3, "OperatingSystemSKU": 7}
WIN7_RETAIL = {"Caption": "Microsoft Windows 7 Professional", "Version": "6.1.7601", "BuildNumber": "7601",
               "ProductType": 1, "OperatingSystemSKU": 48}


def test_office2013_host_on_windows7_needs_a_volume_licensed_windows() -> None:
    st = state(WIN7_RETAIL, [product("w7", "Windows(R) 7, Professional edition", WIN,
                                     "Windows Operating System - Windows(R) 7, RETAIL channel", "ABCDE")])
    req = _product_key.parse_request({"key": "FWBH6-F4PKH-RP9BH-9KTQP-KVTXC", "key_type": "kms_host",
                                      "product": "office2013"})
    with pytest.raises(_product_key.KeyPlanError) as e:
        _product_key.plan_keys(req, st)
    assert str(e.value) == (
        "Failed to install the KMS host key 'XXXXX-XXXXX-XXXXX-XXXXX-KVTXC' for Office 2013: the Office 2013 KMS host "
        "license pack supports client Windows only in its volume editions [technet jj219430(v=office.15)], and "
        "Windows on this host is not volume licensed (its key channel is retail)")


def test_windows_kms_host_key_on_a_client_edition_warns() -> None:
    caption = "Microsoft Windows 11 Enterprise"
    st = state({"Caption": caption, "Version": "10.0.22631", "BuildNumber": "22631", "ProductType": 1,
                "OperatingSystemSKU": 4},
               [product("w11", "Windows(R), Enterprise edition", WIN, "Windows(R) Operating System, "
                        "VOLUME_KMSCLIENT channel", "2YT43")])
    kp = _product_key.plan_keys(_product_key.parse_request({"key": "TGV4F-XXX8X-CHX6D-44W7X-H4D3N", "key_type": "kms_host",
                                                            "product": "windows"}), st)
    assert kp.warnings == [f"{caption} is a client edition of Windows: a KMS host on it activates client editions "
                           "of Windows only, never Windows Server"]
    assert [op["method"] for op in kp.plan.operations] == ["InstallProductKey", "RefreshLicenseStatus"]


def test_office2010_key_without_ospp_is_refused() -> None:
    st = state(SERVER_2022, [], ospp=False)
    req = _product_key.parse_request({"key": "MKDT7-XW3YG-PQ82B-JJRW6-4H9CV", "key_type": "mak", "product": "office2010"})
    with pytest.raises(_product_key.KeyPlanError, match=r"Office Software Protection Platform \(osppsvc\) is not "):
        _product_key.plan_keys(req, st)


def _two_office2016() -> _state.HostState:
    return state(SERVER_2022, [
        product("p1", "Office 16, Office16ProPlusVL_KMS_Client edition", OFFICE, "Office 16, VOLUME_KMSCLIENT "
                "channel", "WFG99"),
        product("p2", "Office 16, Office16VisioProVL_MAK edition", OFFICE, "Office 16, VOLUME_MAK channel", "77777"),
        product("w", "Windows(R), ServerStandard edition", WIN, "Windows(R) Operating System, VOLUME_KMSCLIENT "
                "channel", "VMK7H"),
    ])


def test_absent_with_two_candidates_asks_which_one() -> None:
    req = _product_key.parse_request({"state": "absent", "product": "office2016"})
    with pytest.raises(_product_key.KeyPlanError) as e:
        _product_key.plan_keys(req, _two_office2016())
    assert str(e.value) == (
        "Failed to remove the product key of Office 2016: 2 products have a key ('Office 16, Office16ProPlusVL_KMS_"
        "Client edition' (p1, key 'XXXXX-XXXXX-XXXXX-XXXXX-WFG99'); 'Office 16, Office16VisioProVL_MAK edition' (p2, "
        "key 'XXXXX-XXXXX-XXXXX-XXXXX-77777')); name the one to remove with key or activation_id")


@pytest.mark.parametrize(("args", "removed"), [
    ({"state": "absent", "product": "office2016", "key_type": "mak"}, ["p2"]),
    ({"state": "absent", "key_type": "mak"}, ["p2"]),
    ({"state": "absent", "product": "windows"}, ["w"]),
    ({"state": "absent", "activation_id": "00000000-0000-0000-0000-0000000000aa"}, []),
])
def test_absent_removes_by_id_only_what_is_named(args: dict[str, t.Any], removed: list[str]) -> None:
    kp = _product_key.plan_keys(_product_key.parse_request(args), _two_office2016())
    uninstall = [op for op in kp.plan.operations if op["method"] == "UninstallProductKey"]
    assert [op["filter"] for op in uninstall] == [f"ID = '{aid}'" for aid in removed]
    assert all(op.get("filter") for op in kp.plan.operations if op["class"].endswith("Product"))


def test_gvlk_auto_installs_the_office_gvlk_of_a_product_on_its_mak_only_when_not_activated() -> None:
    st = state(SERVER_2022, [
        product("p2", "Office 16, Office16VisioProVL_MAK edition", OFFICE, "Office 16, VOLUME_MAK channel", "77777",
                status=0),
        product("w", "Windows(R), ServerStandard edition", WIN, "Windows(R) Operating System, VOLUME_KMSCLIENT "
                "channel", "VMK7H"),
    ])
    kp = _product_key.plan_keys(_product_key.parse_request({"gvlk": "auto"}), st)
    assert [(tg.scope, tg.action) for tg in kp.targets] == [
        ("windows", "unchanged"), ("office2016:Visio Professional 2016", "install")]
    assert kp.plan.batch.product_keys == ["PD3PC-RHNGV-FXJ29-8JK7D-RJRJK"]


@pytest.mark.parametrize("product_arg", ["windows", "all"])
def test_gvlk_auto_never_turns_a_kms_host_into_a_client(product_arg: str) -> None:
    st = state(SERVER_2022, [
        product("w", "Windows(R), ServerStandard edition", WIN, "Windows(R) Operating System, VOLUME_KMS_2022 channel",
                "H4D3N", IsKeyManagementServiceMachine=1),
    ])
    kp = _product_key.plan_keys(_product_key.parse_request({"gvlk": "auto", "product": product_arg}), st)
    assert [(tg.scope, tg.action) for tg in kp.targets] == [("windows", "skipped")]
    assert kp.plan.operations == []
    assert kp.warnings == [
        "Left Windows as it is: 'Windows(R), ServerStandard edition' carries the KMS host key "
        "'XXXXX-XXXXX-XXXXX-XXXXX-H4D3N' (this machine is a KMS host); install the KMS client setup key explicitly "
        "(gvlk=<product>) to turn it into a KMS client"]


@pytest.mark.parametrize(("sku", "edition", "key"), [
    (4, "Enterprise", "NPPR9-FWDCX-D2C8J-H872K-2YT43"),
    (48, "Professional", "W269N-WFGWX-YVC9B-4J6C9-T83GX"),
    (101, None, None),  # Home: no volume channel, no key guessed
])
def test_without_a_windows_key_the_edition_comes_from_the_os_sku(sku: int, edition: str | None,
                                                                 key: str | None) -> None:
    st = state({"Caption": "Microsoft Windows 11", "Version": "10.0.22631", "BuildNumber": "22631",
                "ProductType": 1, "OperatingSystemSKU": sku}, [])
    view = _product_key.OsView.from_state(st)
    assert view is not None and view.edition == edition
    row = _product_key.expected_windows_gvlk(view)
    assert (row.key if row else None) == key
