"""What the simulated Windows images carry: OS editions, licensing SKUs, public keys.

Sources (tags from docs/reference/licensing-api.md):

* Application IDs and Office KMS host activation IDs: §2 [SLMGR10], [OSPP15],
  [SUP discover article], [ODO-HOST].
* Windows and Office GVLKs: §3 [WSD-KEYS], [ODO-GVLK]; Office 2010/2013 [3P].
* Activation IDs of KMS client SKUs: [3P PYKMS] (``KmsDataBase.xml`` SkuItem ``Id``),
  corroboration only; the collection must not depend on them.
* Activation IDs of MAK, retail and Windows KMS host SKUs are NOT published in any
  source we hold: the lab derives stable synthetic GUIDs with ``uuid5`` and marks
  them [LAB-SYNTH]. A real host has different values.
* Office KMS host pack OS support: §5 [SEED] (2010), technet jj219430 (2013),
  [ODO-HOST] (2016..2024).
* Win32_OperatingSystem.OperatingSystemSKU values are the PRODUCT_* constants of
  GetProductInfo (winnt.h).
* SKU ``Name``/``Description`` strings: the patterns seen in real outputs
  (§1.2, §2: ``Windows(R), ServerStandard edition``, ``... VOLUME_KMSCLIENT channel``,
  ``Microsoft Office 2010, KMSHost edition``, ``Office 16, OfficeKMSHostVL_KMS_Host
  edition``); other SKUs follow the same pattern [LAB: pattern, not verified per SKU].
"""

from __future__ import annotations

import dataclasses
import typing as t
import uuid

WINDOWS_APP_ID = "55c92734-d682-4d71-983e-d6ec3f16059f"  # [SLMGR10] WindowsAppId
OFFICE14_APP_ID = "59a52881-a989-479d-af46-f275c6370663"  # Office 2010 [3P PYKMS, scripts]
OFFICE15_APP_ID = "0ff1ce15-a989-479d-af46-f275c6370663"  # Office 2013+ [OSPP15] OfficeAppId

_SYNTH_NS = uuid.UUID("6f1d2c1e-8a3b-4d5e-9f70-1a2b3c4d5e6f")


def synth_id(name: str) -> str:
    """A stable synthetic activation ID for a SKU whose real ID no source gives [LAB-SYNTH]."""
    return str(uuid.uuid5(_SYNTH_NS, name))


# --- Windows ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class EditionDef:
    """One edition of an OS: ``name`` is the SPP edition (LicenseFamily) string."""

    name: str
    caption: str  # suffix of Win32_OperatingSystem.Caption
    os_sku: int  # Win32_OperatingSystem.OperatingSystemSKU (PRODUCT_*)
    kms_client_id: str | None  # activation ID of the VOLUME_KMSCLIENT SKU [3P PYKMS]
    volume: bool = True  # a volume-licensing edition (carries KMS client/host SKUs)


@dataclasses.dataclass(frozen=True)
class OsDef:
    """A Windows release the lab can simulate."""

    id: str
    caption: str  # "Microsoft Windows Server 2022"
    version: str  # Win32_OperatingSystem.Version, e.g. "10.0.20348"
    server: bool
    rank: int  # order within servers (2008=1..2025=8) or clients (7=1..11=5)
    editions: dict[str, EditionDef]
    kms_tag: str  # suffix of the Windows KMS host channel, VOLUME_KMS_<tag> [LAB]
    csvlk_products: tuple[str, ...]  # CSVLK products (KeySpec.product) whose host SKU this OS carries
    rearm_count: int  # RemainingWindowsReArmCount on a fresh install [LAB: typical values]

    @property
    def build(self) -> str:
        """BuildNumber."""
        return self.version.rsplit(".", 1)[1]

    @property
    def nt(self) -> tuple[int, int]:
        """(major, minor) NT version."""
        major, minor, _ = self.version.split(".")
        return int(major), int(minor)

    @property
    def win8plus(self) -> bool:
        """Windows 8 / Server 2012 or later (SPP carries Office 2013+, Win8-only members exist)."""
        return self.nt >= (6, 2)

    @property
    def spp_version(self) -> str:
        """SoftwareLicensingService.Version, e.g. 10.0.20348.1 [LAB: build.1 pattern]."""
        return f"{self.version}.1"


def _srv(name: str, sku: int, kid: str | None) -> EditionDef:
    caption = {"ServerStandard": "Standard", "ServerDatacenter": "Datacenter",
               "ServerEnterprise": "Enterprise"}[name]
    return EditionDef(name, caption, sku, kid)


def _cli(name: str, sku: int, kid: str | None, volume: bool = True) -> EditionDef:
    caption = {"Enterprise": "Enterprise", "Professional": "Pro", "Education": "Education",
               "EnterpriseS": "Enterprise LTSC", "Core": "Home"}[name]
    return EditionDef(name, caption, sku, kid, volume)


# PRODUCT_STANDARD_SERVER=7, PRODUCT_DATACENTER_SERVER=8, PRODUCT_ENTERPRISE_SERVER=10,
# PRODUCT_ENTERPRISE=4, PRODUCT_PROFESSIONAL=48, PRODUCT_EDUCATION=121,
# PRODUCT_ENTERPRISE_S=125, PRODUCT_CORE=101 (winnt.h).
OSES: dict[str, OsDef] = {o.id: o for o in (
    OsDef("windows-server-2025", "Microsoft Windows Server 2025", "10.0.26100", True, 8, {
        "ServerStandard": _srv("ServerStandard", 7, "7dc26449-db21-4e09-ba37-28f2958506a6"),
        "ServerDatacenter": _srv("ServerDatacenter", 8, "c052f164-cdf6-409a-a0cb-853ba0f0f55a")},
        "WS25", ("windows-server-2025",), 1001),
    OsDef("windows-server-2022", "Microsoft Windows Server 2022", "10.0.20348", True, 7, {
        "ServerStandard": _srv("ServerStandard", 7, "9bd77860-9b31-4b7b-96ad-2564017315bf"),
        "ServerDatacenter": _srv("ServerDatacenter", 8, "ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03")},
        "WS22", ("windows-server-2022",), 1001),
    OsDef("windows-server-2019", "Microsoft Windows Server 2019", "10.0.17763", True, 6, {
        "ServerStandard": _srv("ServerStandard", 7, "de32eafd-aaee-4662-9444-c1befb41bde2"),
        "ServerDatacenter": _srv("ServerDatacenter", 8, "34e1ae55-27f8-4950-8877-7a03be5fb181")},
        "WS19", ("windows-server-2019",), 1001),
    OsDef("windows-server-2016", "Microsoft Windows Server 2016", "10.0.14393", True, 5, {
        "ServerStandard": _srv("ServerStandard", 7, "8c1c5410-9f39-4805-8c9d-63a07706358f"),
        "ServerDatacenter": _srv("ServerDatacenter", 8, "21c56779-b449-4d20-adfc-eece0e1ad74b")},
        "WS16", ("windows-server-2016",), 1001),
    OsDef("windows-server-2012-r2", "Microsoft Windows Server 2012 R2", "6.3.9600", True, 4, {
        "ServerStandard": _srv("ServerStandard", 7, "b3ca044e-a358-4d68-9883-aaa2941aca99"),
        "ServerDatacenter": _srv("ServerDatacenter", 8, "00091344-1ea4-4f37-b789-01750ba6988c")},
        "R2_C", ("windows-server-2012-r2",), 1001),
    OsDef("windows-server-2012", "Microsoft Windows Server 2012", "6.2.9200", True, 3, {
        "ServerStandard": _srv("ServerStandard", 7, "f0f5ec41-0d55-4732-af02-440a44a3cf0f"),
        "ServerDatacenter": _srv("ServerDatacenter", 8, "d3643d60-0c42-412d-a7d6-52e6635327f6")},
        "WS12", ("windows-server-2012",), 1001),
    OsDef("windows-server-2008-r2", "Microsoft Windows Server 2008 R2", "6.1.7601", True, 2, {
        "ServerStandard": _srv("ServerStandard", 7, "68531fb9-5511-4989-97be-d11a0f55633f"),
        "ServerEnterprise": _srv("ServerEnterprise", 10, "620e2b3d-09e7-42fd-802a-17a13652fe7a"),
        "ServerDatacenter": _srv("ServerDatacenter", 8, "7482e61b-c589-4b7f-8ecc-46d455ac3b87")},
        "B", ("windows-server-2008-r2",), 3),
    OsDef("windows-server-2008", "Microsoft Windows Server 2008", "6.0.6002", True, 1, {
        "ServerStandard": _srv("ServerStandard", 7, "ad2542d4-9154-4c6d-8a44-30f11ee96989"),
        "ServerEnterprise": _srv("ServerEnterprise", 10, "c1af4d90-d1bc-44ca-85d4-003ba33db3b9")},
        "B", ("windows-server-2008",), 3),
    OsDef("windows-11", "Microsoft Windows 11", "10.0.22631", False, 5, {
        "Enterprise": _cli("Enterprise", 4, "73111121-5638-40f6-bc11-f1d7b0d64300"),
        "Professional": _cli("Professional", 48, "2de67392-b7a7-462a-b1ca-108dd189f588"),
        "Education": _cli("Education", 121, "e0c42288-980c-4788-a014-c080d2e1926e"),
        "Core": _cli("Core", 101, None, volume=False)},
        "W10", ("windows-10", "windows-11"), 1001),
    OsDef("windows-10", "Microsoft Windows 10", "10.0.19045", False, 4, {
        "Enterprise": _cli("Enterprise", 4, "73111121-5638-40f6-bc11-f1d7b0d64300"),
        "Professional": _cli("Professional", 48, "2de67392-b7a7-462a-b1ca-108dd189f588"),
        "Education": _cli("Education", 121, "e0c42288-980c-4788-a014-c080d2e1926e"),
        "EnterpriseS": _cli("EnterpriseS", 125, "32d2fab3-e4a8-42c2-923b-4bf4fd13e6ee"),
        "Core": _cli("Core", 101, None, volume=False)},
        "W10", ("windows-10", "windows-11"), 1001),
    OsDef("windows-8.1", "Microsoft Windows 8.1", "6.3.9600", False, 3, {
        "Enterprise": _cli("Enterprise", 4, "81671aaf-79d1-4eb1-b004-8cbbe173afea"),
        "Professional": _cli("Professional", 48, "c06b6981-d7fd-4a35-b7b4-054742b7af67")},
        "W81", ("windows-8.1",), 1001),
    OsDef("windows-7", "Microsoft Windows 7", "6.1.7601", False, 1, {
        "Enterprise": _cli("Enterprise", 4, "ae2ee509-1b34-41c0-acb7-6d4650168915"),
        "Professional": _cli("Professional", 48, "b92e9980-b9d5-4821-9c94-140f632f6312")},
        "W7", ("windows-7",), 3),
)}

# Which OS a Windows CSVLK's KMS host can activate. Server CSVLKs activate servers up to
# their own release and the client releases of their era or older; a client CSVLK activates
# clients only ("Client-OS hosts activate clients only" [WSD-PLAN]). Client coverage of old
# hosts follows the host/client matrix of WSD-PLAN (a 2012 R2 host needs the special
# "for Windows 10" CSVLK, not simulated) [WSD-PLAN], [SUP error-0xc004f015].
CSVLK_COVERAGE: dict[str, tuple[int, int]] = {
    # product: (highest server rank, highest client rank)
    "windows-server-2025": (8, 5), "windows-server-2022": (7, 5), "windows-server-2019": (6, 5),
    "windows-server-2016": (5, 5), "windows-server-2012-r2": (4, 3), "windows-server-2012": (3, 2),
    "windows-server-2008-r2": (2, 1), "windows-server-2008": (1, 0),
    "windows-10": (0, 5), "windows-11": (0, 5), "windows-8.1": (0, 3), "windows-7": (0, 1),
}


@dataclasses.dataclass(frozen=True)
class WindowsGvlk:
    """A public Windows KMS client setup key: for which OS releases and edition."""

    key: str
    os_ids: tuple[str, ...]
    edition: str


_W1011 = ("windows-10", "windows-11")
# [WSD-KEYS] (learn.microsoft.com/windows-server/get-started/kms-client-activation-keys).
WINDOWS_GVLKS: dict[str, WindowsGvlk] = {g.key: g for g in (
    WindowsGvlk("TVRH6-WHNXV-R9WG3-9XRFY-MY832", ("windows-server-2025",), "ServerStandard"),
    WindowsGvlk("D764K-2NDRG-47T6Q-P8T8W-YP6DF", ("windows-server-2025",), "ServerDatacenter"),
    WindowsGvlk("VDYBN-27WPP-V4HQT-9VMD4-VMK7H", ("windows-server-2022",), "ServerStandard"),
    WindowsGvlk("WX4NM-KYWYW-QJJR4-XV3QB-6VM33", ("windows-server-2022",), "ServerDatacenter"),
    WindowsGvlk("N69G4-B89J2-4G8F4-WWYCC-J464C", ("windows-server-2019",), "ServerStandard"),
    WindowsGvlk("WMDGN-G9PQG-XVVXX-R3X43-63DFG", ("windows-server-2019",), "ServerDatacenter"),
    WindowsGvlk("WVDHN-86M7X-466P6-VHXV7-YY726", ("windows-server-2019",), "ServerSolution"),
    WindowsGvlk("WC2BQ-8NRM3-FDDYY-2BFGV-KHKQY", ("windows-server-2016",), "ServerStandard"),
    WindowsGvlk("CB7KF-BWN84-R7R2Y-793K2-8XDDG", ("windows-server-2016",), "ServerDatacenter"),
    WindowsGvlk("JCKRF-N37P4-C2D82-9YXRT-4M63B", ("windows-server-2016",), "ServerSolution"),
    WindowsGvlk("D2N9P-3P6X9-2R39C-7RTCD-MDVJX", ("windows-server-2012-r2",), "ServerStandard"),
    WindowsGvlk("W3GGN-FT8W3-Y4M27-J84CP-Q3VJ9", ("windows-server-2012-r2",), "ServerDatacenter"),
    WindowsGvlk("XC9B7-NBPP2-83J2H-RHMBY-92BT4", ("windows-server-2012",), "ServerStandard"),
    WindowsGvlk("48HP8-DN98B-MYWDG-T2DCC-8W83P", ("windows-server-2012",), "ServerDatacenter"),
    WindowsGvlk("YC6KT-GKW9T-YTKYR-T4X34-R7VHC", ("windows-server-2008-r2",), "ServerStandard"),
    WindowsGvlk("489J6-VHDMP-X63PK-3K798-CPX3Y", ("windows-server-2008-r2",), "ServerEnterprise"),
    WindowsGvlk("74YFP-3QFB3-KQT8W-PMXWJ-7M648", ("windows-server-2008-r2",), "ServerDatacenter"),
    WindowsGvlk("TM24T-X9RMF-VWXK6-X8JC9-BFGM2", ("windows-server-2008",), "ServerStandard"),
    WindowsGvlk("YQGMW-MPWTJ-34KDK-48M3W-X4Q6V", ("windows-server-2008",), "ServerEnterprise"),
    WindowsGvlk("7M67G-PC374-GR742-YH8V4-TCBY3", ("windows-server-2008",), "ServerDatacenter"),
    WindowsGvlk("W269N-WFGWX-YVC9B-4J6C9-T83GX", _W1011, "Professional"),
    WindowsGvlk("MH37W-N47XK-V7XM9-C7227-GCQG9", _W1011, "ProfessionalN"),
    WindowsGvlk("NRG8B-VKK3Q-CXVCJ-9G2XF-6Q84J", _W1011, "ProfessionalWorkstation"),
    WindowsGvlk("6TP4R-GNPTD-KYYHQ-7B7DP-J447Y", _W1011, "ProfessionalEducation"),
    WindowsGvlk("NW6C2-QMPVW-D7KKK-3GKT6-VCFB2", _W1011, "Education"),
    WindowsGvlk("2WH4N-8QGBV-H22JP-CT43Q-MDWWJ", _W1011, "EducationN"),
    WindowsGvlk("NPPR9-FWDCX-D2C8J-H872K-2YT43", _W1011, "Enterprise"),
    WindowsGvlk("DPH2V-TTNVB-4X9Q3-TJR4H-KHJW4", _W1011, "EnterpriseN"),
    WindowsGvlk("M7XTQ-FN8P6-TTKYV-9D4CC-J462D", _W1011, "EnterpriseS"),
    WindowsGvlk("92NFX-8DJQP-P6BBQ-THF9C-7CG2H", _W1011, "EnterpriseSN"),
    WindowsGvlk("GCRJD-8NW9H-F2CDX-CCM8D-9D6T9", ("windows-8.1",), "Professional"),
    WindowsGvlk("MHF9N-XY6XB-WVXMC-BTDCT-MKKG7", ("windows-8.1",), "Enterprise"),
    WindowsGvlk("FJ82H-XT6CR-J8D7P-XQJJ2-GPDD4", ("windows-7",), "Professional"),
    WindowsGvlk("33PXH-7Y6KF-2VJC9-XBBR8-HVTHH", ("windows-7",), "Enterprise"),
)}


# --- Office -----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class OfficeVersionDef:
    """An Office release: application ID, the label used in SKU names, its KMS host SKU."""

    version: str
    app_id: str
    label: str  # "Office 14", "Office 16" ... (Name/Description prefix)
    sku_prefix: str  # "Office", "Office16", "Office19" ... (edition-string prefix) [LAB pattern]
    host_id: str  # KMS host activation ID (§2)
    host_name: str
    host_description: str
    host_min_server: int  # lowest server rank the host pack installs on (0 = none)
    host_min_client: int  # lowest client rank (0 = none)
    host_servers: tuple[int, ...] = ()  # explicit list instead of a minimum (Office 2010)
    host_clients: tuple[int, ...] = ()


OFFICE_VERSIONS: dict[str, OfficeVersionDef] = {v.version: v for v in (
    # Office 2010 host pack: Server 2003 (not simulated), Windows 7 VL, Server 2008 R2 --
    # not Server 2008, not later releases [SEED].
    OfficeVersionDef("2010", OFFICE14_APP_ID, "Office 14", "Office",
                     "bfe7a195-4f8f-4f0b-a622-cf13c7d16864", "Microsoft Office 2010, KMSHost edition",
                     "Microsoft Office 2010 KMS, VOLUME_KMS channel", 0, 0, host_servers=(2,), host_clients=(1,)),
    # 2013: 2008 R2 / Win7 VL and later, not 2003 [technet jj219430]; ID [3P PYKMS].
    OfficeVersionDef("2013", OFFICE15_APP_ID, "Office 15", "Office",
                     "2e28138a-847f-42bc-9752-61b03fff33cd", "Office 15, OfficeKMSHostVL_KMS_Host edition",
                     "Office 15, VOLUME_KMS channel", 2, 1),
    # 2016: >= 2008 R2 / Win7 SP1; 2019: >= 2012 / 8.1; LTSC 2021: >= 2016 / Win10;
    # LTSC 2024: >= 2022 / Win10 [ODO-HOST]. IDs [ODO-HOST], 2024 corrected id [ODO-HOST bde96c36].
    OfficeVersionDef("2016", OFFICE15_APP_ID, "Office 16", "Office16",
                     "98ebfe73-2084-4c97-932c-c0cd1643bea7", "Office 16, OfficeKMSHostVL_KMS_Host edition",
                     "Office 16, VOLUME_KMS channel", 2, 1),
    OfficeVersionDef("2019", OFFICE15_APP_ID, "Office 19", "Office19",
                     "70512334-47b4-44db-a233-be5ea33b914c", "Office 19, Office19KMSHostVL_KMS_Host edition",
                     "Office 19, VOLUME_KMS channel", 3, 3),
    OfficeVersionDef("2021", OFFICE15_APP_ID, "Office 21", "Office21",
                     "47f3b983-7c53-4d45-abc6-bcd91e2dd90a", "Office 21, Office21KMSHostVL_KMS_Host edition",
                     "Office 21, VOLUME_KMS channel", 5, 4),
    OfficeVersionDef("2024", OFFICE15_APP_ID, "Office 24", "Office24",
                     "f3d89bbf-c0ec-47ce-a8fa-e5a5f97e447f", "Office 24, Office24KMSHostVL_KMS_Host edition",
                     "Office 24, VOLUME_KMS channel", 7, 4),
)}


def office_host_supported(version: str, os_def: OsDef) -> bool:
    """Whether the Office ``version`` KMS host license pack installs on ``os_def`` (§5)."""
    v = OFFICE_VERSIONS[version]
    if os_def.server:
        return os_def.rank in v.host_servers if v.host_servers else 0 < v.host_min_server <= os_def.rank
    return os_def.rank in v.host_clients if v.host_clients else 0 < v.host_min_client <= os_def.rank


def office_uses_ospp(version: str, os_def: OsDef) -> bool:
    """Office 2010 uses OSPP on every OS [3P]; 2013+ uses OSPP on Windows 7/2008 R2 and
    the Windows SPP on Windows 8/2012+ [OSPP15 isWin7OS/setWmiClasses]."""
    return version == "2010" or not os_def.win8plus


# Office KMS client SKU activation IDs [3P PYKMS]; GVLKs [ODO-GVLK] (2016..2024),
# [3P] (2010, 2013). Products not listed with an ID get a [LAB-SYNTH] ID.
_OFFICE_CLIENT: dict[tuple[str, str], tuple[str | None, str]] = {
    ("2010", "ProPlus"): ("6f327760-8c5c-417c-9b61-836a98287e0c", "VYBBJ-TRJPB-QFQRF-QFT4D-H3GVB"),
    ("2010", "Standard"): ("9da2a678-fb6b-4e67-ab84-60dd6a9c819a", "V7QKV-4XVVR-XYV4D-F7DFM-8R6BM"),
    ("2010", "ProjectPro"): ("df133ff7-bf14-4f95-afe3-7b48e7e331ef", "YGX6F-PGV49-PGW3J-9BTGG-VHKC6"),
    ("2010", "ProjectStd"): ("5dc7bf61-5ec9-4996-9ccb-df806a2d0efe", "4HP3K-88W3F-W2K3D-6677X-F9PGB"),
    ("2010", "VisioPrem"): ("92236105-bb67-494f-94c7-7f7a607929bd", "D9DWC-HPYVV-JGF4P-BTWQB-WX8BJ"),
    ("2010", "VisioPro"): ("e558389c-83c3-4b29-adfe-5e4d7f46c358", "7MCW8-VRQVK-G677T-PDJCM-Q8TCP"),
    ("2010", "VisioStd"): ("9ed833ff-4f92-4f36-b370-8683a4f13275", "767HD-QGMWX-8QTDB-9G3R2-KHFGJ"),
    ("2010", "Access"): (None, "V7Y44-9T38C-R2VJK-666HK-T7DDX"),
    ("2010", "Excel"): (None, "H62QG-HXVKF-PP4HP-66KMR-CW9BM"),
    ("2010", "SharePointWorkspace"): (None, "QYYW6-QP4CB-MBV6G-HYMCJ-4T3J4"),
    ("2010", "InfoPath"): (None, "K96W8-67RPQ-62T9Y-J8FQJ-BT37T"),
    ("2010", "OneNote"): (None, "Q4Y4M-RHWJM-PY37F-MTKWH-D3XHX"),
    ("2010", "Outlook"): (None, "7YDC2-CWM8M-RRTJC-8MDVC-X3DWQ"),
    ("2010", "PowerPoint"): (None, "RC8FX-88JRY-3PF7C-X8P67-P4VTT"),
    ("2010", "Publisher"): (None, "BFK7F-9MYHM-V68C7-DRQ66-83YTP"),
    ("2010", "Word"): (None, "HVHB3-C6FV7-KQX9W-YQG79-CRY7T"),
    ("2013", "ProPlus"): ("b322da9c-a2e2-4058-9e4e-f59a6970bd69", "YC7DK-G2NP3-2QQC3-J6H88-GVGXT"),
    ("2013", "Standard"): ("b13afb38-cd79-4ae5-9f7f-eed058d750ca", "KBKQT-2NMXY-JJWGP-M62JB-92CD4"),
    ("2013", "ProjectPro"): ("4a5d124a-e620-44ba-b6ff-658961b33b9a", "FN8TT-7WMH6-2D4X9-M337T-2342K"),
    ("2013", "ProjectStd"): ("427a28d1-d17c-4abf-b717-32c780ba6f07", "6NTH3-CW976-3G3Y2-JK3TX-8QHTT"),
    ("2013", "VisioPro"): ("e13ac10e-75d0-4aff-a0cd-764982cf541c", "C2FG9-N6J68-H8BTJ-BW3QX-RM3B3"),
    ("2013", "VisioStd"): ("ac4efaf0-f81f-4f61-bdf7-ea32b02ab117", "J484Y-4NKBF-W2HMG-DBMJC-PGWR7"),
    ("2013", "Access"): (None, "NG2JY-H4JBT-HQXYP-78QH9-4JM2D"),
    ("2013", "Excel"): (None, "VGPNG-Y7HQW-9RHP7-TKPV3-BG7GB"),
    ("2013", "InfoPath"): (None, "DKT8B-N7VXH-D963P-Q4PHY-F8894"),
    ("2013", "Lync"): (None, "2MG3G-3BNTT-3MFW9-KDQW3-TCK7R"),
    ("2013", "OneNote"): (None, "TGN6P-8MMBC-37P2F-XHXXK-P34VW"),
    ("2013", "Outlook"): (None, "QPN8Q-BJBTJ-334K3-93TGY-2PMBT"),
    ("2013", "PowerPoint"): (None, "4NT99-8RJFH-Q2VDH-KYG2C-4RD4F"),
    ("2013", "Publisher"): (None, "PN2WF-29XG2-T9HJ7-JQPJR-FCXK4"),
    ("2013", "Word"): (None, "6Q7VD-NX8JD-WJ2VH-88V73-4GBJ7"),
    ("2016", "ProPlus"): ("d450596f-894d-49e0-966a-fd39ed4c4c64", "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99"),
    ("2016", "Standard"): ("dedfa23d-6ed1-45a6-85dc-63cae0546de6", "JNRGM-WHDWX-FJJG3-K47QV-DRTFM"),
    ("2016", "ProjectPro"): ("4f414197-0fc2-4c01-b68a-86cbb9ac254c", "YG9NW-3K39V-2T3HJ-93F3Q-G83KT"),
    ("2016", "ProjectStd"): ("da7ddabc-3fbe-4447-9e01-6ab7440b4cd4", "GNFHQ-F6YQM-KQDGJ-327XX-KQBVC"),
    ("2016", "VisioPro"): ("6bf301c1-b94a-43e9-ba31-d494598c47fb", "PD3PC-RHNGV-FXJ29-8JK7D-RJRJK"),
    ("2016", "VisioStd"): ("aa2a7821-1827-4c2c-8f1d-4513a34dda97", "7WHWN-4T7MP-G96JF-G33KR-W8GF4"),
    ("2016", "Access"): (None, "GNH9Y-D2J4T-FJHGG-QRVH7-QPFDW"),
    ("2016", "Excel"): (None, "9C2PK-NWTVB-JMPW8-BFT28-7FTBF"),
    ("2016", "Outlook"): (None, "R69KK-NTPKF-7M3Q4-QYBHW-6MT9B"),
    ("2016", "PowerPoint"): (None, "J7MQP-HNJ4Y-WJ7YM-PFYGF-BY6C6"),
    ("2016", "Publisher"): (None, "F47MM-N3XJP-TQXJ9-BP99D-8K837"),
    ("2016", "SkypeForBusiness"): (None, "869NQ-FJ69K-466HW-QYCP2-DDBV6"),
    ("2016", "Word"): (None, "WXY84-JN2Q9-RBCCQ-3Q3J3-3PFJ6"),
    ("2016", "OneNote"): (None, "DR92N-9HTF2-97XKM-XW2WJ-XW3J6"),
    ("2019", "ProPlus"): ("85dd8b5f-eaa4-4af3-a628-cce9e77c9a03", "NMMKJ-6RK4F-KMJVX-8D9MJ-6MWKP"),
    ("2019", "Standard"): ("6912a74b-a5fb-401a-bfdb-2e3ab46f4b02", "6NWWJ-YQWMR-QKGCB-6TMB3-9D9HK"),
    ("2019", "ProjectPro"): ("2ca2bf3f-949e-446a-82c7-e25a15ec78c4", "B4NPR-3FKK7-T2MBV-FRQ4W-PKD2B"),
    ("2019", "ProjectStd"): ("1777f0e3-7392-4198-97ea-8ae4de6f6381", "C4F7P-NCP8C-6CQPT-MQHV9-JXD2M"),
    ("2019", "VisioPro"): ("5b5cf08f-b81a-431d-b080-3450d8620565", "9BGNQ-K37YR-RQHF2-38RQ3-7VCBB"),
    ("2019", "VisioStd"): ("e06d7df3-aad0-419d-8dfb-0ac37e2bdf39", "7TQNQ-K3YQQ-3PFH7-CCPPM-X4VQ2"),
    ("2019", "Access"): (None, "9N9PT-27V4Y-VJ2PD-YXFMF-YTFQT"),
    ("2019", "Excel"): (None, "TMJWT-YYNMB-3BKTF-644FC-RVXBD"),
    ("2019", "Outlook"): (None, "7HD7K-N4PVK-BHBCQ-YWQRW-XW4VK"),
    ("2019", "PowerPoint"): (None, "RRNCX-C64HY-W2MM7-MCH9G-TJHMQ"),
    ("2019", "Publisher"): (None, "G2KWX-3NW6P-PY93R-JXK2T-C9Y9V"),
    ("2019", "SkypeForBusiness"): (None, "NCJ33-JHBBY-HTK98-MYCV8-HMKHJ"),
    ("2019", "Word"): (None, "PBX3G-NWMT6-Q7XBW-PYJGG-WXD33"),
    ("2021", "ProPlus"): ("fbdb3e18-a8ef-4fb3-9183-dffd60bd0984", "FXYTK-NJJ8C-GB6DW-3DYQT-6F7TH"),
    ("2021", "Standard"): ("080a45c5-9f9f-49eb-b4b0-c3c610a5ebd3", "KDX7X-BNVR8-TXXGX-4Q7Y8-78VT3"),
    ("2021", "ProjectPro"): ("76881159-155c-43e0-9db7-2d70a9a3a4ca", "FTNWT-C6WBT-8HMGF-K9PRX-QV9H8"),
    ("2021", "ProjectStd"): ("6dd72704-f752-4b71-94c7-11cec6bfc355", "J2JDC-NJCYY-9RGQ4-YXWMH-T3D4T"),
    ("2021", "VisioPro"): ("fb61ac9a-1688-45d2-8f6b-0674dbffa33c", "KNH8D-FGHT4-T8RK3-CTDYJ-K2HT4"),
    ("2021", "VisioStd"): ("72fce797-1884-48dd-a860-b2f6a5efd3ca", "MJVNY-BYWPY-CWV6J-2RKRT-4M8QG"),
    ("2021", "Access"): (None, "WM8YG-YNGDD-4JHDC-PG3F4-FC4T4"),
    ("2021", "Excel"): (None, "NWG3X-87C9K-TC7YY-BC2G7-G6RVC"),
    ("2021", "Outlook"): (None, "C9FM6-3N72F-HFJXB-TM3V9-T86R9"),
    ("2021", "PowerPoint"): (None, "TY7XF-NFRBR-KJ44C-G83KF-GX27K"),
    ("2021", "Publisher"): (None, "2MW9D-N4BXM-9VBPG-Q7W6M-KFBGQ"),
    ("2021", "SkypeForBusiness"): (None, "HWCXN-K3WBT-WJBKY-R8BD9-XK29P"),
    ("2021", "Word"): (None, "TN8H9-M34D3-Y64V9-TR72V-X79KV"),
    ("2024", "ProPlus"): ("8d368fc1-9470-4be2-8d66-90e836cbb051", "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB"),
    ("2024", "Standard"): ("bbac904f-6a7e-418a-bb4b-24c85da06187", "V28N4-JG22K-W66P8-VTMGK-H6HGR"),
    ("2024", "ProjectPro"): ("f510af75-8ab7-4426-a236-1bfb95c34ff8", "FQQ23-N4YCY-73HQ3-FM9WC-76HF4"),
    ("2024", "ProjectStd"): ("9f144f27-2ac5-40b9-899d-898c2b8b4f81", "PD3TT-NTHQQ-VC7CY-MFXK3-G87F8"),
    ("2024", "VisioPro"): ("fa187091-8246-47b1-964f-80a0b1e5d69a", "B7TN8-FJ8V3-7QYCP-HQPMV-YY89G"),
    ("2024", "VisioStd"): ("923fa470-aa71-4b8b-b35c-36b79bf9f44b", "JMMVY-XFNQC-KK4HK-9H7R3-WQQTV"),
    ("2024", "Access"): ("72e9faa7-ead1-4f3d-9f6e-3abc090a81d7", "82FTR-NCHR7-W3944-MGRHM-JMCWD"),
    ("2024", "Excel"): ("cbbba2c3-0ff5-4558-846a-043ef9d78559", "F4DYN-89BP2-WQTWJ-GR8YC-CKGJG"),
    ("2024", "Outlook"): (None, "D2F8D-N3Q3B-J28PV-X27HD-RJWB9"),
    ("2024", "PowerPoint"): (None, "CW94N-K6GJH-9CTXY-MG2VC-FYCWP"),
    ("2024", "SkypeForBusiness"): (None, "4NKHF-9HBQF-Q3B6C-7YV34-F64P3"),
    ("2024", "Word"): (None, "MQ84N-7VYDM-FXV7C-6K7CC-VFW9J"),
}


def office_products(version: str) -> list[str]:
    """Short product names the lab knows for an Office version."""
    return [p for (v, p) in _OFFICE_CLIENT if v == version]


def office_client_id(version: str, product: str) -> str:
    """Activation ID of the KMS client SKU of an Office product."""
    real, _ = _OFFICE_CLIENT[(version, product)]
    return real or synth_id(f"office-{version}/{product}/KMSCLIENT")


OFFICE_GVLKS: dict[str, tuple[str, str]] = {gvlk: vp for vp, (_, gvlk) in _OFFICE_CLIENT.items()}
"""GVLK -> (version, product)."""


@dataclasses.dataclass(frozen=True)
class SkuDef:
    """One licensing SKU (a SoftwareLicensingProduct / OfficeSoftwareProtectionProduct row).

    ``channel`` is the lab's kind: ``GVLK`` (VOLUME_KMSCLIENT), ``MAK``, ``RETAIL`` or
    ``CSVLK`` (VOLUME_KMS host). ``family`` names the application family whose primary
    key this SKU holds: ``windows`` or ``office-<version>/<product>``; installing a key
    replaces the key of every SKU of the same family (one Windows key at a time [SLMGR10],
    including the Windows CSVLK, which then licenses the host OS itself; Office: one key per
    product). Office KMS host SKUs are their own family (``office-<version>-kms-host``).
    """

    id: str
    app_id: str
    name: str
    description: str
    license_family: str
    channel: str
    family: str
    product: str  # "windows" or "office-<version>/<product>" or "office-<version>" (host)
    edition: str = ""
    office_version: str = ""
    ospp: bool = False

    @property
    def product_key_channel(self) -> str:
        """ProductKeyChannel for an installed key (Win8+) [3P real outputs; MAK/Retail UNCONFIRMED]."""
        return {"GVLK": "Volume:GVLK", "CSVLK": "Volume:CSVLK", "MAK": "Volume:MAK",
                "RETAIL": "Retail"}[self.channel]


_CHANNEL_DESC = {"GVLK": "VOLUME_KMSCLIENT", "MAK": "VOLUME_MAK", "RETAIL": "RETAIL"}


def windows_skus(os_def: OsDef, edition: EditionDef) -> list[SkuDef]:
    """The Windows SKUs an installed OS edition carries (a realistic handful, not all)."""
    if os_def.id == "windows-7":
        name = f"Windows(R) 7, {edition.name} edition"
        desc_base = "Windows Operating System - Windows(R) 7"
    elif os_def.server and not os_def.win8plus:
        name = f"Windows Server(R), {edition.name} edition"
        desc_base = "Windows Operating System - Windows Server(R)"
    else:
        name = f"Windows(R), {edition.name} edition"
        desc_base = "Windows(R) Operating System"
    out: list[SkuDef] = []
    channels = ["GVLK", "MAK", "RETAIL"] if edition.volume else ["RETAIL"]
    for ch in channels:
        if ch == "GVLK" and edition.kms_client_id:
            sku_id = edition.kms_client_id
        else:
            sku_id = synth_id(f"{os_def.id}/{edition.name}/{ch}")
        out.append(SkuDef(sku_id, WINDOWS_APP_ID, name, f"{desc_base}, {_CHANNEL_DESC[ch]} channel",
                          edition.name, ch, "windows", "windows", edition=edition.name))
    if edition.volume:
        out.append(SkuDef(synth_id(f"{os_def.id}/{edition.name}/CSVLK"), WINDOWS_APP_ID, name,
                          f"{desc_base}, VOLUME_KMS_{os_def.kms_tag} channel", edition.name, "CSVLK",
                          "windows", "windows", edition=edition.name))
    return out


def office_skus(version: str, product: str, ospp: bool) -> list[SkuDef]:
    """KMS client, MAK and retail SKUs of one installed Office product."""
    v = OFFICE_VERSIONS[version]
    out = []
    for ch in ("GVLK", "MAK", "RETAIL"):
        suffix = {"GVLK": "VL_KMS_Client", "MAK": "VL_MAK", "RETAIL": "R_Retail"}[ch]
        if version == "2010":
            edition = {"GVLK": f"Office{product}-KMS_Client", "MAK": f"Office{product}-MAK",
                       "RETAIL": f"Office{product}-Retail"}[ch]
        else:
            edition = f"{v.sku_prefix}{product}{suffix}"
        sku_id = office_client_id(version, product) if ch == "GVLK" else synth_id(f"office-{version}/{product}/{ch}")
        out.append(SkuDef(sku_id, v.app_id, f"{v.label}, {edition} edition",
                          f"{v.label}, {_CHANNEL_DESC[ch]} channel", edition, ch,
                          f"office-{version}/{product}", f"office-{version}/{product}",
                          office_version=version, ospp=ospp))
    return out


def office_host_sku(version: str) -> SkuDef:
    """The Office ``version`` KMS host SKU (lives in the Windows SPP on the host) (§2)."""
    v = OFFICE_VERSIONS[version]
    return SkuDef(v.host_id, v.app_id, v.host_name, v.host_description,
                  v.host_name.split(", ")[1].removesuffix(" edition"), "CSVLK",
                  f"office-{version}-kms-host", f"office-{version}", office_version=version)


def parse_key_product(product: str) -> tuple[str, str]:
    """Split a KeySpec.product (``windows-10/Enterprise``, ``office-2016/ProPlus``,
    ``windows-server-2022``, ``office-2010``) into (release, edition-or-product)."""
    release, _, sub = product.partition("/")
    return release.lower(), sub


def office_version_of(release: str) -> str | None:
    """``office-2016`` -> ``2016``; None for a Windows release."""
    return release.removeprefix("office-") if release.startswith("office-") else None


def release_matches(key_release: str, os_id: str) -> bool:
    """Whether a Windows key release (``windows-10``) fits an OS (Windows 10 and 11 share
    their volume keys [WSD-KEYS lists them as "Windows 11/10"])."""
    if key_release == os_id:
        return True
    return {key_release, os_id} <= {"windows-10", "windows-11"}


def all_os_ids() -> t.Iterable[str]:
    """Simulated OS ids."""
    return OSES.keys()
