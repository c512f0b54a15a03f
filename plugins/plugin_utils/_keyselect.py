# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Product families and key planning shared by the product_key and activation modules: which product a key or an activation
targets, what may not work on this host (refused before anything is sent), and the operations.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.
"""

from __future__ import annotations

import dataclasses
import typing as t

from . import _client, _errors, _keys, _products, _state

#: Product families a task can name. ``office`` means every Office product found (2010 to 2024).
FAMILIES = ("windows", "office", "office2010", "office2013", "office2016", "office2019", "office2021", "office2024")
KEY_TYPES = ("kms_host", "kms_client", "mak", "retail")

#: Minimum Windows version (major, minor, build) on which each Office KMS host pack installs, as
#: (client, server); None = no such host OS. [SEED]: Office 2010 host only on Windows 7 VL and
#: Server 2008 R2 (and Server 2003, which has no SPP WMI provider), never Server 2008 nor later
#: releases in the FAQ's list; [ODO-HOST] (shared/reference/licensing-api.md §5) for 2013..2024.
OFFICE_HOST_OS: dict[str, tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]] = {
    "office2013": ((6, 1, 0), (6, 1, 0)),
    "office2016": ((6, 1, 7601), (6, 1, 7601)),
    "office2019": ((6, 3, 0), (6, 2, 0)),
    "office2021": ((10, 0, 0), (10, 0, 14393)),
    "office2024": ((10, 0, 0), (10, 0, 20348)),
}
#: Editions that cannot be a KMS host at all (consumer editions have no volume licensing).
NON_HOST_EDITION_MARKERS = ("core", "home", "starter")


class KeyPlanError(ValueError):
    """Refusal before anything is sent; the message names the value and the cause."""


def os_version(state: _state.HostState) -> tuple[int, int, int]:
    """(major, minor, build) of the host, (0, 0, 0) when unknown."""
    text = state.os.version if state.os and state.os.version else "0.0.0"
    parts = [*(int(p) for p in text.split(".")[:3] if p.isdigit()), 0, 0, 0]
    return parts[0], parts[1], parts[2]


def is_windows7(state: _state.HostState) -> bool:
    """Windows 7 / Server 2008 R2 (6.1): Office 2013+ uses OSPP there [OSPP15]."""
    return os_version(state)[:2] == (6, 1)


def is_server(state: _state.HostState) -> bool:
    return bool(state.os and state.os.product_type is not None and state.os.product_type != 1)


def os_name(state: _state.HostState) -> str:
    return (state.os.caption if state.os and state.os.caption else "this Windows").strip()


def product_family(p: _state.LicensingProduct) -> str:
    """``windows``, ``office2010`` .. ``office2024`` (Office version known), ``office`` or ``other``."""
    if p.family == "windows":
        return "windows"
    if p.family in ("office", "office2010") and p.office_version:
        return f"office{p.office_version}"
    return p.family


def matches(p: _state.LicensingProduct, family: str) -> bool:
    """Does product ``p`` belong to the family a task names (``office`` = any Office 2013+)?"""
    if family == "office":
        return p.family in ("office", "office2010")
    return product_family(p) == family


def install_service(state: _state.HostState, family: str, key_type: str) -> str:
    """Where InstallProductKey goes: Office client keys of 2010 (any OS) and of 2013+ on Windows 7
    go to OSPP; Windows keys and every Office KMS host key (the host packs install into Windows
    SPP [ODO-HOST]) go to SPP."""
    if key_type != "kms_host" and family.startswith("office") and (family == "office2010" or is_windows7(state)):
        return _state.OSPP_SERVICE
    return _state.SPP_SERVICE


def product_class(p: _state.LicensingProduct) -> str:
    return _state.OSPP_PRODUCT if p.source == "ospp" else _state.SPP_PRODUCT


def by_id(p: _state.LicensingProduct) -> str:
    return f"ID = {_state.wql_string(p.id)}"


def describe_failure(result: _client.OpResult) -> dict[str, t.Any]:
    """The HRESULT of a failed operation, explained (symbol, explanation, remedy)."""
    code = result.hresult
    if code is None:
        return {"message": result.error or "failed without an HRESULT"}
    return _errors.describe(code, result.error)


# ---------------------------------------------------------------- product_key


@dataclasses.dataclass
class KeyRequest:
    family: str
    key: str | None  # normalized; None with gvlk auto until chosen
    key_type: str
    activation_id: str | None = None


def check_key_request(params: t.Mapping[str, t.Any]) -> KeyRequest:
    """Validate the options that need no host state. Raises KeyPlanError."""
    family = params["product"]
    key_type = params["key_type"]
    key = None
    if params.get("product_key"):
        try:
            key = _keys.validate_product_key(params["product_key"])
        except _keys.ProductKeyError as e:
            raise KeyPlanError(str(e)) from None
        gvlk = next((g for g in _products.GVLKS if g.key == key), None)
        if gvlk is not None and key_type != "kms_client":
            raise KeyPlanError(
                f"the product key '{_keys.mask_product_key(key)}' is the public KMS client setup key (GVLK) of "
                f"'{gvlk.product}' {gvlk.source}, not a {key_type} key: use key_type kms_client"
            )
    return KeyRequest(family=family, key=key, key_type=key_type, activation_id=params.get("activation_id"))


def check_key_fits_host(req: KeyRequest, state: _state.HostState) -> None:
    """Refuse, before sending anything, a key whose kind cannot work on this host."""
    if req.key_type != "kms_host":
        return
    shown = _keys.mask_product_key(req.key) if req.key else "(none)"
    primary = state.primary_windows
    edition = _state.edition_of(primary.name if primary else None) or os_name(state)
    if req.family == "windows":
        if any(m in edition.lower() for m in NON_HOST_EDITION_MARKERS):
            raise KeyPlanError(
                f"the KMS host key '{shown}' cannot work on {os_name(state)} (edition {edition}): consumer "
                "editions have no volume licensing and cannot be KMS hosts [WSD-PLAN]"
            )
        if not is_server(state):
            raise KeyPlanError(
                f"the KMS host key '{shown}' is for a Windows KMS host, and {os_name(state)} (edition "
                f"{edition}) is a client edition: a client-OS KMS host activates client editions only and "
                "needs a client KMS host key; Windows Server CSVLKs install on Windows Server only [WSD-PLAN]"
            )
        return
    version = state.os.version if state.os and state.os.version else "unknown version"
    if req.family == "office2010":
        ver = os_version(state)
        if ver[:2] != (6, 1):
            raise KeyPlanError(
                f"the Office 2010 KMS host key '{shown}' cannot work on {os_name(state)} ({version}): "
                "the Office 2010 KMS host license pack installs only on "
                "Windows Server 2003, Windows 7 volume editions and Windows Server 2008 R2, not on Windows "
                "Server 2008 or later releases [SEED]"
            )
        return
    if req.family == "office":
        raise KeyPlanError("an Office KMS host key needs its version: product office2013 .. office2024")
    client_min, server_min = OFFICE_HOST_OS[req.family]
    need = server_min if is_server(state) else client_min
    if need is None or os_version(state) < need:
        kind = "server" if is_server(state) else "client"
        raise KeyPlanError(
            f"the {req.family.replace('office', 'Office ')} KMS host key '{shown}' cannot work on "
            f"{os_name(state)} ({version}): its KMS host license "
            f"pack needs Windows {kind} version {'.'.join(map(str, need)) if need else '(none)'} or later "
            "[ODO-HOST]"
        )


def family_products(state: _state.HostState, family: str, key_type: str | None = None) -> list[_state.LicensingProduct]:
    """Products of ``family`` that hold a key; KMS host licenses only for key_type kms_host."""
    out = []
    for p in state.products:
        if not p.has_key or not matches(p, family):
            continue
        if key_type is not None and (p.channel == "kms_host") != (key_type == "kms_host"):
            continue
        out.append(p)
    return out


def choose_gvlk(state: _state.HostState, family: str, force: bool) -> tuple[str | None, str]:
    """The GVLK ``gvlk: auto`` installs for ``family``, or None when the product already runs on
    one (or a MAK it must keep); the second value explains the choice."""
    products = family_products(state, family, "kms_client")
    if family != "windows":
        products = [p for p in state.products if p.has_key and matches(p, family) and p.channel != "kms_host"]
        if not products:
            return None, f"no {family} product with a key is installed"
        retail = [p for p in products if p.channel in ("retail", "oem")]
        if retail:
            raise KeyPlanError(
                f"gvlk auto found retail media: '{retail[0].name}' (channel {retail[0].channel}) has no KMS "
                "client setup key; volume activation needs volume license media"
            )
        mak = [p for p in products if p.channel == "mak"]
        if mak and not force:
            return None, f"'{mak[0].name}' is MAK-activated; it is not switched to KMS unless force is true"
        kms = [p for p in products if p.channel == "kms_client"]
        if kms and not mak:
            return None, f"'{kms[0].name}' already uses its KMS client setup key"
        raise KeyPlanError(
            f"gvlk auto cannot tell the Office GVLK for '{(mak or products)[0].name}': give the key from "
            "Microsoft's GVLK table with product_key and key_type kms_client"
        )
    primary = state.primary_windows
    if primary is not None and primary.channel == "kms_client":
        return None, f"'{primary.name}' already uses its KMS client setup key"
    if primary is not None and primary.channel in ("retail", "oem"):
        raise KeyPlanError(
            f"gvlk auto found retail media: '{primary.name}' (channel {primary.channel}); a GVLK works only "
            f"on volume editions — found edition {_state.edition_of(primary.name)} of {os_name(state)}"
        )
    if primary is not None and primary.channel in ("mak", "kms_host") and not force:
        return None, (f"'{primary.name}' uses a {primary.channel.replace('_', ' ').upper()} key; it is not "
                      "switched to a KMS client key unless force is true")
    caption = os_name(state).replace("Microsoft ", "")
    row = _products.find_gvlk(caption)
    if row is None:
        raise KeyPlanError(
            f"gvlk auto found no public KMS client setup key for '{caption}' (edition "
            f"{_state.edition_of(primary.name if primary else None) or 'unknown'}) in Microsoft's GVLK table "
            "[WSD-KEYS]: give the key with product_key"
        )
    return row.key, f"the GVLK of '{row.product}' {row.source}"


def install_ops(plan_add: t.Callable[[dict[str, t.Any], str], int], batch: _client.Batch, state: _state.HostState,
                *, family: str, key: str, key_type: str, target_name: str) -> None:
    """InstallProductKey on the right service, then RefreshLicenseStatus (SPP) as slmgr /ipk does."""
    service = install_service(state, family, key_type)
    ref = batch.product_key(key)
    plan_add(_client.cim_invoke(service, "InstallProductKey", arguments={"ProductKey": ref}),
             f"install product key '{_keys.mask_product_key(key)}' for {target_name}")
    if service == _state.SPP_SERVICE:
        plan_add(_client.cim_invoke(_state.SPP_SERVICE, "RefreshLicenseStatus"),
                 "refresh the license status")
