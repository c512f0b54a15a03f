"""A simulated Windows host: its licensing subsystem as CIM sees it, registry, firewall, services.

What a caller gets is what ``Get-CimInstance`` / ``Invoke-CimMethod`` give on Windows:
documented class, property, method and parameter names (MS-SLP, MS-SLS, MOF7601,
SLMGR10, OSPP15), uint32 values as ints, NULL as None, datetimes as aware
datetimes, and failures as ``WmiError`` carrying the HRESULT Windows reports:

* unknown namespace 0x8004100E, class 0x80041010, method 0x80041030, unknown or
  missing parameter 0x80041008, wrongly typed argument 0x80041005, bad WQL or unknown
  property 0x80041017;
* a method that exists on Windows but that the lab does not simulate fails with
  0x8004100C (WBEM_E_NOT_SUPPORTED) and says so, never a silent success;
* licensing failures carry the SL_E_* HRESULT (see ``errors``).

Key choices where Windows' behaviour is not documented, marked [LAB] in the code:

* a Windows KMS host key (CSVLK) that is not for this OS release/edition class (e.g. a
  Server CSVLK on a client edition) fails 0xC004F050 (SL_E_INVALID_PRODUCT_KEY:
  "wrong edition" is a documented cause [WSD-ERR]);
* an Office CSVLK on an OS where that Office KMS host license pack does not install
  (Office 2010 on Server 2008 or Windows 8+, [SEED]; §5 for 2013..2024) fails
  0xC004F069 (SL_E_MISMATCHED_PRODUCT_SKU: "key for a SKU whose license isn't
  installed" (§4)); so does an Office key whose Office is absent;
* a KMS host answers as soon as its CSVLK is installed (IsKeyManagementServiceMachine=1,
  the listener starts); until the host is activated its answer is 0xC004F041
  (SL_E_VL_KEY_MANAGEMENT_SERVICE_NOT_ACTIVATED, §4);
* host-only service setters (intervals, listening port, DNS publishing, priority) on
  a machine that is not a KMS host fail 0xC004F039 (SL_E_VL_BINDING_SERVICE_NOT_ENABLED);
  slmgr.vbs itself refuses them there [SLMGR10 SetActivationInterval...];
* host-side settings are stored at once (registry and the CIM property) but the KMS
  listener applies them at the next sppsvc start ("Warning: a KMS reboot is needed for
  this setting to take effect." [SLMGR10]); client-side settings (KMS machine, port,
  lookup domain) are read at each activation attempt;
* Windows' rearm needs a reboot; the lab applies it at once.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from winlab.models import catalog, dnsserver, errors
from winlab.models.catalog import OFFICE_VERSIONS, OSES, SkuDef
from winlab.models.errors import WmiError
from winlab.models.firewall import Firewall
from winlab.models.kms import (
    OFFICE_CAP,
    OFFICE_THRESHOLD,
    UNCONTACTED,
    WINDOWS_CAP,
    WINDOWS_CLIENT_THRESHOLD,
    WINDOWS_SERVER_THRESHOLD,
    KmsHostState,
)
from winlab.models.licensing import (
    DEFAULT_ACTIVATION_INTERVAL,
    DEFAULT_RENEWAL_INTERVAL,
    KMS_VALIDITY,
    NONE_DATE,
    Product,
)
from winlab.models.registry import OSPP_KEY, SPP_KEY, Registry
from winlab.models.services import Service, builtin_services
from winlab.models.transport import KmsConnectError, KmsRequest, KmsResponse, SrvRecord
from winlab.models.wql import compile_condition
from winlab.servers import dns_client
from winlab.spec import KEY_RE, HostSpec, KeySpec

if t.TYPE_CHECKING:
    from winlab.models.world import World

CIMV2 = "root/cimv2"
MSDNS = "root/microsoftdns"

SPP_SERVICE = "SoftwareLicensingService"
SPP_PRODUCT = "SoftwareLicensingProduct"
OSPP_SERVICE = "OfficeSoftwareProtectionService"
OSPP_PRODUCT = "OfficeSoftwareProtectionProduct"
WIN32_OS = "Win32_OperatingSystem"

# -- schemas ------------------------------------------------------------------------------
# Product properties present on Windows 7 (MOF7601) and the members added in Windows 8+
# ([MS-SLP], [SLMGR10]). OSPP products carry the Windows 7 set [OSPP15].
PRODUCT_PROPS_7 = (
    "ApplicationID", "Description", "DiscoveredKeyManagementServiceMachineName",
    "DiscoveredKeyManagementServiceMachinePort", "EvaluationEndDate", "ExtendedGrace", "GenuineStatus",
    "GracePeriodRemaining", "ID", "IsKeyManagementServiceMachine", "KeyManagementServiceCurrentCount",
    "KeyManagementServiceFailedRequests", "KeyManagementServiceLicensedRequests", "KeyManagementServiceMachine",
    "KeyManagementServiceNonGenuineGraceRequests", "KeyManagementServiceNotificationRequests",
    "KeyManagementServiceOOBGraceRequests", "KeyManagementServiceOOTGraceRequests", "KeyManagementServicePort",
    "KeyManagementServiceProductKeyID", "KeyManagementServiceTotalRequests",
    "KeyManagementServiceUnlicensedRequests", "LicenseDependsOn", "LicenseFamily", "LicenseIsAddon",
    "LicenseStatus", "LicenseStatusReason", "MachineURL", "Name", "OfflineInstallationId", "PartialProductKey",
    "ProcessorURL", "ProductKeyID", "ProductKeyURL", "RequiredClientCount", "TokenActivationAdditionalInfo",
    "TokenActivationCertificateThumbprint", "TokenActivationGrantNumber", "TokenActivationILID",
    "TokenActivationILVID", "TrustedTime", "UseLicenseURL", "ValidationURL", "VLActivationInterval",
    "VLRenewalInterval",
)
PRODUCT_PROPS_8 = (
    "ADActivationCsvlkPid", "ADActivationCsvlkSkuId", "ADActivationObjectDN", "ADActivationObjectName",
    "AutomaticVMActivationHostDigitalPid2", "AutomaticVMActivationHostMachineName",
    "AutomaticVMActivationLastActivationTime", "DiscoveredKeyManagementServiceMachineIpAddress", "IAID",
    "KeyManagementServiceLookupDomain", "ProductKeyChannel", "ProductKeyID2", "RemainingAppReArmCount",
    "RemainingSkuReArmCount", "VLActivationType", "VLActivationTypeEnabled",
)
SERVICE_PROPS_7 = (
    "ClientMachineID", "DiscoveredKeyManagementServiceMachineName", "DiscoveredKeyManagementServiceMachinePort",
    "IsKeyManagementServiceMachine", "KeyManagementServiceCurrentCount", "KeyManagementServiceDnsPublishing",
    "KeyManagementServiceFailedRequests", "KeyManagementServiceHostCaching", "KeyManagementServiceLicensedRequests",
    "KeyManagementServiceListeningPort", "KeyManagementServiceLowPriority", "KeyManagementServiceMachine",
    "KeyManagementServiceNonGenuineGraceRequests", "KeyManagementServiceNotificationRequests",
    "KeyManagementServiceOOBGraceRequests", "KeyManagementServiceOOTGraceRequests", "KeyManagementServicePort",
    "KeyManagementServiceProductKeyID", "KeyManagementServiceTotalRequests",
    "KeyManagementServiceUnlicensedRequests", "PolicyCacheRefreshRequired", "RemainingWindowsReArmCount",
    "RequiredClientCount", "TokenActivationAdditionalInfo", "TokenActivationCertificateThumbprint",
    "TokenActivationGrantNumber", "TokenActivationILID", "TokenActivationILVID", "Version",
    "VLActivationInterval", "VLRenewalInterval",
)
SERVICE_PROPS_8 = (
    "DiscoveredKeyManagementServiceMachineIpAddress", "KeyManagementServiceActivationDisabled",
    "KeyManagementServiceLookupDomain", "OA3xOriginalProductKey", "OA3xOriginalProductKeyDescription",
    "OA3xOriginalProductKeyPkPn", "VLActivationTypeEnabled",
)
# OSPP service members seen in OSPP15 plus the KMS-client members its /dstatus reads [OSPP15].
OSPP_SERVICE_PROPS = (
    "ClientMachineID", "DiscoveredKeyManagementServiceMachineName", "DiscoveredKeyManagementServiceMachinePort",
    "IsKeyManagementServiceMachine", "KeyManagementServiceCurrentCount", "KeyManagementServiceHostCaching",
    "KeyManagementServiceMachine", "KeyManagementServicePort", "KeyManagementServiceProductKeyID",
    "PolicyCacheRefreshRequired", "RequiredClientCount", "Version", "VLActivationInterval", "VLRenewalInterval",
)
OS_PROPS = (
    "BuildNumber", "Caption", "CountryCode", "CSName", "InstallDate", "LastBootUpTime", "LocalDateTime", "Locale",
    "Manufacturer", "MUILanguages", "Name", "OperatingSystemSKU", "OSArchitecture", "OSLanguage", "OSType",
    "ProductType", "SystemDirectory", "Version", "WindowsDirectory",
)

Param = tuple[str, str]  # (name, CIM type)
_SPP_SERVICE_METHODS_7: dict[str, list[Param]] = {
    "InstallProductKey": [("ProductKey", "string")],
    "InstallLicense": [("License", "string")],
    "InstallLicensePackage": [("LicensePackage", "string")],
    "SetKeyManagementServiceMachine": [("MachineName", "string")],
    "ClearKeyManagementServiceMachine": [],
    "SetKeyManagementServicePort": [("PortNumber", "uint32")],
    "ClearKeyManagementServicePort": [],
    "SetVLActivationInterval": [("ActivationInterval", "uint32")],
    "SetVLRenewalInterval": [("RenewalInterval", "uint32")],
    "SetKeyManagementServiceListeningPort": [("PortNumber", "uint32")],
    "ClearKeyManagementServiceListeningPort": [],
    "DisableKeyManagementServiceDnsPublishing": [("DisablePublishing", "boolean")],
    "EnableKeyManagementServiceLowPriority": [("EnableLowPriority", "boolean")],
    "DisableKeyManagementServiceHostCaching": [("DisableCaching", "boolean")],
    "DisableKeyManagementServiceActivation": [("DisableActivation", "boolean")],
    "ClearProductKeyFromRegistry": [],
    "AcquireGenuineTicket": [("ServerUrl", "string"), ("TemplateId", "string")],
    "ReArmWindows": [],
    "RefreshLicenseStatus": [],
}
# Win8+ [SLMGR10]; parameter names of these are UNCONFIRMED in §1.3 (MS doc names used).
_SPP_SERVICE_METHODS_8: dict[str, list[Param]] = {
    "ReArmApp": [("ApplicationId", "string")],
    "SetKeyManagementServiceLookupDomain": [("LookupDomain", "string")],
    "ClearKeyManagementServiceLookupDomain": [],
    "SetVLActivationTypeEnabled": [("ActivationType", "uint32")],
    "ClearVLActivationTypeEnabled": [],
    "DoActiveDirectoryOnlineActivation": [("ProductKey", "string"), ("ActivationObjectName", "string")],
    "GenerateActiveDirectoryOfflineActivationId": [("ProductKey", "string")],
    "DepositActiveDirectoryOfflineActivationConfirmation": [
        ("ProductKey", "string"), ("ConfirmationId", "string"), ("ActivationObjectName", "string")],
}
_PRODUCT_METHODS_7: dict[str, list[Param]] = {
    "Activate": [],
    "UninstallProductKey": [],
    "DepositOfflineConfirmationId": [("InstallationId", "string"), ("ConfirmationId", "string")],
    "SetKeyManagementServiceMachine": [("MachineName", "string")],
    "ClearKeyManagementServiceMachine": [],
    "SetKeyManagementServicePort": [("PortNumber", "uint32")],
    "ClearKeyManagementServicePort": [],
    "GetPolicyInformationDWord": [("PolicyName", "string")],
    "GetPolicyInformationString": [("PolicyName", "string")],
    "GetTokenActivationGrants": [],
    "GenerateTokenActivationChallenge": [],
    "DepositTokenActivationResponse": [("Challenge", "string"), ("Response", "string"),
                                       ("CertificateChain", "string")],
}
_PRODUCT_METHODS_8: dict[str, list[Param]] = {
    "ReArmSku": [],
    "SetVLActivationTypeEnabled": [("ActivationType", "uint32")],
    "ClearVLActivationTypeEnabled": [],
    "SetKeyManagementServiceLookupDomain": [("LookupDomain", "string")],
    "ClearKeyManagementServiceLookupDomain": [],
}
# OSPP15 uses only these on the OSPP service [OSPP15] (§1.3); the lab knows no others.
_OSPP_SERVICE_METHODS: dict[str, list[Param]] = {
    "InstallProductKey": [("ProductKey", "string")],
    "InstallLicense": [("License", "string")],
    "DisableKeyManagementServiceHostCaching": [("DisableCaching", "boolean")],
    "DisableKeyManagementServiceActivation": [("DisableActivation", "boolean")],
}
_OSPP_PRODUCT_METHODS: dict[str, list[Param]] = {
    k: v for k, v in _PRODUCT_METHODS_7.items() if not k.startswith("GetPolicy")}

NOT_SIMULATED = {
    "InstallLicense", "InstallLicensePackage", "DisableKeyManagementServiceActivation", "AcquireGenuineTicket",
    "ReArmApp", "DoActiveDirectoryOnlineActivation", "GenerateActiveDirectoryOfflineActivationId",
    "DepositActiveDirectoryOfflineActivationConfirmation", "GetPolicyInformationDWord",
    "GetPolicyInformationString", "GetTokenActivationGrants", "GenerateTokenActivationChallenge",
    "DepositTokenActivationResponse", "ReArmSku",
}
HOST_ONLY_SETTERS = {
    "SetVLActivationInterval", "SetVLRenewalInterval", "SetKeyManagementServiceListeningPort",
    "ClearKeyManagementServiceListeningPort", "DisableKeyManagementServiceDnsPublishing",
    "EnableKeyManagementServiceLowPriority",
}
WBEM_E_NOT_SUPPORTED = 0x8004100C
errors.MESSAGES.setdefault(WBEM_E_NOT_SUPPORTED, "Not supported ")

EVENT_LOG_SIZE = 2000
# A KMS host refreshes its SRV record by dynamic update every 24 hours [WSD-DNS].
SRV_REFRESH = dt.timedelta(hours=24)
# KMS host event IDs in the "Key Management Service" log: 12290 per client request
# [licensing-api §6 Monitoring]; 12294 SRV published, 12293 publishing failed
# (UNCONFIRMED: Windows KMS event IDs seen in the field, not in licensing-api.md).
EVENT_SRV_PUBLISHED = 12294
EVENT_SRV_PUBLISH_FAILED = 12293
LCIDS = {"en-US": 1033, "ja-JP": 1041}
COUNTRY = {"en-US": "1", "ja-JP": "81"}


def normalize_namespace(ns: str | None) -> str:
    """``root\\cimv2`` / ``ROOT/CIMV2`` -> ``root/cimv2``."""
    return (ns or CIMV2).replace("\\", "/").strip("/").lower()


def _check_arg(method: str, name: str, ctype: str, value: t.Any) -> t.Any:
    """Convert an argument as CIM would; 0x80041005 when it cannot be."""
    if value is None:
        return None
    if ctype == "string":
        if isinstance(value, (dict, list)):
            raise WmiError(errors.WBEM_E_TYPE_MISMATCH, f"{method}.{name} must be a string")
        return str(value)
    if ctype in ("uint32", "uint16"):
        if isinstance(value, bool):
            raise WmiError(errors.WBEM_E_TYPE_MISMATCH, f"{method}.{name} must be a {ctype}")
        try:
            n = int(value) if not isinstance(value, str) else int(value.strip(), 0)
        except (TypeError, ValueError) as e:
            raise WmiError(errors.WBEM_E_TYPE_MISMATCH, f"{method}.{name} must be a {ctype}") from e
        if not 0 <= n <= (0xFFFFFFFF if ctype == "uint32" else 0xFFFF):
            raise WmiError(errors.WBEM_E_TYPE_MISMATCH, f"{method}.{name} is out of the {ctype} range")
        return n
    if ctype == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise WmiError(errors.WBEM_E_TYPE_MISMATCH, f"{method}.{name} must be a boolean")
    raise AssertionError(ctype)


class WindowsHost:
    """One simulated Windows machine. Mutate only under ``world.lock``."""

    def __init__(self, world: World, spec: HostSpec) -> None:
        self.world = world
        self.spec = spec
        self.name = spec.name
        self.fqdn = spec.fqdn.lower()
        self.domain = self.fqdn.split(".", 1)[1] if "." in self.fqdn else ""
        self.locale = spec.locale
        if spec.os not in OSES:
            raise ValueError(f"host '{spec.name}': os '{spec.os}' is not simulated "
                             f"(one of {', '.join(OSES)})")
        self.os = OSES[spec.os]
        if spec.edition not in self.os.editions:
            raise ValueError(f"host '{spec.name}': edition '{spec.edition}' is not simulated for {spec.os} "
                             f"(one of {', '.join(self.os.editions)})")
        self.edition = self.os.editions[spec.edition]
        self.os_version = self.os.version
        self.reachable = True
        self.registry = Registry()
        self.firewall = Firewall()
        self.request_log: list[dict[str, t.Any]] = []
        self.events: list[dict[str, t.Any]] = []
        self.installed_at = world.clock.now()
        rng = world.rng
        self.cmid = rng.guid()
        self.products: list[Product] = []
        self.remaining_rearm = self.os.rearm_count
        ospp_needed = False
        for ospec in spec.office:
            if ospec.version not in OFFICE_VERSIONS:
                raise ValueError(f"host '{spec.name}': Office version '{ospec.version}' is not simulated")
            if catalog.office_uses_ospp(ospec.version, self.os):
                ospp_needed = True
        self.has_ospp = ospp_needed
        self.ospp_cmid = rng.guid() if ospp_needed else None
        self.services: dict[str, Service] = builtin_services(ospp_needed)
        self.registry.create_key(SPP_KEY)
        if ospp_needed:
            self.registry.create_key(OSPP_KEY)
        now = self.installed_at
        for sku in catalog.windows_skus(self.os, self.edition):
            self.products.append(Product(sku, "spp", now))
        for ospec in spec.office:
            ospp = catalog.office_uses_ospp(ospec.version, self.os)
            known = catalog.office_products(ospec.version)
            for prod in ospec.products:
                if prod not in known:
                    raise ValueError(f"host '{spec.name}': Office {ospec.version} product '{prod}' is not simulated "
                                     f"(one of {', '.join(known)})")
                for sku in catalog.office_skus(ospec.version, prod, ospp):
                    self.products.append(Product(sku, "ospp" if ospp else "spp", now))
        self.kms_effective: dict[str, t.Any] = {}
        # Next SRV refresh (None: not publishing) [WSD-DNS every 24 h].
        self.next_publish_at: dt.datetime | None = None
        # Per product ID: the last KMS attempt that reached no host, kept so that a retry
        # inside World.advance() with nothing changed replays it instead of re-sending
        # (see kms_activate). Cleared by any attempt that reached a host.
        self._unreachable: dict[str, tuple[t.Hashable, int, list[SrvRecord] | None, dict[tuple[str, int], str]]] = {}
        self._load_kms_settings()
        self._preinstall_keys()

    # -- construction helpers ---------------------------------------------------------
    def _preinstall_keys(self) -> None:
        """VL media ship the edition's GVLK; retail media a retail key [SEED], [WSD-KEYS]."""
        if self.spec.channel == "volume" and self.edition.volume:
            gvlk = next(k for k, g in catalog.WINDOWS_GVLKS.items()
                        if self.os.id in g.os_ids and g.edition == self.edition.name)
            self._install_on(self._sku("windows", "GVLK"), gvlk, "gvlk", None)
        else:
            self._install_on(self._sku("windows", "RETAIL"), *self._synthetic_retail(f"{self.os.id}/{self.edition.name}"))
        for ospec in self.spec.office:
            for prod in ospec.products:
                family = f"office-{ospec.version}/{prod}"
                if ospec.channel == "volume":
                    gvlk = catalog._OFFICE_CLIENT[(ospec.version, prod)][1]
                    self._install_on(self._sku(family, "GVLK"), gvlk, "gvlk", None)
                else:
                    self._install_on(self._sku(family, "RETAIL"), *self._synthetic_retail(family))

    def _synthetic_retail(self, product: str) -> tuple[str, str, KeySpec]:
        alphabet = "BCDFGHJKMNPQRTVWXY2346789"
        rng = self.world.rng
        key = "-".join("".join(rng.choice(alphabet) for _ in range(5)) for _ in range(5))
        spec = KeySpec(name=f"{self.name.lower()}-preinstalled-{product}", kind="retail", key=key, product=product)
        self.world.activation_service.add_key(spec)
        return key, "retail", spec

    def _sku(self, family: str, channel: str) -> Product:
        for p in self.products:
            if p.sku.family == family and p.sku.channel == channel:
                return p
        raise KeyError((family, channel))

    # -- small accessors ----------------------------------------------------------------
    @property
    def now(self) -> dt.datetime:
        """Lab time."""
        return self.world.clock.now()

    def product(self, activation_id: str) -> Product | None:
        """A product by activation ID (case-insensitive)."""
        aid = activation_id.lower()
        return next((p for p in self.products if p.id.lower() == aid), None)

    def store_products(self, store: str) -> list[Product]:
        """Products of ``spp`` or ``ospp``."""
        return [p for p in self.products if p.store == store]

    def log(self, entry: dict[str, t.Any]) -> None:
        """Append to ``request_log`` with the lab time. Callers must never pass a secret."""
        self.request_log.append({"time": self.now.isoformat(), **entry})

    def event(self, log: str, event_id: int, **data: t.Any) -> None:
        """Record an event-log entry (12288 client / 12290 KMS host); the log keeps the
        newest ``EVENT_LOG_SIZE`` entries, as a Windows event log rolls over [LAB size]."""
        self.events.append({"time": self.now.isoformat(), "log": log, "id": event_id, **data})
        if len(self.events) > EVENT_LOG_SIZE:
            del self.events[: len(self.events) - EVENT_LOG_SIZE]

    # -- registry-backed settings -------------------------------------------------------
    def _reg_str(self, path: str, name: str) -> str | None:
        v = self.registry.get(path, name)
        if v is None or v.value in (None, ""):
            return None
        return str(v.value) if not isinstance(v.value, list) else None

    def _reg_int(self, path: str, name: str, default: int) -> int:
        v = self.registry.get(path, name)
        if v is None:
            return default
        try:
            return int(v.value) if not isinstance(v.value, str) else int(v.value.strip() or default)
        except (TypeError, ValueError):
            return default

    def _root(self, store: str) -> str:
        return SPP_KEY if store == "spp" else OSPP_KEY

    def _sku_key(self, p: Product) -> str:
        return f"{self._root(p.store)}\\{p.sku.app_id}\\{p.id}"

    def _load_kms_settings(self) -> None:
        """What the KMS listener uses until the next sppsvc start [SLMGR10 reboot warning]."""
        publish_list = self.registry.get(SPP_KEY, "DnsDomainPublishList")
        self.kms_effective = {
            "port": self._reg_int(SPP_KEY, "KeyManagementServiceListeningPort", 0) or 1688,
            "dns_publishing": self._reg_int(SPP_KEY, "DisableDnsPublishing", 0) == 0,
            "low_priority": self._reg_int(SPP_KEY, "EnableKmsLowPriority", 0) != 0,
            "publish_list": list(publish_list.value) if publish_list and isinstance(publish_list.value, list) else [],
            "activation_interval": self._reg_int(SPP_KEY, "VLActivationInterval", DEFAULT_ACTIVATION_INTERVAL),
            "renewal_interval": self._reg_int(SPP_KEY, "VLRenewalInterval", DEFAULT_RENEWAL_INTERVAL),
        }

    # -- KMS host side ---------------------------------------------------------------
    def kms_host_products(self) -> list[Product]:
        """Installed KMS host SKUs (CSVLK key present), Windows first."""
        return [p for p in self.store_products("spp") if p.sku.channel == "CSVLK" and p.key is not None]

    def kms_listening(self) -> bool:
        """Whether the KMS listener runs (a CSVLK installed, sppsvc running)."""
        return bool(self.kms_host_products()) and self.services["sppsvc"].status == "Running"

    def kms_effective_port(self) -> int:
        """The TCP port the KMS listener uses now."""
        return int(self.kms_effective["port"])

    def kms_licensed(self) -> bool:
        """Whether some KMS host SKU is activated (it then serves and publishes)."""
        return any(p.activated for p in self.kms_host_products())

    def publish_srv(self) -> list[SrvRecord]:
        """Publish ``_vlmcs._tcp`` records when DNS publishing is effective and the KMS host is
        activated: the home domain (priority 0, weight 0) plus each ``DnsDomainPublishList``
        line ``domain, priority, weight`` [WSD-DNS], [MS-REG]. Returns what was published.

        Schedules the next refresh 24 h later [WSD-DNS]; with publishing off (or the KMS
        host not serving) refreshing stops and the record stays, as Windows does not
        delete it. An update the DNS server refuses (or a server that does not answer)
        leaves DNS unchanged and records event 12293 with the reason."""
        if not (self.kms_listening() and self.kms_licensed() and self.kms_effective["dns_publishing"]):
            self.next_publish_at = None
            return []
        self.next_publish_at = self.now + SRV_REFRESH
        recs = [SrvRecord(self.domain, self.fqdn, self.kms_effective_port())] if self.domain else []
        for line in self.kms_effective["publish_list"]:
            parts = [x.strip() for x in str(line).split(",")]
            if not parts or not parts[0]:
                continue
            prio = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            weight = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
            recs.append(SrvRecord(parts[0].lower(), self.fqdn, self.kms_effective_port(), prio, weight))
        published: list[SrvRecord] = []
        for r in recs:
            if self.world.dns.publish(r):
                published.append(r)
            else:
                self.event("Key Management Service", EVENT_SRV_PUBLISH_FAILED, owner=r.owner,
                           reason=self.world.dns.last_error or "the DNS server refused the update")
        if published:
            self.event("Key Management Service", EVENT_SRV_PUBLISHED, published=[r.owner for r in published])
        return published

    def kms_serve(self, req: KmsRequest, port: int) -> KmsResponse:
        """Answer one client request (called by the transport once the connection is up)."""
        now = self.now
        hosts = self.kms_host_products()
        if req.kind.startswith("windows"):
            host_p = next((p for p in hosts if p.sku.product == "windows"), None)
        else:
            host_p = next((p for p in hosts if p.sku.family == f"{req.kind}-kms-host"), None)
        required = {"windows-client": WINDOWS_CLIENT_THRESHOLD,
                    "windows-server": WINDOWS_SERVER_THRESHOLD}.get(req.kind, OFFICE_THRESHOLD)
        hresult: int
        count = UNCONTACTED
        if host_p is None:
            # No host SKU for this product: this KMS cannot be used [§4 0xC004F042].
            hresult = errors.SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH
            if hosts and hosts[0].kms_host:
                hosts[0].kms_host.fail()
            pid = hosts[0].product_key_id if hosts else None
        else:
            state = host_p.kms_host or KmsHostState()
            host_p.kms_host = state
            pid = host_p.product_key_id
            if not host_p.activated:
                hresult = errors.SL_E_VL_KEY_MANAGEMENT_SERVICE_NOT_ACTIVATED
                state.fail()
            elif not self._covers(host_p, req):
                hresult = errors.SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH
                state.fail()
            else:
                decision = state.handle(req.cmid, req.license_status, required, now)
                hresult, count = decision.hresult, decision.current_count
        self.event("Key Management Service", 12290, client=req.client_name, cmid=req.cmid, sku_id=req.sku_id,
                   hresult=f"0x{hresult:08X}", current_count=-1 if count == UNCONTACTED else count)
        return KmsResponse(hresult=hresult, current_count=count, required=required, host_name=self.fqdn,
                           host_address=self.spec.address, port=port, host_pid=pid,
                           activation_interval=int(self.kms_effective["activation_interval"]),
                           renewal_interval=int(self.kms_effective["renewal_interval"]))

    def _covers(self, host_p: Product, req: KmsRequest) -> bool:
        if not req.kind.startswith("windows"):
            return True  # an Office host SKU serves its own version only (checked by family)
        key = self.world.activation_service.lookup(host_p.key or "")
        if key is None:
            return False
        release, _ = catalog.parse_key_product(key.product)
        max_server, max_client = catalog.CSVLK_COVERAGE.get(release, (0, 0))
        limit = max_server if req.kind == "windows-server" else max_client
        return 0 < req.client_rank <= limit

    # -- KMS client side -------------------------------------------------------------
    def kms_request_for(self, p: Product) -> KmsRequest:
        """The request this host sends for product ``p``."""
        if p.sku.product == "windows":
            kind = "windows-server" if self.os.server else "windows-client"
            rank = self.os.rank
        else:
            kind, rank = f"office-{p.sku.office_version}", 0
        cmid = self.ospp_cmid if (p.store == "ospp" and self.ospp_cmid) else self.cmid
        status, _, _ = p.status(self.now)
        return KmsRequest(cmid=cmid or "", client_name=self.fqdn, client_address=self.spec.address, sku_id=p.id,
                          app_id=p.sku.app_id, kind=kind, client_rank=rank, license_status=status)

    def kms_client_settings(self, p: Product) -> dict[str, t.Any]:
        """Effective client settings for ``p``: per-SKU registry values override the
        service-level ones [MS-REG]; ``lookup_domain`` Win8+ only."""
        root = self._root(p.store)
        sku_key = self._sku_key(p)
        machine = self._reg_str(sku_key, "KeyManagementServiceName")
        port = self._reg_int(sku_key, "KeyManagementServicePort", 0) if machine else 0
        if machine is None:
            machine = self._reg_str(root, "KeyManagementServiceName")
            port = self._reg_int(root, "KeyManagementServicePort", 0)
        elif not port:
            port = self._reg_int(sku_key, "KeyManagementServicePort", 0)
        domain = None
        if self.os.win8plus and p.store == "spp":
            domain = self._reg_str(sku_key, "KeyManagementServiceLookupDomain") or \
                self._reg_str(root, "KeyManagementServiceLookupDomain")
        caching = self._reg_int(root, "DisableKeyManagementServiceHostCaching", 0) == 0
        return {"machine": machine, "port": port, "lookup_domain": domain, "host_caching": caching}

    def kms_targets(self, p: Product) -> list[tuple[str, int]]:
        """Hosts to try in order: the configured KMS machine only when one is set (it
        "disables auto-detection"); else the cached host (host caching on) then the SRV
        records of the lookup domain or the host's own domain in RFC 2782 order (lowest
        priority first, weighted random within a priority, drawn from the world's seeded
        random source) [INFERRED §5 client discovery], [WSD-DNS]. ``WmiError`` with the
        DNS HRESULT when discovery fails (0x8007232B no record, 0x8007232A server failure)."""
        s = self.kms_client_settings(p)
        recs = self._discover(p, s)
        return self._order_targets(p, s, recs)

    def _discover(self, p: Product, s: dict[str, t.Any]) -> list[SrvRecord] | None:
        """The SRV records to order (None when a KMS machine is configured)."""
        if s["machine"]:
            return None
        domain = s["lookup_domain"] or self.domain
        # Sorted first, so the order a DNS server happens to answer in does not leak into
        # the (seeded) random order.
        return sorted(self.world.kms_transport.discover(self, domain),
                      key=lambda r: (r.priority, r.weight, r.port, r.target))

    def _order_targets(self, p: Product, s: dict[str, t.Any], recs: list[SrvRecord] | None) -> list[tuple[str, int]]:
        if recs is None:
            return [(s["machine"], s["port"] or 1688)]
        ordered = dns_client.order_srv(
            [dns_client.SrvRecord(r.priority, r.weight, r.port, r.target) for r in recs], self.world.rng)
        targets = [(r.target, r.port) for r in ordered]
        if s["host_caching"] and p.discovered_name and (p.discovered_name, p.discovered_port) in targets:
            cached = (p.discovered_name, p.discovered_port)
            targets.remove(cached)
            targets.insert(0, cached)
        return targets

    def _reach_token(self, p: Product, settings: dict[str, t.Any]) -> t.Hashable:
        """Everything that decides whether a KMS attempt for ``p`` reaches a host, short of
        sending it: the advance() span, the transport's own state (faults, DNS server), the
        DNS records, each KMS-capable host's reachability, sppsvc, listening port and
        firewall rules, and this client's KMS settings."""
        w = self.world
        kms = tuple((h.name, h.reachable, h.services["sppsvc"].status, h.kms_effective_port(),
                     tuple((r.name, r.enabled, r.direction, r.action, tuple(r.profiles), r.protocol,
                            tuple(r.local_ports), tuple(r.remote_addresses), r.service)
                           for r in h.firewall.rules.values()))
                    for h in w.kms_candidates())
        return (w.advance_epoch, w.kms_transport.state_token(), w.dns.version, kms, self.reachable,
                settings["machine"], settings["port"], settings["lookup_domain"], settings["host_caching"],
                p.discovered_name, p.discovered_port)

    def kms_activate(self, p: Product) -> int:
        """One KMS activation attempt for ``p`` (Activate() or the 2 h / 7 d timers).
        Returns the HRESULT (0 on success) and updates ``p``.

        Inside ``World.advance`` an attempt whose previous try reached no KMS host, with
        nothing changed since (``_reach_token``), is replayed: the same targets in a newly
        drawn order (the random source advances exactly as for a real try) with the same
        per-target failures, without querying DNS or connecting again. The outcome is the
        one a real try would have, because nothing that decides it has changed."""
        now = self.now
        hresult = errors.SL_E_VL_BINDING_SERVICE_UNAVAILABLE
        tried: list[str] = []
        response: KmsResponse | None = None
        s = self.kms_client_settings(p)
        token = self._reach_token(p, s) if self.world.in_advance else None
        cached = self._unreachable.get(p.id)
        recs: list[SrvRecord] | None
        reasons: dict[tuple[str, int], str]
        if token is not None and cached is not None and cached[0] == token:
            _, hresult, recs, reasons = cached
            if hresult == errors.SL_E_VL_BINDING_SERVICE_UNAVAILABLE:
                tried = [f"{n}:{port} ({reasons[(n, port)]})" for n, port in self._order_targets(p, s, recs)]
        else:
            recs = None
            reasons = {}
            try:
                recs = self._discover(p, s)
                targets = self._order_targets(p, s, recs)
            except WmiError as e:
                hresult = e.hresult
                targets = []
            for target in targets:
                try:
                    response = self.world.kms_transport.request(self, p, target)
                    break
                except KmsConnectError as e:
                    reasons[target] = str(e)
                    tried.append(f"{target[0]}:{target[1]} ({e})")
            if response is None and token is not None:
                self._unreachable[p.id] = (token, hresult, recs, reasons)
            else:
                self._unreachable.pop(p.id, None)
        if response is not None:
            hresult = response.hresult
            p.discovered_name = response.host_name
            p.discovered_port = response.port
            p.discovered_ip = response.host_address
            p.kms_pid = response.host_pid
            p.required_client_count = response.required
            # Host values override the client's after the first response [MS-TIMING].
            p.vl_activation_interval = response.activation_interval
            p.vl_renewal_interval = response.renewal_interval
        if hresult == 0:
            p.kms_licensed_until = now + KMS_VALIDITY
            p.next_attempt_at = now + dt.timedelta(minutes=p.vl_renewal_interval)
            p.vl_activation_type = 2  # KMS (VLActivationType 2 = KMS; only 1 = AD is confirmed, §1.2)
        else:
            p.next_attempt_at = now + dt.timedelta(minutes=p.vl_activation_interval)
        p.last_hresult = hresult
        self.event("Application", 12288, **self._attempt_event(p, hresult, response, tried))
        return hresult

    @staticmethod
    def _attempt_event(p: Product, hresult: int, response: KmsResponse | None, tried: list[str]) -> dict[str, t.Any]:
        """The data of the client's event 12288 for one attempt [licensing-api §6 Monitoring]."""
        return {"sku_id": p.id, "hresult": f"0x{hresult:08X}",
                "host": (f"{response.host_name}:{response.port}" if response else None),
                "current_count": (None if response is None or response.current_count == UNCONTACTED
                                  else response.current_count),
                "unreachable": tried}

    def replay_timers(self, until: dt.datetime, horizon: dt.datetime | None) -> int:
        """Run, in one step, the KMS retries of this host that can only repeat their last
        failure: every pending attempt at or before ``until`` and strictly before
        ``horizon`` (the next moment DNS may change: a KMS host's SRV refresh), when each
        product with a pending attempt last failed without reaching any host, with
        nothing changed since (``_reach_token``) and without a random draw (no SRV record
        found, DNS failure, or a configured KMS machine). Each skipped attempt is the
        same as a real one: the same event 12288 (only the newest ``EVENT_LOG_SIZE``
        are kept anyway), the same rescheduling. Used by ``World.advance``; returns the
        number of attempts run. Hosts with a KMS host key are left alone (their log
        also receives 12290 entries from clients, interleaved in time)."""
        if not self.world.in_advance or self.kms_host_products():
            return 0
        pending = [p for p in self.products
                   if p.key_kind == "gvlk" and p.next_attempt_at is not None and self._timer_service_running(p)]
        plans: list[tuple[Product, dict[str, t.Any]]] = []
        for p in pending:
            cached = self._unreachable.get(p.id)
            if cached is None or (cached[2] is not None and cached[1] == errors.SL_E_VL_BINDING_SERVICE_UNAVAILABLE):
                return 0
            s = self.kms_client_settings(p)
            if cached[0] != self._reach_token(p, s):
                return 0
            hresult, reasons = cached[1], cached[3]
            tried_targets = self._order_targets(p, s, None) if s["machine"] and reasons else []
            data = self._attempt_event(p, hresult, None, [f"{n}:{port} ({reasons[(n, port)]})"
                                                           for n, port in tried_targets])
            plans.append((p, data))
        attempts: list[tuple[dt.datetime, int]] = []
        for index, (p, _) in enumerate(plans):
            when = p.next_attempt_at
            assert when is not None
            step = dt.timedelta(minutes=p.vl_activation_interval)
            while when <= until and (horizon is None or when < horizon):
                attempts.append((when, index))
                when += step
            p.next_attempt_at = when
        if not attempts:
            return 0
        attempts.sort()
        for when, index in attempts[-EVENT_LOG_SIZE:]:
            p, data = plans[index]
            self.events.append({"time": when.isoformat(), "log": "Application", "id": 12288,
                                **data, "unreachable": list(data["unreachable"])})
        if len(self.events) > EVENT_LOG_SIZE:
            del self.events[: len(self.events) - EVENT_LOG_SIZE]
        for p, data in plans:
            p.last_hresult = int(data["hresult"], 16)
        return len(attempts)

    def _timer_service_running(self, p: Product) -> bool:
        # The SPP products' timers belong to sppsvc, the OSPP products' to osppsvc.
        svc = self.services.get("osppsvc" if p.store == "ospp" else "sppsvc") or self.services["sppsvc"]
        return svc.status == "Running"

    def run_timers(self, until: dt.datetime) -> dt.datetime | None:
        """The earliest pending timer at or before ``until`` (None if none): a KMS client
        attempt of a product whose licensing service runs, or the SRV refresh."""
        due = [p.next_attempt_at for p in self.products
               if p.key_kind == "gvlk" and p.next_attempt_at is not None and p.next_attempt_at <= until
               and self._timer_service_running(p)]
        if self.next_publish_at is not None and self.next_publish_at <= until:
            due.append(self.next_publish_at)
        return min(due) if due else None

    def fire_timers(self) -> None:
        """Run every timer that is due now: the KMS activation/renewal attempts (while the
        product's licensing service runs; a stopped service's timers wait for its start)
        and the 24 h SRV refresh."""
        now = self.now
        for p in self.products:
            if (p.key_kind == "gvlk" and p.next_attempt_at is not None and p.next_attempt_at <= now
                    and self._timer_service_running(p)):
                self.kms_activate(p)
        if self.next_publish_at is not None and self.next_publish_at <= now:
            self.publish_srv()

    # -- CIM: classes --------------------------------------------------------------------
    def classes(self, namespace: str = CIMV2) -> list[str]:
        """Classes this host answers in ``namespace`` (``WmiError`` for an unknown namespace)."""
        ns = normalize_namespace(namespace)
        if ns == CIMV2:
            out = [SPP_SERVICE, SPP_PRODUCT, WIN32_OS]
            if self.has_ospp:
                out += [OSPP_SERVICE, OSPP_PRODUCT]
            return out
        # root/MicrosoftDNS exists only on DNS servers (hosts with the dns_server role).
        if ns == dnsserver.NAMESPACE and "dns_server" in self.spec.roles:
            return list(dnsserver.CLASSES)
        raise WmiError(errors.WBEM_E_INVALID_NAMESPACE, f"namespace '{namespace}' does not exist on {self.name}")

    def canonical_class(self, class_name: str, namespace: str = CIMV2) -> str:
        """The class' canonical spelling; 0x80041010 when the host has no such class."""
        for c in self.classes(namespace):
            if c.lower() == class_name.lower():
                return c
        raise WmiError(errors.WBEM_E_INVALID_CLASS, f"class '{class_name}' does not exist on {self.name}")

    def class_properties(self, class_name: str) -> tuple[str, ...]:
        """Property names of a class on this host (after ``canonical_class``)."""
        if class_name == SPP_PRODUCT:
            return tuple(sorted(PRODUCT_PROPS_7 + (PRODUCT_PROPS_8 if self.os.win8plus else ()), key=str.lower))
        if class_name == OSPP_PRODUCT:
            return tuple(sorted(PRODUCT_PROPS_7, key=str.lower))
        if class_name == SPP_SERVICE:
            return tuple(sorted(SERVICE_PROPS_7 + (SERVICE_PROPS_8 if self.os.win8plus else ()), key=str.lower))
        if class_name == OSPP_SERVICE:
            return tuple(sorted(OSPP_SERVICE_PROPS, key=str.lower))
        if class_name == WIN32_OS:
            return OS_PROPS
        if class_name == dnsserver.ZONE_CLASS:
            return dnsserver.ZONE_PROPS
        if class_name == dnsserver.SRV_CLASS:
            return dnsserver.SRV_PROPS
        raise WmiError(errors.WBEM_E_INVALID_CLASS, class_name)

    def class_methods(self, class_name: str) -> dict[str, list[Param]]:
        """Methods (name -> parameters) of a class on this host."""
        if class_name == SPP_SERVICE:
            return {**_SPP_SERVICE_METHODS_7, **(_SPP_SERVICE_METHODS_8 if self.os.win8plus else {})}
        if class_name == SPP_PRODUCT:
            return {**_PRODUCT_METHODS_7, **(_PRODUCT_METHODS_8 if self.os.win8plus else {})}
        if class_name == OSPP_SERVICE:
            return dict(_OSPP_SERVICE_METHODS)
        if class_name == OSPP_PRODUCT:
            return dict(_OSPP_PRODUCT_METHODS)
        if class_name == dnsserver.SRV_CLASS:
            return dict(dnsserver.SRV_METHODS)
        return {}

    def cim_instances(self, class_name: str, namespace: str = CIMV2) -> list[dict[str, t.Any]]:
        """All instances of a class as property dicts (documented names, WMI types)."""
        cls = self.canonical_class(class_name, namespace)
        props = self.class_properties(cls)
        if cls == SPP_PRODUCT:
            rows = [self._product_row(p) for p in self.store_products("spp")]
        elif cls == OSPP_PRODUCT:
            rows = [self._product_row(p) for p in self.store_products("ospp")]
        elif cls == SPP_SERVICE:
            rows = [self._service_row("spp")]
        elif cls == OSPP_SERVICE:
            rows = [self._service_row("ospp")]
        elif cls == dnsserver.ZONE_CLASS:
            rows = dnsserver.zone_rows(self)
        elif cls == dnsserver.SRV_CLASS:
            rows = dnsserver.srv_rows(self)
        else:
            rows = [self._os_row()]
        return [{k: row.get(k) for k in props} for row in rows]

    def query(self, class_name: str, condition: str | None = None, namespace: str = CIMV2,
              properties: t.Sequence[str] | None = None) -> list[dict[str, t.Any]]:
        """``Get-CimInstance -ClassName c -Filter condition -Property properties``."""
        cls = self.canonical_class(class_name, namespace)
        names = self.class_properties(cls)
        rows = self.cim_instances(cls, namespace)
        if condition is not None and condition.strip():
            pred = compile_condition(condition, names)
            rows = [r for r in rows if pred(r)]
        if properties:
            lower = {n.lower(): n for n in names}
            wanted = []
            for prop in properties:
                canon = lower.get(str(prop).lower())
                if canon is None:
                    raise WmiError(errors.WBEM_E_INVALID_QUERY, f"no property '{prop}' on {cls}")
                wanted.append(canon)
            rows = [{k: r[k] for k in names if k in wanted} for r in rows]
        return rows

    def _product_row(self, p: Product) -> dict[str, t.Any]:
        now = self.now
        status, reason, grace = p.status(now)
        settings = self.kms_client_settings(p)
        is_host = p.sku.channel == "CSVLK" and p.key is not None
        kms = p.kms_host
        counters = dict(kms.counters) if (kms and is_host) else {}
        count = kms.current_count(now) if (kms and is_host) else UNCONTACTED
        row: dict[str, t.Any] = {
            "ApplicationID": p.sku.app_id, "Description": p.sku.description,
            "DiscoveredKeyManagementServiceMachineName": p.discovered_name or "",
            "DiscoveredKeyManagementServiceMachinePort": p.discovered_port,
            "DiscoveredKeyManagementServiceMachineIpAddress": p.discovered_ip or "",
            "EvaluationEndDate": NONE_DATE, "ExtendedGrace": 0, "GenuineStatus": 0,
            "GracePeriodRemaining": grace, "ID": p.id,
            "IsKeyManagementServiceMachine": 1 if is_host else 0,
            "KeyManagementServiceCurrentCount": count,
            "KeyManagementServiceLookupDomain": settings["lookup_domain"] or "",
            "KeyManagementServiceMachine": settings["machine"] or "",
            "KeyManagementServicePort": settings["port"] if settings["machine"] else 0,
            "KeyManagementServiceProductKeyID": p.kms_pid or "",
            "LicenseDependsOn": "", "LicenseFamily": p.sku.license_family, "LicenseIsAddon": False,
            "LicenseStatus": status, "LicenseStatusReason": reason,
            "MachineURL": "", "Name": p.sku.name,
            "OfflineInstallationId": p.offline_iid, "PartialProductKey": p.partial_key,
            "ProcessorURL": "", "ProductKeyChannel": p.sku.product_key_channel if p.key else None,
            "ProductKeyID": p.product_key_id or "", "ProductKeyID2": p.product_key_id or "",
            "ProductKeyURL": "",
            "RemainingAppReArmCount": 1001 if p.sku.product != "windows" else 0,
            "RemainingSkuReArmCount": p.remaining_sku_rearm,
            "RequiredClientCount": ((WINDOWS_CLIENT_THRESHOLD if p.sku.product == "windows" else OFFICE_THRESHOLD)
                                    if is_host else p.required_client_count),
            "TokenActivationAdditionalInfo": "", "TokenActivationCertificateThumbprint": "",
            "TokenActivationGrantNumber": 0, "TokenActivationILID": "", "TokenActivationILVID": 0xFFFFFFFF,
            "TrustedTime": now, "UseLicenseURL": "", "ValidationURL": "",
            "VLActivationInterval": p.vl_activation_interval, "VLRenewalInterval": p.vl_renewal_interval,
            "VLActivationType": p.vl_activation_type,
            "VLActivationTypeEnabled": self._reg_int(self._sku_key(p), "VLActivationType", 0),
            "ADActivationCsvlkPid": "", "ADActivationCsvlkSkuId": "", "ADActivationObjectDN": "",
            "ADActivationObjectName": "", "AutomaticVMActivationHostDigitalPid2": "",
            "AutomaticVMActivationHostMachineName": "", "AutomaticVMActivationLastActivationTime": NONE_DATE,
            "IAID": "",
        }
        for name in ("KeyManagementServiceTotalRequests", "KeyManagementServiceFailedRequests",
                     "KeyManagementServiceUnlicensedRequests", "KeyManagementServiceLicensedRequests",
                     "KeyManagementServiceOOBGraceRequests", "KeyManagementServiceOOTGraceRequests",
                     "KeyManagementServiceNonGenuineGraceRequests", "KeyManagementServiceNotificationRequests"):
            row[name] = counters.get(name) if is_host else None
        return row

    def _service_row(self, store: str) -> dict[str, t.Any]:
        root = self._root(store)
        now = self.now
        if store == "ospp":
            office = [o.version for o in self.spec.office]
            version = "14.0.7015.1000" if "2010" in office else "15.0.4420.1017"  # [LAB] typical builds
            client = next((p for p in self.store_products("ospp") if p.key_kind == "gvlk"), None)
            return {
                "ClientMachineID": self.ospp_cmid,
                "DiscoveredKeyManagementServiceMachineName": (client.discovered_name if client else None) or "",
                "DiscoveredKeyManagementServiceMachinePort": client.discovered_port if client else 0,
                "IsKeyManagementServiceMachine": 0, "KeyManagementServiceCurrentCount": UNCONTACTED,
                "KeyManagementServiceHostCaching": self._reg_int(root, "DisableKeyManagementServiceHostCaching", 0) == 0,
                "KeyManagementServiceMachine": self._reg_str(root, "KeyManagementServiceName") or "",
                "KeyManagementServicePort": self._reg_int(root, "KeyManagementServicePort", 0),
                "KeyManagementServiceProductKeyID": (client.kms_pid if client else None) or "",
                "PolicyCacheRefreshRequired": 0, "RequiredClientCount": client.required_client_count if client else 0,
                "Version": version,
                "VLActivationInterval": client.vl_activation_interval if client else DEFAULT_ACTIVATION_INTERVAL,
                "VLRenewalInterval": client.vl_renewal_interval if client else DEFAULT_RENEWAL_INTERVAL,
            }
        win = next((p for p in self.store_products("spp") if p.sku.product == "windows" and p.key is not None), None)
        host = next((p for p in self.kms_host_products() if p.sku.product == "windows"), None)
        hosts = self.kms_host_products()
        counters = dict(host.kms_host.counters) if host and host.kms_host else {}
        row: dict[str, t.Any] = {
            "ClientMachineID": self.cmid,
            "DiscoveredKeyManagementServiceMachineName": (win.discovered_name if win else None) or "",
            "DiscoveredKeyManagementServiceMachinePort": win.discovered_port if win else 0,
            "DiscoveredKeyManagementServiceMachineIpAddress": (win.discovered_ip if win else None) or "",
            "IsKeyManagementServiceMachine": 1 if hosts else 0,
            "KeyManagementServiceActivationDisabled": False,
            "KeyManagementServiceCurrentCount": (host.kms_host.current_count(now) if host and host.kms_host
                                                 else UNCONTACTED),
            "KeyManagementServiceDnsPublishing": self._reg_int(root, "DisableDnsPublishing", 0) == 0,
            "KeyManagementServiceHostCaching": self._reg_int(root, "DisableKeyManagementServiceHostCaching", 0) == 0,
            "KeyManagementServiceListeningPort": self._reg_int(root, "KeyManagementServiceListeningPort", 0),
            "KeyManagementServiceLookupDomain": self._reg_str(root, "KeyManagementServiceLookupDomain") or "",
            "KeyManagementServiceLowPriority": self._reg_int(root, "EnableKmsLowPriority", 0) != 0,
            "KeyManagementServiceMachine": self._reg_str(root, "KeyManagementServiceName") or "",
            "KeyManagementServicePort": self._reg_int(root, "KeyManagementServicePort", 0),
            "KeyManagementServiceProductKeyID": (win.kms_pid if win else None) or "",
            "OA3xOriginalProductKey": "", "OA3xOriginalProductKeyDescription": "", "OA3xOriginalProductKeyPkPn": "",
            "PolicyCacheRefreshRequired": 0, "RemainingWindowsReArmCount": self.remaining_rearm,
            "RequiredClientCount": WINDOWS_CLIENT_THRESHOLD if host else (win.required_client_count if win else 0),
            "TokenActivationAdditionalInfo": "", "TokenActivationCertificateThumbprint": "",
            "TokenActivationGrantNumber": 0, "TokenActivationILID": "", "TokenActivationILVID": 0xFFFFFFFF,
            "Version": self.os.spp_version,
            "VLActivationInterval": self._reg_int(root, "VLActivationInterval", DEFAULT_ACTIVATION_INTERVAL),
            "VLRenewalInterval": self._reg_int(root, "VLRenewalInterval", DEFAULT_RENEWAL_INTERVAL),
            "VLActivationTypeEnabled": self._reg_int(root, "VLActivationType", 0),
        }
        for name in ("KeyManagementServiceTotalRequests", "KeyManagementServiceFailedRequests",
                     "KeyManagementServiceUnlicensedRequests", "KeyManagementServiceLicensedRequests",
                     "KeyManagementServiceOOBGraceRequests", "KeyManagementServiceOOTGraceRequests",
                     "KeyManagementServiceNonGenuineGraceRequests", "KeyManagementServiceNotificationRequests"):
            row[name] = counters.get(name, 0) if host else None
        return row

    def _os_row(self) -> dict[str, t.Any]:
        product_type = 2 if "domain_controller" in self.spec.roles else (3 if self.os.server else 1)
        caption = f"{self.os.caption} {self.edition.caption}"
        return {
            "BuildNumber": self.os.build, "Caption": caption, "CountryCode": COUNTRY.get(self.locale, "1"),
            "CSName": self.name.upper(), "InstallDate": self.installed_at,
            "LastBootUpTime": self.installed_at, "LocalDateTime": self.now,
            "Locale": f"{LCIDS.get(self.locale, 1033):04x}", "Manufacturer": "Microsoft Corporation",
            "MUILanguages": [self.locale],
            "Name": f"{caption}|C:\\Windows|\\Device\\Harddisk0\\Partition2",
            "OperatingSystemSKU": self.edition.os_sku, "OSArchitecture": "64-bit",
            "OSLanguage": LCIDS.get(self.locale, 1033), "OSType": 18, "ProductType": product_type,
            "SystemDirectory": "C:\\Windows\\system32", "Version": self.os.version,
            "WindowsDirectory": "C:\\Windows",
        }

    def delete(self, class_name: str, condition: str, namespace: str = CIMV2) -> int:
        """``Remove-CimInstance`` of the instances ``condition`` selects; the number deleted.
        Only DNS records can be deleted (0x8004100C for the licensing classes)."""
        cls = self.canonical_class(class_name, namespace)
        if cls != dnsserver.SRV_CLASS:
            raise WmiError(WBEM_E_NOT_SUPPORTED, f"instances of {cls} cannot be deleted")
        return dnsserver.delete(self, self.query(cls, condition, namespace))

    def instance_key(self, class_name: str, row: dict[str, t.Any]) -> dict[str, t.Any]:
        """The key the executor reports for an instance (ID / Version / Name)."""
        if class_name in (SPP_PRODUCT, OSPP_PRODUCT):
            return {"ID": row["ID"]}
        if class_name in (SPP_SERVICE, OSPP_SERVICE):
            return {"Version": row["Version"]}
        if class_name == dnsserver.SRV_CLASS:
            return {"Name": row.get("TextRepresentation")}
        return {"Name": row.get("Name")}

    # -- CIM: methods -----------------------------------------------------------------
    def check_method(self, class_name: str, method: str, args: dict[str, t.Any],
                     namespace: str = CIMV2) -> tuple[str, str, dict[str, t.Any]]:
        """Validate class, method and arguments as WMI would before running anything.
        Returns (class, method, converted arguments) in canonical spelling."""
        cls = self.canonical_class(class_name, namespace)
        methods = self.class_methods(cls)
        canon = next((m for m in methods if m.lower() == method.lower()), None)
        if canon is None:
            raise WmiError(errors.WBEM_E_INVALID_METHOD, f"{cls} has no method '{method}'")
        params = methods[canon]
        given = {str(k).lower(): (k, v) for k, v in (args or {}).items()}
        out: dict[str, t.Any] = {}
        for pname, ptype in params:
            optional = ptype.endswith("?")
            if pname.lower() not in given:
                if optional:
                    continue
                raise WmiError(errors.WBEM_E_INVALID_PARAMETER, f"{cls}.{canon} needs parameter '{pname}'")
            out[pname] = _check_arg(canon, pname, ptype.rstrip("?"), given.pop(pname.lower())[1])
        if given:
            extra = ", ".join(k for k, _ in given.values())
            raise WmiError(errors.WBEM_E_INVALID_PARAMETER, f"{cls}.{canon} has no parameter(s) {extra}")
        return cls, canon, out

    def invoke(self, class_name: str, method: str, args: dict[str, t.Any] | None = None,
               row: dict[str, t.Any] | None = None, namespace: str = CIMV2) -> dict[str, t.Any]:
        """Invoke ``method`` on one instance (``row`` as returned by ``query``; None for the
        singleton service). Returns the out-parameters (``ReturnValue`` 0); raises ``WmiError``."""
        cls, canon, a = self.check_method(class_name, method, args or {}, namespace)
        if canon in NOT_SIMULATED:
            raise WmiError(WBEM_E_NOT_SUPPORTED, f"{cls}.{canon} is not simulated by the lab")
        if cls in (SPP_SERVICE, OSPP_SERVICE):
            return self._service_method("spp" if cls == SPP_SERVICE else "ospp", canon, a)
        if cls == dnsserver.SRV_CLASS:
            return dnsserver.invoke(self, canon, a, row)
        if row is None or "ID" not in row:
            raise WmiError(errors.WBEM_E_INVALID_PARAMETER, f"{cls}.{canon} needs an instance")
        p = self.product(str(row["ID"]))
        store = "spp" if cls == SPP_PRODUCT else "ospp"
        if p is None or p.store != store:
            raise WmiError(errors.WBEM_E_NOT_FOUND, f"{cls} instance {row['ID']} does not exist")
        return self._product_method(p, canon, a)

    # service methods
    def _service_method(self, store: str, method: str, a: dict[str, t.Any]) -> dict[str, t.Any]:
        root = self._root(store)
        if method == "InstallProductKey":
            self.install_product_key(store, a["ProductKey"] or "")
            return {}
        if method in ("RefreshLicenseStatus", "ClearProductKeyFromRegistry"):
            # The lab keeps no key copy in the registry and computes state on read.
            return {}
        if method == "ReArmWindows":
            self.rearm_windows()
            return {}
        if method in HOST_ONLY_SETTERS and not self.kms_host_products():
            raise WmiError(errors.SL_E_VL_BINDING_SERVICE_NOT_ENABLED, f"{self.name} is not a KMS host")
        reg = self.registry
        if method == "SetKeyManagementServiceMachine":
            name = (a["MachineName"] or "").strip()
            if not name:
                raise WmiError(errors.E_INVALIDARG, "MachineName is empty")
            reg.set(root, "KeyManagementServiceName", "String", name)
        elif method == "ClearKeyManagementServiceMachine":
            reg.remove(root, "KeyManagementServiceName")
        elif method == "SetKeyManagementServicePort":
            reg.set(root, "KeyManagementServicePort", "String", str(self._port(a["PortNumber"])))
        elif method == "ClearKeyManagementServicePort":
            reg.remove(root, "KeyManagementServicePort")
        elif method == "SetKeyManagementServiceLookupDomain":
            dom = (a["LookupDomain"] or "").strip()
            if not dom:
                raise WmiError(errors.E_INVALIDARG, "LookupDomain is empty")
            reg.set(root, "KeyManagementServiceLookupDomain", "String", dom)
        elif method == "ClearKeyManagementServiceLookupDomain":
            reg.remove(root, "KeyManagementServiceLookupDomain")
        elif method in ("SetVLActivationInterval", "SetVLRenewalInterval"):
            value = a["ActivationInterval" if method == "SetVLActivationInterval" else "RenewalInterval"]
            if value is None or not 15 <= value <= 43200:
                # 15 minutes .. 30 days [WSD-SLMGR]; E_INVALIDARG as slmgr's HR_INVALID_ARG [SLMGR10].
                raise WmiError(errors.E_INVALIDARG, f"interval {value} is outside 15..43200 minutes")
            reg.set(root, method.removeprefix("Set"), "DWord", value)
        elif method == "SetKeyManagementServiceListeningPort":
            reg.set(root, "KeyManagementServiceListeningPort", "String", str(self._port(a["PortNumber"])))
        elif method == "ClearKeyManagementServiceListeningPort":
            reg.remove(root, "KeyManagementServiceListeningPort")
        elif method == "DisableKeyManagementServiceDnsPublishing":
            reg.set(root, "DisableDnsPublishing", "DWord", 1 if a["DisablePublishing"] else 0)
        elif method == "EnableKeyManagementServiceLowPriority":
            reg.set(root, "EnableKmsLowPriority", "DWord", 1 if a["EnableLowPriority"] else 0)
        elif method == "DisableKeyManagementServiceHostCaching":
            reg.set(root, "DisableKeyManagementServiceHostCaching", "DWord", 1 if a["DisableCaching"] else 0)
        elif method == "SetVLActivationTypeEnabled":
            reg.set(root, "VLActivationType", "DWord", self._activation_type(a["ActivationType"]))
        elif method == "ClearVLActivationTypeEnabled":
            reg.remove(root, "VLActivationType")
        else:
            raise WmiError(WBEM_E_NOT_SUPPORTED, f"{method} is not simulated by the lab")
        return {}

    @staticmethod
    def _port(value: int | None) -> int:
        if value is None or not 1 <= value <= 65535:
            raise WmiError(errors.E_INVALIDARG, f"port {value} is outside 1..65535")
        return value

    @staticmethod
    def _activation_type(value: int | None) -> int:
        if value is None or value not in (0, 1, 2, 3):
            raise WmiError(errors.E_INVALIDARG, f"activation type {value} is not 0..3")
        return value

    # product methods
    def _product_method(self, p: Product, method: str, a: dict[str, t.Any]) -> dict[str, t.Any]:
        reg = self.registry
        sku_key = self._sku_key(p)
        if method == "Activate":
            self.activate(p)
        elif method == "UninstallProductKey":
            if p.key is None:
                raise WmiError(errors.SL_E_PKEY_NOT_INSTALLED, f"{p.id} has no key")
            p.clear_key()
        elif method == "DepositOfflineConfirmationId":
            self.deposit_confirmation(p, a["InstallationId"] or "", a["ConfirmationId"] or "")
        elif method == "SetKeyManagementServiceMachine":
            name = (a["MachineName"] or "").strip()
            if not name:
                raise WmiError(errors.E_INVALIDARG, "MachineName is empty")
            reg.set(sku_key, "KeyManagementServiceName", "String", name)
        elif method == "ClearKeyManagementServiceMachine":
            reg.remove(sku_key, "KeyManagementServiceName")
        elif method == "SetKeyManagementServicePort":
            reg.set(sku_key, "KeyManagementServicePort", "String", str(self._port(a["PortNumber"])))
        elif method == "ClearKeyManagementServicePort":
            reg.remove(sku_key, "KeyManagementServicePort")
        elif method == "SetKeyManagementServiceLookupDomain":
            dom = (a["LookupDomain"] or "").strip()
            if not dom:
                raise WmiError(errors.E_INVALIDARG, "LookupDomain is empty")
            reg.set(sku_key, "KeyManagementServiceLookupDomain", "String", dom)
        elif method == "ClearKeyManagementServiceLookupDomain":
            reg.remove(sku_key, "KeyManagementServiceLookupDomain")
        elif method == "SetVLActivationTypeEnabled":
            reg.set(sku_key, "VLActivationType", "DWord", self._activation_type(a["ActivationType"]))
        elif method == "ClearVLActivationTypeEnabled":
            reg.remove(sku_key, "VLActivationType")
        else:
            raise WmiError(WBEM_E_NOT_SUPPORTED, f"{method} is not simulated by the lab")
        return {}

    # -- licensing operations -------------------------------------------------------
    def _resolve_key(self, store: str, key: str) -> tuple[Product, str, KeySpec | None]:
        """Map a key to the product it installs on, or raise the HRESULT Windows gives."""
        invalid = WmiError(errors.SL_E_INVALID_PRODUCT_KEY)
        if not KEY_RE.match(key):
            raise invalid
        wg = catalog.WINDOWS_GVLKS.get(key)
        if wg is not None:
            if store != "spp" or self.os.id not in wg.os_ids or wg.edition != self.edition.name:
                raise invalid  # wrong release or edition [WSD-ERR 0xC004F050 "wrong edition"]
            return self._sku("windows", "GVLK"), "gvlk", None
        og = catalog.OFFICE_GVLKS.get(key)
        if og is not None:
            version, prod = og
            return self._office_target(store, f"office-{version}/{prod}", "GVLK"), "gvlk", None
        spec = self.world.activation_service.lookup(key)
        if spec is None:
            raise invalid  # not in this image's key configuration
        release, sub = catalog.parse_key_product(spec.product)
        office_version = catalog.office_version_of(release)
        channel = {"csvlk": "CSVLK", "mak": "MAK", "retail": "RETAIL"}[spec.kind]
        if office_version is None:
            if store != "spp" or (not self.edition.volume and channel != "RETAIL"):
                raise invalid
            if channel == "CSVLK":
                if release not in self.os.csvlk_products:
                    raise invalid  # [LAB] Windows CSVLK for another release/class, see module doc
                return self._sku("windows", "CSVLK"), "csvlk", spec
            if not catalog.release_matches(release, self.os.id) or (sub and sub != self.edition.name):
                raise invalid
            return self._sku("windows", channel), spec.kind, spec
        if office_version not in OFFICE_VERSIONS:
            raise invalid
        if channel == "CSVLK":
            if store != "spp" or not catalog.office_host_supported(office_version, self.os):
                # The host license pack does not install here, so its SKU is absent [LAB], §4.
                raise WmiError(errors.SL_E_MISMATCHED_PRODUCT_SKU,
                               f"the Office {office_version} KMS host license pack does not install on {self.os.id}")
            return self._office_host(office_version), "csvlk", spec
        return self._office_target(store, f"office-{office_version}/{sub}", channel), spec.kind, spec

    def _office_target(self, store: str, family: str, channel: str) -> Product:
        for p in self.store_products(store):
            if p.sku.family == family and p.sku.channel == channel:
                return p
        raise WmiError(errors.SL_E_MISMATCHED_PRODUCT_SKU, f"no {family} {channel} SKU in {store.upper()}")

    def _office_host(self, version: str) -> Product:
        sku = catalog.office_host_sku(version)
        existing = self.product(sku.id)
        if existing is not None:
            return existing
        p = Product(sku, "spp", self.installed_at)
        self.products.append(p)
        return p

    def install_product_key(self, store: str, key: str) -> Product:
        """``InstallProductKey``: map the key to its SKU and install it, replacing the key of
        the same family (Windows: one key at a time; Office: one per product)."""
        key = key.strip().upper()
        target, kind, spec = self._resolve_key(store, key)
        self._install_on(target, key, kind, spec)
        return target

    def _install_on(self, target: Product, key: str, kind: str, spec: KeySpec | None) -> None:
        for p in self.store_products(target.store):
            if p.sku.family == target.sku.family and p.key is not None:
                p.clear_key()
        rng = self.world.rng
        target.key = key
        target.key_kind = kind
        target.key_name = spec.name if spec else None
        lcid = LCIDS.get(self.locale, 1033)
        target.product_key_id = (f"{rng.digits(5)}-{rng.digits(5)}-{rng.digits(3)}-{rng.digits(6)}-03-{lcid}-"
                                 f"{self.os.build}.0000-{rng.randint(1, 365):03d}{self.installed_at.year}")
        target.offline_iid = self.world.activation_service.installation_id(spec, key, self.name, target.id)
        if kind == "gvlk":
            # sppsvc schedules an activation attempt after the activation interval [MS-TIMING].
            target.next_attempt_at = self.now + dt.timedelta(minutes=target.vl_activation_interval)
        if kind == "csvlk":
            if target.kms_host is None:
                target.kms_host = KmsHostState(cap=WINDOWS_CAP if target.sku.product == "windows" else OFFICE_CAP)
            self._load_kms_settings()  # the listener starts with the current settings

    def activate(self, p: Product) -> None:
        """``Activate()``: KMS for a GVLK, the activation service otherwise."""
        if p.key is None:
            raise WmiError(errors.SL_E_PKEY_NOT_INSTALLED, f"{p.id} has no key")
        if p.key_kind == "gvlk":
            hresult = self.kms_activate(p)
            if hresult:
                raise WmiError(hresult)
            return
        spec = self.world.activation_service.lookup(p.key)
        if spec is None:
            raise WmiError(errors.SL_E_INVALID_PRODUCT_KEY, "key unknown to the activation service")
        self.world.activation_service.activate(spec, self.name, p.id)
        p.activated = True
        p.last_hresult = 0
        if p.key_kind == "csvlk":
            self.publish_srv()

    def deposit_confirmation(self, p: Product, iid: str, cid: str) -> None:
        """``DepositOfflineConfirmationId``: phone activation with the IID the product shows."""
        if p.key is None:
            raise WmiError(errors.SL_E_PKEY_NOT_INSTALLED, f"{p.id} has no key")
        given = "".join(ch for ch in iid if ch.isdigit())
        if p.key_kind == "gvlk" or not p.offline_iid or given != p.offline_iid:
            raise WmiError(errors.SL_E_INVALID_IID_OR_CID, "the installation ID is not this product's")
        self.world.activation_service.check_confirmation(p.offline_iid, cid)
        p.activated = True
        p.last_hresult = 0
        if p.key_kind == "csvlk":
            self.publish_srv()

    def rearm_windows(self) -> None:
        """``ReArmWindows``: reset the Windows grace period and the CMID [SUP duplicate CMID];
        0xC004D307 when no rearm is left."""
        if self.remaining_rearm <= 0:
            raise WmiError(errors.SL_E_REARM_EXCEEDED)
        self.remaining_rearm -= 1
        now = self.now
        for p in self.store_products("spp"):
            if p.sku.product == "windows" and p.sku.channel != "CSVLK":
                p.grace_anchor = now
                p.activated = False
                p.kms_licensed_until = None
        self.cmid = self.world.rng.guid()

    # -- services -------------------------------------------------------------------
    def restart_service(self, name: str) -> Service:
        """Stop and start a service; sppsvc re-reads its KMS settings and republishes SRV records."""
        svc = self.services[name.lower()]
        svc.status = "Running"
        if svc.name == "sppsvc":
            self._load_kms_settings()
            self.publish_srv()
        return svc

    def stop_service(self, name: str) -> Service:
        """Stop a service (fault injection / ``net stop``)."""
        svc = self.services[name.lower()]
        svc.status = "Stopped"
        return svc

    # -- state ----------------------------------------------------------------------
    def snapshot(self) -> dict[str, t.Any]:
        """JSON-able state of the host (never a product key)."""
        now = self.now
        return {
            "name": self.name, "fqdn": self.fqdn, "address": self.spec.address, "os": self.os.id,
            "edition": self.edition.name, "locale": self.locale, "reachable": self.reachable,
            "cmid": self.cmid, "ospp_cmid": self.ospp_cmid, "remaining_rearm": self.remaining_rearm,
            "products": [p.snapshot(now) for p in self.products],
            "kms_effective": dict(self.kms_effective),
            "registry": self.registry.snapshot(), "firewall": self.firewall.snapshot(),
            "services": {n: s.as_dict() for n, s in self.services.items()},
            "events": list(self.events), "request_log": list(self.request_log),
        }


def sku_summary(sku: SkuDef) -> str:
    """``Name (ID)`` for messages."""
    return f"{sku.name} ({sku.id})"


def coverage() -> list[dict[str, t.Any]]:
    """What the lab simulates, generated from the schemas above (moto-style coverage list):
    one row per CIM class method with ``simulated`` (True, or False = answers 0x8004100C),
    ``windows`` ("7+", "8+") and the parameters. Classes not listed
    (SoftwareLicensingTokenActivationLicense, ...) answer 0x80041010; the DNS classes of a
    ``dns_server`` host are described in ``models/dnsserver.py``."""
    rows: list[dict[str, t.Any]] = []
    tables: list[tuple[str, dict[str, list[Param]], str]] = [
        (SPP_SERVICE, _SPP_SERVICE_METHODS_7, "7+"), (SPP_SERVICE, _SPP_SERVICE_METHODS_8, "8+"),
        (SPP_PRODUCT, _PRODUCT_METHODS_7, "7+"), (SPP_PRODUCT, _PRODUCT_METHODS_8, "8+"),
        (OSPP_SERVICE, _OSPP_SERVICE_METHODS, "OSPP"), (OSPP_PRODUCT, _OSPP_PRODUCT_METHODS, "OSPP")]
    for cls, methods, when in tables:
        for name, params in methods.items():
            rows.append({"class": cls, "method": name, "windows": when, "simulated": name not in NOT_SIMULATED,
                         "parameters": [f"{ptype} {pname}" for pname, ptype in params]})
    return rows
