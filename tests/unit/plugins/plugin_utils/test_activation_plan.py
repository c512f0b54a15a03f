"""_activation: product choice, per-product outcomes of KMS failures and the offline HRESULTs
(synthesized states and operation results, no executor)."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.winops.volume_activation.plugins.plugin_utils import (
    _activation,
    _client,
    _errors,
    _state,
)

WIN = "55c92734-d682-4d71-983e-d6ec3f16059f"
GVLK_DESC = "Windows(R) Operating System, VOLUME_KMSCLIENT channel"


def service(**props: t.Any) -> _state.LicensingService:
    return _state.LicensingService.from_cim(props, "spp")


def client_product(svc: _state.LicensingService | None = None, status: int = 2, **props: t.Any
                   ) -> _state.LicensingProduct:
    row = {"ID": "c1", "Name": "Windows(R), ServerDatacenter edition", "ApplicationID": WIN,
           "Description": GVLK_DESC, "PartialProductKey": "6VM33", "LicenseStatus": status, **props}
    return _state.LicensingProduct.from_cim(row, "spp", svc, None)


def host_state(*products: _state.LicensingProduct, svc: _state.LicensingService | None = None) -> _state.HostState:
    return _state.HostState(os=None, service=svc, ospp_service=None, ospp_present=False, products=products)


def failed(index: int, code: int) -> _client.OpResult:
    return _client.OpResult(index=index, op="cim_invoke", ok=False, skipped=False, hresult=code, error=None, raw={})


def run_one(code: int, after_props: dict[str, t.Any], svc: _state.LicensingService | None = None,
            fail_below: bool = False) -> tuple[dict[str, t.Any], list[str]]:
    req = _activation.parse_request({"fail_below_threshold": fail_below})
    ap = _activation.plan_activation(req, host_state(client_product(svc), svc=svc))
    assert [op["method"] for op in ap.plan.operations] == ["Activate", "RefreshLicenseStatus"]
    after = host_state(client_product(svc, **after_props), svc=svc)
    rows, failures = _activation.outcomes(ap, [failed(0, code)], after)
    return rows[0], failures


def test_waiting_for_threshold_shows_the_count_when_the_client_has_it() -> None:
    row, failures = run_one(0xC004F038, {"KeyManagementServiceCurrentCount": 3, "RequiredClientCount": 5,
                                         "DiscoveredKeyManagementServiceMachineName": "kms01.example.com",
                                         "DiscoveredKeyManagementServiceMachinePort": 1688})
    assert failures == []
    assert row["outcome"] == "waiting_for_threshold"
    assert (row["current_count"], row["required_count"], row["kms_host"]) == (3, 5, "kms01.example.com:1688")
    assert row["message"].startswith("waiting for threshold: 3 of 5 at the KMS host kms01.example.com:1688; ")


@pytest.mark.parametrize("count", [4294967295, -1, None])
def test_a_client_without_the_count_reports_none(count: int | None) -> None:
    row, _failures = run_one(0xC004F038, {"KeyManagementServiceCurrentCount": count, "RequiredClientCount": 25})
    assert row["current_count"] is None
    assert row["message"].startswith("waiting for threshold: the KMS host counts fewer than the 25 clients it needs")


def test_unreachable_configured_host_names_it() -> None:
    svc = service(KeyManagementServiceMachine="kms01.example.com", KeyManagementServicePort=1689)
    row, failures = run_one(0xC004F074, {}, svc=svc)
    assert row["outcome"] == "failed"
    assert row["kms_host"] == "kms01.example.com:1689"
    assert failures == [
        "Failed to activate 'Windows(R), ServerDatacenter edition' (c1): 0xC004F074 "
        "(SL_E_VL_BINDING_SERVICE_UNAVAILABLE): no KMS host could be contacted (the KMS host configured on the service "
        "kms01.example.com:1689); next step: " + _errors.HRESULTS[0xC004F074].remedy]


def test_host_that_cannot_activate_this_product_names_the_host() -> None:
    row, failures = run_one(0xC004F042, {"DiscoveredKeyManagementServiceMachineName": "kms02.example.com",
                                         "DiscoveredKeyManagementServiceMachinePort": 1688})
    assert row["hresult"]["symbol"] == "SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH"
    assert "(the KMS host kms02.example.com:1688); next step: point the client at a host" in failures[0]


def test_dns_server_failure_names_the_lookup_domain() -> None:
    svc = service(KeyManagementServiceLookupDomain="kms.example.com")
    row, failures = run_one(0x8007232A, {}, svc=svc)
    assert row["kms_host"] is None
    assert "(looked for the _vlmcs._tcp SRV records of kms.example.com)" in failures[0]


def test_threshold_fails_when_asked() -> None:
    _row, failures = run_one(0xC004F038, {"RequiredClientCount": 5}, fail_below=True)
    assert len(failures) == 1
    assert failures[0].startswith("Failed to activate 'Windows(R), ServerDatacenter edition' (c1): 0xC004F038 "
                                  "(SL_E_VL_NOT_ENOUGH_COUNT): ")


@pytest.mark.parametrize(("code", "symbol"), [
    (0xC004F02F, "SL_E_CIDIID_INVALID_DATA_LENGTH"),
    (0xC004F031, "SL_E_CIDIID_MISMATCHED"),
    (0xC004F04D, "SL_E_CIDIID_INVALID_CHECK_DIGITS"),
    (0xC004F051, "SL_E_BLOCKED_PRODUCT_KEY"),
    (0xC004F050, "SL_E_INVALID_PRODUCT_KEY"),  # from the engine's table
])
def test_offline_codes_have_symbol_explanation_and_remedy(code: int, symbol: str) -> None:
    info = _activation.describe(code, "text from Windows")
    assert info is not None
    assert info["symbol"] == symbol
    assert info["hex"] == f"0x{code:08X}"
    assert info["remedy"]
    assert info["message"].startswith(f"0x{code:08X} ({symbol}): ")
    assert info["windows_message"] == "text from Windows"


def test_licensed_products_are_left_alone_and_retail_is_not_chosen_by_default() -> None:
    licensed = client_product(status=1)
    retail = _state.LicensingProduct.from_cim(
        {"ID": "r1", "Name": "Office 16, Office16ProPlusR_Retail edition", "ApplicationID":
         "0ff1ce15-a989-479d-af46-f275c6370663", "Description": "Office 16, RETAIL channel", "PartialProductKey":
         "ABCDE", "LicenseStatus": 0}, "spp", None, None)
    ap = _activation.plan_activation(_activation.parse_request({}), host_state(licensed, retail))
    assert not ap.plan
    assert [(i.product.id, i.decision) for i in ap.items] == [("c1", "already_activated")]
    retail = _state.LicensingProduct.from_cim(
        {"ID": "00000000-0000-0000-0000-0000000000aa", "Name": "x", "ApplicationID": WIN,
         "Description": "RETAIL channel", "PartialProductKey": "ABCDE", "LicenseStatus": 0}, "spp", None, None)
    named = _activation.plan_activation(
        _activation.parse_request({"activation_ids": ["{00000000-0000-0000-0000-0000000000AA}"]}), host_state(retail))
    assert [op["filter"] for op in named.plan.operations[:1]] == ["ID = '00000000-0000-0000-0000-0000000000aa'"]


def test_summary_counts_outcomes() -> None:
    assert _activation.summary([{"outcome": "activated"}, {"outcome": "failed"}, {"outcome": "activated"}]) == {
        "activated": 2, "failed": 1}


def test_office_client_refused_by_a_host_without_its_host_key_gets_the_office_remedy() -> None:
    req = _activation.parse_request({"product": "office"})
    row = {"ID": "o1", "Name": "Office 16, Office16ProPlusVL_KMS_Client edition",
           "ApplicationID": "0ff1ce15-a989-479d-af46-f275c6370663", "Description": "Office 16, VOLUME_KMSCLIENT channel",
           "PartialProductKey": "WFG99", "LicenseStatus": 5,
           "DiscoveredKeyManagementServiceMachineName": "kms01.example.com"}
    office = _state.LicensingProduct.from_cim(row, "spp", None, None)
    assert office.office_version == "2016"
    ap = _activation.plan_activation(req, host_state(office))
    rows, failures = _activation.outcomes(ap, [failed(0, 0xC004F042)], host_state(office))
    assert rows[0]["hresult"]["remedy"].startswith("the KMS host has no Office 2016 KMS host key: on that host "
                                                   "install the Office 2016 KMS Host License Pack")
    assert "(the KMS host kms01.example.com:1688); next step: the KMS host has no Office 2016 KMS host key" in failures[0]
    assert _activation.office_host_remedy(None).startswith(
        "the KMS host has no KMS host key for this Office version: on that host install the KMS Host License Pack "
        "of this Office version and")


@pytest.mark.parametrize(("cid", "digits"), [("123456-123456", 12), ("1" * 49, 49)])
def test_a_confirmation_id_of_another_length_is_refused(cid: str, digits: int) -> None:
    aid = "2ffd8952-423e-4903-b993-72a1aa44cf82"
    with pytest.raises(_activation.ActivationPlanError) as e:
        _activation.parse_request({"method": "offline", "confirmation_ids": {aid: cid}})
    assert str(e.value) == (f"Failed to activate the product '{aid}' by phone: its confirmation ID has {digits} digits, "
                            "a confirmation ID has 48 (eight blocks of six); nothing was sent. Next step: type it "
                            "again exactly as the Microsoft Activation Center gave it")
