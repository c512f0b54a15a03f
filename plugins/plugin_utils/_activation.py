# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Planner of the activation module: which products to activate, and what came of it.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

Pure Python: no Ansible imports. :func:`parse_request` validates the options;
:func:`plan_activation` chooses the products from the state read in round trip 1
and builds one batch; :func:`outcomes` reads the per-operation results and the
state read back in round trip 2 and gives each product its outcome.

Facts used (tags of docs/reference/licensing-api.md and existing-tools.md, the seed FAQ):

* ``slmgr.vbs /ato [ID]`` is ``SoftwareLicensingProduct.Activate()`` followed by
  ``SoftwareLicensingService.RefreshLicenseStatus()``; ``ospp.vbs /act`` is
  ``Activate()`` on each Office product with a key; the OSPP service has no
  ``RefreshLicenseStatus`` [SLMGR10] [OSPP15] (§1.3, anchors §2).
* Offline (phone) activation: ``slmgr /dti`` reads the product's
  ``OfflineInstallationId``; ``/atp <CID> [ID]`` calls
  ``DepositOfflineConfirmationId(InstallationId, ConfirmationId)``; there is no WMI
  method that generates the installation ID (§1.3). A KMS host can be activated by
  phone [SEED]; a KMS client (GVLK) activates against a KMS host only.
* A MAK activation is counted by Microsoft [SEED] and a KMS host key allows 6 hosts x
  10 activations [WSD-PLAN] [SEED]: a product that is already Licensed is never sent
  ``Activate()`` again unless ``force`` is set.
* 0xC004F038 (SL_E_VL_NOT_ENOUGH_COUNT): the KMS host counts fewer clients than the
  product's threshold (25 Windows client, 5 Windows Server and Office) [WSD-PLAN] [SEED];
  an unactivated client retries every 2 hours (``VLActivationInterval`` 120 minutes)
  [MS-TIMING], so the client activates by itself once the host has enough clients.
  The client's ``RequiredClientCount`` carries the threshold the host answered with;
  the current count is a property of the KMS host (``KeyManagementServiceCurrentCount``
  is -1 on a client, §1.2), so it is reported only when the client shows it.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from . import _action, _client, _errors, _keys, _ledger, _state

PRODUCT_CHOICES = ("all", "office", "office2010", "office2013", "office2016", "office2019", "office2021",
                   "office2024", "windows")
#: Channels activated when no activation ID is named: the volume channels (§1.2 Description).
VOLUME_CHANNELS = ("kms_client", "mak", "kms_host")
#: The activation outcomes that leave a product activated (the pending_hosts filter and the roles
#: end a host's work on these; the roles' Jinja lists the same three).
ACTIVATED_OUTCOMES = frozenset({"activated", "already_activated", "confirmation_deposited"})
NOT_ENOUGH_COUNT = 0xC004F038
#: SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH: the host reached cannot activate this product.
ID_MISMATCH = 0xC004F042
#: HRESULTs of a KMS client attempt whose cause is on the way to, or at, the KMS host (§4).
KMS_CODES = frozenset({0xC004F074, 0xC004F039, 0xC004F041, 0xC004F042, 0xC004F015, 0xC004F06C, 0x8007232B,
                       0x8007232A, 0x8007251D, 0x8007007B, 0x800706BA, NOT_ENOUGH_COUNT})
DNS_CODES = frozenset({0x8007232B, 0x8007232A, 0x8007251D, 0x8007007B})

_GUID_RE = re.compile(r"^\{?[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}?$")
_CID_RE = re.compile(r"^[0-9][0-9 \-]*$")
#: A confirmation ID is eight blocks of six digits; Windows refuses another length with
#: 0xC004F02F (SL_E_CIDIID_INVALID_DATA_LENGTH), which the check below anticipates.
CID_DIGITS = 48

#: Offline-activation HRESULTs that _errors.HRESULTS does not carry yet (names and texts from
#: the SDK header [SLERROR.H]); requested from the engine owner, used until they are there.
EXTRA_HRESULTS: dict[int, tuple[str, str, str]] = {
    0xC004F02F: ("SL_E_CIDIID_INVALID_DATA_LENGTH",
                 "the length of the offline confirmation ID is incorrect",
                 "type the confirmation ID again exactly as the Microsoft Activation Center gave it"),
    0xC004F030: ("SL_E_CIDIID_NOT_DEPOSITED",
                 "the installation ID or the confirmation ID could not be saved",
                 "run the task again; if it persists, restart the Software Protection service"),
    0xC004F031: ("SL_E_CIDIID_MISMATCHED",
                 "the installation ID and the confirmation ID do not match",
                 "read the installation ID again (it changes when a key is installed again) and get a new "
                 "confirmation ID for it"),
    0xC004F04D: ("SL_E_CIDIID_INVALID_CHECK_DIGITS",
                 "the installation ID or the confirmation ID is invalid",
                 "check the confirmation ID for typing errors, or get a new one for the current installation ID"),
    0xC004F051: ("SL_E_BLOCKED_PRODUCT_KEY",
                 "the Software Licensing Service reported that the product key is blocked",
                 "obtain a new product key"),
}


def describe(code: int | None, windows_message: str | None) -> dict[str, t.Any] | None:
    """:func:`_errors.describe` plus :data:`EXTRA_HRESULTS`; None without a code."""
    if code is None:
        return None
    c = _errors.to_code(code)
    if c in _errors.HRESULTS or c not in EXTRA_HRESULTS:
        return _errors.describe(c, windows_message)
    symbol, explanation, remedy = EXTRA_HRESULTS[c]
    return {
        "code": c,
        "hex": _errors.hex_code(c),
        "symbol": symbol,
        "explanation": explanation,
        "remedy": remedy,
        "message": f"{_errors.hex_code(c)} ({symbol}): {explanation}",
        "windows_message": windows_message,
    }


class ActivationPlanError(_action.PlanningError):
    """A refusal before anything is sent; the message is the whole ``msg``."""


@dataclasses.dataclass(frozen=True)
class ActivationRequest:
    """The validated options; activation IDs lower case without braces, CIDs digits only."""

    activation_ids: tuple[str, ...]
    product: str
    force: bool
    method: str
    confirmation_ids: dict[str, str]
    fail_below_threshold: bool


def _guid(value: t.Any, option: str) -> str:
    text = str(value).strip()
    if not _GUID_RE.match(text):
        raise ActivationPlanError(f"Failed to activate: {option} must hold activation IDs (GUIDs), got '{value}'")
    return text.strip("{}").lower()


def parse_request(params: t.Mapping[str, t.Any]) -> ActivationRequest:
    """Validate the options without the host; raise :class:`ActivationPlanError`.

    A confirmation ID is never shown: a bad one is named by its activation ID.
    """
    ids = tuple(dict.fromkeys(_guid(a, "activation_ids") for a in params.get("activation_ids") or []))
    method = params.get("method") or "online"
    cids: dict[str, str] = {}
    for k, v in (params.get("confirmation_ids") or {}).items():
        aid = _guid(k, "confirmation_ids")
        text = str(v or "").strip()
        if not text or not _CID_RE.match(text):
            raise ActivationPlanError(
                f"Failed to activate the product '{aid}' by phone: its confirmation ID may hold only digits, "
                "spaces and hyphens, as the Microsoft Activation Center reads it out")
        cids[aid] = re.sub(r"[^0-9]", "", text)
    if cids and method != "offline":
        raise ActivationPlanError("Failed to activate: confirmation_ids are deposited by phone activation; "
                                  "set method=offline")
    if cids and ids and set(cids) - set(ids):
        extra = sorted(set(cids) - set(ids))[0]
        raise ActivationPlanError(f"Failed to activate the product '{extra}' by phone: it has a confirmation ID "
                                  "but is not in activation_ids")
    if cids and not ids:
        ids = tuple(cids)
    for aid, digits in cids.items():
        if len(digits) != CID_DIGITS:
            raise ActivationPlanError(
                f"Failed to activate the product '{aid}' by phone: its confirmation ID has {len(digits)} digits, "
                f"a confirmation ID has {CID_DIGITS} (eight blocks of six); nothing was sent. Next step: type it "
                "again exactly as the Microsoft Activation Center gave it")
    return ActivationRequest(
        activation_ids=ids,
        product=params.get("product") or "all",
        force=bool(params.get("force")),
        method=method,
        confirmation_ids=cids,
        fail_below_threshold=bool(params.get("fail_below_threshold")),
    )


def family_key(p: _state.LicensingProduct) -> str:
    """``windows``, ``office2016`` ... (``office`` when the version is unknown), ``other``."""
    if p.family == "windows":
        return "windows"
    if p.family in ("office", "office2010"):
        return f"office{p.office_version}" if p.office_version else "office"
    return "other"


def _selected(p: _state.LicensingProduct, product: str) -> bool:
    if product == "all":
        return p.family in ("windows", "office", "office2010")
    if product == "office":
        return p.family in ("office", "office2010")
    return family_key(p) == product


@dataclasses.dataclass
class Item:
    """One product: what was decided (``decision``) and, later, what came of it."""

    product: _state.LicensingProduct
    decision: str  # activate | deposit | installation_id | already_activated | skipped
    reason: str | None = None
    op_index: int | None = None
    confirmation_ref: bool = False


@dataclasses.dataclass
class ActivationPlan:
    request: ActivationRequest
    plan: _action.Plan
    items: list[Item]


def _label(p: _state.LicensingProduct) -> str:
    return f"'{p.name or p.id}' ({p.id})"


def _claim(plan: _action.Plan, p: _state.LicensingProduct, index: int, method: str, description: str, *,
           cid: str | None = None) -> None:
    """Key ledger hook: an activation with a MAK or a KMS host key is reserved before it is sent
    (refused when the key's budget is used up), recorded when it succeeds, released when not; a
    phone activation's installation ID / confirmation ID pair goes to the CID store."""
    if p.channel in _ledger.KINDS and p.partial_product_key:
        plan.claims.append(_ledger.Claim(kind="activate", op_index=index, partial_key=p.partial_product_key,
                                         description=description, activation_id=p.id, product=p.name,
                                         method=method, installation_id=p.offline_installation_id if cid else None,
                                         confirmation_id=cid))


def check_against_store(req: ActivationRequest, state: _state.HostState,
                        owners: t.Mapping[str, t.Mapping[str, t.Any]]) -> None:
    """Refuse, before anything is sent, a confirmation ID that the CID store holds for another
    installation ID than the one the product shows (a CID of another machine, or of this one
    before its key was installed again). ``owners``: CID (digits) -> the store's entry."""
    for aid, cid in req.confirmation_ids.items():
        owner = owners.get(cid)
        p = state.product(aid)
        iid = "".join(ch for ch in ((p.offline_installation_id if p else "") or "") if ch.isdigit())
        if owner is not None and iid and owner.get("installation_id") != iid:
            raise ActivationPlanError(
                f"Failed to activate the product '{aid}' by phone: its confirmation ID was issued for another "
                f"installation ID (deposited on {owner.get('host')} on {owner.get('date')}), not for the one this "
                "product shows now; nothing was sent. Next step: give the Microsoft Activation Center this "
                "product's installation ID (method=offline without confirmation_ids returns it)")


def with_stored_cids(req: ActivationRequest, state: _state.HostState,
                     stored: t.Mapping[str, str]) -> tuple[ActivationRequest, set[str]]:
    """VAMT's CID reuse: for a phone activation, a product that has no confirmation ID in the
    options but whose installation ID the CID store holds gets the stored one. Returns the request
    to plan and the activation IDs that reuse a stored confirmation ID."""
    if req.method != "offline" or not stored:
        return req, set()
    cids = dict(req.confirmation_ids)
    reused: set[str] = set()
    for p in state.products:
        iid = "".join(ch for ch in (p.offline_installation_id or "") if ch.isdigit())
        if p.id not in cids and iid in stored and (not req.activation_ids or p.id in req.activation_ids):
            cids[p.id] = stored[iid]
            reused.add(p.id)
    return dataclasses.replace(req, confirmation_ids=cids), reused


def plan_activation(req: ActivationRequest, state: _state.HostState) -> ActivationPlan:
    """Choose the products and build the batch; raise :class:`ActivationPlanError` to refuse.

    Named products (``activation_ids``) must exist and hold a key. Without names, every
    product with a key of the selected family whose channel is a volume channel. A Licensed
    product is left alone unless ``force``. ``stop_on_error`` is false: every product is
    tried and gets its own outcome.
    """
    items: list[Item] = []
    if req.activation_ids:
        chosen = []
        for aid in req.activation_ids:
            p = state.product(aid)
            if p is None:
                raise ActivationPlanError(f"Failed to activate the product '{aid}': no licensing product has this "
                                          "activation ID on this host")
            if not p.has_key:
                raise ActivationPlanError(f"Failed to activate {_label(p)}: no product key is installed for it "
                                          "(install one with winops.volume_activation.product_key)")
            chosen.append(p)
    else:
        chosen = [p for p in state.products
                  if p.has_key and _selected(p, req.product) and p.channel in VOLUME_CHANNELS]
    plan = _action.Plan(stop_on_error=False)
    spp = False
    for p in chosen:
        if req.method == "offline" and p.channel == "kms_client":
            reason = "a KMS client (GVLK) activates against a KMS host, not by phone; use method=online"
            if req.activation_ids:
                raise ActivationPlanError(f"Failed to activate {_label(p)} by phone: {reason}")
            items.append(Item(p, "skipped", reason))
            continue
        if p.activated and not req.force:
            items.append(Item(p, "already_activated", "the product is already licensed; force=true activates it "
                                                      "again"))
            continue
        cls = _state.OSPP_PRODUCT if p.source == "ospp" else _state.SPP_PRODUCT
        flt = f"ID = {_state.wql_string(p.id)}"
        if req.method == "offline":
            cid = req.confirmation_ids.get(p.id)
            if cid is None:
                if not p.offline_installation_id:
                    raise ActivationPlanError(f"Failed to read the installation ID of {_label(p)}: the product "
                                              "shows none (OfflineInstallationId is empty)")
                items.append(Item(p, "installation_id", "give the installation ID to the Microsoft Activation "
                                                        "Center, then run again with its confirmation ID in "
                                                        "confirmation_ids"))
                continue
            if not p.offline_installation_id:
                raise ActivationPlanError(f"Failed to activate {_label(p)} by phone: the product shows no "
                                          "installation ID (OfflineInstallationId is empty)")
            ref = plan.batch.confirmation_id(cid)
            index = plan.add(_client.cim_invoke(cls, "DepositOfflineConfirmationId", filter=flt, arguments={
                "InstallationId": p.offline_installation_id, "ConfirmationId": ref}),
                f"deposit the confirmation ID for {_label(p)}")
            _claim(plan, p, index, "phone", f"deposit the confirmation ID for {_label(p)}", cid=cid)
            items.append(Item(p, "deposit", op_index=index, confirmation_ref=True))
        else:
            index = plan.add(_client.cim_invoke(cls, "Activate", filter=flt), f"activate {_label(p)}")
            _claim(plan, p, index, "online", f"activate {_label(p)}")
            items.append(Item(p, "activate", op_index=index))
        spp = spp or p.source == "spp"
    if plan and spp:
        plan.add(_client.cim_invoke(_state.SPP_SERVICE, "RefreshLicenseStatus"),
                 "refresh the license status of the Software Licensing Service")
    sent = [i for i in items if i.op_index is not None]
    plan.diff = {
        "before": {"license_status": {i.product.id: i.product.status for i in sent}},
        "after": {"license_status": {i.product.id: "licensed" for i in sent}},
    }
    return ActivationPlan(request=req, plan=plan, items=items)


# --------------------------------------------------------------------------- outcomes


def _kms_where(p: _state.LicensingProduct) -> tuple[str | None, str]:
    """The KMS host a client reached (``host:port``) and words for where it looked."""
    kc = p.kms_client
    if kc is None:
        return None, "no KMS host"
    if kc.discovered_host:
        return f"{kc.discovered_host}:{kc.discovered_port or _state.DEFAULT_KMS_PORT}", "the KMS host"
    if kc.configured_host:
        return (f"{kc.configured_host}:{kc.configured_port or _state.DEFAULT_KMS_PORT}",
                f"the KMS host configured on the {kc.configured_at}")
    domain = kc.lookup_domain or "the client's own DNS domain"
    return None, f"the _vlmcs._tcp SRV records of {domain}"


def _row(item: Item, now: _state.LicensingProduct) -> dict[str, t.Any]:
    p = item.product
    return {
        "activation_id": p.id,
        "name": p.name,
        "family": family_key(p),
        "source": p.source,
        "channel": p.channel,
        "product_key": _keys.mask_product_key(p.partial_product_key),
        "license_status_before": p.status,
        "license_status": now.status,
        "outcome": item.decision,
        "message": item.reason,
        "hresult": None,
        "kms_host": None,
        "current_count": None,
        "required_count": None,
        "installation_id": p.offline_installation_id if item.decision == "installation_id" else None,
    }


def office_host_remedy(version: str | None) -> str:
    """What 0xC004F042 means for an Office client: the host it reached has no host key for this
    Office version. Each Office version needs its own KMS host license pack and host key on
    the host; one host may carry several [SEED] [ODO-HOST]."""
    key = f"Office {version} KMS host key" if version else "KMS host key for this Office version"
    pack = f"Office {version} KMS Host License Pack" if version else "KMS Host License Pack of this Office version"
    return (f"the KMS host has no {key}: on that host install the {pack} and install and activate the "
            f"host key (product_key key_type=kms_host, then activation), or point this client at a KMS host "
            f"that has it (kms_client kms_host=...); each Office version needs its own pack and host key, and a "
            f"Windows host key does not activate Office")


def outcomes(ap: ActivationPlan, applied: t.Sequence[_client.OpResult] | None,
             after: _state.HostState | None) -> tuple[list[dict[str, t.Any]], list[str]]:
    """Per-product rows and the failure lines (empty when the task succeeds).

    ``applied`` is None in check mode or when nothing was sent. Outcomes: ``activated``,
    ``confirmation_deposited``, ``waiting_for_threshold`` (a failure only with
    ``fail_below_threshold``), ``failed``, ``already_activated``, ``installation_id``,
    ``skipped``, and in check mode ``would_activate`` / ``would_deposit``.
    """
    by_index = {r.index: r for r in applied or ()}
    rows: list[dict[str, t.Any]] = []
    failures: list[str] = []
    for item in ap.items:
        now = (after.product(item.product.id) if after is not None else None) or item.product
        row = _row(item, now)
        kms = item.product.channel == "kms_client"
        if item.op_index is not None:
            r = by_index.get(item.op_index)
            if applied is None or r is None:
                row["outcome"] = "would_deposit" if item.decision == "deposit" else "would_activate"
                row["message"] = ("would deposit the confirmation ID" if item.decision == "deposit"
                                  else "would activate")
            elif r.ok:
                row["outcome"] = "confirmation_deposited" if item.decision == "deposit" else "activated"
                where, _words = _kms_where(now) if kms else (None, "")
                ad = _state.ad_activation_dict(now) if kms and after is not None else None
                row["kms_host"] = None if ad else where
                row["message"] = ("activated by phone" if item.decision == "deposit"
                                  else f"activated{f' by the KMS host {where}' if where else ''}")
                if ad:
                    # Windows 8+ clients in a domain ask AD first (VLActivationType 1: no KMS host involved).
                    row["message"] = (f"activated from the Active Directory activation object "
                                      f"'{ad['object_name']}' ({ad['object_dn']})")
                if not now.activated and after is not None:
                    row["message"] += f"; the product now reports '{now.status}'"
            else:
                info = describe(r.hresult, r.error)
                row["hresult"] = info
                where, words = _kms_where(now) if kms else (None, "")
                row["kms_host"] = where
                text = info["message"] if info else (r.error or "the operation failed without an error code")
                remedy = info.get("remedy") if info else None
                if info is not None and r.hresult == ID_MISMATCH and item.product.family in ("office", "office2010"):
                    remedy = office_host_remedy(item.product.office_version)
                    info["remedy"] = remedy
                if r.hresult == NOT_ENOUGH_COUNT:
                    row["outcome"] = "waiting_for_threshold"
                    current = _state.u32_signed(now.raw.get("KeyManagementServiceCurrentCount"))
                    required = _state.u32(now.raw.get("RequiredClientCount")) or None
                    row["current_count"] = current if current is not None and current >= 0 else None
                    row["required_count"] = required
                    host = f"the KMS host {where}" if where else "the KMS host"
                    if row["current_count"] is not None and required:
                        head = f"waiting for threshold: {row['current_count']} of {required} at {host}"
                    else:
                        need = f"the {required} clients" if required else "the clients"
                        head = f"waiting for threshold: {host} counts fewer than {need} it needs to activate this product"
                    row["message"] = (head + "; the client retries every 2 hours and activates once the host counts "
                                      "enough clients (license_info on the KMS host shows its current count)")
                    if ap.request.fail_below_threshold:
                        failures.append(f"Failed to activate {_label(item.product)}: {text}: {row['message']}")
                else:
                    row["outcome"] = "failed"
                    context = ""
                    if kms and r.hresult in DNS_CODES:
                        context = f" (looked for {words})"
                    elif kms and r.hresult in KMS_CODES:
                        context = f" ({words}{f' {where}' if where else ''})"
                    row["message"] = text + context + (f"; next step: {remedy}" if remedy else "")
                    failures.append(f"Failed to activate {_label(item.product)}: {row['message']}")
        rows.append(row)
    return rows, failures


def summary(rows: t.Sequence[t.Mapping[str, t.Any]]) -> dict[str, int]:
    """Outcome -> number of products."""
    out: dict[str, int] = {}
    for r in rows:
        out[r["outcome"]] = out.get(r["outcome"], 0) + 1
    return out
