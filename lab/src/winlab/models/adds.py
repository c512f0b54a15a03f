"""Active Directory-based activation (ADBA): the fleet's forest, its activation objects,
and what a domain-joined KMS client does with them.

Sources (Microsoft's documentation unless marked):

* [ADBA-CLIENT] MicrosoftDocs/windows-itpro-docs
  ``windows/deployment/volume-activation/activate-windows-10-clients-vamt.md``: "If the
  computer is a member of a domain, it asks a domain controller for a volume activation
  object ... If the object matches the edition of the software that is installed and the
  computer has a matching GVLK, the computer is activated (or reactivated), and it will not
  need to be activated again for 180 days, although the operating system will attempt
  reactivation at much shorter, regular intervals"; "If the computer isn't a member of a
  domain or if the volume activation object isn't available, the computer will issue a DNS
  query to attempt to locate a KMS server".
* [ADBA-OVERVIEW] same repository, ``active-directory-based-activation-overview.md`` and
  ``activate-using-active-directory-based-activation-client.md``: an activation object is
  created by submitting a KMS host key (CSVLK) to Microsoft, online or by proxy; no KMS
  host, no activation threshold; Windows 8 / Server 2012 and later, Office 2013 and later.
* [ADSCHEMA] MicrosoftDocs/win32 ``desktop-src/ADSchema/c-msspp-activationobject.md``:
  class ``msSPP-ActivationObject``; container and attribute names as slmgr.vbs uses them
  (``CN=Activation Objects,CN=Microsoft SPP,CN=Services,`` + configurationNamingContext,
  ``displayName``, ``msSPP-CSVLKSkuId``, ``msSPP-CSVLKPid``,
  ``msSPP-CSVLKPartialProductKey``) [SLMGR10 /ao-list, /del-ao].
* [WMI-SLS] microsoft/wmi (generated SoftwareLicensingService bindings):
  ``DoActiveDirectoryOnlineActivation(ProductKey, ActivationObjectName)``,
  ``GenerateActiveDirectoryOfflineActivationId(ProductKey, out InstallationID)``,
  ``DepositActiveDirectoryOfflineActivationConfirmation(ProductKey, ConfirmationID,
  ActivationObjectName)``. ``Get-ADLicenseInfo -ProductKey`` (learn.microsoft.com
  powershell/module/oslicense) documents the installation ID generation as read-only.
* [SLERROR.H] ``SL_E_VL_AD_AO_NOT_FOUND`` 0xC004F081, ``SL_E_VL_AD_AO_NAME_TOO_LONG``
  0xC004F082.

Lab choices, marked [LAB] in the code:

* an AD-activated client re-checks with AD at its renewal interval (the "much shorter,
  regular intervals" of [ADBA-CLIENT]; 7 days by default) and after a failure at its
  activation interval (2 hours), as a KMS client does;
* an activation object activates the products a KMS host with the same CSVLK would
  (same coverage table as the lab's KMS host);
* the forest counts as one "host" of the CSVLK at the activation service (its host and
  per-host activation limits apply), since the CSVLK is submitted once per forest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

from winlab.models import catalog, errors
from winlab.models.errors import WmiError
from winlab.spec import KeySpec

if t.TYPE_CHECKING:
    from winlab.models.host import WindowsHost
    from winlab.models.licensing import Product

CONTAINER_RDN = "CN=Activation Objects,CN=Microsoft SPP,CN=Services"  # [SLMGR10] ADActObjContainer
OBJECT_CLASS = "msSPP-ActivationObject"  # [ADSCHEMA]
#: The cn attribute holds at most 64 characters (rangeUpper 64 of Common-Name) [LAB: the
#: licensing service's own limit is not documented; it answers 0xC004F082 beyond it].
MAX_NAME = 64
SL_E_VL_AD_AO_NOT_FOUND = 0xC004F081
SL_E_VL_AD_AO_NAME_TOO_LONG = 0xC004F082
SL_E_TKA_SILENT_ACTIVATION_FAILURE = 0xC004F302
HR_ERROR_NO_SUCH_DOMAIN = 0x8007054B
HR_ERROR_DS_NO_SUCH_OBJECT = 0x80072030  # [SLMGR10] HR_ERROR_DS_NO_SUCH_OBJECT
HR_ERROR_OBJECT_ALREADY_EXISTS = 0x80071392  # ERROR_OBJECT_ALREADY_EXISTS (5010)
AD_VALIDITY = dt.timedelta(days=180)  # [ADBA-CLIENT]
errors.MESSAGES.setdefault(SL_E_VL_AD_AO_NOT_FOUND, "The Software Licensing Service reported that the Active "
                           "Directory Activation Object could not be found or was invalid.")
errors.MESSAGES.setdefault(SL_E_VL_AD_AO_NAME_TOO_LONG, "The Software Licensing Service reported that the name "
                           "specified for the Active Directory Activation Object is too long.")
errors.MESSAGES.setdefault(SL_E_TKA_SILENT_ACTIVATION_FAILURE, "The Software Licensing Service reported that Silent "
                           "Activation failed. The Software Licensing Service reported that there are no "
                           "certificates found in the system that could activate the product without user "
                           "interaction.")
errors.MESSAGES.setdefault(HR_ERROR_NO_SUCH_DOMAIN, "The specified domain either does not exist or could not be "
                           "contacted.")
errors.MESSAGES.setdefault(HR_ERROR_DS_NO_SUCH_OBJECT, "There is no such object on the server.")
errors.MESSAGES.setdefault(HR_ERROR_OBJECT_ALREADY_EXISTS, "The object already exists.")

#: VLActivationTypeEnabled [MS-SLP]: 0 all, 1 AD only, 2 KMS only, 3 token only.
TYPE_ALL, TYPE_AD, TYPE_KMS, TYPE_TOKEN = 0, 1, 2, 3


def naming_context(domain: str) -> str:
    """``corp.example.test`` -> ``DC=corp,DC=example,DC=test``."""
    return ",".join(f"DC={label}" for label in domain.split("."))


@dataclasses.dataclass
class ActivationObject:
    """One ``msSPP-ActivationObject``: made from a CSVLK; never holds the key itself."""

    name: str  # displayName (= cn)
    dn: str
    key_name: str  # the fleet key (KeySpec.name) it was made from
    csvlk_product: str  # KeySpec.product, e.g. windows-server-2022 or office-2016
    sku_id: str  # msSPP-CSVLKSkuId: the KMS host SKU's activation ID
    pid: str  # msSPP-CSVLKPid: extended PID
    partial_key: str  # msSPP-CSVLKPartialProductKey
    created: dt.datetime

    def as_ldap(self) -> dict[str, t.Any]:
        """The attributes slmgr.vbs /ao-list reads [SLMGR10], plus cn."""
        return {"cn": self.name, "displayName": self.name, "distinguishedName": self.dn,
                "msSPP-CSVLKSkuId": self.sku_id, "msSPP-CSVLKPid": self.pid,
                "msSPP-CSVLKPartialProductKey": self.partial_key}

    def covers(self, p_family: str, p_product: str, office_version: str, server: bool, rank: int) -> bool:
        """Whether a KMS client product matches the object [ADBA-CLIENT "matches the edition"]:
        Windows by the CSVLK's coverage table, Office by version (2013 and later only)."""
        release, _ = catalog.parse_key_product(self.csvlk_product)
        ov = catalog.office_version_of(release)
        if p_product == "windows":
            if ov is not None:
                return False
            max_server, max_client = catalog.CSVLK_COVERAGE.get(release, (0, 0))
            return 0 < rank <= (max_server if server else max_client)
        return ov is not None and ov == office_version and ov != "2010"


class Forest:
    """The forest of the fleet's domain (one domain, the forest root): its configuration
    naming context and the activation objects container. Mutate under ``world.lock``."""

    def __init__(self, domain: str) -> None:
        self.domain = domain
        self.config_nc = f"CN=Configuration,{naming_context(domain)}"
        self.container_dn = f"{CONTAINER_RDN},{self.config_nc}"
        self.objects: dict[str, ActivationObject] = {}  # lower-case name -> object
        self.version = 0  # grows with each change (timers compare it)

    def object_dn(self, name: str) -> str:
        """The DN an object called ``name`` gets."""
        return f"CN={name},{self.container_dn}"

    def find(self, name_or_dn: str) -> ActivationObject | None:
        """An object by name, ``CN=name`` or DN (case-insensitive), as slmgr /del-ao accepts."""
        s = name_or_dn.strip()
        low = s.lower()
        if ",cn=" in low:
            return next((o for o in self.objects.values() if o.dn.lower() == low), None)
        return self.objects.get(low.removeprefix("cn="))

    def add(self, obj: ActivationObject) -> None:
        """Create an object; 0x80071392 when the name is taken."""
        if obj.name.lower() in self.objects:
            raise WmiError(HR_ERROR_OBJECT_ALREADY_EXISTS, f"activation object '{obj.name}' exists")
        self.objects[obj.name.lower()] = obj
        self.version += 1

    def remove(self, dn: str) -> bool:
        """Delete the object with this DN; False when there is none."""
        obj = self.find(dn)
        if obj is None or obj.dn.lower() != dn.strip().lower():
            return False
        del self.objects[obj.name.lower()]
        self.version += 1
        return True

    def snapshot(self) -> dict[str, t.Any]:
        """JSON-able state (no key: the partial key only)."""
        return {"domain": self.domain, "container": self.container_dn,
                "objects": [{**o.as_ldap(), "key_name": o.key_name, "created": o.created.isoformat()}
                            for o in sorted(self.objects.values(), key=lambda o: o.name.lower())]}


def check_name(name: str) -> str:
    """The activation object name as the service takes it: E_INVALIDARG when empty or with
    characters an RDN value cannot hold unescaped [LAB], 0xC004F082 when too long."""
    n = (name or "").strip()
    if not n or any(c in n for c in ',=+<>#;"\\') or any(ord(c) < 32 for c in n):
        raise WmiError(errors.E_INVALIDARG, f"activation object name '{name}' is not a valid name")
    if len(n) > MAX_NAME:
        raise WmiError(SL_E_VL_AD_AO_NAME_TOO_LONG, f"{len(n)} characters, at most {MAX_NAME}")
    return n


def csvlk_sku_id(spec: KeySpec) -> str:
    """msSPP-CSVLKSkuId: the KMS host SKU of the CSVLK's product. Office hosts have real IDs
    (§2); Windows KMS host SKU IDs are not published: [LAB-SYNTH]."""
    release, _ = catalog.parse_key_product(spec.product)
    ov = catalog.office_version_of(release)
    if ov is not None and ov in catalog.OFFICE_VERSIONS:
        return catalog.office_host_sku(ov).id
    return catalog.synth_id(f"{release}/CSVLK")


def resolve_csvlk(world_keys: t.Callable[[str], KeySpec | None], key: str) -> KeySpec:
    """The fleet's CSVLK for ``key``; 0xC004F050 for anything else (a GVLK, a MAK, a retail
    key or an unknown key: only a KMS host key makes an activation object [ADBA-OVERVIEW]).
    An Office 2010 CSVLK is refused too: Office 2010 has no AD-based activation."""
    spec = world_keys(key.strip().upper())
    if spec is None or spec.kind != "csvlk":
        raise WmiError(errors.SL_E_INVALID_PRODUCT_KEY, "not a KMS host key (CSVLK) of this fleet")
    release, _ = catalog.parse_key_product(spec.product)
    if catalog.office_version_of(release) == "2010":
        raise WmiError(errors.SL_E_INVALID_PRODUCT_KEY, "Office 2010 has no Active Directory-based activation")
    return spec


# -- the SoftwareLicensingService methods (run on a domain-joined management host) ----------
def _forest_of(host: WindowsHost) -> Forest:
    if not host.domain_joined:
        # The machine has no domain to look the forest up in [LAB: ADSystemInfo fails so].
        raise WmiError(HR_ERROR_NO_SUCH_DOMAIN, f"{host.name} is not joined to a domain")
    return host.world.forest


def _forest_identity(forest: Forest) -> str:
    """The "machine" the activation service records a forest activation under [LAB]."""
    return f"forest:{forest.domain}"


def _new_object(host: WindowsHost, forest: Forest, spec: KeySpec, key: str, name: str) -> ActivationObject:
    rng = host.world.rng
    lcid = 1041 if host.locale == "ja-JP" else 1033
    pid = (f"{rng.digits(5)}-{rng.digits(5)}-{rng.digits(3)}-{rng.digits(6)}-03-{lcid}-"
           f"{host.os.build}.0000-{rng.randint(1, 365):03d}{host.now.year}")
    return ActivationObject(name=name, dn=forest.object_dn(name), key_name=spec.name, csvlk_product=spec.product,
                            sku_id=csvlk_sku_id(spec), pid=pid, partial_key=key.strip().upper()[-5:],
                            created=host.now)


def online_activation(host: WindowsHost, key: str, name: str) -> None:
    """``DoActiveDirectoryOnlineActivation(ProductKey, ActivationObjectName)`` [WMI-SLS]:
    Microsoft activates the CSVLK for the forest (the activation service counts it) and
    the object is created in the container."""
    forest = _forest_of(host)
    spec = resolve_csvlk(host.world.activation_service.lookup, key)
    n = check_name(name)
    if forest.find(n) is not None:
        raise WmiError(HR_ERROR_OBJECT_ALREADY_EXISTS, f"activation object '{n}' exists")
    host.world.activation_service.activate(spec, _forest_identity(forest), csvlk_sku_id(spec), channel="ad-online")
    forest.add(_new_object(host, forest, spec, key, n))
    host.log({"op": "ad_online_activation", "object": n, "key": spec.name})


def installation_id(host: WindowsHost, key: str) -> str:
    """``GenerateActiveDirectoryOfflineActivationId(ProductKey, out InstallationID)``: the
    forest's installation ID for the CSVLK; changes nothing (the lab registers the IID with
    the activation service so the phone line can answer it)."""
    forest = _forest_of(host)
    spec = resolve_csvlk(host.world.activation_service.lookup, key)
    return host.world.activation_service.installation_id(spec, key.strip().upper(), _forest_identity(forest),
                                                         csvlk_sku_id(spec))


def deposit_confirmation(host: WindowsHost, key: str, cid: str, name: str) -> None:
    """``DepositActiveDirectoryOfflineActivationConfirmation(ProductKey, ConfirmationID,
    ActivationObjectName)``: the CID the phone line gave for the forest's IID creates the
    object; a wrong CID fails as ``DepositOfflineConfirmationId`` does."""
    forest = _forest_of(host)
    spec = resolve_csvlk(host.world.activation_service.lookup, key)
    n = check_name(name)
    if forest.find(n) is not None:
        raise WmiError(HR_ERROR_OBJECT_ALREADY_EXISTS, f"activation object '{n}' exists")
    iid = installation_id(host, key)
    host.world.activation_service.check_confirmation(iid, cid)
    forest.add(_new_object(host, forest, spec, key, n))
    host.log({"op": "ad_phone_activation", "object": n, "key": spec.name})


# -- the client side -------------------------------------------------------------------------
def activation_type(host: WindowsHost, p: Product) -> int:
    """VLActivationTypeEnabled in effect for ``p``: the per-SKU value overrides the
    service-wide one [SLMGR10 /act-type with an activation ID]; Windows 8+ only."""
    if not host.os.win8plus:
        return TYPE_ALL
    per_sku = host.registry.get(host._sku_key(p), "VLActivationType")
    if per_sku is not None:
        return host._reg_int(host._sku_key(p), "VLActivationType", TYPE_ALL)
    return host._reg_int(host._root(p.store), "VLActivationType", TYPE_ALL)


def eligible(host: WindowsHost, p: Product) -> bool:
    """Whether ``p`` can activate from AD at all: a GVLK on a domain member, in the Windows
    SPP of Windows 8 / Server 2012 or later (so Windows 7, Office 2010 and Office under
    OSPP never can) [ADBA-OVERVIEW]."""
    return (host.domain_joined and host.os.win8plus and p.store == "spp" and p.key_kind == "gvlk"
            and p.sku.channel == "GVLK")


def matching_object(host: WindowsHost, p: Product) -> ActivationObject | None:
    """The first activation object (by name) that activates ``p``."""
    for obj in sorted(host.world.forest.objects.values(), key=lambda o: o.name.lower()):
        if obj.covers(p.sku.family, p.sku.product, p.sku.office_version, host.os.server, host.os.rank):
            return obj
    return None


def client_attempt(host: WindowsHost, p: Product) -> int | None:
    """The AD part of one activation attempt of a KMS client product (``Activate()`` or the
    licensing service's timers). Returns 0 when AD activated it, an HRESULT when the
    activation type leaves no other way, or None when the attempt goes on to KMS."""
    atype = activation_type(host, p)
    if atype == TYPE_KMS:
        return None
    now = host.now
    if atype == TYPE_TOKEN:
        # Token-based activation is not simulated: no certificate can activate [LAB].
        p.next_attempt_at = now + dt.timedelta(minutes=p.vl_activation_interval)
        p.last_hresult = SL_E_TKA_SILENT_ACTIVATION_FAILURE
        return SL_E_TKA_SILENT_ACTIVATION_FAILURE
    obj = matching_object(host, p) if eligible(host, p) else None
    if obj is not None:
        p.kms_licensed_until = now + AD_VALIDITY
        p.next_attempt_at = now + dt.timedelta(minutes=p.vl_renewal_interval)  # [LAB] see module doc
        p.vl_activation_type = TYPE_AD
        p.last_hresult = 0
        host.ad_activation[p.id] = obj
        host._unreachable.pop(p.id, None)
        return 0
    if atype == TYPE_AD:
        p.next_attempt_at = now + dt.timedelta(minutes=p.vl_activation_interval)
        p.last_hresult = SL_E_VL_AD_AO_NOT_FOUND
        return SL_E_VL_AD_AO_NOT_FOUND
    return None
