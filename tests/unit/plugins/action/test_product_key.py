"""product_key: replays executor results recorded from the lab (tests/unit/test_data/product_key, see record.py).

Each test asserts the exact operations sent (secrets only as references), the round trips,
the result and, for refusals, the exact message.
"""

from __future__ import annotations

import importlib
import json
import typing as t

import pytest
import yaml

from ansible_collections.winops.volume_activation.plugins.action.product_key import ActionModule
from ansible_collections.winops.volume_activation.tests.unit.plugins.conftest import (
    KEY_STATE_READ,
    REFRESH,
    DisplayRecorder,
    load_data,
    make_action,
)

READ = KEY_STATE_READ

REF0 = {"secret": "product_keys", "index": 0}
PRO_MAK = "F6G9Y-G2WJW-VHJXC-H4RRX-7T794"
ENT_MAK = "PCFHM-B7PB2-XQQWT-HCR6Q-J99YY"
WS2022_CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"
OFFICE2010_CSVLK = "FWBH6-F4PKH-RP9BH-9KTQP-KVTXC"
OFFICE2010_MAK = "MKDT7-XW3YG-PQ82B-JJRW6-4H9CV"
UNKNOWN_KEY = "QXG4C-R7W8B-YV4KM-29DGH-TB3J6"
PRO_GVLK = "W269N-WFGWX-YVC9B-4J6C9-T83GX"
ALL_KEYS = (PRO_MAK, ENT_MAK, WS2022_CSVLK, OFFICE2010_CSVLK, OFFICE2010_MAK, UNKNOWN_KEY)


def install(service: str = "SoftwareLicensingService") -> dict[str, t.Any]:
    return {"op": "cim_invoke", "class": service, "method": "InstallProductKey", "arguments": {"ProductKey": REF0}}


def run(scenario: str, args: dict[str, t.Any] | None = None, *, check_mode: bool = False, diff: bool = False,
        responses: list[t.Any] | None = None) -> tuple[dict[str, t.Any], t.Any]:
    data = load_data("product_key", f"{scenario}.json")
    plugin, fake = make_action(ActionModule, dict(data["args"] if args is None else args),
                               data["round_trips"] if responses is None else responses,
                               check_mode=check_mode, diff=diff, action="winops.volume_activation.product_key")
    return plugin.run(task_vars={}), fake


def test_mak_is_installed_then_refreshed_and_read_back() -> None:
    result, fake = run("pk_mak_install", diff=True)
    assert fake.operations == [READ, [install(), REFRESH, *READ]]
    assert fake.calls[1]["module_args"]["product_keys"] == [PRO_MAK]
    assert fake.calls[1]["module_args"]["stop_on_error"] is False
    assert "product_keys" not in fake.calls[0]["module_args"]
    assert result["changed"] is True
    assert result["round_trips"] == 2
    assert result["key_type"] == "mak"
    assert result["changes"] == [
        "install the MAK 'XXXXX-XXXXX-XXXXX-XXXXX-7T794' for Windows through SoftwareLicensingService",
        "refresh the license status of the Software Licensing Service"]
    assert result["diff"] == {"before": {"product_keys": {"windows": ["XXXXX-XXXXX-XXXXX-XXXXX-T83GX"]}},
                              "after": {"product_keys": {"windows": ["XXXXX-XXXXX-XXXXX-XXXXX-7T794"]}}}
    target = result["targets"][0]
    assert (target["scope"], target["action"], target["product_key"]) == (
        "windows", "installed", "XXXXX-XXXXX-XXXXX-XXXXX-7T794")
    assert [(p["channel"], p["product_key"]) for p in target["after"]] == [("mak", "XXXXX-XXXXX-XXXXX-XXXXX-7T794")]


def test_check_mode_sends_only_the_read_and_shows_the_diff() -> None:
    result, fake = run("pk_mak_check_mode", check_mode=True, diff=True)
    assert fake.operations == [READ]
    assert all(c["check_mode"] for c in fake.calls)  # the read runs in check mode (the executor supports it)
    assert "product_keys" not in fake.calls[0]["module_args"]
    assert result["changed"] is True
    assert result["round_trips"] == 1
    assert result["targets"][0]["action"] == "installed"
    assert result["targets"][0]["after"] is None
    assert result["diff"]["after"] == {"product_keys": {"windows": ["XXXXX-XXXXX-XXXXX-XXXXX-7T794"]}}


@pytest.mark.parametrize(("scenario", "actions"), [
    ("pk_mak_noop", [("windows", "unchanged")]),
    ("pk_auto_noop", [("windows", "unchanged"), ("office2016:Office Professional Plus 2016", "unchanged")]),
    ("pk_absent_noop", [("windows", "unchanged")]),
])
def test_nothing_to_do_costs_one_round_trip(scenario: str, actions: list[tuple[str, str]]) -> None:
    result, fake = run(scenario, diff=True)
    assert fake.operations == [READ]
    assert result["changed"] is False
    assert result["round_trips"] == 1
    assert "changes" not in result
    assert [(t_["scope"], t_["action"]) for t_ in result["targets"]] == actions
    assert result["diff"]["before"] == result["diff"]["after"]


def test_gvlk_auto_leaves_a_mak_activated_windows_alone() -> None:
    result, fake = run("pk_auto_keeps_mak")
    assert fake.operations == [READ]
    assert result["changed"] is False
    assert result["targets"][0]["action"] == "skipped"
    assert result["warnings"] == [
        "Left Windows as it is: 'Windows(R), Professional edition' is activated with the MAK "
        "'XXXXX-XXXXX-XXXXX-XXXXX-7T794'; set replace_mak=true to switch it to KMS"]


def test_gvlk_auto_replaces_the_mak_when_asked() -> None:
    result, fake = run("pk_auto_replace_mak", diff=True)
    assert fake.operations == [READ, [install(), REFRESH, *READ]]
    assert fake.calls[1]["module_args"]["product_keys"] == [PRO_GVLK]
    target = result["targets"][0]
    assert (target["action"], target["gvlk_product"], target["key_type"]) == (
        "installed", "Windows 11/10 Pro", "kms_client")
    assert [p["channel"] for p in target["after"]] == ["kms_client"]
    assert result["diff"]["after"]["product_keys"]["windows"] == ["XXXXX-XXXXX-XXXXX-XXXXX-T83GX"]


@pytest.mark.parametrize(("scenario", "message"), [
    ("pk_gvlk_over_mak_refused",
     "Failed to install the product key 'XXXXX-XXXXX-XXXXX-XXXXX-T83GX' for Windows: 'Windows(R), Professional "
     "edition' is activated with the MAK 'XXXXX-XXXXX-XXXXX-XXXXX-7T794', and a KMS client setup key would switch "
     "it to KMS activation; set replace_mak=true to do that"),
    ("pk_home_csvlk_refused",
     "Failed to install the KMS host key 'XXXXX-XXXXX-XXXXX-XXXXX-H4D3N' for Windows: the edition 'Core' "
     "(Microsoft Windows 11 Home) cannot be a KMS host; Home, Starter and Ultimate editions have no volume licensing "
     "channel (Microsoft publishes no KMS client setup key for them), and a KMS host key installed on a machine that "
     "cannot be a KMS host is refused as an invalid volume license key"),
    ("pk_home_auto_refused",
     "Failed to choose the KMS client setup key for Windows: Windows on this host is installed from retail media "
     "(Microsoft Windows 11 Home (version 10.0.22631), edition 'Core', key 'XXXXX-XXXXX-XXXXX-XXXXX-4JC3J' of channel "
     "Retail); a KMS client setup key needs a volume licensed edition"),
    ("pk_office2010_host_on_2022_refused",
     "Failed to install the KMS host key 'XXXXX-XXXXX-XXXXX-XXXXX-KVTXC' for Office 2010: the Office 2010 KMS host "
     "license pack supports Windows Server 2003 (Standard, Enterprise, Datacenter), Windows 7 volume editions and "
     "Windows Server 2008 R2 only, not Windows Server 2008 nor any later release [SEED], and this host runs "
     "Microsoft Windows Server 2022 Standard (version 10.0.20348)"),
    ("pk_wrong_edition_gvlk_refused",
     "Failed to install the product key 'XXXXX-XXXXX-XXXXX-XXXXX-T83GX' for Windows: it is the public KMS client "
     "setup key of 'Windows 11/10 Pro', but this host runs Microsoft Windows Server 2022 Standard (version "
     "10.0.20348), edition 'ServerStandard', whose key is 'XXXXX-XXXXX-XXXXX-XXXXX-VMK7H' (Windows Server 2022 "
     "Standard) [WSD-KEYS]"),
])
def test_refused_after_the_read_before_anything_is_sent(scenario: str, message: str) -> None:
    result, fake = run(scenario)
    assert fake.operations == [READ]
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["round_trips"] == 1
    assert result["msg"] == message


@pytest.mark.parametrize(("args", "message"), [
    ({"key": "W269N-WFGWX-YVC9B-4J6C9-T83G", "key_type": "mak", "product": "windows"},
     "Failed to install the product key: the product key 'XXXXX-XXXXX-XXXXX-XXXXX-XXXXX' is not five groups of five "
     "characters separated by hyphens"),
    ({"key": "W269N-WFGWX-YVC9B-4J6C9-T83GO", "key_type": "mak", "product": "windows"},
     "Failed to install the product key: the product key 'XXXXX-XXXXX-XXXXX-XXXXX-T83GO' contains 'O'; product keys "
     "use only BCDFGHJKMPQRTVWXY2346789 and at most one N"),
    ({"key": PRO_GVLK, "key_type": "mak", "product": "windows"},
     "Failed to install the product key 'XXXXX-XXXXX-XXXXX-XXXXX-T83GX': it is the public KMS client setup key of "
     "'Windows 11/10 Pro' [WSD-KEYS], not a MAK; use key_type=kms_client or leave key_type out"),
    ({"key": PRO_MAK, "product": "windows"},
     "Failed to install the product key 'XXXXX-XXXXX-XXXXX-XXXXX-7T794': key_type is needed, because the key is not "
     "a public KMS client setup key and a KMS host key, a MAK and a retail key cannot be told apart without "
     "Microsoft's key configuration; set key_type to kms_host, mak or retail"),
    ({"key": PRO_MAK, "key_type": "mak"},
     "Failed to install the product key 'XXXXX-XXXXX-XXXXX-XXXXX-7T794': product or activation_id is needed to say "
     "which product a MAK is for"),
    ({"key": PRO_MAK, "key_type": "mak", "product": "all"},
     "Failed to install the product key: product 'all' names several products and a key belongs to one; use windows "
     "or office2010 .. office2024 (all and office go with gvlk=auto only)"),
    ({"gvlk": "Windows 12 Ultra"},
     "Failed to install the KMS client setup key: gvlk 'Windows 12 Ultra' is neither 'auto' nor a product of "
     "Microsoft's public KMS client setup key tables (e.g. 'Windows Server 2022 Standard', 'Office LTSC Professional "
     "Plus 2021')"),
    ({"gvlk": "auto", "state": "absent"},
     "Failed to remove the product key: gvlk selects a key to install and needs state=present"),
    ({"state": "absent"},
     "Failed to remove the product key: name what to remove with key, activation_id, product or key_type (this "
     "module never removes every key, unlike slmgr.vbs /upk without an ID)"),
    ({"key": "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99", "product": "windows"},
     "Failed to install the product key 'XXXXX-XXXXX-XXXXX-XXXXX-WFG99': it is the public KMS client setup key of "
     "'Office Professional Plus 2016', which is not a windows product"),
    ({"key": PRO_MAK, "key_type": "mak", "activation_id": "not-a-guid"},
     "Failed to install the product key: activation_id must be a GUID, got 'not-a-guid'"),
    ({"gvlk": "auto", "key_type": "mak"},
     "Failed to install the KMS client setup key: gvlk installs a KMS client setup key, but key_type is 'mak'"),
])
def test_bad_input_is_refused_without_contacting_the_host(args: dict[str, t.Any], message: str) -> None:
    result, fake = run("pk_mak_install", args, responses=[])
    assert fake.calls == []
    assert result["failed"] is True
    assert result["round_trips"] == 0
    assert result["msg"] == message


def test_a_key_the_host_refuses_comes_back_explained_with_the_next_step() -> None:
    result, fake = run("pk_host_rejects")
    assert fake.operations == [READ, [install(), REFRESH, *READ]]
    assert result["round_trips"] == 2
    assert result["failed"] is True
    assert result["changed"] is False  # RefreshLicenseStatus ran, but no key was installed
    assert result["msg"] == (
        "Failed to install the MAK 'XXXXX-XXXXX-XXXXX-XXXXX-TB3J6' for Windows through SoftwareLicensingService: "
        "0xC004F050 (SL_E_INVALID_PRODUCT_KEY): the Software Licensing Service reported that the product key is "
        "invalid; next step: check the key for typos (a pasted em-dash counts), make sure it is for this edition and "
        "not a beta key; a KMS host may need an update to accept a newer host key")


def test_a_key_that_lands_on_another_product_fails_and_says_where() -> None:
    result, fake = run("pk_landed_elsewhere")
    assert fake.operations == [READ, [install(), REFRESH, *READ]]
    assert result["changed"] is True
    assert result["failed"] is True
    windows_mak = result["targets"][0]["after"][0]["activation_id"]
    assert result["msg"] == (
        "Failed to install the product key 'XXXXX-XXXXX-XXXXX-XXXXX-J99YY' for Office 2016: the licensing service "
        f"installed it on 'Windows(R), Enterprise edition' ({windows_mak}) instead; if that was not meant, remove it "
        f"with state=absent and activation_id={windows_mak}")


def test_office2010_host_key_goes_to_windows_spp_on_2008_r2() -> None:
    result, fake = run("pk_office2010_host_on_2008r2", diff=True)
    assert fake.operations == [READ, [install(), REFRESH, *READ]]
    target = result["targets"][0]
    assert target["scope"] == "office2010_kms_host"
    assert [(p["activation_id"], p["source"], p["channel"]) for p in target["after"]] == [
        ("bfe7a195-4f8f-4f0b-a622-cf13c7d16864", "spp", "kms_host")]
    assert result["diff"] == {"before": {"product_keys": {"office2010_kms_host": []}},
                              "after": {"product_keys": {"office2010_kms_host": ["XXXXX-XXXXX-XXXXX-XXXXX-KVTXC"]}}}


def test_windows_kms_host_key_on_server_2022() -> None:
    result, fake = run("pk_windows_csvlk")
    assert fake.operations == [READ, [install(), REFRESH, *READ]]
    assert "warnings" not in result
    assert [p["channel"] for p in result["targets"][0]["after"]] == ["kms_host"]


def test_office2010_mak_goes_to_ospp_without_refresh() -> None:
    result, fake = run("pk_office2010_mak_ospp")
    # OSPP has no RefreshLicenseStatus [OSPP15]: only the install is sent before the read-back.
    assert fake.operations == [READ, [install("OfficeSoftwareProtectionService"), *READ]]
    assert result["changed"] is True
    assert [(p["source"], p["channel"]) for p in result["targets"][0]["after"]] == [("ospp", "mak")]


def test_absent_removes_only_the_named_products_key_by_id() -> None:
    result, fake = run("pk_absent_office2016", diff=True)
    flt = "ID = 'd450596f-894d-49e0-966a-fd39ed4c4c64'"
    assert fake.operations == [READ, [
        {"op": "cim_invoke", "class": "SoftwareLicensingProduct", "method": "UninstallProductKey", "filter": flt},
        REFRESH, *READ]]
    assert result["changed"] is True
    assert result["targets"][0]["action"] == "removed"
    assert result["targets"][0]["after"] == []
    assert result["diff"] == {"before": {"product_keys": {"office2016": ["XXXXX-XXXXX-XXXXX-XXXXX-WFG99"]}},
                              "after": {"product_keys": {"office2016": []}}}


def test_absent_office_2010_passes_the_product_key_id_as_ospp_vbs_does() -> None:
    """ospp.vbs /unpkey calls instance.UninstallProductKey(instance.ProductKeyID) on
    OfficeSoftwareProtectionProduct (Microsoft's ospp.vbs, OSPP15): the executor is asked to pass the
    product's ProductKeyID as the method's argument, by position. (Before: no argument at all.)"""
    result, fake = run("pk_absent_office2010_ospp", diff=True)
    flt = "ID = '6f327760-8c5c-417c-9b61-836a98287e0c'"
    assert fake.operations[1][0] == {"op": "cim_invoke", "class": "OfficeSoftwareProtectionProduct",
                                     "method": "UninstallProductKey", "filter": flt,
                                     "argument_property": "ProductKeyID"}
    # OSPP has no RefreshLicenseStatus [OSPP15]: only the read-back follows.
    assert fake.operations[1][1:] == READ
    assert result["changed"] is True
    assert result["targets"][0]["action"] == "removed" and result["targets"][0]["after"] == []


@pytest.mark.parametrize("scenario", ["pk_mak_install", "pk_landed_elsewhere", "pk_host_rejects",
                                      "pk_office2010_host_on_2008r2", "pk_home_csvlk_refused"])
def test_no_full_key_in_results_or_display_at_vvvv(scenario: str, display_recorder: DisplayRecorder) -> None:
    result, fake = run(scenario, diff=True)
    sent = json.dumps(fake.operations)
    dumped = json.dumps(result)
    for key in (*ALL_KEYS, PRO_GVLK):
        assert key not in sent
        assert key not in dumped
        assert key not in display_recorder.text
    assert any(name == "vvvv" for name, _msg in display_recorder.messages)


def _return_keys() -> set[str]:
    mod = importlib.import_module("ansible_collections.winops.volume_activation.plugins.modules.product_key")
    return set(yaml.safe_load(mod.RETURN))


@pytest.mark.parametrize("scenario", ["pk_mak_install", "pk_auto_keeps_mak", "pk_absent_office2016",
                                      "pk_landed_elsewhere"])
def test_every_returned_key_is_documented(scenario: str) -> None:
    result, _fake = run(scenario, diff=True)
    common = {"changed", "failed", "msg", "warnings", "diff", "invocation", "_ansible_no_log"}
    assert set(result) - common <= _return_keys()
    mod = importlib.import_module("ansible_collections.winops.volume_activation.plugins.modules.product_key")
    contains = yaml.safe_load(mod.RETURN)["targets"]["contains"]
    assert set(result["targets"][0]) == set(contains)
