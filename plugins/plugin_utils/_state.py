# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The state model of a host's licensing, parsed from CIM results.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

Pure Python: no Ansible imports. Input is what the executor returns for
``cim_query`` operations (docs/executor-protocol.md, "Values"): property name ->
JSON value, ``uint32`` as unsigned integers, ``null`` for NULL, datetimes as
ISO 8601 strings with offset.

Classes read (licensing-api.md section 1):

* ``SoftwareLicensingService`` / ``SoftwareLicensingProduct`` (SPP): Windows and,
  on Windows 8 / 2012 and later, Office 2013+; Office KMS host licenses too.
* ``OfficeSoftwareProtectionService`` / ``OfficeSoftwareProtectionProduct`` (OSPP):
  Office 2010 everywhere, Office 2013+ on Windows 7 / 2008 R2. On a machine
  without OSPP these classes do not exist and a query fails with
  0x80041010 (WBEM_E_INVALID_CLASS): that is read as "no OSPP", not as an error.
* ``Win32_OperatingSystem``: caption, version and the host's clock (grace dates
  are computed from the host's time, not the controller's).

Every property is read with ``.get`` because Windows 7 lacks the Windows 8-only
ones (ProductKeyChannel, RemainingSkuReArmCount, ...) and OSPP lacks some more.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

from . import _errors, _keys, _products

#: LicenseStatus -> name ([MS-SLP] 0..5, 6 handled by [SLMGR10]/[OSPP15]).
LICENSE_STATUS_NAMES: dict[int, str] = {
    0: "unlicensed",
    1: "licensed",
    2: "initial_grace",  # OOBGrace
    3: "additional_grace",  # OOTGrace: KMS license expired or hardware out of tolerance
    4: "non_genuine_grace",
    5: "notification",
    6: "extended_grace",
}
LICENSE_STATUS_VALUES: dict[str, int] = {v: k for k, v in LICENSE_STATUS_NAMES.items()}

#: VLActivationTypeEnabled -> name ([MS-SLP]: 0 All, 1 AD, 2 KMS, 3 Token).
ACTIVATION_TYPE_NAMES: dict[int, str] = {0: "all", 1: "ad", 2: "kms", 3: "token"}

#: KMS defaults when the property is 0 ([MS-SLS]: port 0 -> 1688) or NULL.
DEFAULT_KMS_PORT = 1688
#: uint32 -1 as some CIM clients render it ([MS-SLP] declares uint32; MOF text says -1).
UINT32_MINUS_ONE = 0xFFFFFFFF

SPP_SERVICE = "SoftwareLicensingService"
SPP_PRODUCT = "SoftwareLicensingProduct"
OSPP_SERVICE = "OfficeSoftwareProtectionService"
OSPP_PRODUCT = "OfficeSoftwareProtectionProduct"
OS_CLASS = "Win32_OperatingSystem"
OS_PROPERTIES = ("Caption", "Version", "BuildNumber", "OperatingSystemSKU", "ProductType", "LocalDateTime")

#: The properties the engine parses, one list per licensing class, shared by every read and
#: read-back (``cim_query`` of :func:`licensing_query`). Never ``SELECT *``: slmgr.vbs and
#: ospp.vbs always name their columns (Microsoft-signed slmgr.vbs ``GetServiceObject("Version")``,
#: ``GetProductCollection(...)``; ospp.vbs ``ExecuteQuery "ID, ApplicationId, ..."``), because a
#: star makes the licensing provider compute every property of every SKU, installation IDs
#: included. Each entry is ``(name, everywhere)``: ``everywhere`` when every Windows version the
#: collection supports (6.1 and later) has the property on that class; the others go to
#: ``optional_properties`` and are selected only where the class has them (docs/executor-
#: protocol.md). Per version: lab/src/winlab/data/schema/*.yml (sources: Windows 7 SP1 class
#: dumps, Microsoft's Server 2019 bindings microsoft/wmi server2019/root/cimv2/SoftwareLicensing*.go,
#: ospp.vbs for OSPP); tests/unit/plugins/plugin_utils/test_schema_names.py checks these lists
#: against those files. ``VLActivationTypeEnabled`` is a product property only: no version's
#: SoftwareLicensingService has it (only the methods that set it).
PropertyList = tuple[tuple[str, bool], ...]
_KMS_COUNTER_PROPS: PropertyList = tuple((name, True) for name in (
    "KeyManagementServiceFailedRequests", "KeyManagementServiceLicensedRequests",
    "KeyManagementServiceNonGenuineGraceRequests", "KeyManagementServiceNotificationRequests",
    "KeyManagementServiceOOBGraceRequests", "KeyManagementServiceOOTGraceRequests",
    "KeyManagementServiceTotalRequests", "KeyManagementServiceUnlicensedRequests",
))
SPP_SERVICE_PROPERTIES: PropertyList = (
    ("Version", True), ("ClientMachineID", True), ("RemainingWindowsReArmCount", True),
    ("KeyManagementServiceMachine", True), ("KeyManagementServicePort", True),
    ("KeyManagementServiceLookupDomain", False),  # Windows 8+ (slmgr /skms-domain)
    ("DiscoveredKeyManagementServiceMachineName", True), ("DiscoveredKeyManagementServiceMachinePort", True),
    ("DiscoveredKeyManagementServiceMachineIpAddress", False),  # Windows 8+
    ("VLActivationInterval", True), ("VLRenewalInterval", True), ("IsKeyManagementServiceMachine", True),
    ("KeyManagementServiceCurrentCount", True), ("RequiredClientCount", True),
    ("KeyManagementServiceListeningPort", True), ("KeyManagementServiceDnsPublishing", True),
    ("KeyManagementServiceLowPriority", True), ("KeyManagementServiceHostCaching", True),
    ("KeyManagementServiceProductKeyID", True),
    *_KMS_COUNTER_PROPS,
)
SPP_PRODUCT_PROPERTIES: PropertyList = (
    ("ID", True), ("Name", True), ("Description", True), ("ApplicationID", True),
    ("PartialProductKey", True), ("ProductKeyID", True), ("ProductKeyChannel", False),  # Windows 8+
    ("LicenseStatus", True), ("LicenseStatusReason", True), ("GracePeriodRemaining", True),
    ("EvaluationEndDate", True), ("LicenseIsAddon", True), ("OfflineInstallationId", True),
    ("RemainingAppReArmCount", False), ("RemainingSkuReArmCount", False),  # Windows 8+
    ("KeyManagementServiceMachine", True), ("KeyManagementServicePort", True),
    ("KeyManagementServiceLookupDomain", False),  # Windows 8+
    ("DiscoveredKeyManagementServiceMachineName", True), ("DiscoveredKeyManagementServiceMachinePort", True),
    ("DiscoveredKeyManagementServiceMachineIpAddress", False),  # Windows 8+
    ("KeyManagementServiceProductKeyID", True), ("VLActivationInterval", True), ("VLRenewalInterval", True),
    ("VLActivationTypeEnabled", False),  # Windows 8+
    # Windows 8+: how the product was activated and, for AD, the activation object
    # (activated_by, ad_activation_dict) [SLMGR10 /dlv "AD Activation client information"]
    ("VLActivationType", False), ("ADActivationObjectName", False), ("ADActivationObjectDN", False),
    ("ADActivationCsvlkPid", False), ("ADActivationCsvlkSkuId", False),
    ("IsKeyManagementServiceMachine", True), ("KeyManagementServiceCurrentCount", True),
    ("RequiredClientCount", True),
    *_KMS_COUNTER_PROPS,
)


def _ospp(props: PropertyList, confirmed: t.Collection[str], kms_host_only: bool = False) -> PropertyList:
    """The SPP list for an OSPP class: required only where ospp.vbs shows the member on OSPP;
    the Windows 8+ members (optional in SPP) and, for the service, the KMS host settings and
    counters (OSPP is never a KMS host: Office KMS host licenses live in SPP) are left out."""
    host_only = {name for name, _everywhere in _KMS_COUNTER_PROPS} | {
        "RemainingWindowsReArmCount", "KeyManagementServiceListeningPort", "KeyManagementServiceDnsPublishing",
        "KeyManagementServiceLowPriority"}
    return tuple((name, name in confirmed) for name, everywhere in props
                 if everywhere and not (kms_host_only and name in host_only))


#: OSPP: Microsoft publishes no class description; required are the members Microsoft's
#: ospp.vbs reads on 6.1 (where it uses the OSPP classes), the rest are optional.
OSPP_SERVICE_PROPERTIES: PropertyList = _ospp(SPP_SERVICE_PROPERTIES, {"ClientMachineID", "KeyManagementServiceHostCaching"},
                                              kms_host_only=True)
OSPP_PRODUCT_PROPERTIES: PropertyList = _ospp(SPP_PRODUCT_PROPERTIES, {
    "ID", "ApplicationID", "EvaluationEndDate", "PartialProductKey", "Description", "Name", "LicenseStatus",
    "LicenseStatusReason", "ProductKeyID", "GracePeriodRemaining", "DiscoveredKeyManagementServiceMachineName",
    "DiscoveredKeyManagementServiceMachinePort", "VLActivationInterval", "VLRenewalInterval",
    "KeyManagementServiceMachine", "KeyManagementServicePort", "LicenseIsAddon", "OfflineInstallationId"})
LICENSING_PROPERTIES: dict[str, PropertyList] = {
    SPP_SERVICE: SPP_SERVICE_PROPERTIES,
    SPP_PRODUCT: SPP_PRODUCT_PROPERTIES,
    OSPP_SERVICE: OSPP_SERVICE_PROPERTIES,
    OSPP_PRODUCT: OSPP_PRODUCT_PROPERTIES,
}


def licensing_query(class_name: str, filter: str | None = None) -> dict[str, t.Any]:
    """The ``cim_query`` of a licensing class with the engine's one property list of that class."""
    props = LICENSING_PROPERTIES[class_name]
    op: dict[str, t.Any] = {"op": "cim_query", "class": class_name,
                            "properties": [n for n, everywhere in props if everywhere],
                            "optional_properties": [n for n, everywhere in props if not everywhere]}
    if filter:
        op["filter"] = filter
    return op


#: Request counter properties -> names in results ([MS-SLS]; statuses 0..5 of the clients).
KMS_REQUEST_COUNTERS: dict[str, str] = {
    "KeyManagementServiceTotalRequests": "total",
    "KeyManagementServiceFailedRequests": "failed",
    "KeyManagementServiceUnlicensedRequests": "unlicensed",
    "KeyManagementServiceLicensedRequests": "licensed",
    "KeyManagementServiceOOBGraceRequests": "initial_grace",
    "KeyManagementServiceOOTGraceRequests": "additional_grace",
    "KeyManagementServiceNonGenuineGraceRequests": "non_genuine_grace",
    "KeyManagementServiceNotificationRequests": "notification",
}


# --------------------------------------------------------------------------- value helpers


def u32(value: t.Any) -> int | None:
    """An unsigned CIM integer as int, or None for NULL / absent."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def u32_signed(value: t.Any) -> int | None:
    """A uint32 that documents -1 as a value: 4294967295 (and -1) become -1."""
    v = u32(value)
    if v is None:
        return None
    return -1 if v in (UINT32_MINUS_ONE, -1) else v


def text(value: t.Any) -> str | None:
    """A CIM string: None for NULL or empty."""
    if value is None:
        return None
    s = str(value)
    return s if s.strip() else None


def flag(value: t.Any) -> bool | None:
    """A CIM boolean (some providers give 0/1)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return None


def port(value: t.Any) -> int | None:
    """A KMS port: 0 means the default 1688 ([MS-SLS]); NULL stays None."""
    v = u32(value)
    if v is None:
        return None
    return v or DEFAULT_KMS_PORT


def parse_datetime(value: t.Any) -> dt.datetime | None:
    """An ISO 8601 datetime from the executor, or a DMTF string ``yyyymmddHHMMSS.mmmmmm+UUU``
    (minutes offset), as aware datetime. Year 1601 (the FILETIME epoch, "no date" in
    [OSPP15]) and unparseable values give None."""
    s = text(value)
    if s is None:
        return None
    parsed: dt.datetime | None = None
    try:
        parsed = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        if len(s) >= 22 and s[14] == "." and s[21] in "+-":
            try:
                base = dt.datetime.strptime(s[:21], "%Y%m%d%H%M%S.%f")
                minutes = int(s[22:25] or 0) * (1 if s[21] == "+" else -1)
                parsed = base.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes)))
            except ValueError:
                parsed = None
    if parsed is None or parsed.year <= 1601:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with offset, seconds precision."""
    return value.replace(microsecond=0).isoformat() if value else None


# --------------------------------------------------------------------------- channel


def classify_channel(product_key_channel: str | None, description: str | None) -> str:
    """Classify a product's key/licence channel.

    Returns one of ``kms_client``, ``kms_host``, ``mak``, ``retail``, ``oem``,
    ``timebased``, ``avma``, ``unknown``.

    ``ProductKeyChannel`` (Windows 8+) names the installed key's channel
    (``Volume:GVLK``, ``Volume:CSVLK`` seen in real outputs; ``Volume:MAK``,
    ``Retail``, ``OEM:*`` UNCONFIRMED) and wins when present. Otherwise the
    Description is classified as slmgr.vbs does [SLMGR10]: ``VOLUME_KMSCLIENT``
    = KMS client, any other ``VOLUME_KMS`` = KMS host, ``TIMEBASED_``,
    ``VIRTUAL_MACHINE_ACTIVATION``, ``MAK``; then ``RETAIL`` and ``OEM``.
    """
    pkc = (product_key_channel or "").strip().lower()
    if pkc:
        if pkc == "volume:gvlk":
            return "kms_client"
        if pkc == "volume:csvlk":
            return "kms_host"
        if "mak" in pkc:
            return "mak"
        if pkc.startswith("retail"):
            return "retail"
        if pkc.startswith("oem"):
            return "oem"
    desc = (description or "").upper()
    if "VOLUME_KMSCLIENT" in desc:
        return "kms_client"
    if "VOLUME_KMS" in desc:
        return "kms_host"
    if "TIMEBASED_" in desc:
        return "timebased"
    if "VIRTUAL_MACHINE_ACTIVATION" in desc:
        return "avma"
    if "MAK" in desc:
        return "mak"
    if "RETAIL" in desc:
        return "retail"
    if "OEM" in desc:
        return "oem"
    return "unknown"


# --------------------------------------------------------------------------- model


@dataclasses.dataclass(frozen=True)
class KmsRequests:
    """Cumulative requests a KMS host received, by the client's license status."""

    total: int | None = None
    failed: int | None = None
    unlicensed: int | None = None
    licensed: int | None = None
    initial_grace: int | None = None
    additional_grace: int | None = None
    non_genuine_grace: int | None = None
    notification: int | None = None

    @classmethod
    def from_cim(cls, props: t.Mapping[str, t.Any]) -> KmsRequests:
        return cls(**{name: u32(props.get(prop)) for prop, name in KMS_REQUEST_COUNTERS.items()})


@dataclasses.dataclass(frozen=True)
class KmsHostView:
    """The KMS host role as ``slmgr /dlv`` shows it: count from the product, the rest from the service.

    ``current_count`` is -1 when no client has contacted the host yet ([SEED], MOF text);
    ``listening_port`` is 1688 when the property is 0.
    """

    current_count: int | None
    required_count: int | None
    listening_port: int | None
    dns_publishing: bool | None
    low_priority: bool | None
    host_caching: bool | None
    requests: KmsRequests


@dataclasses.dataclass(frozen=True)
class KmsClientView:
    """KMS client details: what is configured, what was discovered, intervals.

    ``configured_host``/``configured_port`` come from the product (a per-SKU
    override) when set there, else from the service (``/skms``);
    ``configured_at`` says which (``product``, ``service`` or None when the host
    is found through DNS). ``configured_port`` is only meaningful with a host.
    """

    configured_host: str | None
    configured_port: int | None
    configured_at: str | None
    lookup_domain: str | None
    discovered_host: str | None
    discovered_port: int | None
    discovered_ip: str | None
    kms_host_pid: str | None
    activation_interval_minutes: int | None
    renewal_interval_minutes: int | None
    host_caching: bool | None
    activation_type: str | None


@dataclasses.dataclass(frozen=True)
class LicensingService:
    """``SoftwareLicensingService`` (``source='spp'``) or ``OfficeSoftwareProtectionService`` (``'ospp'``)."""

    source: str
    version: str | None
    cmid: str | None
    remaining_windows_rearm_count: int | None
    kms_machine: str | None
    kms_port: int | None
    lookup_domain: str | None
    discovered_kms_machine: str | None
    discovered_kms_port: int | None
    activation_interval_minutes: int | None
    renewal_interval_minutes: int | None
    is_kms_host: bool
    current_count: int | None
    required_count: int | None
    listening_port: int | None
    dns_publishing: bool | None
    low_priority: bool | None
    host_caching: bool | None
    activation_type_enabled: str | None
    kms_host_pid: str | None
    requests: KmsRequests
    raw: t.Mapping[str, t.Any] = dataclasses.field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_cim(cls, props: t.Mapping[str, t.Any], source: str) -> LicensingService:
        """Parse one service instance. ``source`` is ``spp`` or ``ospp``."""
        machine = text(props.get("KeyManagementServiceMachine"))
        return cls(
            source=source,
            version=text(props.get("Version")),
            cmid=text(props.get("ClientMachineID")),
            remaining_windows_rearm_count=u32(props.get("RemainingWindowsReArmCount")),
            kms_machine=machine,
            kms_port=port(props.get("KeyManagementServicePort")) if machine else None,
            lookup_domain=text(props.get("KeyManagementServiceLookupDomain")),
            discovered_kms_machine=text(props.get("DiscoveredKeyManagementServiceMachineName")),
            discovered_kms_port=u32(props.get("DiscoveredKeyManagementServiceMachinePort")) or None,
            activation_interval_minutes=u32(props.get("VLActivationInterval")),
            renewal_interval_minutes=u32(props.get("VLRenewalInterval")),
            is_kms_host=(u32(props.get("IsKeyManagementServiceMachine")) or 0) > 0,
            current_count=u32_signed(props.get("KeyManagementServiceCurrentCount")),
            required_count=u32(props.get("RequiredClientCount")),
            listening_port=port(props.get("KeyManagementServiceListeningPort")),
            dns_publishing=flag(props.get("KeyManagementServiceDnsPublishing")),
            low_priority=flag(props.get("KeyManagementServiceLowPriority")),
            host_caching=flag(props.get("KeyManagementServiceHostCaching")),
            # No Windows version has VLActivationTypeEnabled on the service (see
            # SPP_SERVICE_PROPERTIES): parse_state fills this from the products' effective value.
            activation_type_enabled=None,
            kms_host_pid=text(props.get("KeyManagementServiceProductKeyID")),
            requests=KmsRequests.from_cim(props),
            raw=dict(props),
        )

    def with_products(self, products: t.Sequence[LicensingProduct]) -> LicensingService:
        """This service with ``activation_type_enabled`` taken from its KMS client products: a
        product shows the effective activation type (its own, or the service's, as slmgr /dlv
        shows "Configured Activation Type" from the product), so the service's value is known
        when every KMS client product agrees; None otherwise (and on Windows 7, which has none)."""
        types = {p.kms_client.activation_type for p in products if p.source == self.source and p.kms_client}
        value = types.pop() if len(types) == 1 else None
        return dataclasses.replace(self, activation_type_enabled=value)


@dataclasses.dataclass(frozen=True)
class LicensingProduct:
    """One ``SoftwareLicensingProduct`` / ``OfficeSoftwareProtectionProduct`` with derived fields.

    Derived: ``family`` (windows / office2010 / office / other, from ApplicationID),
    ``channel`` (:func:`classify_channel`), ``status`` (name of LicenseStatus),
    ``grace_expires`` (host time + GracePeriodRemaining minutes; None when 0),
    ``office_version``, ``kms_client`` (for KMS client products) and ``kms_host``
    (when IsKeyManagementServiceMachine is set), both needing the service.
    ``partial_product_key`` is None when no key is installed (NULL).
    """

    source: str
    id: str
    name: str | None
    description: str | None
    application_id: str | None
    family: str
    office_version: str | None
    channel: str
    product_key_channel: str | None
    partial_product_key: str | None
    product_key_id: str | None
    license_status: int | None
    status: str
    status_reason: int | None
    grace_remaining_minutes: int | None
    grace_expires: dt.datetime | None
    evaluation_end_date: dt.datetime | None
    license_is_addon: bool | None
    remaining_app_rearm_count: int | None
    remaining_sku_rearm_count: int | None
    is_kms_host: bool
    kms_client: KmsClientView | None
    kms_host: KmsHostView | None
    offline_installation_id: str | None = dataclasses.field(repr=False, default=None)
    raw: t.Mapping[str, t.Any] = dataclasses.field(repr=False, compare=False, default_factory=dict)

    @property
    def has_key(self) -> bool:
        return self.partial_product_key is not None

    @property
    def activated(self) -> bool:
        """Licensed (LicenseStatus 1)."""
        return self.license_status == 1

    @property
    def status_reason_info(self) -> dict[str, t.Any] | None:
        """:func:`_errors.describe` of a non-zero LicenseStatusReason, else None."""
        if not self.status_reason:
            return None
        return _errors.describe(self.status_reason)

    @classmethod
    def from_cim(
        cls,
        props: t.Mapping[str, t.Any],
        source: str,
        service: LicensingService | None,
        host_time: dt.datetime | None,
    ) -> LicensingProduct:
        """Parse one product instance; ``service`` supplies service-level KMS settings."""
        app_id = text(props.get("ApplicationID"))
        act_id = text(props.get("ID")) or ""
        name = text(props.get("Name"))
        description = text(props.get("Description"))
        pkc = text(props.get("ProductKeyChannel"))
        channel = classify_channel(pkc, description)
        status_code = u32(props.get("LicenseStatus"))
        grace = u32(props.get("GracePeriodRemaining"))
        grace_expires = host_time + dt.timedelta(minutes=grace) if (grace and host_time) else None
        is_host = (u32(props.get("IsKeyManagementServiceMachine")) or 0) > 0
        ppk = text(props.get("PartialProductKey"))

        kms_client = None
        if channel == "kms_client":
            p_machine = text(props.get("KeyManagementServiceMachine"))
            s_machine = service.kms_machine if service else None
            # A product reports the effective host: its own, or the service's (slmgr /skms). The
            # same name as the service's is taken as the service's, as kms_client does.
            if p_machine and not (s_machine and p_machine.lower() == s_machine.lower()):
                c_host, c_port, c_at = p_machine, port(props.get("KeyManagementServicePort")), "product"
            elif s_machine:
                c_host, c_port, c_at = s_machine, service.kms_port if service else None, "service"
            else:
                c_host, c_port, c_at = None, None, None
            ate = u32(props.get("VLActivationTypeEnabled"))
            kms_client = KmsClientView(
                configured_host=c_host,
                configured_port=c_port,
                configured_at=c_at,
                lookup_domain=text(props.get("KeyManagementServiceLookupDomain"))
                or (service.lookup_domain if service else None),
                discovered_host=text(props.get("DiscoveredKeyManagementServiceMachineName")),
                discovered_port=u32(props.get("DiscoveredKeyManagementServiceMachinePort")) or None,
                discovered_ip=text(props.get("DiscoveredKeyManagementServiceMachineIpAddress")),
                kms_host_pid=text(props.get("KeyManagementServiceProductKeyID")),
                activation_interval_minutes=u32(props.get("VLActivationInterval")),
                renewal_interval_minutes=u32(props.get("VLRenewalInterval")),
                host_caching=service.host_caching if service else None,
                activation_type=ACTIVATION_TYPE_NAMES.get(ate) if ate is not None else None,
            )

        kms_host = None
        if is_host:
            kms_host = KmsHostView(
                current_count=u32_signed(props.get("KeyManagementServiceCurrentCount")),
                required_count=u32(props.get("RequiredClientCount")),
                listening_port=service.listening_port if service else None,
                dns_publishing=service.dns_publishing if service else None,
                low_priority=service.low_priority if service else None,
                host_caching=service.host_caching if service else None,
                requests=KmsRequests.from_cim(props),
            )

        return cls(
            source=source,
            id=act_id.lower(),
            name=name,
            description=description,
            application_id=app_id.lower() if app_id else None,
            family=_products.family_of(app_id),
            office_version=_products.office_version(name, app_id, act_id),
            channel=channel,
            product_key_channel=pkc,
            partial_product_key=ppk,
            product_key_id=text(props.get("ProductKeyID")),
            license_status=status_code,
            status=LICENSE_STATUS_NAMES.get(status_code, "unknown") if status_code is not None else "unknown",
            status_reason=u32(props.get("LicenseStatusReason")),
            grace_remaining_minutes=grace,
            grace_expires=grace_expires,
            evaluation_end_date=parse_datetime(props.get("EvaluationEndDate")),
            license_is_addon=flag(props.get("LicenseIsAddon")),
            remaining_app_rearm_count=u32(props.get("RemainingAppReArmCount")),
            remaining_sku_rearm_count=u32(props.get("RemainingSkuReArmCount")),
            is_kms_host=is_host,
            kms_client=kms_client,
            kms_host=kms_host,
            offline_installation_id=text(props.get("OfflineInstallationId")),
            raw=dict(props),
        )


@dataclasses.dataclass(frozen=True)
class OperatingSystem:
    """What ``Win32_OperatingSystem`` says; ``local_time`` is the host's clock."""

    caption: str | None
    version: str | None
    build_number: str | None
    sku: int | None
    product_type: int | None
    local_time: dt.datetime | None

    @classmethod
    def from_cim(cls, props: t.Mapping[str, t.Any]) -> OperatingSystem:
        return cls(
            caption=text(props.get("Caption")),
            version=text(props.get("Version")),
            build_number=text(props.get("BuildNumber")),
            sku=u32(props.get("OperatingSystemSKU")),
            product_type=u32(props.get("ProductType")),
            local_time=parse_datetime(props.get("LocalDateTime")),
        )


@dataclasses.dataclass(frozen=True)
class HostState:
    """Everything one read batch learned about a host.

    ``ospp_service`` is None and ``ospp_present`` False when the OSPP classes do not
    exist (0x80041010); ``ospp_present`` is None when they were not queried.
    ``errors`` lists query failures other than that one, as ``(class, describe())``.
    """

    os: OperatingSystem | None
    service: LicensingService | None
    ospp_service: LicensingService | None
    ospp_present: bool | None
    products: tuple[LicensingProduct, ...]
    errors: tuple[tuple[str, dict[str, t.Any]], ...] = ()

    @property
    def host_time(self) -> dt.datetime | None:
        return self.os.local_time if self.os else None

    def product(self, activation_id: str) -> LicensingProduct | None:
        """The product with this activation ID (case-insensitive), SPP first."""
        aid = activation_id.strip().lower().strip("{}")
        for p in self.products:
            if p.id == aid:
                return p
        return None

    @property
    def primary_windows(self) -> LicensingProduct | None:
        """The primary Windows SKU: Windows ApplicationID, a key installed and not an add-on [SLMGR10]."""
        for p in self.products:
            if p.family == "windows" and p.has_key and not p.license_is_addon:
                return p
        return None

    @property
    def kms_host_products(self) -> tuple[LicensingProduct, ...]:
        """Products with a key whose KMS host role is enabled."""
        return tuple(p for p in self.products if p.is_kms_host and p.has_key)

    def service_for(self, product: LicensingProduct) -> LicensingService | None:
        return self.ospp_service if product.source == "ospp" else self.service


# --------------------------------------------------------------------------- queries


def wql_string(value: str) -> str:
    """Quote a value for a WQL string literal (backslash and quote escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclasses.dataclass(frozen=True)
class StateQuery:
    """What a read batch asks for.

    ``activation_ids``: only these products (any state); ``include_unlicensed``:
    also products without a key (otherwise ``PartialProductKey <> null``, as
    ``slmgr /dlv all`` shows); ``application``: ``all``, ``windows`` or ``office``
    (``windows`` skips the OSPP classes entirely); ``include_os``: read
    Win32_OperatingSystem (needed for grace dates).
    """

    activation_ids: tuple[str, ...] = ()
    include_unlicensed: bool = False
    application: str = "all"
    include_os: bool = True

    def product_filter(self, family_ids: t.Sequence[str] = ()) -> str | None:
        parts: list[str] = []
        if self.activation_ids:
            parts.append("(" + " OR ".join(f"ID = {wql_string(a)}" for a in self.activation_ids) + ")")
        elif not self.include_unlicensed:
            parts.append("PartialProductKey <> null")
        if family_ids:
            parts.append("(" + " OR ".join(f"ApplicationID = {wql_string(a)}" for a in family_ids) + ")")
        return " AND ".join(parts) or None

    def operations(self) -> list[dict[str, t.Any]]:
        """The ``cim_query`` operations, in the order :func:`parse_state` expects."""
        ops: list[dict[str, t.Any]] = []
        if self.include_os:
            ops.append({"op": "cim_query", "class": OS_CLASS, "properties": list(OS_PROPERTIES)})
        app_ids: tuple[str, ...]
        if self.application == "windows":
            app_ids = (_products.WINDOWS_APP_ID,)
        elif self.application == "office":
            # Office KMS host licenses live in Windows SPP: 2010's under its own application ID.
            app_ids = (_products.OFFICE_APP_ID, _products.OFFICE2010_APP_ID)
        else:
            app_ids = ()
        ops.append(licensing_query(SPP_SERVICE))
        ops.append(licensing_query(SPP_PRODUCT, self.product_filter(app_ids)))
        if self.application != "windows":
            # OSPP holds Office 2010 and, on Windows 7, Office 2013+: no ApplicationID filter needed
            # beyond "not Windows", and OSPP has no Windows products.
            ops.append(licensing_query(OSPP_SERVICE))
            ops.append(licensing_query(OSPP_PRODUCT, self.product_filter()))
        return ops


def _instances(result: t.Mapping[str, t.Any] | None) -> list[t.Mapping[str, t.Any]]:
    if not result or not result.get("ok"):
        return []
    return list(result.get("instances") or [])


def parse_state(query: StateQuery, results: t.Sequence[t.Mapping[str, t.Any]]) -> HostState:
    """Build a :class:`HostState` from the executor results of ``query.operations()``.

    ``results`` are the raw result dicts, aligned with the operations (extra
    trailing results are ignored). A failed query of an OSPP class with
    0x80041010 means OSPP is absent; other failures are recorded in ``errors``.
    """
    ops = query.operations()
    if len(results) < len(ops):
        raise ValueError(f"expected {len(ops)} results for the state query, got {len(results)}")
    by_class: dict[str, t.Mapping[str, t.Any]] = {op["class"]: results[i] for i, op in enumerate(ops)}
    errors: list[tuple[str, dict[str, t.Any]]] = []
    ospp_present: bool | None = None
    for cls_name, res in by_class.items():
        if res.get("ok") or res.get("skipped"):
            continue
        code = res.get("hresult")
        if cls_name in (OSPP_SERVICE, OSPP_PRODUCT) and code == 0x80041010:
            ospp_present = False
            continue
        desc = _errors.describe(code, res.get("error")) if code is not None else {"message": res.get("error")}
        errors.append((cls_name, desc))

    os_info = None
    if OS_CLASS in by_class:
        os_inst = _instances(by_class[OS_CLASS])
        os_info = OperatingSystem.from_cim(os_inst[0]) if os_inst else None
    host_time = os_info.local_time if os_info else None

    spp = _instances(by_class.get(SPP_SERVICE))
    service = LicensingService.from_cim(spp[0], "spp") if spp else None
    ospp_service = None
    if OSPP_SERVICE in by_class and ospp_present is None:
        ospp = _instances(by_class[OSPP_SERVICE])
        ospp_present = bool(ospp) if by_class[OSPP_SERVICE].get("ok") else None
        ospp_service = LicensingService.from_cim(ospp[0], "ospp") if ospp else None

    products = [LicensingProduct.from_cim(p, "spp", service, host_time) for p in _instances(by_class.get(SPP_PRODUCT))]
    if ospp_service is not None:
        products += [
            LicensingProduct.from_cim(p, "ospp", ospp_service, host_time) for p in _instances(by_class.get(OSPP_PRODUCT))
        ]
    if service is not None:
        service = service.with_products(products)
    return HostState(
        os=os_info,
        service=service,
        ospp_service=ospp_service,
        ospp_present=ospp_present,
        products=tuple(products),
        errors=tuple(errors),
    )


# --------------------------------------------------------------------------- views for results


def kms_requests_dict(r: KmsRequests) -> dict[str, int | None]:
    return dataclasses.asdict(r)


def product_dict(p: LicensingProduct) -> dict[str, t.Any]:
    """The JSON view of a product used in module results. Never holds a full key:
    only ``partial_product_key`` (last 5, as Windows stores it)."""
    reason = p.status_reason_info
    out: dict[str, t.Any] = {
        "activation_id": p.id,
        "application_id": p.application_id,
        "name": p.name,
        "description": p.description,
        "family": p.family,
        "office_version": p.office_version,
        "source": p.source,
        "channel": p.channel,
        "product_key_channel": p.product_key_channel,
        "partial_product_key": p.partial_product_key,
        "masked_product_key": _keys.mask_product_key(p.partial_product_key),
        "product_key_id": p.product_key_id,
        "license_status": p.status,
        "license_status_code": p.license_status,
        "license_status_reason": reason,
        "activated": p.activated,
        "grace_remaining_minutes": p.grace_remaining_minutes,
        "grace_expires": iso(p.grace_expires),
        "evaluation_end_date": iso(p.evaluation_end_date),
        "is_addon": p.license_is_addon,
        "remaining_app_rearm_count": p.remaining_app_rearm_count,
        "remaining_sku_rearm_count": p.remaining_sku_rearm_count,
        "kms_client": dataclasses.asdict(p.kms_client) if p.kms_client else None,
        "kms_host": dataclasses.asdict(p.kms_host) if p.kms_host else None,
        "activated_by": activated_by(p),
        "ad_activation": ad_activation_dict(p),
    }
    return out


def activated_by(p: LicensingProduct) -> str | None:
    """How an activated KMS client product got its licence: ``ad`` (VLActivationType 1, an
    Active Directory activation object), ``token`` (3) or ``kms``; None for other products or
    when not activated. VLActivationType is Windows 8+ [SLMGR10 IsADActivated]; without it
    (Windows 7, OSPP) a KMS client can only have used KMS."""
    if p.channel != "kms_client" or not p.activated:
        return None
    vat = u32(p.raw.get("VLActivationType"))
    return {1: "ad", 3: "token"}.get(vat or 0, "kms")


def ad_activation_dict(p: LicensingProduct) -> dict[str, str | None] | None:
    """The activation object of the last AD activation (``ADActivationObjectName``,
    ``ADActivationObjectDN``, ``ADActivationCsvlkPid``, ``ADActivationCsvlkSkuId``, Windows 8+
    [SLMGR10 /dlv]), or None when the product was not activated through AD."""
    name = text(p.raw.get("ADActivationObjectName"))
    if u32(p.raw.get("VLActivationType")) != 1 or not name:
        return None
    sku = text(p.raw.get("ADActivationCsvlkSkuId"))
    return {"object_name": name, "object_dn": text(p.raw.get("ADActivationObjectDN")),
            "csvlk_pid": text(p.raw.get("ADActivationCsvlkPid")),
            "csvlk_sku_id": sku.strip("{}").lower() if sku else None}


def service_dict(s: LicensingService) -> dict[str, t.Any]:
    """The JSON view of a licensing service."""
    return {
        "source": s.source,
        "version": s.version,
        "cmid": s.cmid,
        "remaining_windows_rearm_count": s.remaining_windows_rearm_count,
        "kms_client": {
            "configured_host": s.kms_machine,
            "configured_port": s.kms_port,
            "lookup_domain": s.lookup_domain,
            "discovered_host": s.discovered_kms_machine,
            "discovered_port": s.discovered_kms_port,
            "activation_interval_minutes": s.activation_interval_minutes,
            "renewal_interval_minutes": s.renewal_interval_minutes,
            "host_caching": s.host_caching,
            "activation_type": s.activation_type_enabled,
        },
        "is_kms_host": s.is_kms_host,
        "kms_host": {
            "current_count": s.current_count,
            "required_count": s.required_count,
            "listening_port": s.listening_port,
            "dns_publishing": s.dns_publishing,
            "low_priority": s.low_priority,
            "host_caching": s.host_caching,
            "requests": kms_requests_dict(s.requests),
        }
        if s.is_kms_host
        else None,
    }


def summary_dict(state: HostState) -> dict[str, t.Any]:
    """Per-host summary: Windows activated?, each Office product activated?, KMS host?"""
    win = state.primary_windows
    office = [
        {
            "name": p.name,
            "activation_id": p.id,
            "version": p.office_version,
            "channel": p.channel,
            "license_status": p.status,
            "activated": p.activated,
            "activated_by": activated_by(p),
        }
        for p in state.products
        if p.family in ("office", "office2010") and p.has_key and not p.is_kms_host
    ]
    clients = [p for p in state.products if p.channel == "kms_client" and p.has_key]
    hosts = [
        {
            "name": p.name,
            "activation_id": p.id,
            "family": p.family,
            "office_version": p.office_version,
            "activated": p.activated,
            "current_count": p.kms_host.current_count if p.kms_host else None,
            "required_count": p.kms_host.required_count if p.kms_host else None,
        }
        for p in state.kms_host_products
    ]
    return {
        "windows_activated": win.activated if win else None,
        "windows_status": win.status if win else None,
        "windows_product": win.name if win else None,
        "office": office,
        "office_activated": all(o["activated"] for o in office) if office else None,
        "kms_host": bool(hosts),
        "kms_host_products": hosts,
        "ospp_present": state.ospp_present,
        "windows_activated_by": activated_by(win) if win else None,
        # KMS client products activated through Active Directory, and those that still need a
        # KMS host (not activated through AD: older products, computers outside the domain).
        "activated_by_ad": sum(1 for p in clients if activated_by(p) == "ad"),
        "needs_kms_host": sum(1 for p in clients if activated_by(p) != "ad"),
    }


def edition_of(product_name: str | None) -> str | None:
    """``ServerStandard`` from ``Windows(R), ServerStandard edition`` ([SLMGR10] /dlv Name lines)."""
    if not product_name or "," not in product_name:
        return None
    tail = product_name.rsplit(",", 1)[1].strip()
    if tail.lower().endswith(" edition"):
        return tail[: -len(" edition")].strip() or None
    return None


def os_dict(state: HostState) -> dict[str, t.Any] | None:
    if state.os is None:
        return None
    win = state.primary_windows
    return {
        "caption": state.os.caption,
        "version": state.os.version,
        "build_number": state.os.build_number,
        "operating_system_sku": state.os.sku,
        "product_type": state.os.product_type,
        "edition": edition_of(win.name) if win else None,
        "local_time": iso(state.os.local_time),
    }
