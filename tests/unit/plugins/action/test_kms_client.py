"""kms_client: replays executor results recorded from the lab (tests/unit/test_data/kms, see record.py)."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.winops.volume_activation.plugins.action.kms_client import ActionModule
from ansible_collections.winops.volume_activation.tests.unit.plugins.conftest import (
    licensing_read,
    load_data,
    make_action,
)

OS_QUERY = {"op": "cim_query", "class": "Win32_OperatingSystem",
            "properties": ["Caption", "Version", "BuildNumber", "OperatingSystemSKU", "ProductType", "LocalDateTime"]}
WINDOWS_READ = [
    OS_QUERY,
    licensing_read("SoftwareLicensingService"),
    licensing_read("SoftwareLicensingProduct",
                   "ApplicationID = '55c92734-d682-4d71-983e-d6ec3f16059f' AND PartialProductKey <> null AND "
                   "Description LIKE '%VOLUME_KMSCLIENT%'"),
]


def office_read(app_id: str) -> list[dict[str, t.Any]]:
    flt = f"ApplicationID = '{app_id}' AND Description LIKE '%VOLUME_KMSCLIENT%'"
    return [
        OS_QUERY,
        licensing_read("SoftwareLicensingService"),
        licensing_read("SoftwareLicensingProduct", flt),
        licensing_read("OfficeSoftwareProtectionService"),
        licensing_read("OfficeSoftwareProtectionProduct", flt),
    ]


OFFICE_READ = office_read("0ff1ce15-a989-479d-af46-f275c6370663")
OFFICE2010_READ = office_read("59a52881-a989-479d-af46-f275c6370663")


def _svc(method: str, **arguments: t.Any) -> dict[str, t.Any]:
    op: dict[str, t.Any] = {"op": "cim_invoke", "class": "SoftwareLicensingService", "method": method}
    if arguments:
        op["arguments"] = arguments
    return op


def run(scenario: str, args: dict[str, t.Any] | None = None, *, responses: list[t.Any] | None = None,
        check_mode: bool = False, diff: bool = False) -> tuple[dict[str, t.Any], t.Any]:
    data = load_data("kms", f"{scenario}.json")
    plugin, fake = make_action(ActionModule, data["args"] if args is None else args,
                               data["round_trips"] if responses is None else responses,
                               check_mode=check_mode, diff=diff, action="winops.volume_activation.kms_client")
    return plugin.run(task_vars={}), fake


def test_windows_settings_go_to_the_service() -> None:
    result, fake = run("client_windows_set", diff=True)
    assert fake.operations == [WINDOWS_READ, [
        _svc("SetKeyManagementServiceMachine", MachineName="kms01.small.example.test"),
        _svc("SetKeyManagementServicePort", PortNumber=1689),
        _svc("SetKeyManagementServiceLookupDomain", LookupDomain="small.example.test"),
        _svc("SetVLActivationTypeEnabled", ActivationType=2),
        _svc("DisableKeyManagementServiceHostCaching", DisableCaching=True),
        *WINDOWS_READ,
    ]]
    assert fake.calls[1]["module_args"]["stop_on_error"] is False
    assert result["changed"] is True
    assert result["round_trips"] == 2
    assert (result["product"], result["platform"], result["host_caching"]) == ("windows", "spp", False)
    assert result["targets"] == [{
        "target": "service", "class": "SoftwareLicensingService", "activation_id": None, "name": None,
        "kms_host": "kms01.small.example.test", "kms_port": 1689, "lookup_domain": "small.example.test",
        "activation_type": "kms"}]
    assert result["diff"] == {
        "before": {"targets": {"SoftwareLicensingService": {
            "kms_host": None, "kms_port": None, "lookup_domain": None, "activation_type": "all"}},
            "host_caching": True},
        "after": {"targets": {"SoftwareLicensingService": {
            "kms_host": "kms01.small.example.test", "kms_port": 1689, "lookup_domain": "small.example.test",
            "activation_type": "kms"}}, "host_caching": False},
    }


def test_same_host_in_another_spelling_is_no_change() -> None:
    result, fake = run("client_windows_noop")
    assert fake.operations == [WINDOWS_READ]
    assert result["changed"] is False
    assert result["round_trips"] == 1
    assert result["targets"][0]["kms_host"] == "kms01.small.example.test"
    assert result["targets"][0]["kms_port"] == 1689


def test_absent_clears_host_and_port() -> None:
    result, fake = run("client_windows_absent", diff=True)
    assert fake.operations[1] == [_svc("ClearKeyManagementServiceMachine"), _svc("ClearKeyManagementServicePort"),
                                  *WINDOWS_READ]
    assert result["targets"][0]["kms_host"] is None
    assert result["changes"] == ["clear the KMS host (use DNS discovery) on SoftwareLicensingService",
                                 "clear the KMS port (use 1688) on SoftwareLicensingService"]
    assert result["diff"]["before"]["targets"]["SoftwareLicensingService"]["kms_host"] == "kms01.small.example.test"


def test_office_on_windows_11_is_set_per_product_in_spp() -> None:
    result, fake = run("client_office_spp")
    flt = "ID = 'd450596f-894d-49e0-966a-fd39ed4c4c64'"
    assert fake.operations == [OFFICE_READ, [
        {"op": "cim_invoke", "class": "SoftwareLicensingProduct", "method": "SetKeyManagementServiceMachine",
         "filter": flt, "arguments": {"MachineName": "[fd00::10]"}},
        {"op": "cim_invoke", "class": "SoftwareLicensingProduct", "method": "SetKeyManagementServicePort",
         "filter": flt, "arguments": {"PortNumber": 1690}},
        *OFFICE_READ,
    ]]
    # OSPP is absent on this host (0x80041010 in the read-back) and costs no extra round trip.
    assert result["round_trips"] == 2
    assert "warnings" not in result
    assert result["platform"] == "spp"
    assert result["targets"][0]["kms_host"] == "[fd00::10]"
    assert result["targets"][0]["kms_port"] == 1690


def test_office2010_is_set_in_ospp_with_host_caching_on_the_ospp_service() -> None:
    result, fake = run("client_office2010_ospp")
    assert fake.operations[0] == OFFICE2010_READ
    assert fake.operations[1] == [
        {"op": "cim_invoke", "class": "OfficeSoftwareProtectionProduct", "method": "SetKeyManagementServiceMachine",
         "filter": "ID = '6f327760-8c5c-417c-9b61-836a98287e0c'",
         "arguments": {"MachineName": "kms01.small.example.test"}},
        {"op": "cim_invoke", "class": "OfficeSoftwareProtectionService",
         "method": "DisableKeyManagementServiceHostCaching", "arguments": {"DisableCaching": True}},
        *OFFICE2010_READ,
    ]
    assert result["platform"] == "ospp"
    assert result["host_caching"] is False
    assert result["targets"][0]["kms_port"] == 1688


def test_activation_type_is_refused_on_windows_7_with_the_reason() -> None:
    result, fake = run("client_win7_activation_type")
    assert fake.operations == [WINDOWS_READ]
    assert result["failed"] is True
    assert result["msg"] == (
        "Failed to configure the KMS client settings of Windows: activation_type needs Windows 8 / Windows Server "
        "2012 or later, and this host runs Microsoft Windows 7 Enterprise (version 6.1.7601), where the licensing "
        "service has no such setting (slmgr.vbs /skms-domain and /act-type, ospp.vbs /skms-domain and /actype are "
        "Windows 8+ only)")


def test_lookup_domain_is_refused_for_office2010() -> None:
    data = load_data("kms", "client_office2010_ospp.json")
    result, fake = run("client_office2010_ospp", {"product": "office2010", "lookup_domain": "example.test"},
                       responses=data["round_trips"][:1])
    assert len(fake.calls) == 1
    assert result["msg"] == (
        "Failed to configure the KMS client settings of Office 2010: lookup_domain needs Windows 8 / Windows Server "
        "2012 or later, and this host runs Microsoft Windows 7 Enterprise (version 6.1.7601), where the licensing "
        "service has no such setting (slmgr.vbs /skms-domain and /act-type, ospp.vbs /skms-domain and /actype are "
        "Windows 8+ only)")


def test_office2010_on_a_host_without_ospp_is_refused() -> None:
    data = load_data("kms", "client_office_spp.json")
    first = data["round_trips"][0]
    result, fake = run("client_office_spp", {"product": "office2010", "kms_host": "kms01"}, responses=[first])
    assert len(fake.calls) == 1
    assert result["msg"] == (
        "Failed to configure the KMS client settings of Office 2010: the Office Software Protection Platform "
        "(osppsvc) is not installed on this host, so no Office 2010 KMS client license exists here")


def test_check_mode_sends_nothing_mutating() -> None:
    result, fake = run("client_check_mode", check_mode=True, diff=True)
    assert fake.operations == [WINDOWS_READ]
    assert result["changed"] is True
    assert result["round_trips"] == 1
    assert result["changes"] == ["set the KMS host to 'kms01.small.example.test' on SoftwareLicensingService"]
    assert result["diff"]["after"]["targets"]["SoftwareLicensingService"]["kms_host"] == "kms01.small.example.test"
    assert result["diff"]["after"]["targets"]["SoftwareLicensingService"]["kms_port"] == 1688


def test_unknown_activation_id_is_named() -> None:
    data = load_data("kms", "client_office_spp.json")
    first = data["round_trips"][0]
    args = {"activation_ids": ["{00000000-0000-0000-0000-000000000001}"], "kms_host": "kms01"}
    result, _unused = run("client_office_spp", args, responses=[first])
    assert result["msg"] == ("Failed to configure the KMS client settings of the products given by activation_ids: "
                             "no licensing product has the activation ID '00000000-0000-0000-0000-000000000001'")


@pytest.mark.parametrize(("args", "message"), [
    ({"kms_host": "fd00::10"},
     "kms_host 'fd00::10' looks like an IPv6 address: write it in brackets, e.g. '[fd00::10]' or '[fd00::10]:1688'"),
    ({"kms_host": "[fd00::10"}, "kms_host '[fd00::10' opens a bracket for an IPv6 address but does not close it"),
    ({"kms_host": "[fd00::zz]"}, "kms_host '[fd00::zz]': 'fd00::zz' is not an IPv6 address"),
    ({"kms_host": "kms01.example.com:99999"}, "kms_host port 99999 is outside 1..65535"),
    ({"kms_host": "kms01.example.com:port"}, "kms_host port 'port' is not a port number"),
    ({"kms_host": "kms_01..example.com"},
     "kms_host 'kms_01..example.com' is not a valid DNS name: label '' must be 1 to 63 letters, digits or hyphens "
     "and must not start or end with a hyphen"),
    ({"kms_host": "10.0.0.256"}, "kms_host '10.0.0.256': '10.0.0.256' is neither an IPv4 address nor a host name"),
    ({"kms_host": "kms01:1689", "kms_port": 1690}, "kms_host 'kms01:1689' names port 1689 but kms_port is 1690"),
    ({"kms_port": 1689},
     "kms_port 1689 needs kms_host: the port belongs to a KMS host name (slmgr.vbs /skms host:port)"),
    ({"state": "absent", "kms_host": "kms01"},
     "kms_host cannot be given with state=absent, which clears the KMS host"),
    ({"lookup_domain": "bad domain.example"},
     "lookup_domain 'bad domain.example' is not a valid DNS name: label 'bad domain' must be 1 to 63 letters, "
     "digits or hyphens and must not start or end with a hyphen"),
    ({"activation_ids": ["not-a-guid"]}, "activation_ids must be GUIDs, got 'not-a-guid'"),
])
def test_bad_input_fails_before_anything_is_sent(args: dict[str, t.Any], message: str) -> None:
    result, fake = run("client_windows_noop", args, responses=[])
    assert fake.calls == []
    assert result["failed"] is True
    assert result["msg"] == f"Failed to configure the KMS client: {message}"


def test_product_and_activation_ids_are_mutually_exclusive() -> None:
    result, fake = run("client_windows_noop", {"product": "office", "activation_ids": [
        "d450596f-894d-49e0-966a-fd39ed4c4c64"]}, responses=[])
    assert fake.calls == []
    assert result["failed"] is True
    assert "mutually exclusive" in result["msg"]


@pytest.mark.parametrize("args", [{"activation_type": "all"}, {"lookup_domain": ""},
                                  {"activation_type": "all", "lookup_domain": ""}])
def test_windows_7_accepts_what_it_already_does(args: dict[str, t.Any]) -> None:
    """A role passing its defaults (all types, no lookup domain) to a Windows 7 host gets a no-op."""
    data = load_data("kms", "client_win7_activation_type.json")
    result, fake = run("client_win7_activation_type", args, responses=data["round_trips"])
    assert fake.operations == [WINDOWS_READ]
    assert result["changed"] is False
    assert "failed" not in result
    assert result["targets"][0]["activation_type"] is None
