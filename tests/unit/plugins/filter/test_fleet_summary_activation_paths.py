"""fleet_summary's activation paths: which hosts activate through Active Directory and which
still need a KMS host, from license_info's ``activated_by`` (a separate test file, so the
fleet_summary tests of the report stay as they are)."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.winops.volume_activation.plugins.filter import fleet_summary as fs


def product(name: str, activated_by: str | None, channel: str = "kms_client", ppk: str | None = "2YT43",
            activated: bool = True) -> dict[str, t.Any]:
    return {"name": name, "channel": channel, "partial_product_key": ppk, "activated": activated,
            "license_status": "licensed" if activated else "initial_grace", "activated_by": activated_by,
            "family": "windows", "activation_id": name.lower()}


def result(*products: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"os": {"caption": "Microsoft Windows 11 Enterprise"}, "products": list(products),
            "summary": {}, "service": None, "ospp_service": None}


@pytest.mark.parametrize(("results", "expected"), [
    ([("ws01", result(product("Windows 11", "ad"), product("Office 16", "ad")))],
     {"active_directory": [{"host": "ws01", "products": ["Windows 11", "Office 16"]}], "kms": []}),
    ([("w701", result(product("Windows 7", "kms"), product("Office 14", None, activated=False)))],
     {"active_directory": [], "kms": [{"host": "w701", "products": ["Windows 7", "Office 14"]}]}),
    # Mixed host; a MAK and a product without a key are on neither path.
    ([("ws02", result(product("Windows 11", "ad"), product("Office 14", "kms"), product("Visio", None, "mak"),
                      product("Project", None, ppk=None)))],
     {"active_directory": [{"host": "ws02", "products": ["Windows 11"]}],
      "kms": [{"host": "ws02", "products": ["Office 14"]}]}),
    ([("mak01", result(product("Windows 11", None, "mak")))], {"active_directory": [], "kms": []}),
])
def test_activation_paths(results: list[tuple[str, dict[str, t.Any]]], expected: dict[str, t.Any]) -> None:
    assert fs.activation_paths(results) == expected


def test_lines_name_both_paths() -> None:
    paths = fs.activation_paths([("ws01", result(product("Windows 11", "ad"))),
                                 ("w701", result(product("Windows 7", "kms"), product("Office 14", "kms")))])
    assert fs.activation_path_lines(paths) == [
        "Activation paths (KMS client products):",
        "  through Active Directory: ws01 (1)",
        "  still need a KMS host: w701 (2)",
    ]
    assert fs.activation_path_lines({"active_directory": [], "kms": []}) == []


def test_an_ad_activated_product_names_its_activation_object_not_a_kms_host() -> None:
    ad_product = {**product("Windows(R), Enterprise edition", "ad"),
                  "ad_activation": {"object_name": "WS2022", "object_dn": "CN=WS2022,..."},
                  # A KMS host it reached once stays in the Discovered* properties.
                  "kms_client": {"discovered_host": "kms01.corp.example.test", "kms_host_pid": None}}
    summary = fs.summarize({"ws01": {**result(ad_product), "summary": {
        "windows_product": ad_product["name"], "windows_status": "licensed"}}}, ["ws01"])
    assert summary["hosts"][0]["windows"]["activated_by"] == "Active Directory (WS2022)"
    assert summary["activation_paths"] == {"active_directory": [{"host": "ws01", "products": [ad_product["name"]]}],
                                           "kms": []}
