# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Planner of the product_key module: which key goes where, and what is refused first.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

Pure Python: no Ansible imports. :func:`parse_request` validates the task's options
(no host contact); :func:`plan_keys` turns the request and the state read in round
trip 1 into a :class:`KeyPlan` (operations, diff, per-target view) or raises
:class:`KeyPlanError` before anything is sent; :func:`outcome` reads the state read
back in round trip 2 and says where each key really landed.

Facts used (tags of docs/reference/licensing-api.md and existing-tools.md, and the seed FAQ):

* ``SoftwareLicensingService.InstallProductKey(ProductKey)`` then
  ``RefreshLicenseStatus()`` is what ``slmgr.vbs /ipk`` does; ``/upk <ID>`` is
  ``SoftwareLicensingProduct.UninstallProductKey()`` on that product, followed by
  ``RefreshLicenseStatus()``; **without an ID every key, Windows' included, is removed**,
  so this module always names the product [MS-SLS] [MS-SLP] [SLMGR10] (§1.3, §2).
* ``OfficeSoftwareProtectionProduct.UninstallProductKey`` is given the product's
  ``ProductKeyID``, by position, as ``ospp.vbs /unpkey`` does
  (``instance.UninstallProductKey(instance.ProductKeyID)`` [OSPP15]); the executor names
  the argument from the class definition (``argument_property``).
* The OSPP service (``OfficeSoftwareProtectionService``) has ``InstallProductKey`` but no
  ``RefreshLicenseStatus`` [OSPP15] (§1.3). Office 2010 keys go to OSPP on every OS;
  Office 2013+ client keys go to OSPP on Windows 7 / 2008 R2 (6.1) and to SPP on
  Windows 8+ [OSPP15 isWin7OS]; every Office **KMS host** key goes to Windows SPP
  (§2: "Office KMS host packs install into Windows SPP").
* The kind of a CSVLK, MAK or retail key cannot be decoded offline (Microsoft's
  pkeyconfig); only the public KMS client setup keys (GVLKs) are known
  ([WSD-KEYS], [ODO-GVLK], [3P] for Office 2010/2013, §3). So ``key_type`` comes from
  the user, and a GVLK given under another ``key_type`` is refused.
* Office KMS host packs by host OS (§5): 2010 only Windows Server 2003, Windows 7
  volume editions and Windows Server 2008 R2, not 2008 [SEED]; 2013 Windows Server
  2008 R2 / Windows 7 VL and later, not 2003 [technet jj219430(v=office.15)]; 2016
  >= 2008 R2 / Windows 7 SP1; 2019 >= 2012 / 8.1; LTSC 2021 >= 2016 / Windows 10;
  LTSC 2024 >= 2022 / Windows 10 [ODO-HOST].
* One Office 2010 KMS host key serves every Office 2010 client product; MAKs are per
  product [SEED] (§3.3).
* A KMS host key installed on a machine that cannot be a host is the first cause the
  seed FAQ gives for "invalid volume license key" [SEED]; Home editions have no volume
  licensing channel: Microsoft publishes no KMS client setup key for them [WSD-KEYS]
  [INFERRED], so they carry no KMS host license either.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from . import _action, _client, _keys, _ledger, _products, _state

#: Targets the ``product`` option names.
PRODUCTS = ("windows", "office2010", "office2013", "office2016", "office2019", "office2021", "office2024")
#: Choices of the ``product`` option: ``all`` and ``office`` only with ``gvlk=auto``.
PRODUCT_CHOICES = ("all", "office", *PRODUCTS)
#: What the user says a key is (a GVLK is also recognised from the public tables).
KEY_TYPES = ("kms_client", "kms_host", "mak", "retail")
KEY_TYPE_WORDS = {
    "kms_client": "KMS client setup key (GVLK)",
    "kms_host": "KMS host key (CSVLK)",
    "mak": "MAK",
    "retail": "retail key",
}
#: ``_state.classify_channel`` names -> ``key_type`` names (others cannot be asked for).
CHANNEL_KEY_TYPES = {"kms_client": "kms_client", "kms_host": "kms_host", "mak": "mak", "retail": "retail"}

_GUID_RE = re.compile(r"^\{?[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}?$")

# Editions without a volume licensing channel (no GVLK in [WSD-KEYS], so no KMS host or
# client license), by the edition ID in the Windows product Name and by
# Win32_OperatingSystem.OperatingSystemSKU (winnt.h PRODUCT_*: ULTIMATE 1, HOME_BASIC 2,
# HOME_PREMIUM 3, HOME_BASIC_N 5, STARTER 11, HOME_PREMIUM_N 26, ULTIMATE_N 28,
# STARTER_N 47, CORE_N 98, CORE_COUNTRYSPECIFIC 99, CORE_SINGLELANGUAGE 100, CORE 101).
NON_VOLUME_EDITIONS = frozenset({
    "core", "coren", "corecountryspecific", "coresinglelanguage",
    "homebasic", "homebasicn", "homepremium", "homepremiumn", "starter", "startern", "ultimate", "ultimaten",
})
NON_VOLUME_SKUS = frozenset({1, 2, 3, 5, 11, 26, 28, 47, 98, 99, 100, 101})

# The edition ID of a volume-capable Win32_OperatingSystem.OperatingSystemSKU (winnt.h
# PRODUCT_*), used when no Windows product holds a key to name the edition (after
# product_key state=absent, or on a machine installed without one). The server core SKUs
# share the edition of their full installation.
SKU_EDITIONS: dict[int, str] = {
    0x04: "Enterprise", 0x06: "Business", 0x07: "ServerStandard", 0x08: "ServerDatacenter",
    0x0A: "ServerEnterprise", 0x0C: "ServerDatacenter", 0x0D: "ServerStandard", 0x0E: "ServerEnterprise",
    0x10: "BusinessN", 0x11: "ServerWeb", 0x1B: "EnterpriseN", 0x1D: "ServerWeb", 0x30: "Professional",
    0x31: "ProfessionalN", 0x79: "Education", 0x7A: "EducationN", 0x7D: "EnterpriseS", 0x7E: "EnterpriseSN",
    0xA1: "ProfessionalWorkstation", 0xA2: "ProfessionalWorkstationN", 0xA4: "ProfessionalEducation",
    0xA5: "ProfessionalEducationN", 0xAB: "EnterpriseG", 0xAC: "EnterpriseGN", 0xAF: "ServerRdsh",
}


class KeyPlanError(_action.PlanningError):
    """A refusal: the message is the whole ``msg`` (never holds a full key)."""


# --------------------------------------------------------------------------- the host's OS


@dataclasses.dataclass(frozen=True)
class OsView:
    """What the checks need from ``Win32_OperatingSystem`` and the primary Windows product."""

    caption: str
    version: str
    major: int
    minor: int
    build: int
    server: bool
    sku: int | None
    edition: str | None
    windows_channel: str | None

    @classmethod
    def from_state(cls, state: _state.HostState) -> OsView | None:
        """None when the OS was not read (the checks that need it are then left to the host)."""
        osi = state.os
        if osi is None or not osi.version:
            return None
        parts = [int(p) if p.isdigit() else 0 for p in osi.version.split(".")]
        parts += [0] * (3 - len(parts))
        number = osi.build_number or ""
        build = int(number) if number.isdigit() else parts[2]
        win = state.primary_windows
        return cls(
            caption=(osi.caption or "Windows").strip(),
            version=osi.version,
            major=parts[0],
            minor=parts[1],
            build=build,
            # ProductType 1 = workstation, 2 = domain controller, 3 = server (Win32_OperatingSystem).
            server=osi.product_type in (2, 3),
            sku=osi.sku,
            edition=(_state.edition_of(win.name) if win else None) or SKU_EDITIONS.get(osi.sku or 0),
            windows_channel=win.channel if win else None,
        )

    @property
    def label(self) -> str:
        """``Microsoft Windows Server 2022 Standard (version 10.0.20348)``."""
        return f"{self.caption} (version {self.version})"

    @property
    def nt(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.build)

    @property
    def release(self) -> str | None:
        """The release as Microsoft's key tables name it (``Windows Server 2022``, ``Windows 11``)."""
        mm = (self.major, self.minor)
        if self.server:
            if mm != (10, 0):
                return {(5, 2): "Windows Server 2003", (6, 0): "Windows Server 2008", (6, 1): "Windows Server 2008 R2",
                        (6, 2): "Windows Server 2012", (6, 3): "Windows Server 2012 R2"}.get(mm)
            return {14393: "Windows Server 2016", 17763: "Windows Server 2019", 20348: "Windows Server 2022",
                    26100: "Windows Server 2025"}.get(self.build)
        if mm == (10, 0):
            return "Windows 11" if self.build >= 22000 else "Windows 10"
        return {(6, 0): "Windows Vista", (6, 1): "Windows 7", (6, 2): "Windows 8", (6, 3): "Windows 8.1"}.get(mm)

    @property
    def volume_capable(self) -> bool:
        """False for Home / Starter / Ultimate editions (no volume channel, see NON_VOLUME_EDITIONS)."""
        if self.edition and self.edition.lower() in NON_VOLUME_EDITIONS:
            return False
        return self.sku not in NON_VOLUME_SKUS

    @property
    def ospp_for_office(self) -> bool:
        """Office 2013+ client licenses live in OSPP on Windows 7 / 2008 R2 (6.1) and older [OSPP15]."""
        return (self.major, self.minor) <= (6, 1)


# Edition IDs (product Name) -> the words of [WSD-KEYS] rows. Windows 7 / Vista rows spell
# "Professional", later ones "Pro".
_EDITION_WORDS = {
    "professional": "Pro", "professionaln": "Pro N", "professionalworkstation": "Pro for Workstations",
    "professionalworkstationn": "Pro for Workstations N", "professionaleducation": "Pro Education",
    "professionaleducationn": "Pro Education N", "education": "Education", "educationn": "Education N",
    "enterprise": "Enterprise", "enterprisen": "Enterprise N", "enterpriseg": "Enterprise G",
    "enterprisegn": "Enterprise G N", "enterprisee": "Enterprise E", "professionale": "Professional E",
    "business": "Business", "businessn": "Business N",
    "serverstandard": "Standard", "serverdatacenter": "Datacenter", "serversolution": "Essentials",
    "serverenterprise": "Enterprise", "serverweb": "Web", "servercomputecluster": "HPC", "serverhpc": "HPC",
    "serverstandardv": "Standard without Hyper-V", "serverenterprisev": "Enterprise without Hyper-V",
    "serverdatacenterv": "Datacenter without Hyper-V", "serverturbine": "Datacenter: Azure Edition",
    "serverazureedition": "Datacenter: Azure Edition",
}


def _ltsc_name(os_view: OsView, n: bool, iot: bool) -> str | None:
    """LTSB/LTSC rows of [WSD-KEYS] by build (10240 2015, 14393 2016, 17763 2019, 19044 2021, 26100 2024)."""
    b = os_view.build
    if iot:
        return f"Windows IoT Enterprise LTSC {2024 if b >= 26100 else 2021}" if b >= 19044 else None
    suffix = " N" if n else ""
    if b >= 26100:
        return f"Windows 11 Enterprise{suffix} LTSC 2024"
    if b >= 19041:
        return f"Windows 10 Enterprise{suffix} LTSC 2021"
    if b >= 17763:
        return f"Windows 10 Enterprise{suffix} LTSC 2019"
    if b >= 14393:
        return f"Windows 10 Enterprise{suffix} LTSB 2016"
    if b >= 10240:
        return f"Windows 10 Enterprise{suffix} LTSB 2015"
    return None


def windows_table_name(os_view: OsView) -> str | None:
    """The [WSD-KEYS] row name of the installed edition: release from the OS version, edition
    from the Windows product Name (``Windows(R), ServerStandard edition`` -> ``Standard``),
    never from the (localized) caption. None when either is unknown."""
    release = os_view.release
    edition = (os_view.edition or "").lower()
    if not release or not edition:
        return None
    if edition in ("enterprises", "enterprisesn", "iotenterprises"):
        return _ltsc_name(os_view, edition.endswith("n"), edition.startswith("iot"))
    words = _EDITION_WORDS.get(edition)
    if words is None:
        return None
    if release in ("Windows 7", "Windows Vista") and words.startswith("Pro"):
        words = "Professional" + words[3:]
    return f"{release} {words}"


def expected_windows_gvlk(os_view: OsView) -> _products.Gvlk | None:
    """The public GVLK of the installed Windows edition, or None when the edition is unknown
    (then nothing is guessed: see :func:`windows_table_name`)."""
    name = windows_table_name(os_view)
    return _products.find_gvlk(name) if name else None


# --------------------------------------------------------------------------- GVLK tables

_GVLK_BY_KEY: dict[str, _products.Gvlk] = {}
for _g in _products.GVLKS:
    _GVLK_BY_KEY.setdefault(_g.key, _g)


def gvlk_for_key(key: str) -> _products.Gvlk | None:
    """The public table row of a (normalized) key, or None when it is not a public GVLK."""
    return _GVLK_BY_KEY.get(key)


def gvlk_product(row: _products.Gvlk) -> str | None:
    """``windows`` or ``office2016`` ... for a GVLK row (Office version from the row's year)."""
    if row.family == "windows":
        return "windows"
    if row.family == "office2010":
        return "office2010"
    m = re.search(r"(2013|2016|2019|2021|2024)", row.product)
    return f"office{m.group(1)}" if m else None


# Office product names in the licensing Name: "Office 16, Office16ProPlusVL_KMS_Client edition",
# "Office 19, Office19ProPlus2019VL_KMS_Client_AE edition", "Office 14, OfficeProPlus-KMS_Client
# edition" [ODO-HOST and 3P sample outputs, see _products.office_version].
_OFFICE_EDITION_RE = re.compile(r"^Office(?:\d\d)?(?P<p>[A-Za-z]+?)(?:20(?:19|21|24))?(?:VL)?(?:[-_].*)?$")
_OFFICE_WORDS = {
    "proplus": "Office Professional Plus", "standard": "Office Standard", "projectpro": "Project Professional",
    "projectstd": "Project Standard", "visiopro": "Visio Professional", "visiostd": "Visio Standard",
    "visioprem": "Visio Premium", "access": "Access", "excel": "Excel", "outlook": "Outlook",
    "powerpoint": "PowerPoint", "publisher": "Publisher", "word": "Word", "onenote": "OneNote",
    "infopath": "InfoPath", "lync": "Lync", "skypeforbusiness": "Skype for Business",
    "groove": "SharePoint Workspace", "sharepointworkspace": "SharePoint Workspace",
}


def office_table_name(product: _state.LicensingProduct) -> str | None:
    """The [ODO-GVLK] / [3P] row name of an Office client product, e.g. ``Office Professional Plus 2016``."""
    edition = _state.edition_of(product.name)
    if not edition or not product.office_version:
        return None
    m = _OFFICE_EDITION_RE.match(edition)
    words = _OFFICE_WORDS.get(m.group("p").lower()) if m else None
    return f"{words} {product.office_version}" if words else None


def expected_office_gvlk(product: _state.LicensingProduct) -> _products.Gvlk | None:
    """The public GVLK of an Office client product (LTSC rows match without "LTSC")."""
    name = office_table_name(product)
    if name is None:
        return None
    for row in _products.GVLKS:
        if row.family in ("office", "office2010") and row.product.replace("LTSC ", "").lower() == name.lower():
            return row
    return None


# --------------------------------------------------------------------------- the request


@dataclasses.dataclass(frozen=True)
class KeyRequest:
    """The validated options. ``key`` is normalized; ``gvlk_auto`` replaces ``key``."""

    state: str
    key: str | None
    key_type: str | None
    product: str | None
    activation_id: str | None
    gvlk_auto: bool
    gvlk_row: _products.Gvlk | None
    replace_mak: bool
    warnings: tuple[str, ...] = ()

    @property
    def masked(self) -> str:
        return _keys.mask_product_key(self.key) or ""

    @property
    def verb(self) -> str:
        return "remove" if self.state == "absent" else "install"

    def what(self) -> str:
        """``the product key 'XXXXX-...-T83GX'`` or ``the KMS client setup keys``."""
        if self.key:
            return f"the product key '{self.masked}'"
        return "the KMS client setup keys" if self.gvlk_auto else "the product key"


def _target_words(product: str | None, activation_id: str | None) -> str:
    if activation_id:
        return f"the product with activation ID '{activation_id}'"
    if product == "windows":
        return "Windows"
    if product and product.startswith("office"):
        return f"Office {product[6:]}"
    return "this host"


def unpublished_client_key_message(key: str, product: str | None) -> str:
    """Why a key given as ``key_type=kms_client`` that is no published GVLK is refused, with the seed
    FAQ's explanation for the KMS host key case ("invalid volume license key" / "use a different type
    of key" when a KMS host key is installed on a KMS client [SEED])."""
    words = _target_words(product, None) if product else "the product"
    return (
        f"Failed to install the product key '{_keys.mask_product_key(key)}' as a KMS client setup key for {words}: "
        "it is not one of the KMS client setup keys (GVLKs) Microsoft publishes [WSD-KEYS] [ODO-GVLK]. A MAK "
        "installed as a client key would be activated with the MAK and use up one of its activations. If it is "
        "a KMS host key (CSVLK): a KMS host key on a KMS client is what Windows reports as an invalid volume "
        "license key ('use a different type of key') [SEED] - install the KMS client setup key on clients "
        "(gvlk=auto, or the key Microsoft publishes for the edition) and keep the KMS host key for the KMS host. "
        "For a MAK set key_type=mak; for a GVLK published after this collection set allow_unpublished_gvlk=true")


def parse_request(params: t.Mapping[str, t.Any]) -> KeyRequest:
    """Validate the options without contacting the host; raise :class:`KeyPlanError`.

    Contract: a returned request has a valid key (or ``gvlk_auto``), a ``key_type`` for
    every key that is not a public GVLK, and a target (``product`` or ``activation_id``)
    for every key whose product cannot be read from the public tables.
    """
    state = params.get("state") or "present"
    raw_key = params.get("key")
    gvlk = params.get("gvlk")
    key_type = params.get("key_type")
    product = params.get("product")
    activation_id = params.get("activation_id")
    warnings: list[str] = []
    verb = "remove" if state == "absent" else "install"

    if activation_id is not None:
        if not _GUID_RE.match(str(activation_id).strip()):
            raise KeyPlanError(f"Failed to {verb} the product key: activation_id must be a GUID, got '{activation_id}'")
        activation_id = str(activation_id).strip().strip("{}").lower()

    key: str | None = None
    row: _products.Gvlk | None = None
    gvlk_auto = False
    if product in ("all", "office") and (gvlk is None or str(gvlk).strip().lower() != "auto"):
        raise KeyPlanError(
            f"Failed to {verb} the product key: product '{product}' names several products and a key belongs to "
            "one; use windows or office2010 .. office2024 (all and office go with gvlk=auto only)")
    if gvlk is not None:
        if state == "absent":
            raise KeyPlanError("Failed to remove the product key: gvlk selects a key to install and needs state=present")
        if str(gvlk).strip().lower() == "auto":
            gvlk_auto = True
            if activation_id:
                raise KeyPlanError("Failed to install the KMS client setup keys: gvlk=auto chooses the products "
                                   "itself and cannot be combined with activation_id")
        else:
            row = _products.find_gvlk(str(gvlk))
            if row is None:
                raise KeyPlanError(
                    f"Failed to install the KMS client setup key: gvlk '{gvlk}' is neither 'auto' nor a product of "
                    "Microsoft's public KMS client setup key tables (e.g. 'Windows Server 2022 Standard', "
                    "'Office LTSC Professional Plus 2021')")
            key = row.key
        if key_type not in (None, "kms_client"):
            raise KeyPlanError(f"Failed to install the KMS client setup key: gvlk installs a KMS client setup key, "
                               f"but key_type is '{key_type}'")
        key_type = "kms_client"
    elif raw_key is not None:
        try:
            key = _keys.validate_product_key(raw_key)
        except _keys.ProductKeyError as e:
            raise KeyPlanError(f"Failed to {verb} the product key: {e}") from None
        row = gvlk_for_key(key)
        if row is not None and key_type not in (None, "kms_client"):
            raise KeyPlanError(
                f"Failed to {verb} the product key '{_keys.mask_product_key(key)}': it is the public KMS client setup "
                f"key of '{row.product}' {row.source.split(' ')[0]}, not a {KEY_TYPE_WORDS[key_type]}; "
                "use key_type=kms_client or leave key_type out")
        if row is not None:
            key_type = "kms_client"
        elif key_type is None and state == "present":
            raise KeyPlanError(
                f"Failed to install the product key '{_keys.mask_product_key(key)}': key_type is needed, because the "
                "key is not a public KMS client setup key and a KMS host key, a MAK and a retail key cannot be told "
                "apart without Microsoft's key configuration; set key_type to kms_host, mak or retail")
        elif key_type == "kms_client" and row is None and state == "present":
            if not params.get("allow_unpublished_gvlk"):
                # Refused before anything is installed: a MAK installed as a "client key" is then activated
                # (one MAK activation consumed), a KMS host key makes the client a KMS host or is refused
                # by Windows as an invalid volume license key [SEED].
                raise KeyPlanError(unpublished_client_key_message(key, product))
            warnings.append(
                f"The product key '{_keys.mask_product_key(key)}' is not in the public KMS client setup key tables "
                "this collection carries (allow_unpublished_gvlk is set); the licensing service decides whether it "
                "is one")
    elif state == "present":
        raise KeyPlanError("Failed to install the product key: one of key or gvlk is needed with state=present")
    elif not (product or activation_id or key_type):
        raise KeyPlanError("Failed to remove the product key: name what to remove with key, activation_id, product "
                           "or key_type (this module never removes every key, unlike slmgr.vbs /upk without an ID)")

    if row is not None:
        row_product = gvlk_product(row)
        if product and row_product != product:
            raise KeyPlanError(
                f"Failed to {verb} the product key '{_keys.mask_product_key(key)}': it is the public KMS client setup "
                f"key of '{row.product}', which is not a {product} product")
        if not activation_id and not product:
            product = row_product
    if key is not None and not gvlk_auto and not product and not activation_id:
        raise KeyPlanError(
            f"Failed to {verb} the product key '{_keys.mask_product_key(key)}': product or activation_id is needed to "
            f"say which product a {KEY_TYPE_WORDS.get(key_type or '', 'key')} is for")
    if gvlk_auto and product is None:
        product = "all"
    return KeyRequest(
        state=state,
        key=key,
        key_type=key_type,
        product=product,
        activation_id=activation_id,
        gvlk_auto=gvlk_auto,
        gvlk_row=row,
        replace_mak=bool(params.get("replace_mak")),
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------- reading


@dataclasses.dataclass(frozen=True)
class KeyStateReader:
    """The whole licensing state (:class:`_state.StateQuery` defaults: the OS, both services and
    every product with a key) plus the products named by ``activation_ids`` even without a
    key, in one batch. Shared by product_key and activation."""

    activation_ids: tuple[str, ...] = ()
    query: _state.StateQuery = dataclasses.field(default_factory=_state.StateQuery)

    def _extra(self) -> list[dict[str, t.Any]]:
        if not self.activation_ids:
            return []
        flt = " OR ".join(f"ID = {_state.wql_string(a)}" for a in self.activation_ids)
        return [_state.licensing_query(_state.SPP_PRODUCT, flt), _state.licensing_query(_state.OSPP_PRODUCT, flt)]

    def operations(self) -> list[dict[str, t.Any]]:
        return self.query.operations() + self._extra()

    def parse(self, results: t.Sequence[t.Mapping[str, t.Any]]) -> _state.HostState:
        n = len(self.query.operations())
        state = _state.parse_state(self.query, results)
        extra = list(results[n:n + len(self._extra())])
        if not extra:
            return state
        known = {p.id for p in state.products}
        found: list[_state.LicensingProduct] = []
        for source, res in zip(("spp", "ospp"), extra, strict=False):
            if not res.get("ok"):
                continue  # OSPP absent (0x80041010) is already in state.ospp_present
            service = state.service if source == "spp" else state.ospp_service
            for row in res.get("instances") or []:
                p = _state.LicensingProduct.from_cim(row, source, service, state.host_time)
                if p.id not in known:
                    known.add(p.id)
                    found.append(p)
        return dataclasses.replace(state, products=state.products + tuple(found))


# --------------------------------------------------------------------------- planning


@dataclasses.dataclass
class Target:
    """One place a key is installed into or removed from.

    ``scope`` names it in results and the diff (``windows``, ``office2016``,
    ``office2016_kms_host``, ``activation_id``); ``members`` are the products of the
    scope that have a key before the change; ``action`` is ``install``, ``remove``,
    ``unchanged`` or ``skipped`` (``reason`` says why).
    """

    scope: str
    label: str
    source: str
    service_class: str
    key: str | None
    key_type: str | None
    action: str
    members: list[_state.LicensingProduct]
    remove: list[_state.LicensingProduct] = dataclasses.field(default_factory=list)
    reason: str | None = None
    gvlk_product: str | None = None
    office_version: str | None = None
    host_id: str | None = None

    @property
    def masked(self) -> str | None:
        return _keys.mask_product_key(self.key) if self.key else None

    def in_scope(self, p: _state.LicensingProduct) -> bool:
        """Whether a product belongs to this target (used to verify the read-back)."""
        if self.host_id:
            return p.id == self.host_id
        if self.scope == "windows":
            return p.family == "windows"
        if self.office_version:
            return p.family in ("office", "office2010") and p.office_version == self.office_version \
                and not p.is_kms_host and p.channel != "kms_host"
        return any(p.id == m.id for m in self.members)


@dataclasses.dataclass
class KeyPlan:
    """The plan of one task plus the per-target view used for results and diff."""

    request: KeyRequest
    plan: _action.Plan
    targets: list[Target]
    warnings: list[str]

    def diff(self) -> dict[str, t.Any]:
        """``{before: {scope: [masked keys]}, after: {...}}``: keys masked, scopes sorted."""
        before: dict[str, list[str]] = {}
        after: dict[str, list[str]] = {}
        for tg in self.targets:
            old = sorted(_keys.mask_product_key(p.partial_product_key) or "" for p in tg.members if p.has_key)
            new = list(old)
            if tg.action == "install":
                # Windows and an Office KMS host hold one key at a time; an Office client key
                # replaces the key of its own product, which is known only afterwards.
                gone = {_keys.mask_product_key(p.partial_product_key) for p in tg.remove}
                new = [k for k in new if k not in gone] if tg.remove else new
                if tg.scope == "windows" or tg.host_id:
                    new = []
                new = sorted([*new, tg.masked or ""])
            elif tg.action == "remove":
                gone = {_keys.mask_product_key(p.partial_product_key) for p in tg.remove}
                new = [k for k in old if k not in gone]
            before[tg.scope] = list(old)
            after[tg.scope] = new
        return {"before": {"product_keys": before}, "after": {"product_keys": after}}


def _service_of(source: str) -> str:
    return _state.OSPP_SERVICE if source == "ospp" else _state.SPP_SERVICE


def _product_of(source: str) -> str:
    return _state.OSPP_PRODUCT if source == "ospp" else _state.SPP_PRODUCT


def _office_source(version: str, os_view: OsView | None) -> str:
    if version == "2010":
        return "ospp"
    return "ospp" if (os_view is not None and os_view.ospp_for_office) else "spp"


def _office_client_members(state: _state.HostState, version: str) -> list[_state.LicensingProduct]:
    return [p for p in state.products
            if p.family in ("office", "office2010") and p.office_version == version and p.has_key
            and not p.is_kms_host and p.channel != "kms_host"]


def _host_id(version: str) -> str:
    for row in _products.OFFICE_KMS_HOST_IDS:
        if row.version == version:
            return row.activation_id
    raise KeyPlanError(f"no Office {version} KMS host activation ID is known")  # pragma: no cover - table is complete


@dataclasses.dataclass(frozen=True)
class HostPackRule:
    """Where an Office KMS host license pack installs (licensing-api.md §5)."""

    servers: tuple[tuple[int, int], ...] = ()
    clients: tuple[tuple[int, int], ...] = ()
    min_server: tuple[int, int, int] | None = None
    min_client: tuple[int, int, int] | None = None
    volume_client: bool = False
    text: str = ""
    source: str = ""

    def allows(self, os_view: OsView) -> bool:
        mm = (os_view.major, os_view.minor)
        if os_view.server:
            return mm in self.servers if self.servers else bool(self.min_server and os_view.nt >= self.min_server)
        return mm in self.clients if self.clients else bool(self.min_client and os_view.nt >= self.min_client)


OFFICE_HOST_PACKS: dict[str, HostPackRule] = {
    "2010": HostPackRule(servers=((5, 2), (6, 1)), clients=((6, 1),), volume_client=True,
                         text="Windows Server 2003 (Standard, Enterprise, Datacenter), Windows 7 volume editions and "
                              "Windows Server 2008 R2 only, not Windows Server 2008 nor any later release",
                         source="[SEED]"),
    "2013": HostPackRule(min_server=(6, 1, 0), min_client=(6, 1, 0), volume_client=True,
                         text="Windows Server 2008 R2 or Windows 7 volume editions and later, not Windows Server 2003",
                         source="[technet jj219430(v=office.15)]"),
    "2016": HostPackRule(min_server=(6, 1, 0), min_client=(6, 1, 0),
                         text="Windows Server 2008 R2 / Windows 7 SP1 or later", source="[ODO-HOST]"),
    "2019": HostPackRule(min_server=(6, 2, 0), min_client=(6, 3, 0),
                         text="Windows Server 2012 / Windows 8.1 or later", source="[ODO-HOST]"),
    "2021": HostPackRule(min_server=(10, 0, 14393), min_client=(10, 0, 0),
                         text="Windows Server 2016 / Windows 10 or later", source="[ODO-HOST]"),
    "2024": HostPackRule(min_server=(10, 0, 20348), min_client=(10, 0, 0),
                         text="Windows Server 2022 / Windows 10 or later", source="[ODO-HOST]"),
}


def _check_kms_host(req: KeyRequest, product: str, os_view: OsView | None, warnings: list[str]) -> None:
    """Refuse a KMS host key this machine cannot hold (the OS read in round trip 1)."""
    if os_view is None:
        return
    fail = f"Failed to install the KMS host key '{req.masked}' for {_target_words(product, None)}"
    edition = f"the edition '{os_view.edition}' ({os_view.caption})" if os_view.edition else os_view.caption
    if not os_view.volume_capable:
        raise KeyPlanError(
            f"{fail}: {edition} cannot be a KMS host; Home, Starter and Ultimate editions have no volume licensing "
            "channel (Microsoft publishes no KMS client setup key for them), and a KMS host key installed on a "
            "machine that cannot be a KMS host is refused as an invalid volume license key")
    if product == "windows":
        if not os_view.server:
            warnings.append(f"{os_view.caption} is a client edition of Windows: a KMS host on it activates client "
                            "editions of Windows only, never Windows Server")
        return
    version = product[6:]
    rule = OFFICE_HOST_PACKS[version]
    if not rule.allows(os_view):
        raise KeyPlanError(
            f"{fail}: the Office {version} KMS host license pack supports {rule.text} {rule.source}, and this host "
            f"runs {os_view.label}")
    if rule.volume_client and not os_view.server and os_view.windows_channel not in ("kms_client", "mak", "kms_host"):
        found = os_view.windows_channel or "no Windows key"
        raise KeyPlanError(
            f"{fail}: the Office {version} KMS host license pack supports client Windows only in its volume editions "
            f"{rule.source}, and Windows on this host is not volume licensed (its key channel is {found})")


def _windows_target(state: _state.HostState, os_view: OsView | None) -> Target:
    members = [p for p in state.products if p.family == "windows" and p.has_key and not p.license_is_addon]
    return Target(scope="windows", label="Windows", source="spp", service_class=_state.SPP_SERVICE, key=None,
                  key_type=None, action="unchanged", members=members)


def _mak_activated(products: t.Iterable[_state.LicensingProduct]) -> _state.LicensingProduct | None:
    return next((p for p in products if p.channel == "mak" and p.activated), None)


def _install_target(req: KeyRequest, state: _state.HostState, os_view: OsView | None,
                    warnings: list[str]) -> Target:
    """The one target of an explicit key (or a named gvlk)."""
    if req.key is None:  # cannot happen: set by the planner above
        raise AssertionError("req.key is not set")
    key_type = req.key_type
    if req.activation_id:
        p = state.product(req.activation_id)
        if p is None:
            raise KeyPlanError(f"Failed to install the product key '{req.masked}' for "
                               f"{_target_words(None, req.activation_id)}: no licensing product has this activation ID")
        product = "windows" if p.family == "windows" else (f"office{p.office_version}" if p.office_version else None)
        source = "spp" if p.source == "spp" or p.is_kms_host or key_type == "kms_host" else p.source
        tg = Target(scope="activation_id", label=p.name or p.id, source=source, service_class=_service_of(source),
                    key=req.key, key_type=key_type, action="install", members=[p] if p.has_key else [])
        if product and key_type == "kms_host":
            _check_kms_host(req, product, os_view, warnings)
    elif req.product == "windows":
        tg = _windows_target(state, os_view)
        tg.key, tg.key_type, tg.action = req.key, key_type, "install"
        if key_type == "kms_host":
            _check_kms_host(req, "windows", os_view, warnings)
        if key_type == "kms_client" and req.gvlk_row is not None and os_view is not None:
            want = expected_windows_gvlk(os_view)
            if want is not None and want.key != req.key:
                raise KeyPlanError(
                    f"Failed to install the product key '{req.masked}' for Windows: it is the public KMS client setup "
                    f"key of '{req.gvlk_row.product}', but this host runs {os_view.label}, edition "
                    f"'{os_view.edition}', whose key is '{_keys.mask_product_key(want.key)}' ({want.product}) "
                    f"{want.source.split(' ')[0]}")
    else:
        if req.product is None:  # cannot happen: set by the planner above
            raise AssertionError("req.product is not set")
        version = req.product[6:]
        if key_type == "kms_host":
            _check_kms_host(req, req.product, os_view, warnings)
            hid = _host_id(version)
            host = state.product(hid)
            tg = Target(scope=f"{req.product}_kms_host", label=f"the Office {version} KMS host", source="spp",
                        service_class=_state.SPP_SERVICE, key=req.key, key_type=key_type, action="install",
                        members=[host] if host is not None and host.has_key else [], host_id=hid,
                        office_version=version)
        else:
            if version == "2010" and state.ospp_present is False:
                raise KeyPlanError(
                    f"Failed to install the product key '{req.masked}' for Office 2010: the Office Software "
                    "Protection Platform (osppsvc) is not installed on this host, and Office 2010 keeps its licenses "
                    "there on every Windows version, so Office 2010 is not installed")
            source = _office_source(version, os_view)
            tg = Target(scope=req.product, label=f"Office {version}", source=source,
                        service_class=_service_of(source), key=req.key, key_type=key_type, action="install",
                        members=_office_client_members(state, version), office_version=version)
            if req.gvlk_row is not None:
                tg.gvlk_product = req.gvlk_row.product
    if any(p.partial_product_key == req.key[-5:] for p in tg.members):
        tg.action = "unchanged"
        tg.reason = f"a key ending in '{req.key[-5:]}' is already installed"
        return tg
    if key_type == "kms_client" and not req.replace_mak:
        mak = _mak_activated(tg.members)
        if mak is not None:
            raise KeyPlanError(
                f"Failed to install the product key '{req.masked}' for {tg.label}: '{mak.name}' is activated with "
                f"the MAK '{_keys.mask_product_key(mak.partial_product_key)}', and a KMS client setup key would "
                "switch it to KMS activation; set replace_mak=true to do that")
    return tg


def _auto_targets(req: KeyRequest, state: _state.HostState, os_view: OsView | None,
                  warnings: list[str]) -> list[Target]:
    """gvlk=auto: Windows from the OS edition, each Office volume product with a key."""
    if req.product is None:  # cannot happen: set by the planner above
        raise AssertionError("req.product is not set")
    targets: list[Target] = []
    want_windows = req.product in ("all", "windows")
    if want_windows:
        tg = _windows_target(state, os_view)
        win = state.primary_windows
        found = (f"{os_view.label}, edition '{os_view.edition or 'unknown'}'" if os_view else "an unknown OS")
        if win is not None and win.channel in ("retail", "oem"):
            raise KeyPlanError(
                f"Failed to choose the KMS client setup key for Windows: Windows on this host is installed from "
                f"{win.channel} media ({found}, key '{_keys.mask_product_key(win.partial_product_key)}' of channel "
                f"{win.product_key_channel or win.channel}); a KMS client setup key needs a volume licensed edition")
        row = expected_windows_gvlk(os_view) if os_view else None
        if row is None:
            raise KeyPlanError(
                f"Failed to choose the KMS client setup key for Windows: no public KMS client setup key is known for "
                f"{found} (Microsoft publishes them for volume editions only, [WSD-KEYS])")
        tg.key, tg.key_type, tg.gvlk_product = row.key, "kms_client", row.product
        _auto_decide(tg, req, warnings)
        targets.append(tg)
    if req.product == "windows":
        return targets
    versions = {req.product[6:]} if req.product not in ("all", "office") else set(_products.OFFICE_VERSIONS)
    groups: dict[tuple[str, str], list[_state.LicensingProduct]] = {}
    for p in state.products:
        if p.family not in ("office", "office2010") or not p.has_key or p.is_kms_host or p.channel == "kms_host":
            continue
        if p.office_version not in versions:
            continue
        name = office_table_name(p)
        if name is None or p.office_version is None:
            raise KeyPlanError(
                f"Failed to choose the KMS client setup key for '{p.name}' ({p.id}): the Office product cannot be "
                "matched to a row of the public KMS client setup key tables")
        groups.setdefault((p.office_version, name), []).append(p)
    if not groups and req.product not in ("all",):
        found_office = sorted({f"{p.name}" for p in state.products if p.family in ("office", "office2010")})
        raise KeyPlanError(
            f"Failed to choose the KMS client setup keys for {_target_words(req.product, None) if req.product != 'office' else 'Office'}: "
            f"no Office product with a key was found on this host (found: {', '.join(found_office) or 'no Office product'})")
    for (version, name), members in sorted(groups.items()):
        retail = next((p for p in members if p.channel in ("retail", "oem")), None)
        if retail is not None and not any(p.channel in ("kms_client", "mak") for p in members):
            raise KeyPlanError(
                f"Failed to choose the KMS client setup key for '{retail.name}': it is installed from {retail.channel} "
                f"media (key '{_keys.mask_product_key(retail.partial_product_key)}'); a KMS client setup key needs "
                "the volume licensed edition of Office")
        row = expected_office_gvlk(members[0])
        if row is None:
            raise KeyPlanError(
                f"Failed to choose the KMS client setup key for '{members[0].name}': no public KMS client setup key "
                f"is known for {name}")
        source = _office_source(version, os_view)
        if any(p.source != source for p in members):
            source = members[0].source
        tg = Target(scope=f"office{version}:{row.product}", label=row.product, source=source,
                    service_class=_service_of(source), key=row.key, key_type="kms_client", action="install",
                    members=members, office_version=version, gvlk_product=row.product)
        _auto_decide(tg, req, warnings)
        targets.append(tg)
    return targets


def _auto_decide(tg: Target, req: KeyRequest, warnings: list[str]) -> None:
    if tg.key is None:  # cannot happen: set by the planner above
        raise AssertionError("tg.key is not set")
    tg.action = "install"
    if any(p.partial_product_key == tg.key[-5:] for p in tg.members):
        tg.action = "unchanged"
        tg.reason = f"its KMS client setup key (ending in '{tg.key[-5:]}') is already installed"
        return
    host = next((p for p in tg.members if p.is_kms_host or p.channel == "kms_host"), None)
    if host is not None:
        # A KMS host key here means this machine is a KMS host: a client setup key would turn it
        # into a client and stop it serving [WSD-PLAN]; gvlk=auto never does that on its own.
        tg.action = "skipped"
        tg.reason = (f"'{host.name}' carries the KMS host key '{_keys.mask_product_key(host.partial_product_key)}' "
                     "(this machine is a KMS host); install the KMS client setup key explicitly (gvlk=<product>) "
                     "to turn it into a KMS client")
        warnings.append(f"Left {tg.label} as it is: {tg.reason}")
        return
    mak = _mak_activated(tg.members)
    if mak is not None and not req.replace_mak:
        tg.action = "skipped"
        tg.reason = (f"'{mak.name}' is activated with the MAK '{_keys.mask_product_key(mak.partial_product_key)}'; "
                     "set replace_mak=true to switch it to KMS")
        warnings.append(f"Left {tg.label} as it is: {tg.reason}")


def _removal_target(req: KeyRequest, state: _state.HostState) -> Target:
    """The products whose key state=absent removes: only those named, never all."""
    if req.activation_id:
        p = state.product(req.activation_id)
        members = [p] if p is not None and p.has_key else []
        label = (p.name or p.id) if p else f"activation ID '{req.activation_id}'"
        source = p.source if p else "spp"
        tg = Target(scope="activation_id", label=label, source=source, service_class=_service_of(source),
                    key=req.key, key_type=req.key_type, action="unchanged", members=members)
    elif req.product == "windows":
        tg = _windows_target(state, None)
    elif req.product:
        version = req.product[6:]
        if req.key_type == "kms_host":
            hid = _host_id(version)
            host = state.product(hid)
            tg = Target(scope=f"{req.product}_kms_host", label=f"the Office {version} KMS host", source="spp",
                        service_class=_state.SPP_SERVICE, key=req.key, key_type=req.key_type, action="unchanged",
                        members=[host] if host is not None and host.has_key else [], host_id=hid)
        else:
            members = _office_client_members(state, version)
            source = members[0].source if members else "spp"
            tg = Target(scope=req.product, label=f"Office {version}", source=source,
                        service_class=_service_of(source), key=req.key, key_type=req.key_type, action="unchanged",
                        members=members, office_version=version)
    else:
        # key_type or key alone: every product with a key is a candidate; the filters below narrow it.
        members = [p for p in state.products if p.has_key]
        tg = Target(scope="key", label="this host", source="spp", service_class=_state.SPP_SERVICE, key=req.key,
                    key_type=req.key_type, action="unchanged", members=members)
    tg.key, tg.key_type = req.key, req.key_type
    chosen = list(tg.members)
    if req.key:
        chosen = [p for p in chosen if p.partial_product_key == req.key[-5:]]
    if req.key_type:
        chosen = [p for p in chosen if CHANNEL_KEY_TYPES.get(p.channel) == req.key_type]
    if len(chosen) > 1 and not req.key:
        names = "; ".join(f"'{p.name}' ({p.id}, key '{_keys.mask_product_key(p.partial_product_key)}')"
                          for p in chosen)
        raise KeyPlanError(
            f"Failed to remove the product key of {tg.label}: {len(chosen)} products have a key ({names}); name "
            "the one to remove with key or activation_id")
    if chosen:
        tg.action, tg.remove = "remove", chosen
        tg.source = chosen[0].source
        tg.service_class = _service_of(tg.source)
    else:
        tg.reason = "no matching key is installed"
    return tg


def plan_keys(req: KeyRequest, state: _state.HostState) -> KeyPlan:
    """Decide the operations for ``req`` on ``state``; raise :class:`KeyPlanError` to refuse.

    Operations: per install ``InstallProductKey`` on the target's licensing service (the key
    passed as a secret reference), per removal ``UninstallProductKey`` on the named product
    (``ID = '...'`` filter), and one ``SoftwareLicensingService.RefreshLicenseStatus`` at the
    end when SPP was touched, as slmgr.vbs does.
    """
    warnings = list(req.warnings)
    os_view = OsView.from_state(state)
    if req.state == "absent":
        targets = [_removal_target(req, state)]
    elif req.gvlk_auto:
        targets = _auto_targets(req, state, os_view, warnings)
    else:
        targets = [_install_target(req, state, os_view, warnings)]
    # stop_on_error false: a refused key does not stop the other targets of gvlk=auto (the
    # read-back appended to the batch runs in any case: the executor never skips reads).
    plan = _action.Plan(stop_on_error=False)
    spp_touched = False
    for tg in targets:
        if tg.action == "install":
            if tg.key is None:  # cannot happen: set by the planner above
                raise AssertionError("tg.key is not set")
            ref = plan.batch.product_key(tg.key)
            what = KEY_TYPE_WORDS.get(tg.key_type or "", "product key")
            desc = f"install the {what} '{tg.masked}' for {tg.label} through {tg.service_class}"
            index = plan.add(_client.cim_invoke(tg.service_class, "InstallProductKey", arguments={"ProductKey": ref}),
                             desc)
            if tg.key_type in _ledger.KINDS:
                # Key ledger hook: a budgeted key is reserved before it is installed (refused when
                # its budget is used up), released if the install fails.
                plan.claims.append(_ledger.Claim(kind="install", op_index=index, partial_key=tg.key[-5:],
                                                 description=desc, key=tg.key,
                                                 activation_id=tg.host_id or None, product=tg.label,
                                                 edition=os_view.edition if os_view and tg.scope == "windows"
                                                 else None))
            spp_touched = spp_touched or tg.source == "spp"
        elif tg.action == "remove":
            for p in tg.remove:
                # OfficeSoftwareProtectionProduct.UninstallProductKey takes the product's own
                # ProductKeyID, by position: Microsoft's ospp.vbs /unpkey calls
                # "instance.UninstallProductKey(instance.ProductKeyID)" [OSPP15]. The SPP class's
                # method takes no parameter [MS-SLP], as slmgr.vbs /upk calls it.
                plan.add(_client.cim_invoke(_product_of(p.source), "UninstallProductKey",
                                            filter=f"ID = {_state.wql_string(p.id)}",
                                            argument_property="ProductKeyID" if p.source == "ospp" else None),
                         f"remove the product key '{_keys.mask_product_key(p.partial_product_key)}' of "
                         f"'{p.name}' ({p.id})")
                spp_touched = spp_touched or p.source == "spp"
    if plan and spp_touched:
        plan.add(_client.cim_invoke(_state.SPP_SERVICE, "RefreshLicenseStatus"),
                 "refresh the license status of the Software Licensing Service")
    kp = KeyPlan(request=req, plan=plan, targets=targets, warnings=warnings)
    plan.diff = kp.diff()
    return kp


# --------------------------------------------------------------------------- results


def _product_view(p: _state.LicensingProduct | None) -> dict[str, t.Any] | None:
    if p is None:
        return None
    return {
        "activation_id": p.id,
        "name": p.name,
        "source": p.source,
        "channel": p.channel,
        "product_key": _keys.mask_product_key(p.partial_product_key),
        "license_status": p.status,
    }


def outcome(kp: KeyPlan, after: _state.HostState | None) -> tuple[list[dict[str, t.Any]], str | None]:
    """The per-target results and, after an apply, the failure found in the read-back.

    ``after`` is None in check mode or when nothing was sent. A key that the service
    accepted but that landed outside the target (a MAK of Windows given as Office) or that
    no product shows, and a removal that left the key, are failures: the message says
    where the key is now.
    """
    rows: list[dict[str, t.Any]] = []
    failure: str | None = None
    for tg in kp.targets:
        row: dict[str, t.Any] = {
            "scope": tg.scope,
            "target": tg.label,
            "action": {"install": "installed", "remove": "removed"}.get(tg.action, tg.action),
            "key_type": tg.key_type,
            "product_key": tg.masked,
            "gvlk_product": tg.gvlk_product,
            "reason": tg.reason,
            "before": [_product_view(p) for p in tg.members],
            "after": None,
        }
        if after is not None and tg.action == "install" and tg.key:
            landed = [p for p in after.products if p.partial_product_key == tg.key[-5:]]
            row["after"] = [_product_view(p) for p in landed]
            outside = [p for p in landed if not tg.in_scope(p)]
            if not landed and failure is None:
                failure = (f"Failed to install the product key '{tg.masked}' for {tg.label}: the licensing service "
                           f"accepted it, but no product shows a key ending in '{tg.key[-5:]}' afterwards")
            elif outside and failure is None:
                p = outside[0]
                failure = (f"Failed to install the product key '{tg.masked}' for {tg.label}: the licensing service "
                           f"installed it on '{p.name}' ({p.id}) instead; if that was not meant, remove it with "
                           f"state=absent and activation_id={p.id}")
        elif after is not None and tg.action == "remove":
            left = [p for p in tg.remove if (q := after.product(p.id)) is not None and q.has_key
                    and q.partial_product_key == p.partial_product_key]
            # The read-back lists products with a key only: a cleared product is absent from it.
            row["after"] = [_product_view(q) for p in tg.remove if (q := after.product(p.id)) is not None]
            if left and failure is None:
                failure = (f"Failed to remove the product key '{_keys.mask_product_key(left[0].partial_product_key)}'"
                           f" of '{left[0].name}': it is still installed after UninstallProductKey")
        rows.append(row)
    return rows, failure
