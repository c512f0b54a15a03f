# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Active Directory-based activation: reading and planning activation objects.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

An activation object (class ``msSPP-ActivationObject``) lives in
``CN=Activation Objects,CN=Microsoft SPP,CN=Services,<configuration naming context>`` of
the forest. It is created from a KMS host key (CSVLK) on a domain-joined computer running
Windows 8 / Windows Server 2012 or later, online (``DoActiveDirectoryOnlineActivation``)
or by phone (``GenerateActiveDirectoryOfflineActivationId`` gives the installation ID,
``DepositActiveDirectoryOfflineActivationConfirmation`` takes the confirmation ID), as
VAMT's "Online activate forest" / "Proxy activate forest" and ``slmgr.vbs
/ad-activation-online``, ``/ad-activation-get-iid``, ``/ad-activation-apply-cid`` do;
``slmgr.vbs /ao-list`` and ``/del-ao`` list and delete them over ADSI.

Sources: MicrosoftDocs/windows-itpro-docs windows/deployment/volume-activation/
active-directory-based-activation-overview.md, activate-forest-vamt.md ("ADBA is only
applicable to Generic Volume License Keys (GVLKs) and KMS Host keys (CSVLKs)"), microsoft/wmi
(SoftwareLicensingService method and parameter names), slmgr.vbs [SLMGR10] (container,
class and attribute names), MicrosoftDocs/win32 Win32_ComputerSystem (PartOfDomain, Domain).

Round trips: one read (OS, domain membership, the objects, and with a key the
installation ID, which also makes Windows check that the key is a CSVLK), and one apply +
read back when something changes.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from . import _action, _client, _keys, _product_key

CS_CLASS = "Win32_ComputerSystem"
OS_CLASS = "Win32_OperatingSystem"
#: The activation object name is the object's cn (at most 64 characters, [LAB-checked] as
#: SL_E_VL_AD_AO_NAME_TOO_LONG otherwise) and cannot hold characters an RDN must escape.
MAX_NAME = 64
_BAD_NAME_CHARS = ',=+<>#;"\\'
#: AD-based activation needs Windows 8 / Windows Server 2012 (NT 6.2) or later.
MIN_NT = (6, 2)
_CID_RE = re.compile(r"^[0-9][0-9 -]*$")


class AdActivationError(_action.PlanningError):
    """A refusal before anything on the host or in the directory changed."""


@dataclasses.dataclass(frozen=True)
class AoRequest:
    """The task's options, validated (the key and CID are secrets: never shown unmasked)."""

    name: str
    state: str
    method: str
    product_key: str | None
    confirmation_id: str | None

    @property
    def masked_key(self) -> str | None:
        return _keys.mask_product_key(self.product_key)


def parse_request(params: t.Mapping[str, t.Any]) -> AoRequest:
    """Validate the options without contacting the host. Contract: the returned request has a
    usable name; ``present`` has a valid product key that is not a public GVLK; a CID only with
    ``method=phone``; ``absent`` has neither key nor CID."""
    name = str(params.get("name") or "").strip()
    if not name:
        raise AdActivationError("Failed to manage the activation object: name must not be empty")
    bad = sorted({c for c in name if c in _BAD_NAME_CHARS or ord(c) < 32})
    if bad:
        raise AdActivationError(f"Failed to manage the activation object '{name}': the name contains {bad[0]!r}, "
                                f"which a directory name cannot hold unescaped (no {_BAD_NAME_CHARS})")
    if len(name) > MAX_NAME:
        raise AdActivationError(f"Failed to manage the activation object '{name[:20]}...': the name has {len(name)} "
                                f"characters, at most {MAX_NAME} are allowed")
    state = params.get("state") or "present"
    method = params.get("method") or "online"
    key = params.get("product_key")
    cid = params.get("confirmation_id")
    if state == "absent":
        for opt, value in (("product_key", key), ("confirmation_id", cid)):
            if value:
                raise AdActivationError(f"Failed to remove the activation object '{name}': {opt} is not used with "
                                        "state=absent (an object is removed by its name)")
        return AoRequest(name, state, method, None, None)
    if not key:
        raise AdActivationError(f"Failed to create the activation object '{name}': product_key is required with "
                                "state=present (the KMS host key (CSVLK) the object is made from)")
    try:
        norm = _keys.validate_product_key(key)
    except _keys.ProductKeyError as e:
        raise AdActivationError(f"Failed to create the activation object '{name}': {e}") from None
    row = _product_key.gvlk_for_key(norm)
    if row is not None:
        raise AdActivationError(
            f"Failed to create the activation object '{name}' with the key '{_keys.mask_product_key(norm)}': it is "
            f"the public KMS client setup key (GVLK) of {row.product}; an activation object is made from a KMS host "
            "key (CSVLK), while the GVLK goes on the clients (product_key with key_type=kms_client)")
    if cid is not None and method != "phone":
        raise AdActivationError(f"Failed to create the activation object '{name}': confirmation_id is only used with "
                                "method=phone")
    if cid is not None:
        digits = re.sub(r"[ -]", "", str(cid))
        if not _CID_RE.match(str(cid)) or len(digits) != 48:
            raise AdActivationError(f"Failed to create the activation object '{name}': the confirmation ID must be "
                                    "48 digits (groups separated by '-' or spaces are accepted)")
        cid = digits
    return AoRequest(name, state, method, norm, cid)


@dataclasses.dataclass(frozen=True)
class ActivationObject:
    """One activation object as ``ad_activation_objects`` reports it."""

    name: str
    dn: str
    sku_id: str | None
    pid: str | None
    partial_product_key: str | None

    @classmethod
    def from_result(cls, raw: t.Mapping[str, t.Any]) -> ActivationObject:
        sku = raw.get("sku_id")
        return cls(name=str(raw.get("name") or ""), dn=str(raw.get("dn") or ""),
                   sku_id=str(sku).strip("{}").lower() if sku else None,
                   pid=raw.get("pid") or None, partial_product_key=raw.get("partial_product_key") or None)

    def view(self) -> dict[str, t.Any]:
        """The JSON view (the key masked: only its last five characters are stored in AD)."""
        return {"name": self.name, "dn": self.dn, "csvlk_sku_id": self.sku_id, "csvlk_pid": self.pid,
                "partial_product_key": self.partial_product_key,
                "masked_product_key": _keys.mask_product_key(self.partial_product_key)}


@dataclasses.dataclass(frozen=True)
class AdState:
    """What the read learned. ``objects_error`` / ``iid_error`` are failed results
    (:class:`_client.OpResult`) or None."""

    os_caption: str | None
    os_version: str | None
    part_of_domain: bool | None
    domain: str | None
    container: str | None
    objects: tuple[ActivationObject, ...]
    objects_error: _client.OpResult | None
    installation_id: str | None
    iid_error: _client.OpResult | None

    @property
    def nt(self) -> tuple[int, int] | None:
        if not self.os_version:
            return None
        try:
            major, minor = self.os_version.split(".")[:2]
            return int(major), int(minor)
        except ValueError:
            return None

    def find(self, name: str) -> ActivationObject | None:
        low = name.lower()
        return next((o for o in self.objects if o.name.lower() == low), None)


def _op_result(index: int, raw: t.Mapping[str, t.Any]) -> _client.OpResult:
    return _client.OpResult(index=index, op=str(raw.get("op")), ok=bool(raw.get("ok")),
                            skipped=bool(raw.get("skipped")), hresult=raw.get("hresult"),
                            error=raw.get("error"), raw=raw)


@dataclasses.dataclass(frozen=True)
class AdReader:
    """Reads the OS, the domain membership and the activation objects; with a key, the
    first read also asks for the forest's installation ID (``first_read``)."""

    product_key: str | None = None

    def operations(self) -> list[dict[str, t.Any]]:
        return [
            _client.cim_query(OS_CLASS, properties=["Caption", "Version"]),
            _client.cim_query(CS_CLASS, properties=["Domain", "PartOfDomain"]),
            {"op": "ad_activation_objects"},
        ]

    def first_read(self, batch: _client.Batch) -> None:
        if self.product_key:
            batch.add({"op": "ad_installation_id", "product_key": batch.product_key(self.product_key)})

    def parse(self, results: t.Sequence[t.Mapping[str, t.Any]]) -> AdState:
        os_rows = list(results[0].get("instances") or []) if results[0].get("ok") else []
        cs_rows = list(results[1].get("instances") or []) if results[1].get("ok") else []
        objs = results[2]
        iid = results[3] if len(results) > 3 else None
        os_row = os_rows[0] if os_rows else {}
        cs_row = cs_rows[0] if cs_rows else {}
        return AdState(
            os_caption=os_row.get("Caption"), os_version=os_row.get("Version"),
            part_of_domain=cs_row.get("PartOfDomain") if cs_row else None,
            domain=cs_row.get("Domain"),
            container=objs.get("container") if objs.get("ok") else None,
            objects=tuple(ActivationObject.from_result(o) for o in (objs.get("objects") or [])) if objs.get("ok")
            else (),
            objects_error=None if objs.get("ok") else _op_result(2, objs),
            installation_id=(iid.get("installation_id") if iid and iid.get("ok") else None),
            iid_error=_op_result(3, iid) if iid is not None and not iid.get("ok") else None,
        )


@dataclasses.dataclass
class AoPlan:
    """The plan and what the result reports."""

    plan: _action.Plan
    request: AoRequest
    existing: ActivationObject | None
    installation_id: str | None = None
    awaiting_confirmation: bool = False


def _what(req: AoRequest) -> str:
    if req.state == "absent":
        return f"remove the activation object '{req.name}'"
    return f"create the activation object '{req.name}'"


def _check_host(req: AoRequest, state: AdState) -> None:
    """The management computer: Windows 8 / Server 2012 or later, a domain member, the
    container readable."""
    nt = state.nt
    if nt is None:
        raise AdActivationError(f"Failed to {_what(req)}: the Windows version of the host could not be read")
    if nt < MIN_NT:
        raise AdActivationError(
            f"Failed to {_what(req)}: the host runs {state.os_caption or 'Windows'} (version {state.os_version}); "
            "Active Directory-based activation needs Windows 8 / Windows Server 2012 or later on the computer "
            "that manages it")
    if not state.part_of_domain:
        raise AdActivationError(
            f"Failed to {_what(req)}: the host is not joined to a domain (workgroup '{state.domain or '?'}'); run "
            "the task on a domain member of the forest whose activation objects it manages")
    if state.objects_error is not None:
        raise AdActivationError(f"Failed to {_what(req)}: the activation objects could not be read: "
                                f"{state.objects_error.message}")


def plan_activation_object(req: AoRequest, state: AdState) -> AoPlan:
    """Decide what to do; :class:`AdActivationError` for a refusal (nothing has changed then)."""
    _check_host(req, state)
    existing = state.find(req.name)
    plan = _action.Plan()
    out = AoPlan(plan=plan, request=req, existing=existing)
    if req.state == "absent":
        if existing is not None:
            plan.add({"op": "ad_activation_object_remove", "dn": existing.dn},
                     f"remove the activation object '{existing.name}' ({existing.dn})")
        plan.diff = {"before": existing.view() if existing else {}, "after": {}}
        return out
    if req.product_key is None:  # parse_request guarantees a key for state=present
        raise AdActivationError(f"Failed to {_what(req)}: product_key is required with state=present")
    if state.iid_error is not None:
        raise AdActivationError(
            f"Failed to {_what(req)} with the key '{req.masked_key}': Windows refused the key: "
            f"{state.iid_error.message}; an activation object is made from a KMS host key (CSVLK) for Windows or "
            "for Office 2013 or later, not from a MAK, a retail key or a KMS client setup key")
    if existing is not None:
        if existing.partial_product_key and existing.partial_product_key.upper() != req.product_key[-5:]:
            raise AdActivationError(
                f"Failed to {_what(req)} with the key '{req.masked_key}': an activation object of that name exists, "
                f"made from the key '{_keys.mask_product_key(existing.partial_product_key)}'; an activation object "
                "cannot be changed: remove it (state=absent) or choose another name")
        plan.diff = {"before": existing.view(), "after": existing.view()}
        return out
    after = {"name": req.name, "dn": f"CN={req.name},{state.container}" if state.container else None,
             "masked_product_key": req.masked_key}
    plan.diff = {"before": {}, "after": after}
    if req.method == "online":
        plan.add(_client.cim_invoke("SoftwareLicensingService", "DoActiveDirectoryOnlineActivation",
                                    arguments={"ProductKey": plan.batch.product_key(req.product_key),
                                               "ActivationObjectName": req.name}),
                 f"{_what(req)} with the KMS host key '{req.masked_key}' online")
        return out
    out.installation_id = state.installation_id
    if req.confirmation_id is None:
        # Phone, first step: the installation ID goes out; nothing changes.
        out.awaiting_confirmation = True
        plan.diff = {"before": {}, "after": {}}
        return out
    plan.add(_client.cim_invoke("SoftwareLicensingService", "DepositActiveDirectoryOfflineActivationConfirmation",
                                arguments={"ProductKey": plan.batch.product_key(req.product_key),
                                           "ConfirmationID": plan.batch.confirmation_id(req.confirmation_id),
                                           "ActivationObjectName": req.name}),
             f"{_what(req)} with the KMS host key '{req.masked_key}' and the confirmation ID")
    return out


def result(ao: AoPlan, before: AdState, after: AdState | None) -> dict[str, t.Any]:
    """The module's return values (see the module documentation)."""
    state = after or before
    obj = state.find(ao.request.name)
    out: dict[str, t.Any] = {
        "name": ao.request.name,
        "state": ao.request.state,
        "domain": state.domain,
        "container": state.container,
        "object": obj.view() if obj else None,
        "objects": [o.view() for o in state.objects],
        "installation_id": ao.installation_id,
        "awaiting_confirmation_id": ao.awaiting_confirmation,
    }
    return out
