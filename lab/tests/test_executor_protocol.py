"""The executor protocol (docs/executor-protocol.md) as the lab answers it, through run_module."""

from __future__ import annotations

import json
import typing as t

import pytest

from winlab.models.world import World
from winlab.spec import parse_fleet
from winlab.surfaces.cim import CimSurface
from winlab.surfaces.modules import NO_LOG_VALUE, run_module
from winlab.types import ModuleCall

EXECUTOR = "winops.volume_activation.licensing_batch"
SCRIPT = "ansible_collections.winops.volume_activation.plugins.modules.licensing_batch.ps1"
MAK = "BCDFG-HJKMN-PQRTV-WXY23-46789"
CSVLK = "CDFGH-JKMNP-QRTVW-XY234-6789B"
SPP = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\SoftwareProtectionPlatform"
KEY_REF = {"secret": "product_keys", "index": 0}


@pytest.fixture
def world() -> World:
    return World(parse_fleet({
        "domain": "corp.example.test", "defaults": {"password": "P@ss"},
        "keys": [{"name": "mak", "kind": "mak", "product": "windows-10/Enterprise", "count": 3, "key": MAK},
                 {"name": "csvlk", "kind": "csvlk", "product": "windows-server-2022", "key": CSVLK}],
        "hosts": [
            {"name": "pc", "address": "127.0.40.1", "os": "windows-11", "edition": "Enterprise"},
            {"name": "kms01", "address": "127.0.40.2", "os": "windows-server-2022", "edition": "ServerStandard"},
            {"name": "w7", "address": "127.0.40.3", "os": "windows-7", "edition": "Enterprise",
             "office": [{"version": "2010", "products": ["ProPlus"]}]},
        ]}))


def run(world: World, ops: list[dict[str, t.Any]], host: str = "pc", check: bool = False,
        **args: t.Any) -> tuple[int, dict[str, t.Any], str]:
    call = ModuleCall(EXECUTOR, SCRIPT, {"operations": ops, **args},
                      internal={"_ansible_check_mode": check, "_ansible_module_name": EXECUTOR})
    res = run_module(world, world.hosts[host], call)
    text = res.stdout.decode()
    return res.rc, json.loads(text), text


# -- operation result shapes ------------------------------------------------------------

def test_cim_query_shape(world: World) -> None:
    rc, out, _ = run(world, [{"op": "cim_query", "class": "SoftwareLicensingProduct",
                              "filter": "PartialProductKey <> null",
                              "properties": ["ID", "LicenseStatus", "TrustedTime", "PartialProductKey"]},
                             {"op": "cim_query", "class": "softwarelicensingservice", "namespace": "ROOT\\CIMV2",
                              "properties": ["KeyManagementServiceCurrentCount"]}])
    assert rc == 0 and out["changed"] is False
    q = out["results"][0]
    assert q["op"] == "cim_query" and q["ok"] is True
    assert q["instances"] == [{"ID": "73111121-5638-40f6-bc11-f1d7b0d64300", "LicenseStatus": 2,
                               "PartialProductKey": "2YT43", "TrustedTime": "2026-11-01T09:00:00+00:00"}]
    assert out["results"][1]["instances"] == [{"KeyManagementServiceCurrentCount": 4294967295}]


@pytest.mark.parametrize(("op", "hresult", "hex_"), [
    ({"op": "cim_query", "class": "OfficeSoftwareProtectionProduct"}, 2147749904, "0x80041010"),
    ({"op": "cim_query", "class": "SoftwareLicensingProduct", "filter": "LicenseStatu = 1"}, 2147749911,
     "0x80041017"),
    ({"op": "cim_query", "class": "SoftwareLicensingProduct", "properties": ["Nope"]}, 2147749911, "0x80041017"),
    ({"op": "cim_query", "class": "MicrosoftDNS_SRVType", "namespace": "root/MicrosoftDNS"}, 2147749902,
     "0x8004100E"),
    ({"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "InstallProductKey",
      "arguments": {"Key": KEY_REF}}, 0x80070057, "0x80070057"),  # Invoke-CimMethod's ArgumentException
    ({"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "InstallProductKey",
      "arguments": {"ProductKey": "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA"}}, 3221549136, "0xC004F050"),
])
def test_operation_errors_as_wmi(world: World, op: dict[str, t.Any], hresult: int, hex_: str) -> None:
    rc, out, _ = run(world, [op], product_keys=[MAK])
    assert rc == 0 and "failed" not in out  # operation failures do not fail the module
    r = out["results"][0]
    assert (r["ok"], r["hresult"], r["hresult_hex"]) == (False, hresult, hex_)
    assert isinstance(r["error"], str) and r["error"]


@pytest.mark.parametrize(("host", "present"), [("pc", True), ("w7", False)])
def test_optional_properties_are_selected_where_the_class_has_them(world: World, host: str, present: bool) -> None:
    """ProductKeyChannel is not on Windows 7's SoftwareLicensingProduct (MOF7601), it is on 10.0's
    (microsoft/wmi server2019): named in ``properties`` it fails on 6.1, in ``optional_properties``
    it is left out there; only the selected columns come back (never the whole class)."""
    op = {"op": "cim_query", "class": "SoftwareLicensingProduct", "filter": "PartialProductKey <> null",
          "properties": ["ID", "PartialProductKey"], "optional_properties": ["ProductKeyChannel", "NotAMember"]}
    _, out, _ = run(world, [op, {**op, "properties": ["ID", "ProductKeyChannel"], "optional_properties": []}],
                    host=host)
    optional, required = out["results"]
    assert optional["ok"] is True
    expected = {"ID", "PartialProductKey", "ProductKeyChannel"} if present else {"ID", "PartialProductKey"}
    assert all(set(i) == expected for i in optional["instances"]) and optional["instances"]
    assert (required["ok"], required.get("hresult_hex")) == ((True, None) if present else (False, "0x80041017"))


def test_optional_properties_of_an_absent_class_fail_as_the_query_does(world: World) -> None:
    _, out, _ = run(world, [{"op": "cim_query", "class": "OfficeSoftwareProtectionService",
                             "properties": ["ClientMachineID"], "optional_properties": ["Version"]}])
    assert (out["results"][0]["ok"], out["results"][0]["hresult_hex"]) == (False, "0x80041010")


def test_argument_errors_are_the_invocations_and_nothing_is_called_without_instances(world: World) -> None:
    """Invoke-CimMethod runs per selected instance and checks the arguments there
    (CimInvokeCimMethod.cs): a wrong parameter name fails each invocation with 0x80070057;
    with no instance selected nothing is called, as in the executor."""
    _, out, _ = run(world, [
        {"op": "cim_invoke", "class": "SoftwareLicensingProduct", "method": "SetKeyManagementServiceMachine",
         "filter": "PartialProductKey <> null", "arguments": {"Machine": "kms01"}},
    ], stop_on_error=False)
    (wrong,) = out["results"]
    assert wrong["ok"] is False and wrong["matched"] == 1 and wrong["hresult_hex"] == "0x80070057"
    assert wrong["invocations"][0]["key"]["ID"] and wrong["invocations"][0]["hresult_hex"] == "0x80070057"
    assert wrong["error"] == ("Can not find Parameter 'Machine' in method 'SetKeyManagementServiceMachine' of "
                              "class 'SoftwareLicensingProduct'.")
    # Windows 7 has no SetKeyManagementServiceLookupDomain (MOF7601): called on an instance the name
    # reaches WMI (0x80041030); with no instance selected nothing is called at all.
    _, out, _ = run(world, [
        {"op": "cim_invoke", "class": "SoftwareLicensingProduct", "method": "SetKeyManagementServiceLookupDomain",
         "filter": "PartialProductKey <> null", "arguments": {"LookupDomain": "corp.example.test"}},
        {"op": "cim_invoke", "class": "SoftwareLicensingProduct", "method": "SetKeyManagementServiceLookupDomain",
         "filter": "PartialProductKey = 'ZZZZZ'", "arguments": {"LookupDomain": "corp.example.test"}},
    ], host="w7", stop_on_error=False)
    missing, nothing = out["results"]
    assert (missing["ok"], missing["hresult_hex"], missing["matched"]) == (False, "0x80041030", 1)
    assert nothing == {"op": "cim_invoke", "ok": True, "matched": 0, "invocations": []}


def test_cim_invoke_shapes_and_secret_reference(world: World) -> None:
    rc, out, text = run(world, [
        {"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "InstallProductKey",
         "arguments": {"ProductKey": KEY_REF}},
        {"op": "cim_invoke", "class": "SoftwareLicensingProduct", "method": "Activate",
         "filter": "PartialProductKey = '46789'"},
        {"op": "cim_invoke", "class": "SoftwareLicensingProduct", "method": "Activate",
         "filter": "PartialProductKey = 'ZZZZZ'"},
    ], product_keys=[MAK])
    assert rc == 0 and out["changed"] is True
    install, activate, none = out["results"]
    assert install == {"op": "cim_invoke", "ok": True, "matched": 1, "invocations": [
        {"key": {"Version": "10.0.22631.1"}, "return_value": 0, "out": {}, "hresult": None, "error": None}]}
    assert activate["ok"] is True and activate["matched"] == 1
    assert activate["invocations"][0]["key"]["ID"]
    assert none == {"op": "cim_invoke", "ok": True, "matched": 0, "invocations": []}
    assert MAK not in text and MAK[:-5] not in text
    assert out["invocation"]["module_args"]["product_keys"] == [NO_LOG_VALUE]
    assert out["invocation"]["module_args"]["operations"][0]["arguments"]["ProductKey"] == KEY_REF
    log = json.dumps(world.hosts["pc"].request_log)
    assert MAK not in log and MAK[:-5] not in log
    assert MAK not in json.dumps(world.snapshot())


def test_failed_invocation_copies_hresult_to_operation(world: World) -> None:
    _rc, out, _ = run(world, [{"op": "cim_invoke", "class": "SoftwareLicensingProduct", "method": "Activate",
                              "filter": "PartialProductKey IS NOT NULL"}])
    r = out["results"][0]
    assert (r["ok"], r["matched"], r["hresult_hex"]) == (False, 1, "0x8007232B")  # no _vlmcs SRV record
    inv = r["invocations"][0]
    assert (inv["hresult_hex"], inv["return_value"]) == ("0x8007232B", None)
    assert out["changed"] is False


def test_confirmation_ids_secret(world: World) -> None:
    run(world, [{"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "InstallProductKey",
                 "arguments": {"ProductKey": KEY_REF}}], product_keys=[MAK])
    _, out, _ = run(world, [{"op": "cim_query", "class": "SoftwareLicensingProduct",
                             "filter": "PartialProductKey = '46789'", "properties": ["OfflineInstallationId"]}])
    iid = out["results"][0]["instances"][0]["OfflineInstallationId"]
    cid = world.activation_service.phone(iid)
    _rc, out, text = run(world, [
        {"op": "cim_invoke", "class": "SoftwareLicensingProduct", "method": "DepositOfflineConfirmationId",
         "filter": "PartialProductKey = '46789'",
         "arguments": {"InstallationId": iid, "ConfirmationId": {"secret": "confirmation_ids", "index": 0}}},
        {"op": "cim_query", "class": "SoftwareLicensingProduct", "filter": "PartialProductKey = '46789'",
         "properties": ["LicenseStatus"]}], confirmation_ids=[cid])
    assert out["results"][0]["ok"] is True
    assert out["results"][1]["instances"] == [{"LicenseStatus": 1}]
    assert cid not in text and out["invocation"]["module_args"]["confirmation_ids"] == [NO_LOG_VALUE]


def test_secret_echoed_elsewhere_is_masked(world: World) -> None:
    # A caller that (wrongly) writes the key into a filter: Ansible.Basic masks it in the output.
    _, out, text = run(world, [{"op": "cim_query", "class": "SoftwareLicensingProduct",
                                "filter": f"Description = '{MAK}'"}], product_keys=[MAK])
    assert MAK not in text
    assert out["invocation"]["module_args"]["operations"][0]["filter"] == "Description = '********'"


def test_registry_operations(world: World) -> None:
    _rc, out, _ = run(world, [
        {"op": "reg_get", "path": SPP, "names": ["KeyManagementServiceName"]},
        {"op": "reg_set", "path": SPP, "name": "KeyManagementServiceName", "type": "String", "value": "kms01"},
        {"op": "reg_set", "path": SPP, "name": "KeyManagementServiceName", "type": "String", "value": "kms02"},
        {"op": "reg_set", "path": SPP + r"\55c92734-d682-4d71-983e-d6ec3f16059f", "name": "Lst",
         "type": "MultiString", "value": ["a", "b"]},
        {"op": "reg_get", "path": SPP, "names": ["KeyManagementServiceName", "Absent"]},
        {"op": "reg_remove", "path": SPP, "name": "KeyManagementServiceName"},
        {"op": "reg_remove", "path": SPP, "name": "KeyManagementServiceName"},
        {"op": "reg_get", "path": r"HKLM:\SOFTWARE\Microsoft\OfficeSoftwareProtectionPlatform"},
    ])
    r = out["results"]
    assert r[0] == {"op": "reg_get", "ok": True, "exists": True, "values": {}}
    assert r[1]["previous"] is None
    assert r[2]["previous"] == {"type": "String", "value": "kms01"}
    assert r[4]["values"] == {"KeyManagementServiceName": {"type": "String", "value": "kms02"}}
    assert (r[5]["existed"], r[6]["existed"]) == (True, False)
    assert r[7] == {"op": "reg_get", "ok": True, "exists": False, "values": {}}
    # The client reads the registry-backed setting through CIM too.
    svc = CimSurface(world.hosts["pc"]).cim_instances("SoftwareLicensingService")[0]
    assert svc["KeyManagementServiceMachine"] == ""
    assert out["changed"] is True


OWN_GROUP = "winops.volume_activation"


def test_firewall_operations(world: World) -> None:
    """The firewall through INetFwRule: COM's forms come back (masks, '*', bitmask profiles
    as names), the own rule is found by Name and Grouping."""
    _rc, out, _ = run(world, [
        {"op": "firewall_get", "name": "SPPSVC-In-TCP"},
        {"op": "firewall_set", "name": "SPPSVC-In-TCP", "enabled": True, "profiles": ["Domain", "Private"],
         "remote_addresses": ["127.0.40.0/24", "LocalSubnet", "10.1.2.3"]},
        {"op": "firewall_create", "name": "winops-va-kms-1700", "group": OWN_GROUP, "local_ports": ["1700"],
         "remote_addresses": ["Any"], "profiles": ["Domain", "Private", "Public"], "enabled": True,
         "service": "sppsvc", "program": "%SystemRoot%\\system32\\sppextcomobj.exe"},
        {"op": "firewall_get", "name": "winops-va-kms-1700", "group": "another group"},
        {"op": "firewall_remove", "name": "winops-va-kms-1700", "group": OWN_GROUP},
        {"op": "firewall_set", "name": "winops-va-absent", "group": OWN_GROUP, "enabled": True},
    ], host="kms01", stop_on_error=False)
    r = out["results"]
    assert r[0]["exists"] is True and r[0]["rule"]["enabled"] is False
    assert r[0]["rule"]["name"] == "SPPSVC-In-TCP" and r[0]["rule"]["display_name"] == "Key Management Service (TCP-In)"
    assert r[0]["rule"]["group"].startswith("@")  # the locale-independent indirect string
    assert r[0]["rule"]["local_ports"] == ["1688"] and r[0]["rule"]["service"] == "sppsvc"
    assert r[0]["rule"]["profiles"] == ["Domain", "Private", "Public"] and r[0]["rule"]["remote_addresses"] == ["*"]
    # MS-GPFAS section 4.2, learn.microsoft.com/openspecs/windows_protocols/ms-gpfas stores IPv4 subnets with a mask; a bare address has the mask 255.255.255.255
    assert (r[1]["rule"]["enabled"], r[1]["rule"]["profiles"], r[1]["rule"]["remote_addresses"]) == \
        (True, ["Domain", "Private"], ["127.0.40.0/255.255.255.0", "LocalSubnet", "10.1.2.3/255.255.255.255"])
    rule = r[2]["rule"]
    assert (rule["name"], rule["display_name"], rule["group"]) == ("winops-va-kms-1700", "winops-va-kms-1700", OWN_GROUP)
    assert rule["profiles"] == ["Domain", "Private", "Public"] and rule["remote_addresses"] == ["*"]
    assert rule["program"] == "C:\\Windows\\system32\\sppextcomobj.exe" and rule["protocol"] == "TCP"
    assert r[3] == {"op": "firewall_get", "ok": True, "exists": False, "rule": None}  # Name matches, Grouping not
    assert r[4]["existed"] is True
    assert (r[5]["ok"], r[5]["hresult_hex"]) == (False, "0x80070002")
    assert [x["display_name"] for x in world.hosts["kms01"].firewall.snapshot()] == ["Key Management Service (TCP-In)"]


@pytest.mark.parametrize("token", ["Any", "Intranet", "Internet", "10.0.0.0/33", "LocalSubnet|x"])
def test_firewall_com_refuses_what_inetfwrule_does_not_take(world: World, token: str) -> None:
    """RemoteAddresses takes '*', five keywords, addresses, subnets and ranges
    [sdk-api nf-netfw-inetfwrule-get_remoteaddresses.md]; NetSecurity's keywords are not among
    them. (The executor turns the protocol's lone 'Any' into '*', so it is sent mixed here.)"""
    _rc, out, _ = run(world, [{"op": "firewall_set", "name": "SPPSVC-In-TCP",
                               "remote_addresses": ["LocalSubnet", token] if token == "Any" else [token]}],
                      host="kms01")
    res = out["results"][0]
    if token == "Any":  # 'Any' anywhere makes the executor send the lone '*'
        assert res["ok"] is True and res["rule"]["remote_addresses"] == ["*"]
        return
    assert (res["ok"], res["hresult_hex"]) == (False, "0x80070057")
    assert "Value does not fall within the expected range." in res["error"]
    assert world.hosts["kms01"].firewall.get("SPPSVC-In-TCP").remote_addresses == ["Any"]


# The executor of before the fix, in the lines that matter: NetSecurity cmdlets.
NETSECURITY_SCRIPT = """# uses NetSecurity
function Get-FirewallRuleState([string]$Name) {
    $rule = Get-NetFirewallRule -Name $Name -ErrorAction SilentlyContinue -ErrorVariable ruleError
}
"""
COM_SCRIPT = """# Get-NetFirewallRule exists only from Windows 8 (a comment: never run)
$policy = New-Object -ComObject HNetCfg.FwPolicy2
"""


@pytest.mark.parametrize(("host", "script", "works"), [
    ("w7", NETSECURITY_SCRIPT, False),
    ("w7", COM_SCRIPT, True),
    ("kms01", NETSECURITY_SCRIPT, True),
    ("kms01", COM_SCRIPT, True),
])
def test_netsecurity_is_not_recognized_on_windows_7(world: World, host: str, script: str, works: bool) -> None:
    """PowerShell 5.1 on 6.1 has no NetSecurity module (MSFT_NetFirewallRule: Windows 8 / Server
    2012 [MicrosoftDocs/win32 desktop-src/FWP/wmi/wfascimprov/msft-netfirewallrule.md]): a script
    naming its cmdlets fails its firewall operations with CommandNotFoundException there."""
    call = ModuleCall(EXECUTOR, SCRIPT, {"operations": [{"op": "firewall_get", "name": "SPPSVC-In-TCP"},
                                                        {"op": "service_get", "name": "sppsvc"}]},
                      internal={"_ansible_module_name": EXECUTOR}, script=script)
    out = json.loads(run_module(world, world.hosts[host], call).stdout.decode())
    fw, svc = out["results"]
    assert svc["ok"] is True
    if works:
        assert fw["ok"] is True and fw["exists"] is True
    else:
        assert (fw["ok"], fw["hresult_hex"]) == (False, "0x80131501")
        assert fw["error"].startswith("The term 'Get-NetFirewallRule' is not recognized as the name of a cmdlet, "
                                      "function, script file, or operable program.")


def test_service_operations(world: World) -> None:
    _, out, _ = run(world, [{"op": "service_get", "name": "sppsvc"}, {"op": "service_get", "name": "osppsvc"},
                            {"op": "service_restart", "name": "sppsvc"}, {"op": "service_restart", "name": "osppsvc"}],
                    stop_on_error=False)
    r = out["results"]
    assert r[0] == {"op": "service_get", "ok": True, "exists": True, "status": "Running", "start_type": "Automatic"}
    assert r[1]["exists"] is False
    assert r[2] == {"op": "service_restart", "ok": True, "status": "Running"}
    assert (r[3]["ok"], r[3]["hresult_hex"]) == (False, "0x80070424")
    _, out, _ = run(world, [{"op": "service_get", "name": "osppsvc"}], host="w7")
    assert out["results"][0]["exists"] is True


# -- batch semantics ----------------------------------------------------------------------

# A failed read (an absent class) stops nothing; a failed mutating operation skips the
# mutating operations after it, and the reads after it still run (the read-back).
@pytest.mark.parametrize(("stop", "expected", "z_set"), [
    (True, [True, False, True, False, "skipped", True], False),
    (False, [True, False, True, False, True, True], True),
])
def test_stop_on_error(world: World, stop: bool, expected: list[t.Any], z_set: bool) -> None:
    _, out, _ = run(world, [
        {"op": "reg_set", "path": SPP, "name": "X", "type": "DWord", "value": 1},
        {"op": "cim_query", "class": "MicrosoftDNS_Zone",
         "namespace": "root/MicrosoftDNS"},
        {"op": "reg_set", "path": SPP, "name": "Y", "type": "DWord", "value": 2},
        {"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "InstallProductKey",
         "arguments": {"ProductKey": {"secret": "product_keys", "index": 0}}},
        {"op": "reg_set", "path": SPP, "name": "Z", "type": "DWord", "value": 3},
        {"op": "cim_query", "class": "Win32_OperatingSystem", "properties": ["Caption"]},
    ], stop_on_error=stop, product_keys=[CSVLK])
    got = [("skipped" if r.get("skipped") else r["ok"]) for r in out["results"]]
    assert got == expected
    assert out["results"][3]["hresult_hex"] == "0xC004F050"  # a Server host key on Windows 11
    assert world.hosts["pc"].registry.get(SPP, "Y") is not None
    assert (world.hosts["pc"].registry.get(SPP, "Z") is not None) is z_set
    assert out["results"][5]["instances"][0]["Caption"].startswith("Microsoft Windows 11")
    assert out["changed"] is True


# skip_after_failure marks the first operation of a plan in a batch of several plans: a plan
# sent after a failed one is skipped, while stop_on_error false still lets a plan try all its
# own operations (the failed InstallProductKey does not stop "Y" of the same plan).
@pytest.mark.parametrize(("mark", "expected", "z_set"), [
    (None, [False, True, True, True], True),
    ("Z", [False, True, "skipped", "skipped"], False),
    ("Y", [False, "skipped", "skipped", "skipped"], False),
])
def test_skip_after_failure(world: World, mark: str | None, expected: list[t.Any], z_set: bool) -> None:
    def reg(name: str, value: int) -> dict[str, t.Any]:
        op: dict[str, t.Any] = {"op": "reg_set", "path": SPP, "name": name, "type": "DWord", "value": value}
        if mark == name:
            op["skip_after_failure"] = True
        return op

    _, out, _ = run(world, [
        {"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "InstallProductKey",
         "arguments": {"ProductKey": {"secret": "product_keys", "index": 0}}},
        reg("Y", 2), reg("Z", 3), reg("W", 4),
        {"op": "cim_query", "class": "Win32_OperatingSystem", "properties": ["Caption"]},
    ], stop_on_error=False, product_keys=[CSVLK])
    got = [("skipped" if r.get("skipped") else r["ok"]) for r in out["results"]]
    assert got == [*expected, True]
    assert (world.hosts["pc"].registry.get(SPP, "Z") is not None) is z_set


def test_skip_after_failure_without_failure_runs_everything(world: World) -> None:
    _, out, _ = run(world, [
        {"op": "reg_set", "path": SPP, "name": "Y", "type": "DWord", "value": 2, "skip_after_failure": True},
    ])
    assert out["results"][0]["ok"] is True and world.hosts["pc"].registry.get(SPP, "Y") is not None


@pytest.mark.parametrize(("ops", "fragment"), [
    ([{"op": "cim_qeury", "class": "SoftwareLicensingProduct"}], "operations[2]: unknown op 'cim_qeury'"),
    ([{"op": "cim_query", "class": "Win32_OperatingSystem", "skip_after_failure": "yes"}],
     "skip_after_failure"),
    ([{"op": "cim_query", "class": "Win32_Process"}], "class 'Win32_Process' is not allowed"),
    ([{"op": "cim_query", "class": "SoftwareLicensingProduct", "namespace": "root/default"}], "namespace"),
    ([{"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "ClearProductKeyFromRegistry"}],
     "method 'ClearProductKeyFromRegistry'"),
    ([{"op": "os_restart", "delay": 3600}], "delay must be an integer of seconds, 0..600"),
    ([{"op": "cim_invoke", "class": "SoftwareLicensingProduct", "method": "UninstallProductKey"}],
     "a filter is required"),
    ([{"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "InstallProductKey",
       "arguments": {"ProductKey": {"secret": "product_keys", "index": 1}}}], "product_keys[1] does not exist"),
    ([{"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "InstallProductKey",
       "arguments": {"ProductKey": {"secret": "passwords", "index": 0}}}], "bad secret reference"),
    ([{"op": "cim_delete", "class": "SoftwareLicensingProduct", "filter": "ID = 'x'"}], "not allowed"),
    ([{"op": "reg_set", "path": r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Run", "name": "x",
       "type": "String", "value": "y"}], "registry path"),
    ([{"op": "reg_set", "path": SPP, "name": "x", "type": "Binary", "value": [1]}], "type 'Binary'"),
    ([{"op": "reg_set", "path": SPP, "name": "x", "type": "DWord", "value": "abc"}], "must be an integer"),
    ([{"op": "firewall_set", "name": "RemoteDesktop-UserMode-In-TCP", "enabled": True}], "firewall rule"),
    ([{"op": "firewall_create", "name": "winops-va-x", "group": "g", "profiles": ["Work"]}],
     "'Work' is not a firewall profile"),
    ([{"op": "firewall_get", "name": "winops-va-x"}], "needs its group"),
    ([{"op": "firewall_remove", "name": "SPPSVC-In-TCP", "group": "g"}], "built-in rule"),
    ([{"op": "service_restart", "name": "wuauserv"}], "service 'wuauserv'"),
    ([{"op": "cim_query"}], "'class' is required"),
    ([{"op": "cim_query", "class": "SoftwareLicensingProduct", "filer": "x"}], "unsupported key(s) filer"),
])
def test_validation_fails_whole_batch_and_runs_nothing(world: World, ops: list[dict[str, t.Any]],
                                                       fragment: str) -> None:
    before = world.snapshot()["hosts"]["pc"]["products"]
    batch: list[dict[str, t.Any]] = [{"op": "reg_set", "path": SPP, "name": "Marker", "type": "DWord", "value": 1},
             {"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "InstallProductKey",
              "arguments": {"ProductKey": KEY_REF}}, *ops]
    rc, out, text = run(world, batch, product_keys=[MAK])
    assert rc == 1 and out["failed"] is True and out["changed"] is False
    assert fragment in out["msg"]
    assert "results" not in out
    assert world.hosts["pc"].registry.get(SPP, "Marker") is None
    assert world.snapshot()["hosts"]["pc"]["products"] == before
    assert MAK not in text
    assert world.hosts["pc"].request_log[-1]["failed"] is True


def test_check_mode_refuses_a_mutating_batch_and_nothing_runs(world: World) -> None:
    rc, out, _ = run(world, [{"op": "cim_query", "class": "Win32_OperatingSystem"},
                             {"op": "reg_set", "path": SPP, "name": "Marker", "type": "DWord", "value": 1}],
                     check=True, product_keys=[MAK])
    assert rc == 1 and out["failed"] is True and out["changed"] is False
    assert "operation 1 (reg_set) changes the host and the task runs in check mode" in out["msg"]
    assert "results" not in out
    assert out["invocation"]["module_args"]["product_keys"] == [NO_LOG_VALUE]
    assert world.hosts["pc"].registry.get(SPP, "Marker") is None
    assert world.hosts["pc"].request_log[-1]["check_mode"] is True


def test_check_mode_runs_a_read_only_batch(world: World) -> None:
    rc, out, _ = run(world, [{"op": "cim_query", "class": "Win32_OperatingSystem", "properties": ["Caption"]},
                             {"op": "reg_get", "path": SPP}], check=True)
    assert rc == 0 and out["changed"] is False
    assert [r["ok"] for r in out["results"]] == [True, True]
    assert world.hosts["pc"].request_log[-1]["check_mode"] is True


@pytest.mark.parametrize(("args", "fragment"), [
    ({"operations": [{"op": "cim_query", "class": "Win32_OperatingSystem"}], "stop_on_eror": True},
     "Unsupported parameters for (winops.volume_activation.licensing_batch) module: stop_on_eror"),
    ({"product_keys": [MAK]}, "missing required arguments: operations"),
    ({"operations": [{"op": "cim_query", "class": "Win32_OperatingSystem"}], "stop_on_error": "perhaps"},
     "unable to convert to bool"),
])
def test_module_option_errors(world: World, args: dict[str, t.Any], fragment: str) -> None:
    res = run_module(world, world.hosts["pc"], ModuleCall(EXECUTOR, SCRIPT, args))
    out = json.loads(res.stdout)
    assert res.rc == 1 and out["failed"] is True and fragment in out["msg"]
    assert MAK not in res.stdout.decode()


@pytest.mark.parametrize(("args", "ping"), [({}, "pong"), ({"data": "hello"}, "hello")])
def test_win_ping(world: World, args: dict[str, t.Any], ping: str) -> None:
    res = run_module(world, world.hosts["pc"], ModuleCall("ansible.windows.win_ping", "x", args))
    out = json.loads(res.stdout)
    assert res.rc == 0 and out["changed"] is False and out["ping"] == ping
    assert out["invocation"] == {"module_args": {"data": ping}}


def test_win_ping_crash(world: World) -> None:
    res = run_module(world, world.hosts["pc"], ModuleCall("ansible.windows.win_ping", "x", {"data": "crash"}))
    assert res.rc == 1 and json.loads(res.stdout)["failed"] is True


def test_unknown_module_is_never_a_silent_success(world: World) -> None:
    res = run_module(world, world.hosts["pc"], ModuleCall("ansible.windows.win_shell", "x", {"_raw_params": "dir"}))
    out = json.loads(res.stdout)
    assert res.rc == 1 and out["failed"] is True
    assert "does not simulate the module 'ansible.windows.win_shell'" in out["msg"]


def test_request_log_records_operations_not_values(world: World) -> None:
    run(world, [{"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "InstallProductKey",
                 "arguments": {"ProductKey": KEY_REF}},
                {"op": "reg_set", "path": SPP, "name": "KeyManagementServiceName", "type": "String",
                 "value": "kms-secretish"}], product_keys=[MAK])
    entry = world.hosts["pc"].request_log[-1]
    assert entry["module"] == EXECUTOR and entry["check_mode"] is False and entry["changed"] is True
    assert [(o["op"], o.get("class"), o.get("method"), o["ok"]) for o in entry["ops"]] == [
        ("cim_invoke", "SoftwareLicensingService", "InstallProductKey", True), ("reg_set", None, None, True)]
    assert "kms-secretish" not in json.dumps(entry) and MAK not in json.dumps(entry)
    assert entry["time"] == "2026-11-01T09:00:00+00:00"


def test_ospp_uninstall_product_key_needs_the_product_key_id_as_ospp_vbs_passes_it(world: World) -> None:
    """Microsoft's ospp.vbs /unpkey: instance.UninstallProductKey(instance.ProductKeyID) [OSPP15].
    Without the argument the OSPP class refuses; with argument_property the executor passes it."""
    office = "ApplicationID = '59a52881-a989-479d-af46-f275c6370663' AND PartialProductKey <> null"
    call = {"op": "cim_invoke", "class": "OfficeSoftwareProtectionProduct", "method": "UninstallProductKey",
            "filter": office}
    _rc, out, _ = run(world, [call, {"op": "cim_query", "class": "OfficeSoftwareProtectionProduct",
                                     "filter": office, "properties": ["ID"]}], host="w7")
    bare, still = out["results"]
    # a missing parameter: WBEM_E_INVALID_PARAMETER here, E_INVALIDARG once Invoke-CimMethod's own check is modelled
    assert bare["ok"] is False and bare["hresult_hex"] in ("0x80041008", "0x80070057")
    assert len(still["instances"]) == 1  # the key is still there
    _rc, out, _ = run(world, [{**call, "argument_property": "ProductKeyID"},
                              {"op": "cim_query", "class": "OfficeSoftwareProtectionProduct", "filter": office,
                               "properties": ["ID"]}], host="w7")
    removed, gone = out["results"]
    assert removed["ok"] is True and removed["matched"] == 1
    assert gone["instances"] == []
