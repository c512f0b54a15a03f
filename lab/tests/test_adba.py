"""Active Directory-based activation in the lab (models/adds.py): the forest and its
activation objects, the three SoftwareLicensingService methods, domain-joined clients
activating from AD, the fallback to KMS and the activation type.

Sources: MicrosoftDocs/windows-itpro-docs windows/deployment/volume-activation/
activate-windows-10-clients-vamt.md (AD first, KMS next, 180 days), microsoft/wmi's
SoftwareLicensingService bindings (method and parameter names), slerror.h (0xC004F081).
"""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from winlab.models import errors
from winlab.models.errors import WmiError
from winlab.models.world import World
from winlab.spec import parse_fleet
from winlab.surfaces import executor
from winlab.surfaces.cim import CimSurface

CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"  # synthetic
OFFICE_CSVLK = "B4GMK-YC6VW-8TQ3R-JXM7D-9QF2P"  # synthetic
OFFICE10_CSVLK = "R7CDW-6KVG8-YXQ2B-M3PT4-HGJ9C"  # synthetic
MAK = "J8GKC-4RVQX-HYW7T-2BMDP-63XCF"  # synthetic
WIN11_GVLK = "NPPR9-FWDCX-D2C8J-H872K-2YT43"  # public GVLK [WSD-KEYS]
DN_SUFFIX = "CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,DC=corp,DC=example,DC=test"


def make_world() -> World:
    return World(parse_fleet({
        "lab": {"network": False, "seed": 5}, "domain": "corp.example.test", "defaults": {"password": "pw"},
        "keys": [{"name": "ws22-csvlk", "kind": "csvlk", "product": "windows-server-2022", "key": CSVLK,
                  "max_hosts": 2},
                 {"name": "o16-csvlk", "kind": "csvlk", "product": "office-2016", "key": OFFICE_CSVLK},
                 {"name": "o10-csvlk", "kind": "csvlk", "product": "office-2010", "key": OFFICE10_CSVLK},
                 {"name": "w11-mak", "kind": "mak", "product": "windows-11/Enterprise", "count": 5, "key": MAK}],
        "hosts": [
            {"name": "mgmt01", "address": "127.0.31.1", "os": "windows-server-2022", "edition": "ServerStandard"},
            {"name": "ws01", "address": "127.0.31.2", "os": "windows-11", "edition": "Enterprise",
             "office": [{"version": "2016", "products": ["ProPlus"]}]},
            {"name": "w7", "address": "127.0.31.3", "os": "windows-7", "edition": "Enterprise",
             "office": [{"version": "2010", "products": ["ProPlus"]}]},
            {"name": "wg01", "address": "127.0.31.4", "os": "windows-11", "edition": "Enterprise",
             "domain_joined": False},
            {"name": "old01", "address": "127.0.31.5", "os": "windows-server-2008-r2",
             "edition": "ServerStandard"},
            {"name": "w7o16", "address": "127.0.31.6", "os": "windows-7", "edition": "Enterprise",
             "office": [{"version": "2016", "products": ["ProPlus"]}]},
        ]}))


@pytest.fixture
def world() -> World:
    return make_world()


def service(world: World, host: str, method: str, **args: t.Any) -> dict[str, t.Any]:
    return CimSurface(world.hosts[host]).invoke("SoftwareLicensingService", method, args)


def hresult(fn: t.Callable[[], t.Any]) -> str:
    with pytest.raises(WmiError) as e:
        fn()
    return e.value.hex


def windows_row(world: World, host: str) -> dict[str, t.Any]:
    rows = CimSurface(world.hosts[host]).query(
        "SoftwareLicensingProduct", "PartialProductKey <> NULL AND ApplicationID = '55c92734-d682-4d71-983e-d6ec3f16059f'")
    assert len(rows) == 1
    return rows[0]


def test_online_activation_creates_the_object_and_counts_the_csvlk(world: World) -> None:
    service(world, "mgmt01", "DoActiveDirectoryOnlineActivation", ProductKey=CSVLK, ActivationObjectName="WS2022")
    snap = world.forest.snapshot()
    assert snap["container"] == DN_SUFFIX
    [obj] = snap["objects"]
    assert (obj["displayName"], obj["distinguishedName"], obj["msSPP-CSVLKPartialProductKey"]) == (
        "WS2022", f"CN=WS2022,{DN_SUFFIX}", "H4D3N")
    assert CSVLK not in repr(snap)
    assert world.activation_service.usage("ws22-csvlk") == {f"forest:corp.example.test|{obj['msSPP-CSVLKSkuId']}": 1}
    # The same name again: the object exists, nothing is counted.
    assert hresult(lambda: service(world, "mgmt01", "DoActiveDirectoryOnlineActivation", ProductKey=CSVLK,
                                   ActivationObjectName="ws2022")) == "0x80071392"
    assert sum(world.activation_service.usage("ws22-csvlk").values()) == 1


@pytest.mark.parametrize(("host", "key", "name", "expected"), [
    ("mgmt01", WIN11_GVLK, "AO", "0xC004F050"),  # a KMS client setup key
    ("mgmt01", MAK, "AO", "0xC004F050"),  # a MAK
    ("mgmt01", OFFICE10_CSVLK, "AO", "0xC004F050"),  # Office 2010 has no ADBA
    ("mgmt01", CSVLK, "x" * 65, "0xC004F082"),  # SL_E_VL_AD_AO_NAME_TOO_LONG
    ("mgmt01", CSVLK, "a,b", "0x80070057"),
    ("wg01", CSVLK, "AO", "0x8007054B"),  # not a domain member
    ("old01", CSVLK, "AO", "0x80041030"),  # no such method before Windows 8 / Server 2012
])
def test_online_activation_refusals(world: World, host: str, key: str, name: str, expected: str) -> None:
    assert hresult(lambda: service(world, host, "DoActiveDirectoryOnlineActivation", ProductKey=key,
                                   ActivationObjectName=name)) == expected
    assert not world.forest.objects
    assert world.activation_service.usage("ws22-csvlk") == {}


def test_phone_activation_installation_id_out_confirmation_id_in(world: World) -> None:
    out = service(world, "mgmt01", "GenerateActiveDirectoryOfflineActivationId", ProductKey=CSVLK)
    iid = out["InstallationID"]
    assert len(iid) == 63 and iid.isdigit()
    assert not world.forest.objects  # generating the ID changes nothing
    assert hresult(lambda: service(world, "mgmt01", "DepositActiveDirectoryOfflineActivationConfirmation",
                                   ProductKey=CSVLK, ConfirmationID="1" * 48, ActivationObjectName="Phone")) \
        == "0xC004F04D"
    cid = world.activation_service.phone(iid)
    service(world, "mgmt01", "DepositActiveDirectoryOfflineActivationConfirmation", ProductKey=CSVLK,
            ConfirmationID=cid, ActivationObjectName="Phone")
    assert [o.dn for o in world.forest.objects.values()] == [f"CN=Phone,{DN_SUFFIX}"]
    assert sum(world.activation_service.usage("ws22-csvlk").values()) == 1


def test_csvlk_host_limit_applies_to_forests_too(world: World) -> None:
    """The activation service counts the forest as a host of the CSVLK (max_hosts 2 here)."""
    world.activation_service.activate(world.activation_service.by_name("ws22-csvlk"), "kmsa", "x")
    world.activation_service.activate(world.activation_service.by_name("ws22-csvlk"), "kmsb", "x")
    assert hresult(lambda: service(world, "mgmt01", "DoActiveDirectoryOnlineActivation", ProductKey=CSVLK,
                                   ActivationObjectName="WS2022")) == "0xC004C008"
    assert not world.forest.objects


def test_domain_clients_activate_from_ad_without_threshold_or_kms_host(world: World) -> None:
    service(world, "mgmt01", "DoActiveDirectoryOnlineActivation", ProductKey=CSVLK, ActivationObjectName="WS2022")
    world.advance(dt.timedelta(hours=2, minutes=1))  # the first activation attempt after install [MS-TIMING]
    row = windows_row(world, "ws01")
    assert (row["LicenseStatus"], row["VLActivationType"], row["ADActivationObjectName"],
            row["ADActivationObjectDN"]) == (1, 1, "WS2022", f"CN=WS2022,{DN_SUFFIX}")
    assert row["ADActivationCsvlkSkuId"] == world.forest.objects["ws2022"].sku_id
    assert row["ADActivationCsvlkPid"] == world.forest.objects["ws2022"].pid
    assert row["GracePeriodRemaining"] == 180 * 1440 - 1  # valid for 180 days
    # The management server itself is a domain member with a GVLK: activated too (one client
    # of a KMS host would never reach a threshold of 5).
    assert windows_row(world, "mgmt01")["LicenseStatus"] == 1
    # Office 2016 has no Office activation object and no KMS host: not activated.
    office = CimSurface(world.hosts["ws01"]).query("SoftwareLicensingProduct",
                                                   "PartialProductKey <> NULL AND Name LIKE 'Office%'")[0]
    assert (office["LicenseStatus"], office["ADActivationObjectName"]) == (2, "")
    # Windows 7 (no ADBA), a workgroup machine and Server 2008 R2 fall back to KMS, find none.
    for name in ("w7", "wg01", "old01"):
        assert windows_row(world, name)["LicenseStatus"] == 2, name
        assert world.hosts[name].products and any(
            e.get("hresult") == "0x8007232B" for e in world.hosts[name].events), name


def test_office_object_activates_office_2016_only(world: World) -> None:
    service(world, "mgmt01", "DoActiveDirectoryOnlineActivation", ProductKey=OFFICE_CSVLK, ActivationObjectName="O16")
    world.advance(dt.timedelta(hours=3))
    office = CimSurface(world.hosts["ws01"]).query("SoftwareLicensingProduct",
                                                   "PartialProductKey <> NULL AND Name LIKE 'Office%'")[0]
    assert (office["LicenseStatus"], office["ADActivationObjectName"]) == (1, "O16")
    assert windows_row(world, "ws01")["LicenseStatus"] == 2  # no Windows object
    ospp = CimSurface(world.hosts["w7"]).query("OfficeSoftwareProtectionProduct", "PartialProductKey <> NULL")
    assert [r["LicenseStatus"] for r in ospp] == [2]  # Office 2010 under OSPP: never from AD
    # Office 2016 on Windows 7 lives in OSPP [OSPP15]: no AD-based activation there either.
    ospp = CimSurface(world.hosts["w7o16"]).query("OfficeSoftwareProtectionProduct", "PartialProductKey <> NULL")
    assert [(r["Name"].split(",")[0], r["LicenseStatus"]) for r in ospp] == [("Office 16", 2)]


def test_removing_the_object_stops_activation_at_the_next_renewal(world: World) -> None:
    service(world, "mgmt01", "DoActiveDirectoryOnlineActivation", ProductKey=CSVLK, ActivationObjectName="WS2022")
    world.advance(dt.timedelta(hours=3))
    assert windows_row(world, "ws01")["LicenseStatus"] == 1
    world.forest.remove(f"CN=WS2022,{DN_SUFFIX}")
    world.advance(dt.timedelta(days=8))  # past the 7-day renewal: AD has no object, KMS none either
    row = windows_row(world, "ws01")
    # Still licensed from the last AD activation, but no longer renewed: 180 days minus 8.
    assert row["LicenseStatus"] == 1 and row["GracePeriodRemaining"] < (180 - 7) * 1440
    world.advance(dt.timedelta(days=175))
    assert windows_row(world, "ws01")["LicenseStatus"] == 3  # out-of-tolerance grace


@pytest.mark.parametrize(("activation_type", "status", "last_hresult"), [
    (0, 1, 0),
    (1, 1, 0),
    (2, 2, errors.HR_DNS_ERROR_RCODE_NAME_ERROR),  # KMS only: the AD object is ignored
    (3, 2, 0xC004F302),  # token only: not simulated, no certificate
])
def test_activation_type_is_honoured(world: World, activation_type: int, status: int, last_hresult: int) -> None:
    service(world, "mgmt01", "DoActiveDirectoryOnlineActivation", ProductKey=CSVLK, ActivationObjectName="WS2022")
    service(world, "ws01", "SetVLActivationTypeEnabled", ActivationType=activation_type)
    world.advance(dt.timedelta(hours=3))
    row = windows_row(world, "ws01")
    assert row["LicenseStatus"] == status
    win = world.hosts["ws01"].product(row["ID"])
    assert win is not None and win.last_hresult == last_hresult


def test_ad_only_without_object_fails_with_ao_not_found(world: World) -> None:
    service(world, "ws01", "SetVLActivationTypeEnabled", ActivationType=1)
    row = windows_row(world, "ws01")
    assert hresult(lambda: CimSurface(world.hosts["ws01"]).invoke(
        "SoftwareLicensingProduct", "Activate", {}, row)) == "0xC004F081"


def test_win32_computer_system_domain_membership(world: World) -> None:
    rows = {n: CimSurface(world.hosts[n]).query("Win32_ComputerSystem")[0] for n in ("mgmt01", "ws01", "wg01")}
    assert [(r["PartOfDomain"], r["Domain"], r["DomainRole"]) for r in rows.values()] == [
        (True, "corp.example.test", 3), (True, "corp.example.test", 1), (False, "WORKGROUP", 0)]


def test_executor_operations(world: World) -> None:
    secrets = {"product_keys": [CSVLK]}
    ref = {"secret": "product_keys", "index": 0}
    res = executor.run_batch(world, world.hosts["mgmt01"], {**secrets, "operations": [
        {"op": "ad_installation_id", "product_key": ref}, {"op": "ad_activation_objects"}]}, check_mode=True)
    assert [r["ok"] for r in res["results"]] == [True, True] and res["changed"] is False
    assert res["results"][1]["objects"] == [] and res["results"][1]["container"] == DN_SUFFIX
    assert CSVLK not in repr(res)
    dn = f"CN=WS2022,{DN_SUFFIX}"
    res = executor.run_batch(world, world.hosts["mgmt01"], {**secrets, "operations": [
        {"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "DoActiveDirectoryOnlineActivation",
         "arguments": {"ProductKey": ref, "ActivationObjectName": "WS2022"}},
        {"op": "ad_activation_object_remove", "dn": dn}, {"op": "ad_activation_object_remove", "dn": dn}]})
    assert [r.get("existed") for r in res["results"][1:]] == [True, False]
    assert not world.forest.objects
    res = executor.run_batch(world, world.hosts["wg01"], {"operations": [{"op": "ad_activation_objects"}]})
    assert (res["results"][0]["ok"], res["results"][0]["hresult_hex"]) == (False, "0x8007054B")


@pytest.mark.parametrize(("op", "message"), [
    ({"op": "ad_activation_object_remove", "dn": "CN=Users,DC=corp,DC=example,DC=test"},
     "is not an activation object's distinguished name"),
    ({"op": "ad_activation_object_remove", "dn": f"CN=a,CN=b,{DN_SUFFIX}"},
     "is not an activation object's distinguished name"),
    ({"op": "ad_installation_id", "product_key": CSVLK}, "product_key must be a secret reference"),
    ({"op": "ad_activation_objects", "domain": "x"}, "unsupported key(s) domain"),
])
def test_executor_validation(world: World, op: dict[str, t.Any], message: str) -> None:
    with pytest.raises(executor.BatchValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        executor.run_batch(world, world.hosts["mgmt01"], {"operations": [op], "product_keys": [CSVLK]})


def test_fleet_file_domain_joined_is_a_boolean() -> None:
    from winlab.spec import SpecError
    with pytest.raises(SpecError, match=r"hosts\[0\].domain_joined: 'no' is not a boolean"):
        parse_fleet({"domain": "a.test", "defaults": {"password": "p"}, "hosts": [
            {"name": "h", "address": "127.0.0.9", "os": "windows-11", "edition": "Enterprise",
             "domain_joined": "no"}]})


def test_mixed_fleet_story() -> None:
    """lab/fleets/mixed.yml tells what its header says: AD for Windows 10/11 and Office 2016+, KMS
    (kms01, Server 2008 R2) for Windows 7 and Office 2010, nothing for the laptop outside the domain."""
    import dataclasses
    import pathlib

    from winlab.spec import load_fleet

    spec = load_fleet(pathlib.Path(__file__).resolve().parents[1] / "fleets" / "mixed.yml")
    world = World(dataclasses.replace(spec, lab=dataclasses.replace(spec.lab, network=False)))
    keys = {k.name: k.key for k in spec.keys}
    for name, key in (("WS2022", "ws2022-csvlk"), ("Office2016", "office2016-csvlk"), ("Office2021", "office2021-csvlk")):
        service(world, "mgmt01", "DoActiveDirectoryOnlineActivation", ProductKey=keys[key], ActivationObjectName=name)
    kms = CimSurface(world.hosts["kms01"])
    for key in ("ws2008r2-csvlk", "office2010-csvlk"):
        kms.invoke("SoftwareLicensingService", "InstallProductKey", {"ProductKey": keys[key]})
    for row in kms.query("SoftwareLicensingProduct", "IsKeyManagementServiceMachine = 1"):
        kms.invoke("SoftwareLicensingProduct", "Activate", {}, row)
    rule = world.hosts["kms01"].firewall.get("SPPSVC-In-TCP")
    assert rule is not None
    rule.enabled = True  # what kms_firewall does
    world.advance(dt.timedelta(hours=7))

    def states(host: str) -> list[tuple[str, int, str]]:
        cim = CimSurface(world.hosts[host])
        rows = cim.query("SoftwareLicensingProduct", "PartialProductKey <> NULL")
        if world.hosts[host].has_ospp:
            rows += cim.query("OfficeSoftwareProtectionProduct", "PartialProductKey <> NULL")
        return [(r["Name"].split(",")[0], r["LicenseStatus"],
                 r.get("ADActivationObjectName") or r["DiscoveredKeyManagementServiceMachineName"]) for r in rows]

    assert states("ws01") == [("Windows(R)", 1, "WS2022"), ("Office 21", 1, "Office2021")]
    assert states("wt02") == [("Windows(R)", 1, "WS2022"), ("Office 16", 1, "Office2016")]
    assert states("mgmt01") == [("Windows(R)", 1, "WS2022")]
    assert states("w7-25") == [("Windows(R) 7", 1, "kms01.mixed.example.test"),
                               ("Office 14", 1, "kms01.mixed.example.test")]
    assert states("lap01")[0][:2] == ("Windows(R)", 2)
