"""The KMS host / client planners and validators, on hand-built states."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.winops.volume_activation.plugins.plugin_utils import (
    _action,
    _kms,
    _kms_client,
    _kms_host,
    _state,
)

OFFICE_ID = "d450596f-894d-49e0-966a-fd39ed4c4c64"


@pytest.mark.parametrize(("text", "machine", "port"), [
    ("kms01.example.com", "kms01.example.com", None),
    ("KMS01.Example.com.:1689", "kms01.example.com", 1689),
    ("10.1.2.3", "10.1.2.3", None),
    ("10.1.2.3:1688", "10.1.2.3", 1688),
    ("[fd00::10]", "[fd00::10]", None),
    ("[FD00:0::10]:1690", "[fd00::10]", 1690),
    ("kms01", "kms01", None),
])
def test_parse_kms_host(text: str, machine: str, port: int | None) -> None:
    assert _kms.parse_kms_host(text) == _kms.KmsAddress(machine, port)


@pytest.mark.parametrize(("value", "expected"), [
    (["a.example.com, 10, 20"], (_kms_host.PublishDomain("a.example.com", 10, 20),)),
    (["B.example.com."], (_kms_host.PublishDomain("b.example.com", 0, 0),)),
    (["c.example.com, 5", "", "  "], (_kms_host.PublishDomain("c.example.com", 5, 0),)),
    ("d.example.com,1,2", (_kms_host.PublishDomain("d.example.com", 1, 2),)),
    (None, ()),
])
def test_parse_publish_list(value: t.Any, expected: tuple[_kms_host.PublishDomain, ...]) -> None:
    """Priority and weight are optional (0) in DnsDomainPublishList [MS-REG]."""
    assert _kms_host.parse_publish_list(value) == expected


@pytest.mark.parametrize(("version", "expected"), [
    ("6.1.7601", False), ("6.2.9200", True), ("6.3.9600", True), ("10.0.20348", True), (None, None), ("x", None),
])
def test_windows8_or_later(version: str | None, expected: bool | None) -> None:
    os_info = _state.OperatingSystem(caption=None, version=version, build_number=None, sku=None, product_type=None,
                                     local_time=None)
    assert _kms.windows8_or_later(os_info) is expected


def host_state(**service: t.Any) -> _kms_host.KmsHostState:
    props = {"IsKeyManagementServiceMachine": 1, "KeyManagementServiceListeningPort": 0,
             "KeyManagementServiceDnsPublishing": True, "KeyManagementServiceLowPriority": False,
             "VLActivationInterval": 120, "VLRenewalInterval": 10080, "KeyManagementServiceHostCaching": True,
             "KeyManagementServiceCurrentCount": 4294967295, "RequiredClientCount": 25, **service}
    svc = _state.LicensingService.from_cim(props, "spp")
    product = _state.LicensingProduct.from_cim(
        {"ID": "2ef0270c-0ca5-5cc5-bf63-d4872cab23e1", "ApplicationID": "55c92734-d682-4d71-983e-d6ec3f16059f",
         "Name": "Windows(R), ServerStandard edition", "Description": "Windows(R) Operating System, VOLUME_KMS_WS22 "
         "channel", "PartialProductKey": "H4D3N", "IsKeyManagementServiceMachine": 1, "LicenseStatus": 1},
        "spp", svc, None)
    return _kms_host.KmsHostState(service=svc, host_products=(product,), publish_domains=())


def test_port_1688_is_no_change_when_the_property_is_0() -> None:
    """KeyManagementServiceListeningPort 0 means 1688 [MS-SLS]."""
    plan = _kms_host.plan_kms_host({"port": 1688}, host_state())
    assert not plan.plan
    assert plan.restart is False


def test_empty_publish_domains_removes_the_registry_value() -> None:
    st = host_state()
    st = _kms_host.KmsHostState(service=st.service, host_products=st.host_products,
                                publish_domains=(_kms_host.PublishDomain("x.example.com"),))
    plan = _kms_host.plan_kms_host({"publish_domains": ()}, st)
    assert plan.plan.operations == [
        {"op": "reg_remove", "path": _kms.SPP_KEY, "name": "DnsDomainPublishList"},
        {"op": "service_restart", "name": "sppsvc"},
    ]
    assert plan.after.publish_domains == ()


def test_unactivated_host_gets_a_warning() -> None:
    st = host_state()
    product = st.host_products[0]
    unactivated = _state.LicensingProduct.from_cim({**product.raw, "LicenseStatus": 2}, "spp", st.service, None)
    plan = _kms_host.plan_kms_host({}, _kms_host.KmsHostState(service=st.service, host_products=(unactivated,),
                                                              publish_domains=()))
    assert plan.warnings == ["The KMS host is not activated yet: it answers clients with 0xC004F041 "
                             "(SL_E_VL_KEY_MANAGEMENT_SERVICE_NOT_ACTIVATED) until its host key is activated"]


def test_not_a_host_is_refused_even_when_nothing_is_asked() -> None:
    st = host_state()
    with pytest.raises(_action.LicensingActionError, match="this machine is not a KMS host"):
        _kms_host.plan_kms_host({}, _kms_host.KmsHostState(service=st.service, host_products=(), publish_domains=()))


def test_not_a_host_in_check_mode_is_planned_with_a_warning() -> None:
    """A playbook checked before its first run: the host key task would install the key, so the
    settings task plans against the machine as it is and says why, instead of failing."""
    st = host_state()
    not_yet = _kms_host.KmsHostState(service=st.service, host_products=(), publish_domains=())
    plan = _kms_host.plan_kms_host({"port": 1689}, not_yet, check_mode=True)
    assert plan.changed_settings == ("port",)
    assert [op["method"] for op in plan.plan.operations if op["op"] == "cim_invoke"] == [
        "SetKeyManagementServiceListeningPort"]
    assert plan.warnings == [
        "this machine is not a KMS host yet (no activated KMS host key); check mode shows the settings as they "
        "would be set once it is, and a real run fails here until the host key is installed and activated"]


# ----------------------------------------------------------------------------- client


def client_state(service: dict[str, t.Any], products: list[dict[str, t.Any]],
                 version: str = "10.0.22631") -> _kms_client.KmsClientState:
    os_info = _state.OperatingSystem(caption="Microsoft Windows 11 Enterprise", version=version, build_number=None,
                                     sku=None, product_type=1, local_time=None)
    return _kms_client.KmsClientState(os=os_info, spp_service=_state.LicensingService.from_cim(service, "spp"),
                                      ospp_service=None, ospp_present=False, spp_products=tuple(products),
                                      ospp_products=())


def office_product(**props: t.Any) -> dict[str, t.Any]:
    return {"ID": OFFICE_ID, "Name": "Office 16, Office16ProPlusVL_KMS_Client edition",
            "ApplicationID": "0ff1ce15-a989-479d-af46-f275c6370663",
            "Description": "Office 16, VOLUME_KMSCLIENT channel", "KeyManagementServiceMachine": "",
            "KeyManagementServicePort": 0, "KeyManagementServiceLookupDomain": "", "VLActivationTypeEnabled": 0,
            **props}


def want(**params: t.Any) -> _kms_client.ClientWant:
    return _kms_client.desired_client_settings(params)


def test_office_absent_does_not_clear_a_host_inherited_from_the_service() -> None:
    """A product shows the service's /skms value; clearing it on the product would change nothing and
    repeat on every run, so the module warns instead."""
    st = client_state({"KeyManagementServiceMachine": "kms01.example.com", "KeyManagementServicePort": 0},
                      [office_product(KeyManagementServiceMachine="kms01.example.com")])
    plan = _kms_client.plan_kms_client(want(product="office", state="absent"), st)
    assert not plan.plan
    assert plan.warnings == [
        "Products still use the KMS host 'kms01.example.com' set on the licensing service (slmgr.vbs /skms); clear "
        "it with product=windows to use DNS discovery: Office 16, Office16ProPlusVL_KMS_Client edition "
        f"({OFFICE_ID})"]


def test_office_absent_clears_a_host_of_the_product_itself() -> None:
    st = client_state({}, [office_product(KeyManagementServiceMachine="kms02.example.com",
                                          KeyManagementServicePort=1689)])
    plan = _kms_client.plan_kms_client(want(product="office", state="absent"), st)
    assert [op["method"] for op in plan.plan.operations] == ["ClearKeyManagementServiceMachine",
                                                             "ClearKeyManagementServicePort"]
    assert all(op["filter"] == f"ID = '{OFFICE_ID}'" for op in plan.plan.operations)


def test_host_without_port_clears_a_previous_port_as_slmgr_does() -> None:
    st = client_state({"KeyManagementServiceMachine": "kms01.example.com", "KeyManagementServicePort": 1689}, [])
    plan = _kms_client.plan_kms_client(want(kms_host="kms01.example.com"), st)
    assert plan.plan.operations == [{"op": "cim_invoke", "class": "SoftwareLicensingService",
                                     "method": "ClearKeyManagementServicePort"}]


def test_activation_type_all_clears_the_restriction() -> None:
    """The service-level type is what the Windows KMS client products show (VLActivationTypeEnabled
    is a product property; SoftwareLicensingService has only the setters, microsoft/wmi server2019)."""
    st = client_state({}, [{"ID": "73111121-5638-40f6-bc11-f1d7b0d64300", "VLActivationTypeEnabled": 2}])
    plan = _kms_client.plan_kms_client(want(activation_type="all"), st)
    assert plan.plan.operations == [{"op": "cim_invoke", "class": "SoftwareLicensingService",
                                     "method": "ClearVLActivationTypeEnabled"}]


@pytest.mark.parametrize(("service", "products", "ops"), [
    # a VLActivationTypeEnabled on the service is ignored: no Windows has it there
    ({"VLActivationTypeEnabled": 2}, [{"ID": "a", "VLActivationTypeEnabled": 0}], 1),
    ({}, [{"ID": "a", "VLActivationTypeEnabled": 2}, {"ID": "b", "VLActivationTypeEnabled": 2}], 0),
    ({}, [{"ID": "a", "VLActivationTypeEnabled": 2}, {"ID": "b", "VLActivationTypeEnabled": 0}], 1),
])
def test_service_activation_type_comes_from_the_products(service: dict[str, t.Any], products: list[dict[str, t.Any]],
                                                         ops: int) -> None:
    st = client_state(service, products)
    plan = _kms_client.plan_kms_client(want(activation_type="kms"), st)
    assert len(plan.plan.operations) == ops


def test_windows_product_with_its_own_host_is_named_in_a_warning() -> None:
    st = client_state({}, [{"ID": "73111121-5638-40f6-bc11-f1d7b0d64300",
                            "Name": "Windows(R), Enterprise edition",
                            "KeyManagementServiceMachine": "old-kms.example.com"}])
    plan = _kms_client.plan_kms_client(want(kms_host="kms01.example.com"), st)
    assert plan.warnings == [
        "Windows(R), Enterprise edition (73111121-5638-40f6-bc11-f1d7b0d64300) has its own KMS host "
        "'old-kms.example.com', which overrides the service-level setting; use activation_ids to change it"]


def test_office_host_caching_on_windows_8_plus_warns_that_windows_shares_it() -> None:
    st = client_state({"KeyManagementServiceHostCaching": True}, [office_product()])
    plan = _kms_client.plan_kms_client(want(product="office", host_caching=False), st)
    assert plan.plan.operations == [{"op": "cim_invoke", "class": "SoftwareLicensingService",
                                     "method": "DisableKeyManagementServiceHostCaching",
                                     "arguments": {"DisableCaching": True}}]
    assert plan.warnings == ["On Windows 8 and later Office shares the Software Licensing Service with Windows, "
                             "so host_caching applies to Windows too (ospp.vbs /cachst does the same)"]


def test_office_without_kms_client_licenses_is_refused() -> None:
    st = client_state({}, [])
    with pytest.raises(_action.LicensingActionError) as e:
        _kms_client.plan_kms_client(want(product="office", kms_host="kms01"), st)
    assert str(e.value) == (
        "Failed to configure the KMS client settings of Office 2013 and later: no Office 2013 and later KMS client "
        "license (VOLUME_KMSCLIENT) was found on this host; install the volume edition of Office first")
