"""activation: replays executor results recorded from the lab (tests/unit/test_data/product_key, see record.py)."""

from __future__ import annotations

import importlib
import json
import typing as t

import pytest
import yaml

from ansible_collections.winops.volume_activation.plugins.action.activation import ActionModule
from ansible_collections.winops.volume_activation.tests.unit.plugins.conftest import (
    KEY_STATE_READ,
    REFRESH,
    DisplayRecorder,
    licensing_read,
    load_data,
    make_action,
)

READ = KEY_STATE_READ

SRV01_WINDOWS = "ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03"
OFFICE2010_HOST = "bfe7a195-4f8f-4f0b-a622-cf13c7d16864"
PHONE = load_data("product_key", "phone.json")


def read_ids(*ids: str) -> list[dict[str, t.Any]]:
    flt = " OR ".join(f"ID = '{i}'" for i in ids)
    return [*READ, licensing_read("SoftwareLicensingProduct", flt), licensing_read("OfficeSoftwareProtectionProduct", flt)]


def activate(aid: str, cls: str = "SoftwareLicensingProduct") -> dict[str, t.Any]:
    return {"op": "cim_invoke", "class": cls, "method": "Activate", "filter": f"ID = '{aid}'"}


def run(scenario: str, args: dict[str, t.Any] | None = None, *, check_mode: bool = False, diff: bool = False,
        responses: list[t.Any] | None = None) -> tuple[dict[str, t.Any], t.Any]:
    data = load_data("product_key", f"{scenario}.json")
    plugin, fake = make_action(ActionModule, dict(data["args"] if args is None else args),
                               data["round_trips"] if responses is None else responses,
                               check_mode=check_mode, diff=diff, action="winops.volume_activation.activation")
    return plugin.run(task_vars={}), fake


WAITING = ("waiting for threshold: the KMS host kms01.pk.example.test:1688 counts fewer than the 5 clients it needs "
           "to activate this product; the client retries every 2 hours and activates once the host counts enough "
           "clients (license_info on the KMS host shows its current count)")


def test_below_the_threshold_is_waiting_not_failed() -> None:
    result, fake = run("act_waiting", diff=True)
    assert fake.operations == [READ, [activate(SRV01_WINDOWS), REFRESH, *READ]]
    assert fake.calls[1]["module_args"]["stop_on_error"] is False
    assert result["round_trips"] == 2
    assert "failed" not in result
    assert result["changed"] is False  # RefreshLicenseStatus succeeded, but nothing was activated
    (row,) = result["products"]
    assert row["outcome"] == "waiting_for_threshold"
    assert row["message"] == WAITING
    assert (row["kms_host"], row["current_count"], row["required_count"]) == ("kms01.pk.example.test:1688", None, 5)
    assert row["hresult"]["symbol"] == "SL_E_VL_NOT_ENOUGH_COUNT"
    assert row["hresult"]["hex"] == "0xC004F038"
    assert result["summary"] == {"waiting_for_threshold": 1}
    assert result["diff"] == {"before": {"license_status": {SRV01_WINDOWS: "initial_grace"}},
                              "after": {"license_status": {SRV01_WINDOWS: "licensed"}}}


def test_below_the_threshold_fails_when_asked() -> None:
    result, _fake = run("act_waiting", {"product": "windows", "fail_below_threshold": True})
    assert result["failed"] is True
    assert result["msg"] == (
        f"Failed to activate 'Windows(R), ServerDatacenter edition' ({SRV01_WINDOWS}): 0xC004F038 "
        "(SL_E_VL_NOT_ENOUGH_COUNT): the KMS host does not yet count enough clients to activate this product (25 for "
        f"Windows client, 5 for Windows Server and Office): {WAITING}")


def test_no_srv_record_is_explained_with_where_the_client_looked() -> None:
    result, fake = run("act_no_srv")
    assert fake.operations == [READ, [activate(SRV01_WINDOWS), REFRESH, *READ]]
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["products"][0]["outcome"] == "failed"
    assert result["msg"] == (
        f"Failed to activate 'Windows(R), ServerDatacenter edition' ({SRV01_WINDOWS}): 0x8007232B "
        "(DNS_ERROR_RCODE_NAME_ERROR): no _vlmcs._tcp SRV record was found in DNS, so no KMS host could be discovered "
        "(looked for the _vlmcs._tcp SRV records of the client's own DNS domain); next step: check that the KMS host "
        "publishes its record (DisableDnsPublishing=0), the client's DNS suffix and search list, or set the host "
        "explicitly (kms_client host)")


def test_mak_is_activated_online() -> None:
    result, fake = run("act_mak_online")
    (row,) = result["products"]
    assert fake.operations == [READ, [activate(row["activation_id"]), REFRESH, *READ]]
    assert result["changed"] is True
    assert (row["channel"], row["outcome"], row["license_status"], row["message"]) == (
        "mak", "activated", "licensed", "activated")
    assert result["summary"] == {"activated": 1}


def test_licensed_mak_is_never_activated_again_without_force() -> None:
    result, fake = run("act_mak_licensed")
    assert fake.operations == [READ]
    assert result["changed"] is False
    assert result["round_trips"] == 1
    assert [r["outcome"] for r in result["products"]] == ["already_activated"]


def test_force_activates_a_licensed_mak_again() -> None:
    result, fake = run("act_mak_force")
    aid = result["products"][0]["activation_id"]
    assert fake.operations == [READ, [activate(aid), REFRESH, *READ]]
    assert result["products"][0]["outcome"] == "activated"


def test_check_mode_sends_nothing_mutating() -> None:
    result, fake = run("act_check_mode", check_mode=True, diff=True)
    assert fake.operations == [READ]
    assert result["changed"] is True
    assert result["round_trips"] == 1
    assert [r["outcome"] for r in result["products"]] == ["would_activate"]
    assert list(result["diff"]["after"]["license_status"].values()) == ["licensed"]


def test_offline_step_one_returns_the_installation_id() -> None:
    result, fake = run("act_offline_iid")
    assert fake.operations == [READ]
    assert result["changed"] is False
    (row,) = result["products"]
    assert (row["activation_id"], row["outcome"]) == (OFFICE2010_HOST, "installation_id")
    assert row["installation_id"] == PHONE["installation_id"]


def test_offline_step_two_deposits_the_confirmation_id_as_a_secret(display_recorder: DisplayRecorder) -> None:
    cid = PHONE["confirmation_id"]
    args = {"method": "offline", "confirmation_ids": {OFFICE2010_HOST: cid}}
    result, fake = run("act_offline_deposit", args, diff=True)
    deposit = {"op": "cim_invoke", "class": "SoftwareLicensingProduct", "method": "DepositOfflineConfirmationId",
               "filter": f"ID = '{OFFICE2010_HOST}'",
               "arguments": {"InstallationId": PHONE["installation_id"],
                             "ConfirmationId": {"secret": "confirmation_ids", "index": 0}}}
    applied: list[dict[str, t.Any]] = [deposit, REFRESH, *read_ids(OFFICE2010_HOST)]
    assert fake.operations == [read_ids(OFFICE2010_HOST), applied]
    assert fake.calls[1]["module_args"]["confirmation_ids"] == [cid]
    assert result["changed"] is True
    assert result["products"][0]["outcome"] == "confirmation_deposited"
    assert result["products"][0]["license_status"] == "licensed"
    assert cid not in json.dumps(fake.operations)
    assert cid not in json.dumps(result)
    assert cid not in display_recorder.text


def test_a_wrong_confirmation_id_is_explained() -> None:
    result, _fake = run("act_offline_bad_cid")
    assert result["failed"] is True
    assert result["msg"] == (
        f"Failed to activate 'Microsoft Office 2010, KMSHost edition' ({OFFICE2010_HOST}): 0xC004F04D "
        "(SL_E_CIDIID_INVALID_CHECK_DIGITS): the installation ID or the confirmation ID is invalid; next step: check "
        "the confirmation ID for typing errors, or get a new one for the current installation ID")
    assert "1" * 48 not in json.dumps(result)


@pytest.mark.parametrize(("scenario", "ids", "message"), [
    ("act_unknown_id", ["00000000-0000-0000-0000-000000000001"],
     "Failed to activate the product '00000000-0000-0000-0000-000000000001': no licensing product has this "
     "activation ID on this host"),
    ("act_named_gvlk_offline_refused", [SRV01_WINDOWS],
     f"Failed to activate 'Windows(R), ServerDatacenter edition' ({SRV01_WINDOWS}) by phone: a KMS client (GVLK) "
     "activates against a KMS host, not by phone; use method=online"),
])
def test_refused_after_the_read(scenario: str, ids: list[str], message: str) -> None:
    result, fake = run(scenario)
    assert fake.operations == [read_ids(*ids)]
    assert result["failed"] is True
    assert result["round_trips"] == 1
    assert result["msg"] == message


@pytest.mark.parametrize(("args", "message"), [
    ({"activation_ids": ["nope"]}, "Failed to activate: activation_ids must hold activation IDs (GUIDs), got 'nope'"),
    ({"method": "offline", "confirmation_ids": {OFFICE2010_HOST: "12345-ABCDE"}},
     f"Failed to activate the product '{OFFICE2010_HOST}' by phone: its confirmation ID may hold only digits, "
     "spaces and hyphens, as the Microsoft Activation Center reads it out"),
    ({"confirmation_ids": {OFFICE2010_HOST: "123456"}},
     "Failed to activate: confirmation_ids are deposited by phone activation; set method=offline"),
    ({"method": "offline", "activation_ids": [SRV01_WINDOWS], "confirmation_ids": {OFFICE2010_HOST: "123456"}},
     f"Failed to activate the product '{OFFICE2010_HOST}' by phone: it has a confirmation ID but is not in "
     "activation_ids"),
])
def test_bad_input_is_refused_without_contacting_the_host(args: dict[str, t.Any], message: str) -> None:
    result, fake = run("act_mak_online", args, responses=[])
    assert fake.calls == []
    assert result["failed"] is True
    assert result["msg"] == message
    assert "12345-ABCDE" not in json.dumps(result)


@pytest.mark.parametrize("scenario", ["act_waiting", "act_offline_iid", "act_no_srv", "act_mak_online"])
def test_every_returned_key_is_documented(scenario: str) -> None:
    result, _fake = run(scenario)
    mod = importlib.import_module("ansible_collections.winops.volume_activation.plugins.modules.activation")
    ret = yaml.safe_load(mod.RETURN)
    common = {"changed", "failed", "msg", "warnings", "diff", "invocation", "_ansible_no_log"}
    assert set(result) - common <= set(ret)
    assert set(result["products"][0]) == set(ret["products"]["contains"])
