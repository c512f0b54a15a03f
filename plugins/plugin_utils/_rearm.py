# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Planner of the rearm module: what to rearm, whether it may be, and the restart.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

Pure Python: no Ansible imports. Facts used:

* ``SoftwareLicensingService.ReArmWindows()`` "Resets the licensing status of the machine"
  (Windows 7 / Server 2008 R2 and later; MicrosoftDocs/win32
  desktop-src/SppWmi/rearmwindows-softwarelicensingservice.md); ``slmgr.vbs /rearm`` calls
  it and asks for a restart; ``/rearm-app <Application ID>`` is
  ``SoftwareLicensingService.ReArmApp(ApplicationId)`` and ``/rearm-sku <Activation ID>`` is
  ``SoftwareLicensingProduct.ReArmSku()``, both Windows 8 and later [SLMGR10].
  ``RemainingWindowsReArmCount`` (service), ``RemainingAppReArmCount`` and
  ``RemainingSkuReArmCount`` (product, Windows 8+) are the counts; 0xC004D307
  (SL_E_REARM_EXCEEDED) is what Windows answers when none is left.
* Office: the OSPP classes have no rearm method; ``ospp.vbs /rearm`` runs
  ``OSPPREARM.EXE`` [OSPP15], the executor's ``ospp_rearm`` operation. OSPP holds Office
  2010 on every Windows and Office 2013+ on Windows 7 / 2008 R2; Office 2013+ on Windows 8+
  lives in SPP, whose ``ReArmApp`` takes Office's application ID
  ``0ff1ce15-a989-479d-af46-f275c6370663`` [OSPP15 OfficeAppId]. Rearming Office resets its
  grace to 30 days and its client machine ID (CMID); five rearms (MicrosoftDocs/
  OfficeDocs-DeployOffice office/volume-license-activation/
  rearm-an-office-installation-on-an-image-when-using-kms-to-activate.md). OSPP shows no
  rearm count, so only OSPPREARM itself can refuse an exhausted one.
* Clones: a KMS host counts machines sharing a CMID once; the remedy is rearm, restart,
  check the new CMID, activate again (MicrosoftDocs/SupportArticles-docs
  support/azure/virtual-machines/windows-activation-duplicate-client-machine-id.md).

Idempotency: a rearm uses up one of a few, so the module never rearms unconditionally by
default. With ``cmids`` it rearms only while the host still has one of those CMIDs (after
the rearm and restart it has a new one: the second run does nothing); ``force`` rearms
every time, as ``slmgr /rearm`` and sysprep do (image preparation).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing as t

from . import _action, _client, _state

WINDOWS_APP_ID = "55c92734-d682-4d71-983e-d6ec3f16059f"
OFFICE_APP_ID = "0ff1ce15-a989-479d-af46-f275c6370663"
PRODUCT_CHOICES = ("office", "windows")
REARM_EXCEEDED = 0xC004D307
#: Seconds between the restart order and the restart (shutdown /t), as win_reboot's default.
RESTART_DELAY = 2
_GUID_RE = re.compile(r"^\{?[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}?$")
#: Read with the licensing state: the boot time tells when the restart has happened.
BOOT_QUERY = _client.cim_query(_state.OS_CLASS, properties=["LastBootUpTime"])


class RearmPlanError(_action.PlanningError):
    """A refusal before anything is sent; the message is the whole ``msg``."""


@dataclasses.dataclass(frozen=True)
class RearmRequest:
    """The validated options (GUIDs lower case without braces)."""

    product: str
    activation_id: str | None
    cmids: tuple[str, ...]
    force: bool
    restart: bool | None
    restart_timeout: int


def _guid(value: t.Any, option: str) -> str:
    text = str(value).strip()
    if not _GUID_RE.match(text):
        raise RearmPlanError(f"Failed to rearm: {option} must hold GUIDs, got '{value}'")
    return text.strip("{}").lower()


def parse_request(params: t.Mapping[str, t.Any]) -> RearmRequest:
    """Validate the options without the host; raise :class:`RearmPlanError`."""
    cmids = tuple(dict.fromkeys(_guid(c, "cmids") for c in params.get("cmids") or []))
    force = bool(params.get("force"))
    if not cmids and not force:
        raise RearmPlanError(
            "Failed to rearm: each rearm uses up one of the few a machine has, so the module needs a condition: "
            "give cmids (rearm only while the host still has one of these client machine IDs, as for clones) or "
            "force=true (rearm on every run, as before capturing an image)")
    if cmids and force:
        raise RearmPlanError("Failed to rearm: cmids and force=true exclude each other (force ignores the CMID)")
    timeout = int(params.get("restart_timeout") or 600)
    if timeout < 30:
        raise RearmPlanError(f"Failed to rearm: restart_timeout must be at least 30 seconds, got {timeout}")
    aid = params.get("activation_id")
    return RearmRequest(
        product=params.get("product") or "windows",
        activation_id=_guid(aid, "activation_id") if aid else None,
        cmids=cmids,
        force=force,
        restart=params.get("restart"),
        restart_timeout=timeout,
    )


@dataclasses.dataclass(frozen=True)
class RearmState:
    """The licensing state plus the boot time (``Win32_OperatingSystem.LastBootUpTime``)."""

    state: _state.HostState
    last_boot: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class RearmStateReader:
    """Reads the licensing state with ``inner`` (shared with product_key / activation) and the
    boot time, in one batch."""

    inner: t.Any

    def operations(self) -> list[dict[str, t.Any]]:
        return [*self.inner.operations(), dict(BOOT_QUERY)]

    def parse(self, results: t.Sequence[t.Mapping[str, t.Any]]) -> RearmState:
        n = len(self.inner.operations())
        state = self.inner.parse(results[:n])
        boot = None
        if len(results) > n and results[n].get("ok"):
            rows = results[n].get("instances") or []
            boot = _state.parse_datetime(rows[0].get("LastBootUpTime")) if rows else None
        return RearmState(state, boot)


@dataclasses.dataclass
class Target:
    """One thing rearmed: ``scope`` (``windows``, ``office``, ``office_ospp``, ``sku``)."""

    scope: str
    label: str
    method: str
    source: str
    remaining: int | None
    count_name: str
    cmid: str | None
    restart_needed: bool
    action: str = "rearm"  # rearm | unchanged
    reason: str | None = None
    activation_id: str | None = None


@dataclasses.dataclass
class RearmPlan:
    request: RearmRequest
    plan: _action.Plan
    targets: list[Target]
    restart: bool
    restart_index: int | None = None


def _win8(state: _state.HostState) -> bool:
    version = (state.os.version if state.os else None) or ""
    parts = [int(p) if p.isdigit() else 0 for p in version.split(".")[:2]] + [0, 0]
    return (parts[0], parts[1]) >= (6, 2)


def _targets(req: RearmRequest, state: _state.HostState) -> list[Target]:
    spp_cmid = state.service.cmid if state.service else None
    if req.activation_id:
        p = state.product(req.activation_id)
        if p is None:
            raise RearmPlanError(f"Failed to rearm the product '{req.activation_id}': no licensing product has this "
                                 "activation ID on this host")
        if p.source != "spp" or not _win8(state):
            raise RearmPlanError(f"Failed to rearm '{p.name}' ({p.id}): ReArmSku exists on Windows 8 / Server 2012 "
                                 "and later, for products of the Software Licensing Service only")
        return [Target("sku", f"'{p.name}' ({p.id})", "ReArmSku", "spp", p.remaining_sku_rearm_count,
                       "RemainingSkuReArmCount", spp_cmid, False, activation_id=p.id)]
    if req.product == "windows":
        remaining = state.service.remaining_windows_rearm_count if state.service else None
        return [Target("windows", "Windows", "ReArmWindows", "spp", remaining, "RemainingWindowsReArmCount", spp_cmid,
                       True)]
    out: list[Target] = []
    office = [p for p in state.products if p.family in ("office", "office2010") and not p.is_kms_host
              and p.channel != "kms_host"]
    ospp = [p for p in office if p.source == "ospp"]
    spp = [p for p in office if p.source == "spp"]
    if ospp:
        cmid = state.ospp_service.cmid if state.ospp_service else None
        out.append(Target("office_ospp", "Office (Office Software Protection Platform)", "OSPPREARM", "ospp", None,
                          "", cmid, False))
    if spp:
        if not _win8(state):
            raise RearmPlanError("Failed to rearm Office: its products are in the Software Licensing Service, whose "
                                 "ReArmApp exists on Windows 8 / Server 2012 and later only")
        counts = [c for c in (p.remaining_app_rearm_count for p in spp) if c is not None]
        out.append(Target("office", "Office", "ReArmApp", "spp", min(counts) if counts else None,
                          "RemainingAppReArmCount", spp_cmid, False))
    if not out:
        raise RearmPlanError("Failed to rearm Office: no Office product with a key was found on this host")
    return out


def plan_rearm(req: RearmRequest, read: RearmState) -> RearmPlan:
    """Decide; raise :class:`RearmPlanError` (nothing sent) when a count is 0.

    A target whose CMID is not in ``cmids`` is left alone (``unchanged``). The restart
    (``os_restart``) goes last, when asked, or by default when Windows is rearmed
    (ReArmWindows takes effect at the restart).
    """
    state = read.state
    targets = _targets(req, state)
    for tg in targets:
        if req.cmids and (tg.cmid or "").lower() not in req.cmids:
            tg.action = "unchanged"
            tg.reason = (f"the client machine ID is {tg.cmid}, not one of cmids: this host was rearmed already or "
                         "is not one of the clones")
        elif tg.remaining == 0:
            raise RearmPlanError(
                f"Failed to rearm {tg.label}: {tg.count_name} is 0, no rearm is left (Windows would answer 0xC004D307 "
                "(SL_E_REARM_EXCEEDED)); nothing was sent. Next step: activate the product instead (a KMS activation "
                "gives Office one more rearm), or reinstall")
    plan = _action.Plan(stop_on_error=True)
    changing = [tg for tg in targets if tg.action == "rearm"]
    for tg in changing:
        count = f" ({tg.count_name} {tg.remaining} before)" if tg.remaining is not None else ""
        desc = f"rearm {tg.label}{count}"
        if tg.method == "ReArmWindows":
            plan.add(_client.cim_invoke(_state.SPP_SERVICE, "ReArmWindows"), desc)
        elif tg.method == "ReArmApp":
            plan.add(_client.cim_invoke(_state.SPP_SERVICE, "ReArmApp", arguments={"ApplicationId": OFFICE_APP_ID}),
                     desc)
        elif tg.method == "ReArmSku":
            plan.add(_client.cim_invoke(_state.SPP_PRODUCT, "ReArmSku",
                                        filter=f"ID = {_state.wql_string(tg.activation_id or '')}"), desc)
        else:
            plan.add({"op": "ospp_rearm"}, desc + " with OSPPREARM.EXE")
    restart = bool(changing) and (req.restart if req.restart is not None else any(t.restart_needed for t in changing))
    out = RearmPlan(request=req, plan=plan, targets=targets, restart=restart)
    if restart:
        out.restart_index = plan.add({"op": "os_restart", "delay": RESTART_DELAY},
                                     "restart the host so that the rearm takes effect")
    plan.diff = {
        "before": {tg.scope: {"cmid": tg.cmid, "remaining": tg.remaining} for tg in changing},
        "after": {tg.scope: {"cmid": "(a new one)" if tg.scope != "sku" else tg.cmid,
                             "remaining": tg.remaining - 1 if tg.remaining is not None else None} for tg in changing},
    }
    return out


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 or None."""
    return _state.iso(value)


def outcomes(rp: RearmPlan, after: RearmState | None) -> list[dict[str, t.Any]]:
    """One row per target: what it had, what was done, what it has now (None before an apply)."""
    rows = []
    for tg in rp.targets:
        row: dict[str, t.Any] = {"scope": tg.scope, "target": tg.label, "method": tg.method,
                                 "action": "rearmed" if tg.action == "rearm" else tg.action, "reason": tg.reason,
                                 "cmid_before": tg.cmid, "cmid": None, "remaining_before": tg.remaining,
                                 "remaining": None}
        if after is not None:
            st = after.state
            if tg.source == "ospp":
                row["cmid"] = st.ospp_service.cmid if st.ospp_service else None
            else:
                row["cmid"] = st.service.cmid if st.service else None
            if tg.scope == "windows":
                row["remaining"] = st.service.remaining_windows_rearm_count if st.service else None
            elif tg.scope == "sku":
                p = st.product(tg.activation_id or "")
                row["remaining"] = p.remaining_sku_rearm_count if p else None
            elif tg.scope == "office":
                counts = [p.remaining_app_rearm_count for p in st.products
                          if p.source == "spp" and p.family in ("office", "office2010")
                          and p.remaining_app_rearm_count is not None]
                row["remaining"] = min(counts) if counts else None
        rows.append(row)
    return rows
