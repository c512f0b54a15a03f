"""Licensing model: key install/uninstall per kind, HRESULTs, activation flows, grace over time."""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from winlab.models import errors
from winlab.models.catalog import OFFICE14_APP_ID, OFFICE15_APP_ID, WINDOWS_APP_ID
from winlab.models.errors import WmiError
from winlab.models.host import WindowsHost
from winlab.models.world import World
from winlab.spec import parse_fleet
from winlab.surfaces.cim import CimSurface

ALPHABET = "BCDFGHJKMPQRTVWXY2346789"  # the 24 key symbols; N only marks a position, once


def synth_key(n: int) -> str:
    """A distinct key in product-key alphabet (not a real key)."""
    chars = []
    for i in range(25):
        chars.append(ALPHABET[(n * 7 + i * (n + 3)) % len(ALPHABET)])
    s = "".join(chars)
    return "-".join(s[i:i + 5] for i in range(0, 25, 5))


K = {name: synth_key(i + 1) for i, name in enumerate(
    ["ws22_csvlk", "win10_mak", "win10_retail", "o2010_csvlk", "o2016_csvlk", "o2016_mak", "blocked_mak",
     "small_mak", "win10_csvlk", "ws19_csvlk", "o2016_mak_word"])}

HOSTS: list[dict[str, t.Any]] = [
    {"name": "kms01", "address": "127.0.10.10", "os": "windows-server-2022", "edition": "ServerStandard"},
    {"name": "kms2008", "address": "127.0.10.11", "os": "windows-server-2008", "edition": "ServerStandard"},
    {"name": "kms08r2", "address": "127.0.10.12", "os": "windows-server-2008-r2", "edition": "ServerStandard"},
    {"name": "ws01", "address": "127.0.10.20", "os": "windows-11", "edition": "Enterprise",
     "office": [{"version": "2016", "products": ["ProPlus"]}]},
    {"name": "w7", "address": "127.0.10.30", "os": "windows-7", "edition": "Enterprise",
     "office": [{"version": "2010", "products": ["ProPlus", "VisioPro"]},
                {"version": "2013", "products": ["Standard"]}]},
    {"name": "w10o10", "address": "127.0.10.40", "os": "windows-10", "edition": "Professional",
     "office": [{"version": "2010", "products": ["ProPlus"]}]},
]


def make_world(hosts: list[dict[str, t.Any]] | None = None, **extra: t.Any) -> World:
    data = {
        "domain": "corp.example.test", "defaults": {"password": "P@ss"}, "lab": {"seed": 7},
        "keys": [
            {"name": "ws22-csvlk", "kind": "csvlk", "product": "windows-server-2022", "key": K["ws22_csvlk"]},
            {"name": "ws19-csvlk", "kind": "csvlk", "product": "windows-server-2019", "key": K["ws19_csvlk"]},
            {"name": "win10-csvlk", "kind": "csvlk", "product": "windows-10", "key": K["win10_csvlk"]},
            {"name": "win10-mak", "kind": "mak", "product": "windows-10/Enterprise", "count": 2,
             "key": K["win10_mak"]},
            {"name": "win10-retail", "kind": "retail", "product": "windows-11/Enterprise", "key": K["win10_retail"]},
            {"name": "o2010-csvlk", "kind": "csvlk", "product": "office-2010", "key": K["o2010_csvlk"]},
            {"name": "o2016-csvlk", "kind": "csvlk", "product": "office-2016", "key": K["o2016_csvlk"]},
            {"name": "o2016-mak", "kind": "mak", "product": "office-2016/ProPlus", "count": 5, "key": K["o2016_mak"]},
            {"name": "o2016-mak-word", "kind": "mak", "product": "office-2016/Word", "count": 5,
             "key": K["o2016_mak_word"]},
            {"name": "blocked", "kind": "mak", "product": "windows-10/Enterprise", "count": 5, "blocked": True,
             "key": K["blocked_mak"]},
        ],
        "hosts": hosts if hosts is not None else HOSTS,
    }
    data.update(extra)
    return World(parse_fleet(data))


@pytest.fixture
def world() -> World:
    return make_world()


def spp(host: WindowsHost, cond: str) -> list[dict[str, t.Any]]:
    return CimSurface(host).query("SoftwareLicensingProduct", cond)


def install(host: WindowsHost, key: str, cls: str = "SoftwareLicensingService") -> None:
    CimSurface(host).invoke(cls, "InstallProductKey", {"ProductKey": key})


def invoke_on(host: WindowsHost, cls: str, method: str, cond: str, args: dict[str, t.Any] | None = None) -> None:
    rows = CimSurface(host).query(cls, cond)
    assert len(rows) == 1, rows
    CimSurface(host).invoke(cls, method, args or {}, rows[0])


def hresult_of(fn: t.Callable[[], t.Any]) -> str:
    with pytest.raises(WmiError) as exc:
        fn()
    return exc.value.hex


# -- initial state --------------------------------------------------------------------

def test_vl_image_has_gvlk_in_oob_grace(world: World) -> None:
    ws = world.hosts["ws01"]
    rows = spp(ws, "PartialProductKey IS NOT NULL")
    assert [(r["ApplicationID"], r["PartialProductKey"], r["LicenseStatus"], r["GracePeriodRemaining"])
            for r in rows] == [(WINDOWS_APP_ID, "2YT43", 2, 30 * 1440), (OFFICE15_APP_ID, "WFG99", 2, 30 * 1440)]
    assert rows[0]["ProductKeyChannel"] == "Volume:GVLK"
    assert rows[0]["Description"] == "Windows(R) Operating System, VOLUME_KMSCLIENT channel"
    assert rows[0]["ID"] == "73111121-5638-40f6-bc11-f1d7b0d64300"
    # SKUs without a key are present and unlicensed (PartialProductKey NULL).
    others = spp(ws, "PartialProductKey IS NULL")
    assert others and all(r["LicenseStatus"] == 0 and r["LicenseStatusReason"] == errors.SL_E_PKEY_NOT_INSTALLED
                          for r in others)


@pytest.mark.parametrize(("host", "classes"), [
    ("ws01", ["SoftwareLicensingService", "SoftwareLicensingProduct", "Win32_OperatingSystem", "Win32_ComputerSystem"]),
    ("kms01", ["SoftwareLicensingService", "SoftwareLicensingProduct", "Win32_OperatingSystem", "Win32_ComputerSystem"]),
    ("w7", ["SoftwareLicensingService", "SoftwareLicensingProduct", "Win32_OperatingSystem", "Win32_ComputerSystem",
            "OfficeSoftwareProtectionService", "OfficeSoftwareProtectionProduct"]),
    ("w10o10", ["SoftwareLicensingService", "SoftwareLicensingProduct", "Win32_OperatingSystem", "Win32_ComputerSystem",
                "OfficeSoftwareProtectionService", "OfficeSoftwareProtectionProduct"]),
])
def test_classes_per_host(world: World, host: str, classes: list[str]) -> None:
    assert CimSurface(world.hosts[host]).classes() == classes


def test_office_placement(world: World) -> None:
    """Office 2010 lives in OSPP everywhere; 2013+ in OSPP on Win7, in SPP on Win8+ [OSPP15]."""
    w7 = world.hosts["w7"]
    ospp = CimSurface(w7).query("OfficeSoftwareProtectionProduct", "PartialProductKey IS NOT NULL")
    assert sorted((r["ApplicationID"], r["PartialProductKey"]) for r in ospp) == sorted([
        (OFFICE14_APP_ID, "H3GVB"), (OFFICE14_APP_ID, "Q8TCP"), (OFFICE15_APP_ID, "92CD4")])
    assert not spp(w7, f"ApplicationID <> '{WINDOWS_APP_ID}'")
    ws = world.hosts["ws01"]
    assert len(spp(ws, f"ApplicationID = '{OFFICE15_APP_ID}' AND PartialProductKey <> NULL")) == 1
    assert CimSurface(w7).cim_instances("OfficeSoftwareProtectionService")[0]["ClientMachineID"] != w7.cmid


def test_win32_operating_system(world: World) -> None:
    os_row = CimSurface(world.hosts["kms01"]).cim_instances("Win32_OperatingSystem")[0]
    assert os_row["Caption"] == "Microsoft Windows Server 2022 Standard"
    assert (os_row["Version"], os_row["BuildNumber"], os_row["OperatingSystemSKU"], os_row["ProductType"],
            os_row["OSLanguage"], os_row["MUILanguages"], os_row["CSName"]) == \
        ("10.0.20348", "20348", 7, 3, 1033, ["en-US"], "KMS01")
    assert CimSurface(world.hosts["ws01"]).cim_instances("Win32_OperatingSystem")[0]["ProductType"] == 1
    assert CimSurface(world.hosts["kms01"]).cim_instances("SoftwareLicensingService")[0]["Version"] == "10.0.20348.1"


# -- key installation -------------------------------------------------------------------

@pytest.mark.parametrize(("host", "key_name", "channel", "description_part"), [
    ("ws01", "win10_mak", "Volume:MAK", "VOLUME_MAK"),
    ("ws01", "win10_retail", "Retail", "RETAIL"),
    ("kms01", "ws22_csvlk", "Volume:CSVLK", "VOLUME_KMS_WS22"),
    ("ws01", "win10_csvlk", "Volume:CSVLK", "VOLUME_KMS_W10"),
])
def test_install_windows_key_replaces_the_windows_key(world: World, host: str, key_name: str, channel: str,
                                                      description_part: str) -> None:
    h = world.hosts[host]
    install(h, K[key_name])
    rows = spp(h, f"ApplicationID = '{WINDOWS_APP_ID}' AND PartialProductKey IS NOT NULL")
    assert len(rows) == 1  # one Windows key at a time [SLMGR10]
    assert rows[0]["PartialProductKey"] == K[key_name][-5:]
    assert rows[0]["ProductKeyChannel"] == channel
    assert description_part in rows[0]["Description"]
    assert rows[0]["LicenseStatus"] == 2


def test_install_gvlk_again_restores_kms_client(world: World) -> None:
    ws = world.hosts["ws01"]
    install(ws, K["win10_mak"])
    install(ws, "NPPR9-FWDCX-D2C8J-H872K-2YT43")
    rows = spp(ws, f"ApplicationID = '{WINDOWS_APP_ID}' AND PartialProductKey IS NOT NULL")
    assert [r["ProductKeyChannel"] for r in rows] == ["Volume:GVLK"]


def test_office_key_replaces_only_its_product(world: World) -> None:
    ws = world.hosts["ws01"]
    install(ws, K["o2016_mak"])
    rows = spp(ws, "PartialProductKey IS NOT NULL")
    assert sorted(r["PartialProductKey"] for r in rows) == sorted(["2YT43", K["o2016_mak"][-5:]])


@pytest.mark.parametrize(("host", "key", "cls", "hresult"), [
    ("ws01", "NOTAK-EYXXX-XXXXX-XXXXX-XXXXX", "SoftwareLicensingService", "0xC004F050"),
    ("ws01", "BBBBB-BBBBB-BBBBB-BBBBB-BBBBB", "SoftwareLicensingService", "0xC004F050"),  # unknown key
    ("ws01", "W269N-WFGWX-YVC9B-4J6C9-T83GX", "SoftwareLicensingService", "0xC004F050"),  # Pro GVLK on Enterprise
    ("kms01", "WX4NM-KYWYW-QJJR4-XV3QB-6VM33", "SoftwareLicensingService", "0xC004F050"),  # Datacenter on Standard
    ("kms01", "N69G4-B89J2-4G8F4-WWYCC-J464C", "SoftwareLicensingService", "0xC004F050"),  # 2019 GVLK on 2022
    ("ws01", K["ws22_csvlk"], "SoftwareLicensingService", "0xC004F050"),  # server CSVLK on a client edition
    ("kms01", K["ws19_csvlk"], "SoftwareLicensingService", "0xC004F050"),  # 2019 CSVLK on 2022
    ("kms01", K["win10_mak"], "SoftwareLicensingService", "0xC004F050"),  # client MAK on a server
    ("kms01", K["o2016_mak"], "SoftwareLicensingService", "0xC004F069"),  # Office absent
    ("ws01", K["o2016_mak_word"], "SoftwareLicensingService", "0xC004F069"),  # Word SKU not installed
    ("ws01", "VYBBJ-TRJPB-QFQRF-QFT4D-H3GVB", "SoftwareLicensingService", "0xC004F069"),  # Office 2010 GVLK
    ("kms2008", K["o2010_csvlk"], "SoftwareLicensingService", "0xC004F069"),  # 2010 host pack: not 2008 [SEED]
    ("kms01", K["o2010_csvlk"], "SoftwareLicensingService", "0xC004F069"),  # nor 2022 [SEED]
    ("ws01", K["o2010_csvlk"], "SoftwareLicensingService", "0xC004F069"),  # nor Windows 11
    ("kms2008", K["o2016_csvlk"], "SoftwareLicensingService", "0xC004F069"),  # 2016 pack needs >= 2008 R2
    ("w7", K["win10_mak"], "OfficeSoftwareProtectionService", "0xC004F050"),  # Windows key on OSPP
    ("w7", K["o2016_mak"], "OfficeSoftwareProtectionService", "0xC004F069"),
])
def test_install_failures(world: World, host: str, key: str, cls: str, hresult: str) -> None:
    h = world.hosts[host]
    before = h.snapshot()["products"]
    assert hresult_of(lambda: install(h, key, cls)) == hresult
    assert h.snapshot()["products"] == before  # nothing changed


@pytest.mark.parametrize(("host", "key_name", "host_id"), [
    ("kms08r2", "o2010_csvlk", "bfe7a195-4f8f-4f0b-a622-cf13c7d16864"),
    ("w7", "o2010_csvlk", "bfe7a195-4f8f-4f0b-a622-cf13c7d16864"),
    ("kms01", "o2016_csvlk", "98ebfe73-2084-4c97-932c-c0cd1643bea7"),
    ("kms08r2", "o2016_csvlk", "98ebfe73-2084-4c97-932c-c0cd1643bea7"),
])
def test_office_csvlk_installs_host_pack_sku(world: World, host: str, key_name: str, host_id: str) -> None:
    h = world.hosts[host]
    assert not spp(h, f"ID = '{host_id}'")
    install(h, K[key_name])
    rows = spp(h, f"ID = '{host_id}'")
    assert len(rows) == 1
    assert rows[0]["PartialProductKey"] == K[key_name][-5:]
    assert rows[0]["IsKeyManagementServiceMachine"] == 1
    assert "VOLUME_KMS channel" in rows[0]["Description"]
    # The Windows key is untouched.
    assert spp(h, f"ApplicationID = '{WINDOWS_APP_ID}' AND PartialProductKey IS NOT NULL")


def test_uninstall_only_that_product(world: World) -> None:
    ws = world.hosts["ws01"]
    invoke_on(ws, "SoftwareLicensingProduct", "UninstallProductKey",
              f"ApplicationID = '{OFFICE15_APP_ID}' AND PartialProductKey IS NOT NULL")
    assert [r["PartialProductKey"] for r in spp(ws, "PartialProductKey IS NOT NULL")] == ["2YT43"]
    row = spp(ws, "ID = 'd450596f-894d-49e0-966a-fd39ed4c4c64'")[0]
    assert hresult_of(lambda: CimSurface(ws).invoke("SoftwareLicensingProduct", "UninstallProductKey", {}, row)) == "0xC004F014"
    assert hresult_of(lambda: CimSurface(ws).invoke("SoftwareLicensingProduct", "Activate", {}, row)) == "0xC004F014"


# -- activation: MAK, retail, CSVLK ---------------------------------------------------------

def _mak_hosts(n: int) -> list[dict[str, t.Any]]:
    return [{"name": f"m{i}", "address": f"127.0.11.{i + 1}", "os": "windows-10", "edition": "Enterprise"}
            for i in range(n)]


def test_mak_count_is_consumed_and_exhausted() -> None:
    w = make_world(_mak_hosts(3))
    results = []
    for i in range(3):
        h = w.hosts[f"m{i}"]
        install(h, K["win10_mak"])
        try:
            invoke_on(h, "SoftwareLicensingProduct", "Activate", "PartialProductKey IS NOT NULL")
            results.append("ok")
        except WmiError as e:
            results.append(e.hex)
    assert results == ["ok", "ok", "0xC004C020"]
    assert w.activation_service.remaining("win10-mak") == 0
    # Re-activating an already counted machine does not consume [LAB] and succeeds.
    invoke_on(w.hosts["m0"], "SoftwareLicensingProduct", "Activate", "PartialProductKey IS NOT NULL")
    row = spp(w.hosts["m0"], "PartialProductKey IS NOT NULL")[0]
    assert (row["LicenseStatus"], row["GracePeriodRemaining"]) == (1, 0)
    assert spp(w.hosts["m2"], "PartialProductKey IS NOT NULL")[0]["LicenseStatus"] == 2


def test_blocked_key() -> None:
    w = make_world(_mak_hosts(1))
    h = w.hosts["m0"]
    install(h, K["blocked_mak"])
    assert hresult_of(lambda: invoke_on(h, "SoftwareLicensingProduct", "Activate",
                                        "PartialProductKey IS NOT NULL")) == "0xC004C003"


def test_retail_activates_online(world: World) -> None:
    ws = world.hosts["ws01"]
    install(ws, K["win10_retail"])
    invoke_on(ws, "SoftwareLicensingProduct", "Activate", f"PartialProductKey = '{K['win10_retail'][-5:]}'")
    assert spp(ws, "ProductKeyChannel = 'Retail'")[0]["LicenseStatus"] == 1


def test_csvlk_seventh_host_exceeds_unlock_limit() -> None:
    hosts = [{"name": f"k{i}", "address": f"127.0.12.{i + 1}", "os": "windows-server-2022",
              "edition": "ServerDatacenter"} for i in range(7)]
    w = make_world(hosts)
    outcomes = []
    for i in range(7):
        h = w.hosts[f"k{i}"]
        install(h, K["ws22_csvlk"])
        try:
            invoke_on(h, "SoftwareLicensingProduct", "Activate", "ProductKeyChannel = 'Volume:CSVLK'")
            outcomes.append("ok")
        except WmiError as e:
            outcomes.append(e.hex)
    assert outcomes == ["ok"] * 6 + ["0xC004C008"]  # 6 hosts [WSD-PLAN], [SEED]


def test_csvlk_tenth_reactivation_on_one_host_exceeds() -> None:
    w = make_world(HOSTS[:1])
    h = w.hosts["kms01"]
    install(h, K["ws22_csvlk"])
    outcomes = []
    for _ in range(11):
        try:
            invoke_on(h, "SoftwareLicensingProduct", "Activate", "ProductKeyChannel = 'Volume:CSVLK'")
            outcomes.append("ok")
        except WmiError as e:
            outcomes.append(e.hex)
    assert outcomes == ["ok"] * 10 + ["0xC004C008"]


def test_phone_activation_round_trip(world: World) -> None:
    ws = world.hosts["ws01"]
    install(ws, K["win10_mak"])
    row = spp(ws, "ProductKeyChannel = 'Volume:MAK'")[0]
    iid = row["OfflineInstallationId"]
    assert len(iid) == 63 and iid.isdigit()
    cid = world.activation_service.phone(iid)
    assert len(cid) == 48 and cid.isdigit()
    # Same inputs, same IID (deterministic).
    assert spp(ws, "ProductKeyChannel = 'Volume:MAK'")[0]["OfflineInstallationId"] == iid
    CimSurface(ws).invoke("SoftwareLicensingProduct", "DepositOfflineConfirmationId",
              {"InstallationId": iid, "ConfirmationId": cid}, row)
    assert spp(ws, "ProductKeyChannel = 'Volume:MAK'")[0]["LicenseStatus"] == 1
    assert world.activation_service.remaining("win10-mak") == 1  # phone activation counts too


@pytest.mark.parametrize(("mutate", "hresult"), [
    (lambda iid, cid: (iid, cid[:-1]), "0xC004F02F"),  # 47 digits
    (lambda iid, cid: (iid, "1" * 48), "0xC004F04D"),  # never issued
    (lambda iid, cid: (iid[:-1] + ("1" if iid[-1] != "1" else "2"), cid), "0xC004F04D"),  # not this IID
])
def test_deposit_failures(world: World, mutate: t.Callable[[str, str], tuple[str, str]], hresult: str) -> None:
    ws = world.hosts["ws01"]
    install(ws, K["win10_mak"])
    row = spp(ws, "ProductKeyChannel = 'Volume:MAK'")[0]
    cid = world.activation_service.phone(row["OfflineInstallationId"])
    iid2, cid2 = mutate(row["OfflineInstallationId"], cid)
    assert hresult_of(lambda: CimSurface(ws).invoke("SoftwareLicensingProduct", "DepositOfflineConfirmationId",
                                        {"InstallationId": iid2, "ConfirmationId": cid2}, row)) == hresult
    assert spp(ws, "ProductKeyChannel = 'Volume:MAK'")[0]["LicenseStatus"] == 2


def test_cid_of_another_iid_is_a_mismatch() -> None:
    w = make_world(_mak_hosts(2))
    rows = []
    for i in range(2):
        install(w.hosts[f"m{i}"], K["win10_mak"])
        rows.append(spp(w.hosts[f"m{i}"], "ProductKeyChannel = 'Volume:MAK'")[0])
    cid_other = w.activation_service.phone(rows[1]["OfflineInstallationId"])
    w.activation_service.phone(rows[0]["OfflineInstallationId"])
    assert hresult_of(lambda: CimSurface(w.hosts["m0"]).invoke(
        "SoftwareLicensingProduct", "DepositOfflineConfirmationId",
        {"InstallationId": rows[0]["OfflineInstallationId"], "ConfirmationId": cid_other}, rows[0])) == "0xC004F031"


# -- grace over lab time ---------------------------------------------------------------------

@pytest.mark.parametrize(("days", "status", "reason", "grace"), [
    (0, 2, 0x4004F00C, 43200),
    (10, 2, 0x4004F00C, 43200 - 10 * 1440),
    (29.5, 2, 0x4004F00C, 720),
    (30, 5, 0xC004F009, 0),
    (90, 5, 0xC004F009, 0),
])
def test_initial_grace_then_notification(days: float, status: int, reason: int, grace: int) -> None:
    w = make_world([{"name": "lone", "address": "127.0.13.1", "os": "windows-11", "edition": "Enterprise"}])
    w.advance(dt.timedelta(days=days))
    row = spp(w.hosts["lone"], "PartialProductKey IS NOT NULL")[0]
    assert (row["LicenseStatus"], row["LicenseStatusReason"], row["GracePeriodRemaining"]) == (status, reason, grace)


def test_rearm_resets_grace_and_cmid() -> None:
    w = make_world([{"name": "lone", "address": "127.0.13.1", "os": "windows-11", "edition": "Enterprise"}])
    h = w.hosts["lone"]
    w.advance(dt.timedelta(days=40))
    cmid = CimSurface(h).cim_instances("SoftwareLicensingService")[0]["ClientMachineID"]
    CimSurface(h).invoke("SoftwareLicensingService", "ReArmWindows", {})
    svc = CimSurface(h).cim_instances("SoftwareLicensingService")[0]
    # the count drops at once; grace and CMID wait for the restart
    assert (svc["ClientMachineID"], svc["RemainingWindowsReArmCount"]) == (cmid, 1000)
    assert spp(h, "PartialProductKey IS NOT NULL")[0]["LicenseStatus"] == 5
    w.advance(dt.timedelta(minutes=1))
    h.request_restart(0)  # no control plane: boots at once
    svc = CimSurface(h).cim_instances("SoftwareLicensingService")[0]
    assert svc["ClientMachineID"] != cmid
    assert svc["RemainingWindowsReArmCount"] == 1000
    row = spp(h, "PartialProductKey IS NOT NULL")[0]
    assert (row["LicenseStatus"], row["GracePeriodRemaining"]) == (2, 43200)
    os_row = CimSurface(h).cim_instances("Win32_OperatingSystem")[0]
    assert os_row["LastBootUpTime"] == w.now()


def test_office_rearm_app_and_ospprearm_count_down_from_five() -> None:
    """Office's rearm resets its grace and CMID at once, five times [ODO-REARM]; the sixth fails
    0xC004D307. Windows 11 + Office 2016 (SPP: ReArmApp), Windows 7 + Office 2010 (OSPPREARM)."""
    w = make_world([
        {"name": "w11", "address": "127.0.13.3", "os": "windows-11", "edition": "Enterprise",
         "office": [{"version": "2016", "products": ["ProPlus"]}]},
        {"name": "w7", "address": "127.0.13.4", "os": "windows-7", "edition": "Enterprise",
         "office": [{"version": "2010", "products": ["ProPlus"]}]}])
    w11, w7 = w.hosts["w11"], w.hosts["w7"]
    office = "0ff1ce15-a989-479d-af46-f275c6370663"
    cmids, ospp_cmids = {w11.cmid}, {w7.ospp_cmid}
    for left in range(4, -1, -1):
        CimSurface(w11).invoke("SoftwareLicensingService", "ReArmApp", {"ApplicationId": office})
        assert w7.ospp_rearm() == 0
        cmids.add(w11.cmid)
        ospp_cmids.add(w7.ospp_cmid)
        row = CimSurface(w11).query("SoftwareLicensingProduct", "PartialProductKey IS NOT NULL AND "
                                    f"ApplicationID = '{office}'")[0]
        assert row["RemainingAppReArmCount"] == left
    assert len(cmids) == len(ospp_cmids) == 6
    assert hresult_of(lambda: CimSurface(w11).invoke("SoftwareLicensingService", "ReArmApp",
                                                     {"ApplicationId": office})) == "0xC004D307"
    assert w7.ospp_rearm() == 0xC004D307
    assert hresult_of(lambda: CimSurface(w7).invoke("SoftwareLicensingService", "ReArmApp",
                                                    {"ApplicationId": office})) == "0x80041030"  # Win8+ only


def test_rearm_exhausted() -> None:
    w = make_world([{"name": "w7only", "address": "127.0.13.2", "os": "windows-7", "edition": "Professional"}])
    h = w.hosts["w7only"]
    for _ in range(3):
        CimSurface(h).invoke("SoftwareLicensingService", "ReArmWindows", {})
    assert hresult_of(lambda: CimSurface(h).invoke("SoftwareLicensingService", "ReArmWindows", {})) == "0xC004D307"


def test_reset_restores_spec_state(world: World) -> None:
    before = world.snapshot()
    install(world.hosts["ws01"], K["win10_mak"])
    world.advance(dt.timedelta(days=3))
    assert world.snapshot() != before
    world.reset()
    assert world.snapshot() == before
