"""CIM surface of a host: WMI failures for wrong names, schemas per OS, service setters and registry."""

from __future__ import annotations

import typing as t

import pytest

from winlab.models.errors import WmiError
from winlab.models.host import WindowsHost
from winlab.models.world import World
from winlab.spec import parse_fleet
from winlab.surfaces.cim import CimSurface

WS22_CSVLK = "BCDFG-HJKMN-PQRTV-WXY23-46789"


@pytest.fixture
def world() -> World:
    return World(parse_fleet({
        "domain": "corp.example.test", "defaults": {"password": "P@ss"},
        "keys": [{"name": "ws22", "kind": "csvlk", "product": "windows-server-2022", "key": WS22_CSVLK}],
        "hosts": [
            {"name": "kms01", "address": "127.0.30.1", "os": "windows-server-2022", "edition": "ServerStandard"},
            {"name": "pc", "address": "127.0.30.2", "os": "windows-11", "edition": "Enterprise"},
            {"name": "w7", "address": "127.0.30.3", "os": "windows-7", "edition": "Enterprise",
             "office": [{"version": "2010", "products": ["ProPlus"]}]},
        ]}))


def err(fn: t.Callable[[], t.Any]) -> str:
    with pytest.raises(WmiError) as exc:
        fn()
    return exc.value.hex


def product_row(h: WindowsHost) -> dict[str, t.Any]:
    return CimSurface(h).query("SoftwareLicensingProduct", "PartialProductKey IS NOT NULL")[0]


@pytest.mark.parametrize(("call", "hresult"), [
    (lambda h: CimSurface(h).cim_instances("SoftwareLicensingProducts"), "0x80041010"),
    (lambda h: CimSurface(h).cim_instances("OfficeSoftwareProtectionProduct"), "0x80041010"),  # no OSPP on Win11 w/o Office 2010
    (lambda h: CimSurface(h).cim_instances("SoftwareLicensingProduct", "root/default"), "0x8004100E"),
    (lambda h: CimSurface(h).cim_instances("MicrosoftDNS_SRVType", "root/MicrosoftDNS"), "0x8004100E"),  # not a DNS server
    (lambda h: CimSurface(h).query("SoftwareLicensingProduct", "PartialProductKy IS NULL"), "0x80041017"),
    (lambda h: CimSurface(h).query("SoftwareLicensingProduct", None, properties=["ID", "LicenceStatus"]), "0x80041017"),
    (lambda h: CimSurface(h).invoke("SoftwareLicensingService", "InstallProductKeys", {"ProductKey": "x"}), "0x80041030"),
    # Invoke-CimMethod: a parameter the declaration lacks is an ArgumentException, 0x80070057
    # (PowerShell/PowerShell CimInvokeCimMethod.cs CreateParametersCollection), not a WMI error.
    (lambda h: CimSurface(h).invoke("SoftwareLicensingService", "InstallProductKey", {"Key": "x"}), "0x80070057"),
    (lambda h: CimSurface(h).invoke("SoftwareLicensingService", "InstallProductKey", {}), "0x80041008"),
    (lambda h: CimSurface(h).invoke("SoftwareLicensingService", "InstallProductKey",
                        {"ProductKey": "x", "Extra": 1}), "0x80070057"),
    (lambda h: CimSurface(h).invoke("SoftwareLicensingService", "SetKeyManagementServicePort", {"PortNumber": "abc"}),
     "0x80041005"),
    (lambda h: CimSurface(h).invoke("SoftwareLicensingService", "SetKeyManagementServicePort", {"PortNumber": -1}),
     "0x80041005"),
    (lambda h: CimSurface(h).invoke("SoftwareLicensingService", "DisableKeyManagementServiceHostCaching",
                        {"DisableCaching": "maybe"}), "0x80041005"),
    (lambda h: CimSurface(h).invoke("SoftwareLicensingService", "SetKeyManagementServicePort", {"PortNumber": 0}),
     "0x80070057"),
    (lambda h: CimSurface(h).invoke("SoftwareLicensingService", "InstallLicense", {"License": "<xml/>"}), "0x8004100C"),
    (lambda h: CimSurface(h).invoke("SoftwareLicensingProduct", "Activate", {"Now": True}, product_row(h)), "0x80070057"),
    (lambda h: CimSurface(h).invoke("SoftwareLicensingProduct", "GetTokenActivationGrants", {}, product_row(h)),
     "0x8004100C"),
    (lambda h: CimSurface(h).invoke("SoftwareLicensingProduct", "DepositOfflineConfirmationId",
                        {"InstallId": "1", "ConfirmationId": "2"}, product_row(h)), "0x80070057"),
    # through the class (-CimClass) with arguments, an unknown method is the cmdlet's ArgumentException too
    (lambda h: CimSurface(h).check_method("SoftwareLicensingService", "InstallProductKeys", {"ProductKey": "x"},
                                          via_class=True), "0x80070057"),
    (lambda h: CimSurface(h).check_method("SoftwareLicensingService", "RefreshLicenseStatuss", {}, via_class=True),
     "0x80041030"),
    # Server 2019's class no longer has DisableKeyManagementServiceActivation (microsoft/wmi server2019)
    (lambda h: CimSurface(h).invoke("SoftwareLicensingService", "DisableKeyManagementServiceActivation",
                                    {"DisableActivation": True}), "0x80041030"),
    (lambda h: CimSurface(h).query("SoftwareLicensingService", None, properties=["KeyManagementServiceActivationDisabled"]),
     "0x80041017"),
    (lambda h: CimSurface(h).query("SoftwareLicensingService", None, properties=["VLActivationTypeEnabled"]),
     "0x80041017"),
])
def test_wmi_failures(world: World, call: t.Callable[[WindowsHost], t.Any], hresult: str) -> None:
    assert err(lambda: call(world.hosts["pc"])) == hresult


def test_argument_exception_text_is_powershells(world: World) -> None:
    """The message is CimCmdletStrings.InvalidMethodParameter / InvalidMethod (CimCmdletStrings.resx)."""
    with pytest.raises(WmiError) as e:
        CimSurface(world.hosts["pc"]).invoke("SoftwareLicensingService", "InstallProductKey", {"Key": "x"})
    assert e.value.message == ("Can not find Parameter 'Key' in method 'InstallProductKey' of class "
                               "'SoftwareLicensingService'.")


def test_windows7_has_what_server_2019_lost(world: World) -> None:
    """KeyManagementServiceActivationDisabled is on Windows 7's class (MOF7601), not on 10.0's."""
    w7 = CimSurface(world.hosts["w7"])
    assert "KeyManagementServiceActivationDisabled" in w7.class_properties("SoftwareLicensingService")
    assert "DisableKeyManagementServiceActivation" in w7.class_methods("SoftwareLicensingService")
    assert "KeyManagementServiceActivationDisabled" not in CimSurface(world.hosts["pc"]).class_properties(
        "SoftwareLicensingService")
    # Windows 7's product has no ValidationURL (MOF7601); Windows 8+'s has (SLMGR10 selects it)
    assert "ValidationURL" not in w7.class_properties("SoftwareLicensingProduct")


def test_parameter_names_are_case_insensitive(world: World) -> None:
    h = world.hosts["pc"]
    CimSurface(h).invoke("softwarelicensingservice", "setkeymanagementservicemachine", {"machinename": "kms01"})
    assert CimSurface(h).cim_instances("SoftwareLicensingService")[0]["KeyManagementServiceMachine"] == "kms01"


def test_windows7_lacks_windows8_members(world: World) -> None:
    w7 = world.hosts["w7"]
    assert "ProductKeyChannel" not in CimSurface(w7).class_properties("SoftwareLicensingProduct")
    assert err(lambda: CimSurface(w7).query("SoftwareLicensingProduct", "ProductKeyChannel = 'Volume:GVLK'")) == "0x80041017"
    assert err(lambda: CimSurface(w7).invoke("SoftwareLicensingService", "SetKeyManagementServiceLookupDomain",
                                 {"LookupDomain": "x"})) == "0x80041030"
    pc = world.hosts["pc"]
    assert "ProductKeyChannel" in CimSurface(pc).class_properties("SoftwareLicensingProduct")
    # OSPP service knows only what ospp.vbs calls [OSPP15].
    assert err(lambda: CimSurface(w7).invoke("OfficeSoftwareProtectionService", "SetKeyManagementServiceMachine",
                                 {"MachineName": "k"})) == "0x80041030"
    assert "ProductKeyChannel" not in CimSurface(w7).class_properties("OfficeSoftwareProtectionProduct")


def test_values_have_wmi_types(world: World) -> None:
    row = product_row(world.hosts["pc"])
    assert isinstance(row["LicenseStatus"], int) and isinstance(row["GracePeriodRemaining"], int)
    assert row["LicenseIsAddon"] is False
    assert row["TrustedTime"].tzinfo is not None
    nokey = CimSurface(world.hosts["pc"]).query("SoftwareLicensingProduct", "PartialProductKey IS NULL")[0]
    assert nokey["PartialProductKey"] is None and nokey["ProductKeyChannel"] is None
    svc = CimSurface(world.hosts["pc"]).cim_instances("SoftwareLicensingService")[0]
    assert svc["KeyManagementServiceCurrentCount"] == 4294967295
    assert svc["KeyManagementServiceDnsPublishing"] is True and svc["KeyManagementServiceHostCaching"] is True
    assert (svc["VLActivationInterval"], svc["VLRenewalInterval"]) == (120, 10080)


@pytest.mark.parametrize("method,args", [
    ("SetVLActivationInterval", {"ActivationInterval": 60}),
    ("SetVLRenewalInterval", {"RenewalInterval": 60}),
    ("SetKeyManagementServiceListeningPort", {"PortNumber": 1700}),
    ("DisableKeyManagementServiceDnsPublishing", {"DisablePublishing": True}),
    ("EnableKeyManagementServiceLowPriority", {"EnableLowPriority": True}),
])
def test_host_only_setters_need_a_kms_host(world: World, method: str, args: dict[str, t.Any]) -> None:
    assert err(lambda: CimSurface(world.hosts["pc"]).invoke("SoftwareLicensingService", method, args)) == "0xC004F039"


def _kms(world: World) -> WindowsHost:
    h = world.hosts["kms01"]
    CimSurface(h).invoke("SoftwareLicensingService", "InstallProductKey", {"ProductKey": WS22_CSVLK})
    CimSurface(h).invoke("SoftwareLicensingProduct", "Activate", {}, product_row(h))
    return h


SPP = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\SoftwareProtectionPlatform"


@pytest.mark.parametrize(("method", "args", "reg", "prop"), [
    ("SetVLActivationInterval", {"ActivationInterval": 60}, ("VLActivationInterval", "DWord", 60), ("VLActivationInterval", 60)),
    ("SetVLRenewalInterval", {"RenewalInterval": 43200}, ("VLRenewalInterval", "DWord", 43200), ("VLRenewalInterval", 43200)),
    ("SetKeyManagementServiceListeningPort", {"PortNumber": 1700}, ("KeyManagementServiceListeningPort", "String", "1700"), ("KeyManagementServiceListeningPort", 1700)),
    ("DisableKeyManagementServiceDnsPublishing", {"DisablePublishing": True}, ("DisableDnsPublishing", "DWord", 1), ("KeyManagementServiceDnsPublishing", False)),
    ("EnableKeyManagementServiceLowPriority", {"EnableLowPriority": True}, ("EnableKmsLowPriority", "DWord", 1), ("KeyManagementServiceLowPriority", True)),
    ("DisableKeyManagementServiceHostCaching", {"DisableCaching": True}, ("DisableKeyManagementServiceHostCaching", "DWord", 1), ("KeyManagementServiceHostCaching", False)),
    ("SetKeyManagementServiceMachine", {"MachineName": "kms02.corp.example.test"}, ("KeyManagementServiceName", "String", "kms02.corp.example.test"), ("KeyManagementServiceMachine", "kms02.corp.example.test")),
    ("SetKeyManagementServicePort", {"PortNumber": 1689}, ("KeyManagementServicePort", "String", "1689"), ("KeyManagementServicePort", 1689)),
    ("SetKeyManagementServiceLookupDomain", {"LookupDomain": "kms.example.test"}, ("KeyManagementServiceLookupDomain", "String", "kms.example.test"), ("KeyManagementServiceLookupDomain", "kms.example.test")),
])
def test_service_setters_update_property_and_registry(world: World, method: str, args: dict[str, t.Any],
                                                      reg: tuple[str, str, t.Any], prop: tuple[str, t.Any]) -> None:
    reg_name, reg_type, reg_value = reg
    prop_name, prop_value = prop
    h = _kms(world)
    CimSurface(h).invoke("SoftwareLicensingService", method, args)
    v = h.registry.get(SPP, reg_name)
    assert v is not None and (v.type, v.value) == (reg_type, reg_value)
    assert CimSurface(h).cim_instances("SoftwareLicensingService")[0][prop_name] == prop_value


def test_service_activation_type_shows_on_the_products_not_the_service(world: World) -> None:
    """No version's SoftwareLicensingService has VLActivationTypeEnabled (microsoft/wmi server2019
    bindings list only the setters); the products show the effective value (slmgr /dlv prints
    "Configured Activation Type" from the product [SLMGR10])."""
    h = _kms(world)
    CimSurface(h).invoke("SoftwareLicensingService", "SetVLActivationTypeEnabled", {"ActivationType": 2})
    v = h.registry.get(SPP, "VLActivationType")
    assert v is not None and (v.type, v.value) == ("DWord", 2)
    assert "VLActivationTypeEnabled" not in CimSurface(h).cim_instances("SoftwareLicensingService")[0]
    assert {r["VLActivationTypeEnabled"] for r in CimSurface(h).cim_instances("SoftwareLicensingProduct")} == {2}


@pytest.mark.parametrize(("method", "arg", "value"), [
    ("SetVLActivationInterval", "ActivationInterval", 14),
    ("SetVLActivationInterval", "ActivationInterval", 43201),
    ("SetVLRenewalInterval", "RenewalInterval", 0),
    ("SetKeyManagementServiceListeningPort", "PortNumber", 70000),
])
def test_setter_ranges(world: World, method: str, arg: str, value: int) -> None:
    h = _kms(world)
    assert err(lambda: CimSurface(h).invoke("SoftwareLicensingService", method, {arg: value})) == "0x80070057"


@pytest.mark.parametrize(("set_method", "clear_method", "reg_name"), [
    ("SetKeyManagementServiceMachine", "ClearKeyManagementServiceMachine", "KeyManagementServiceName"),
    ("SetKeyManagementServicePort", "ClearKeyManagementServicePort", "KeyManagementServicePort"),
    ("SetKeyManagementServiceListeningPort", "ClearKeyManagementServiceListeningPort",
     "KeyManagementServiceListeningPort"),
    ("SetKeyManagementServiceLookupDomain", "ClearKeyManagementServiceLookupDomain",
     "KeyManagementServiceLookupDomain"),
])
def test_clear_removes_registry_value(world: World, set_method: str, clear_method: str, reg_name: str) -> None:
    h = _kms(world)
    params = CimSurface(h).class_methods("SoftwareLicensingService")[set_method]
    value = "x.example.test" if params[0][1] == "string" else 1700
    CimSurface(h).invoke("SoftwareLicensingService", set_method, {params[0][0]: value})
    assert h.registry.get(SPP, reg_name) is not None
    CimSurface(h).invoke("SoftwareLicensingService", clear_method, {})
    assert h.registry.get(SPP, reg_name) is None


def test_per_sku_setters_write_the_sku_subkey(world: World) -> None:
    pc = world.hosts["pc"]
    row = product_row(pc)
    CimSurface(pc).invoke("SoftwareLicensingProduct", "SetKeyManagementServiceMachine", {"MachineName": "kms01"}, row)
    CimSurface(pc).invoke("SoftwareLicensingProduct", "SetKeyManagementServicePort", {"PortNumber": 1690}, row)
    sub = f"{SPP}\\{row['ApplicationID']}\\{row['ID']}"
    assert pc.registry.get(sub, "KeyManagementServiceName").value == "kms01"  # type: ignore[union-attr]
    assert pc.registry.get(sub, "KeyManagementServicePort").type == "String"  # type: ignore[union-attr]
    assert CimSurface(pc).cim_instances("SoftwareLicensingService")[0]["KeyManagementServiceMachine"] == ""


def test_listening_port_takes_effect_after_sppsvc_restart(world: World) -> None:
    h = _kms(world)
    CimSurface(h).invoke("SoftwareLicensingService", "SetKeyManagementServiceListeningPort", {"PortNumber": 1700})
    assert h.kms_effective_port() == 1688  # "a KMS reboot is needed" [SLMGR10]
    h.restart_service("sppsvc")
    assert h.kms_effective_port() == 1700
    assert {r.port for r in world.dns.srv_records("corp.example.test")} == {1688, 1700}  # 1688 now stale


def test_registry_edit_then_restart_applies(world: World) -> None:
    h = _kms(world)
    h.registry.set(SPP, "KeyManagementServiceListeningPort", "String", "1800")
    h.registry.set(SPP, "DnsDomainPublishList", "MultiString", ["branch.example.test, 10, 20"])
    h.restart_service("sppsvc")
    assert h.kms_effective_port() == 1800
    rec = world.dns.srv_records("branch.example.test")
    assert [(r.target, r.port, r.priority, r.weight) for r in rec] == [("kms01.corp.example.test", 1800, 10, 20)]


def test_dns_publishing_disabled_publishes_nothing(world: World) -> None:
    h = world.hosts["kms01"]
    CimSurface(h).invoke("SoftwareLicensingService", "InstallProductKey", {"ProductKey": WS22_CSVLK})
    CimSurface(h).invoke("SoftwareLicensingService", "DisableKeyManagementServiceDnsPublishing", {"DisablePublishing": True})
    h.restart_service("sppsvc")
    CimSurface(h).invoke("SoftwareLicensingProduct", "Activate", {}, product_row(h))
    assert world.dns.srv_records("corp.example.test") == []
    svc = CimSurface(h).cim_instances("SoftwareLicensingService")[0]
    assert (svc["IsKeyManagementServiceMachine"], svc["KeyManagementServiceDnsPublishing"]) == (1, False)


def test_every_allow_listed_licensing_method_is_simulated() -> None:
    from winlab.surfaces.cim import coverage
    from winlab.surfaces.executor import PRODUCT_METHODS, SERVICE_METHODS

    simulated = {(r["class"], r["method"]) for r in coverage() if r["simulated"]}
    for method in SERVICE_METHODS:
        assert ("SoftwareLicensingService", method) in simulated
    for method in PRODUCT_METHODS:
        assert ("SoftwareLicensingProduct", method) in simulated
