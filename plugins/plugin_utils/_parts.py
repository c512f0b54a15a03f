# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The parts of a host's licensing state: what each fine-grained module reads, plans and returns.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

One :class:`Part` per fine-grained module (product_key, kms_client, kms_host, kms_firewall,
activation, license_info). A part owns the module's options (``ARGUMENT_SPEC``), its
validation, its reader, its planner and the shape of its result. The fine-grained action
plugins run one part through :class:`_action.LicensingAction` (``PART``); host_licensing runs
several of them from one read and applies them in one batch (:mod:`_hostplan`). Both call the
same methods, so a part's result is the same whichever module ran it.

Life cycle of a part, fixed::

    part = SomePart(params, warn)     # nothing checked yet
    part.validate()                   # options only, no host contact; PlanningError on bad input
    reader = part.reader()            # what to read
    plan = part.plan(ctx, before)     # PlanningError when the host refuses the request
    failure = part.apply_failure(ctx, plan, applied)   # only when the plan was sent
    result = part.result(ctx, before, after, plan)
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from . import (
    _action,
    _activation,
    _client,
    _keys,
    _kms_client,
    _kms_firewall,
    _kms_host,
    _ledger,
    _product_key,
    _state,
)
from ._products import OFFICE_VERSIONS

_GUID_RE = re.compile(r"^\{?[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}?$")

Warn = t.Callable[[str], None]


def _ignore(_message: str) -> None:
    return None


class Part:
    """The template every part follows (see the module docstring).

    ``ARGUMENT_SPEC`` / ``ARGUMENT_SPEC_OPTIONS`` are the options of the fine-grained module
    and, as suboptions, of the same part in host_licensing. ``warn`` shows a warning at
    once (also when the callback does not display the task's ``warnings``).
    """

    NAME: t.ClassVar[str] = ""
    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {}
    ARGUMENT_SPEC_OPTIONS: t.ClassVar[dict[str, t.Any]] = {}

    def __init__(self, params: t.Mapping[str, t.Any], warn: Warn = _ignore) -> None:
        self.params = dict(params)
        self.warn = warn

    @classmethod
    def no_log_values(cls, params: t.Mapping[str, t.Any]) -> list[str]:
        """String values of the part's ``no_log`` options (scrubbed from everything returned)."""
        values: list[str] = []
        for name, spec in cls.ARGUMENT_SPEC.items():
            if spec.get("no_log") and params.get(name) is not None:
                val = params[name]
                values.extend(str(v) for v in (val if isinstance(val, (list, tuple)) else [val]) if v)
        return values

    def refusal_prefix(self) -> str:
        """What goes before a :class:`_action.PlanningError`'s message."""
        return ""

    def validate(self) -> None:
        """Check the options without contacting the host (raise :class:`_action.PlanningError`)."""

    def reader(self) -> _action.StateReader:
        """What to read; called after :meth:`validate`."""
        return _action.LicensingStateReader()

    def plan(self, ctx: _action.ActionContext, before: t.Any) -> _action.Plan:
        """What to change (default: nothing)."""
        return _action.Plan()

    def apply_failure(self, ctx: _action.ActionContext, plan: _action.Plan,
                      applied: t.Sequence[_client.OpResult]) -> str | None:
        """The failure message after applying (default: the first failed operation)."""
        for r in applied:
            if r.failed:
                return _action.failure_message(plan, r)
        return None

    def result(self, ctx: _action.ActionContext, before: t.Any, after: t.Any | None,
               plan: _action.Plan) -> dict[str, t.Any]:
        """The module-specific return values (``changed``, ``diff``, ``failed`` are set by the caller)."""
        return {}


# --------------------------------------------------------------------------- product_key


class ProductKeyPart(Part):
    """Install or remove a product key (product_key). Refusals in :meth:`validate` (malformed key,
    a GVLK under another key_type) or :meth:`plan` (a KMS host key this machine cannot hold, a
    MAK-activated product about to become a KMS client); see ``_product_key``."""

    NAME = "product_key"
    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "activation_id": {"type": "str"},
        "allow_unpublished_gvlk": {"type": "bool", "default": False},
        "gvlk": {"type": "str"},
        "key": {"type": "str", "no_log": True, "aliases": ["product_key"]},
        "key_type": {"type": "str", "choices": list(_product_key.KEY_TYPES)},
        "product": {"type": "str", "choices": list(_product_key.PRODUCT_CHOICES)},
        "replace_mak": {"type": "bool", "default": False},
        "state": {"type": "str", "choices": ["absent", "present"], "default": "present"},
    }
    ARGUMENT_SPEC_OPTIONS: t.ClassVar[dict[str, t.Any]] = {
        "mutually_exclusive": [["key", "gvlk"], ["product", "activation_id"]],
    }

    def validate(self) -> None:
        self.request = _product_key.parse_request(self.params)

    def reader(self) -> _action.StateReader:
        ids = (self.request.activation_id,) if self.request.activation_id else ()
        return _product_key.KeyStateReader(activation_ids=ids)

    def plan(self, ctx: _action.ActionContext, before: _state.HostState) -> _action.Plan:
        self.key_plan = _product_key.plan_keys(self.request, before)
        return self.key_plan.plan

    def result(self, ctx: _action.ActionContext, before: _state.HostState, after: _state.HostState | None,
               plan: _action.Plan) -> dict[str, t.Any]:
        """``targets`` (what each target had, what was done, where the key is after) and
        ``key_type``; a key that landed outside its target fails the task (the read-back is
        the proof, so this check lives here rather than in :meth:`apply_failure`)."""
        kp = self.key_plan
        rows, failure = _product_key.outcome(kp, after)
        out: dict[str, t.Any] = {"key_type": kp.request.key_type, "targets": rows}
        if kp.warnings:
            out["warnings"] = list(kp.warnings)
        if ctx.applied is not None:
            # RefreshLicenseStatus succeeds even when the key was refused: only an installed or
            # removed key is a change.
            out["changed"] = any(r.ok for r in ctx.applied
                                 if plan.operations[r.index].get("method") != "RefreshLicenseStatus")
        if failure and ctx.apply_failure is None:
            out.update(failed=True, msg=failure)
        return out


# --------------------------------------------------------------------------- kms_client


def _client_platform(cp: _kms_client.KmsClientPlan) -> str | None:
    """``spp`` or ``ospp``: where the settings live."""
    stores = {tg.store for tg in cp.targets}
    if len(stores) == 1:
        return stores.pop()
    if cp.caching_service:
        return "ospp" if cp.caching_service == "OfficeSoftwareProtectionService" else "spp"
    return None


class KmsClientPart(Part):
    """KMS client settings of one product family (kms_client)."""

    NAME = "kms_client"
    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "activation_ids": {"type": "list", "elements": "str"},
        "activation_type": {"type": "str", "choices": ["ad", "all", "kms", "token"]},
        "host_caching": {"type": "bool"},
        "kms_host": {"type": "str"},
        "kms_port": {"type": "int"},
        "lookup_domain": {"type": "str"},
        "product": {"type": "str", "choices": ["office", "office2010", "windows"]},
        "state": {"type": "str", "default": "present", "choices": ["absent", "present"]},
    }
    ARGUMENT_SPEC_OPTIONS: t.ClassVar[dict[str, t.Any]] = {
        "mutually_exclusive": [["product", "activation_ids"]],
    }

    def refusal_prefix(self) -> str:
        return "Failed to configure the KMS client: "

    def validate(self) -> None:
        self.want = _kms_client.desired_client_settings(self.params)

    def reader(self) -> _action.StateReader:
        return _kms_client.KmsClientReader(self.want.family, self.want.activation_ids)

    def plan(self, ctx: _action.ActionContext, before: _kms_client.KmsClientState) -> _action.Plan:
        self.client_plan = cp = _kms_client.plan_kms_client(self.want, before)
        plan = cp.plan
        plan.diff = {
            "before": cp.diff_view(cp.targets, cp.host_caching_before),
            "after": cp.diff_view(cp.after_targets, cp.host_caching_after),
        }
        return plan

    def result(self, ctx: _action.ActionContext, before: _kms_client.KmsClientState,
               after: _kms_client.KmsClientState | None, plan: _action.Plan) -> dict[str, t.Any]:
        cp = self.client_plan
        if after is not None:
            targets_after, caching_after = _kms_client.client_targets_after(self.want, after)
        else:
            targets_after, caching_after = cp.after_targets, cp.host_caching_after
        state = after or before
        out: dict[str, t.Any] = {
            "product": self.want.family if self.want.family != "ids" else None,
            "platform": _client_platform(cp),
            "host_caching": caching_after,
            "targets": [tg.view() for tg in targets_after],
            "before": cp.diff_view(cp.targets, cp.host_caching_before),
            "after": cp.diff_view(targets_after, caching_after),
        }
        warnings = list(cp.warnings) + list(state.errors)
        if warnings:
            out["warnings"] = warnings
        return out


# --------------------------------------------------------------------------- kms_host


class KmsHostPart(Part):
    """KMS host settings (kms_host): apply + restart sppsvc + read back."""

    NAME = "kms_host"
    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "activation_interval": {"type": "int"},
        "dns_publishing": {"type": "bool"},
        "host_caching": {"type": "bool"},
        "low_priority": {"type": "bool"},
        "port": {"type": "int", "aliases": ["listening_port"]},
        "publish_domains": {
            "type": "list",
            "elements": "dict",
            "options": {
                "domain": {"type": "str", "required": True},
                "priority": {"type": "int", "default": 0},
                "weight": {"type": "int", "default": 0},
            },
        },
        "renewal_interval": {"type": "int"},
        "republish": {"type": "bool", "default": False},
        "restart_service": {"type": "bool", "default": True},
    }

    def refusal_prefix(self) -> str:
        return "Failed to configure the KMS host: "

    def validate(self) -> None:
        self.want = _kms_host.desired_host_settings(self.params)

    def reader(self) -> _action.StateReader:
        return _kms_host.KmsHostReader()

    def apply_failure(self, ctx: _action.ActionContext, plan: _action.Plan,
                      applied: t.Sequence[_client.OpResult]) -> str | None:
        """A refused sppsvc restart is not a failure: the settings before it were applied.

        slmgr.vbs never restarts sppsvc after /sprt and co.; it says "a KMS reboot is needed for
        this setting to take effect" (Microsoft's slmgr.vbs, L_MsgWarningKmsReboot). On Windows 8
        and later sppsvc is trigger-started and may refuse a restart requested over WinRM. So when
        every setting succeeded and only the restart failed, the task succeeds with
        ``restart_required: true`` and a warning (:meth:`result`). Any other failure is reported
        as usual (the default hook).
        """
        self.restart_refused: str | None = None
        failed = [r for r in applied if r.failed]
        if len(failed) == 1 and failed[0].op == "service_restart":
            said = f" (Windows said: {failed[0].error.strip()})" if failed[0].error else ""
            self.restart_refused = f"{failed[0].message}{said}"
            return None
        return super().apply_failure(ctx, plan, applied)

    def plan(self, ctx: _action.ActionContext, before: _kms_host.KmsHostState) -> _action.Plan:
        self.host_plan = hp = _kms_host.plan_kms_host(
            self.want, before, self.params.get("restart_service", True), check_mode=ctx.check_mode)
        if self.params.get("republish") and not hp.restart:
            # Windows publishes the KMS host's _vlmcs._tcp record when the service starts and every
            # 24 hours after [WSD-DNS]: a restart publishes a record lost to a DNS outage now.
            hp.plan.add({"op": "service_restart", "name": "sppsvc"},
                        "restart the Software Protection service (sppsvc) so that the KMS host publishes its "
                        "SRV record again")
            self.host_plan = hp = dataclasses.replace(hp, restart=True)
        hp.plan.diff = {"before": hp.before.as_dict(), "after": hp.after.as_dict()}
        return hp.plan

    def result(self, ctx: _action.ActionContext, before: _kms_host.KmsHostState,
               after: _kms_host.KmsHostState | None, plan: _action.Plan) -> dict[str, t.Any]:
        hp = self.host_plan
        now = after if after is not None else before
        settings_after = now.settings if after is not None else hp.after
        primary = now.primary
        service = now.service
        requests: dict[str, int | None] | None
        if primary is not None and primary.kms_host is not None:
            count = primary.kms_host.current_count
            required = primary.kms_host.required_count
            requests = _state.kms_requests_dict(primary.kms_host.requests)
        else:
            count = service.current_count if service else None
            required = service.required_count if service else None
            requests = _state.kms_requests_dict(service.requests) if service else None
        applied = after is not None
        refused = getattr(self, "restart_refused", None) if applied else None
        out: dict[str, t.Any] = {
            "before": hp.before.as_dict(),
            "after": settings_after.as_dict(),
            "changed_settings": list(hp.changed_settings),
            "restarted": hp.restart and applied and ctx.apply_failure is None and refused is None,
            "restart_required": hp.restart_required
            or (hp.restart and applied and (ctx.apply_failure is not None or refused is not None)),
            "current_count": count,
            "required_count": required,
            "requests": requests,
            "kms_host_products": [_kms_host.host_product_dict(p) for p in now.host_products],
        }
        warnings = list(hp.warnings) + list(now.errors)
        if hp.restart_required:
            warnings.append(
                "The KMS host applies " + ", ".join(c for c in hp.changed_settings if _kms_host.HOST_SETTINGS[c])
                + " at the next start of the Software Protection service (sppsvc); restart_service is false"
            )
        if refused is not None:
            warnings.append(
                "The KMS host settings " + ", ".join(c for c in hp.changed_settings if _kms_host.HOST_SETTINGS[c])
                + " are saved, but Windows refused to restart the Software Protection service (sppsvc): "
                + refused + ". The KMS host applies them the next time sppsvc starts: restart it on the host "
                "(Restart-Service sppsvc in an elevated session) or reboot the host. On Windows 8 and later sppsvc "
                "also stops by itself when idle and starts again on demand."
            )
        if warnings:
            out["warnings"] = warnings
        return out


# --------------------------------------------------------------------------- kms_firewall


class KmsFirewallPart(Part):
    """The inbound rule for the KMS port (kms_firewall)."""

    NAME = "kms_firewall"
    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "port": {"type": "int"},
        "profiles": {
            "type": "list",
            "elements": "str",
            "default": ["Domain", "Private"],
            "choices": ["Any", "Domain", "Private", "Public"],
        },
        "remote_addresses": {"type": "list", "elements": "str", "default": ["LocalSubnet"]},
        "state": {"type": "str", "default": "present", "choices": ["absent", "present"]},
    }

    def refusal_prefix(self) -> str:
        return "Failed to configure the KMS firewall rule: "

    def validate(self) -> None:
        self.want = _kms_firewall.desired_firewall(self.params)

    def reader(self) -> _action.StateReader:
        for w in self.want.warnings:
            # Loud on purpose: also shown when the task's warnings are not displayed by the callback.
            self.warn(w)
        return _kms_firewall.FirewallReader()

    def plan(self, ctx: _action.ActionContext, before: _kms_firewall.FirewallState) -> _action.Plan:
        self.fw_plan = fp = _kms_firewall.plan_firewall(self.want, before)
        fp.plan.diff = {"before": _kms_firewall.rules_view(fp.before), "after": _kms_firewall.rules_view(fp.after)}
        return fp.plan

    def result(self, ctx: _action.ActionContext, before: _kms_firewall.FirewallState,
               after: _kms_firewall.FirewallState | None, plan: _action.Plan) -> dict[str, t.Any]:
        fp = self.fw_plan
        rules_after = (
            {_kms_firewall.BUILTIN_RULE: after.builtin, _kms_firewall.OWN_RULE: after.own} if after else fp.after
        )
        out: dict[str, t.Any] = {
            "port": fp.port,
            "port_source": fp.port_source,
            "rule_name": fp.rule_name,
            "rule": rules_after[fp.rule_name].as_dict(),
            "before": _kms_firewall.rules_view(fp.before),
            "after": _kms_firewall.rules_view(rules_after),
        }
        if fp.warnings:
            out["warnings"] = list(fp.warnings)
        return out


# --------------------------------------------------------------------------- activation


class ActivationPart(Part):
    """Activate now or by phone (activation). Every product is tried (``stop_on_error`` false)
    and gets its own outcome; the part fails when a product failed, or waits below the KMS
    threshold with ``fail_below_threshold``."""

    NAME = "activation"
    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "activation_ids": {"type": "list", "elements": "str", "default": []},
        "confirmation_ids": {"type": "dict", "no_log": True, "default": {}},
        "fail_below_threshold": {"type": "bool", "default": False},
        "force": {"type": "bool", "default": False},
        "method": {"type": "str", "choices": ["offline", "online"], "default": "online"},
        "product": {"type": "str", "choices": list(_activation.PRODUCT_CHOICES)},
    }
    ARGUMENT_SPEC_OPTIONS: t.ClassVar[dict[str, t.Any]] = {
        "mutually_exclusive": [["activation_ids", "product"]],
    }

    @classmethod
    def no_log_values(cls, params: t.Mapping[str, t.Any]) -> list[str]:
        """confirmation_ids is a dict: each confirmation ID is scrubbed from everything returned."""
        values = [v for v in super().no_log_values(params) if not v.startswith("{")]
        values.extend(str(v) for v in (params.get("confirmation_ids") or {}).values() if v)
        return values

    def validate(self) -> None:
        self.request = _activation.parse_request(self.params)

    def reader(self) -> _action.StateReader:
        return _product_key.KeyStateReader(activation_ids=self.request.activation_ids)

    def plan(self, ctx: _action.ActionContext, before: _state.HostState) -> _action.Plan:
        """With a key ledger, a phone activation reuses the confirmation IDs its CID store holds
        for the installation IDs the products show (VAMT's CID reuse after a reimage)."""
        request = self.request
        self.reused: set[str] = set()
        self.reused_cids: list[str] = []
        path = _ledger.ledger_path(ctx.task_vars)
        if path is not None and request.method == "offline":
            ledger = _ledger.Ledger(path)
            _activation.check_against_store(request, before, ledger.cid_owners(request.confirmation_ids.values()))
            stored = ledger.stored_cids(p.offline_installation_id or "" for p in before.products)
            request, self.reused = _activation.with_stored_cids(request, before, stored)
            self.reused_cids = [request.confirmation_ids[a] for a in self.reused]
        self.act_plan = _activation.plan_activation(request, before)
        return self.act_plan.plan

    def apply_failure(self, ctx: _action.ActionContext, plan: _action.Plan,
                      applied: t.Sequence[_client.OpResult]) -> str | None:
        """The outcome of each product needs the read-back (the KMS host a client reached), so
        Activate() failures are judged in :meth:`result`; only a failed refresh is reported here."""
        sent = {i.op_index for i in self.act_plan.items if i.op_index is not None}
        for r in applied:
            if r.failed and r.index not in sent:
                return _action.failure_message(plan, r)
        return None

    def result(self, ctx: _action.ActionContext, before: _state.HostState, after: _state.HostState | None,
               plan: _action.Plan) -> dict[str, t.Any]:
        rows, failures = _activation.outcomes(self.act_plan, ctx.applied, after)
        for row in rows:
            row["confirmation_id_reused"] = row["activation_id"] in self.reused
            if row["confirmation_id_reused"] and row["outcome"] == "confirmation_deposited":
                row["message"] = ("activated by phone with the confirmation ID the CID store kept for this "
                                  "installation ID (CID reuse: Microsoft was not asked again)")
        out: dict[str, t.Any] = {"products": rows, "summary": _activation.summary(rows)}
        if ctx.applied is not None:
            # RefreshLicenseStatus succeeds even when every Activate() failed: only a product
            # that was activated (or had its confirmation ID deposited) is a change.
            out["changed"] = any(r["outcome"] in ("activated", "confirmation_deposited") for r in rows)
        if failures:
            out.update(failed=True, msg="; ".join(failures))
        # stored confirmation IDs are secrets like the ones given in the options
        return t.cast(dict[str, t.Any], _keys.scrub(out, self.reused_cids))


# --------------------------------------------------------------------------- license_info


class LicenseInfoPart(Part):
    """Read-only: the licensing state of the host (license_info)."""

    NAME = "license_info"
    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "activation_ids": {"type": "list", "elements": "str", "default": []},
        "application": {"type": "str", "default": "all", "choices": ["all", "office", "windows"]},
        "include_unlicensed": {"type": "bool", "default": False},
        "office_versions": {"type": "list", "elements": "str", "default": [], "choices": list(OFFICE_VERSIONS)},
    }

    def validate(self) -> None:
        raw = list(self.params.get("activation_ids") or [])
        bad = [a for a in raw if not _GUID_RE.match(a.strip())]
        if bad:
            raise _action.PlanningError(
                f"Failed to read licensing products: activation_ids must be GUIDs, got {', '.join(map(repr, bad))}"
            )
        ids = [a.strip().strip("{}").lower() for a in raw]
        self.query = _state.StateQuery(
            activation_ids=tuple(dict.fromkeys(ids)),
            include_unlicensed=bool(self.params.get("include_unlicensed", False)),
            application=self.params.get("application") or "all",
        )

    def reader(self) -> _action.StateReader:
        return _action.LicensingStateReader(self.query)

    def result(self, ctx: _action.ActionContext, before: _state.HostState, after: _state.HostState | None,
               plan: _action.Plan) -> dict[str, t.Any]:
        return info_view(after if after is not None else before, self.params.get("office_versions") or ())


def info_view(state: _state.HostState, office_versions: t.Iterable[str] = ()) -> dict[str, t.Any]:
    """license_info's return values for ``state`` (Office products of ``office_versions`` only, when given)."""
    versions = set(office_versions)
    products = [
        p
        for p in state.products
        if not versions or p.family not in ("office", "office2010") or p.office_version in versions
    ]
    filtered = _state.HostState(
        os=state.os,
        service=state.service,
        ospp_service=state.ospp_service,
        ospp_present=state.ospp_present,
        products=tuple(products),
        errors=state.errors,
    )
    out: dict[str, t.Any] = {
        "os": _state.os_dict(filtered),
        "service": _state.service_dict(state.service) if state.service else None,
        "ospp_service": _state.service_dict(state.ospp_service) if state.ospp_service else None,
        "products": [_state.product_dict(p) for p in products],
        "summary": _state.summary_dict(filtered),
    }
    if state.errors:
        out["warnings"] = [f"Failed to query {cls}: {d.get('message')}" for cls, d in state.errors]
    return out


# --------------------------------------------------------------------------- one part, one module


class PartAction(_action.LicensingAction):
    """A fine-grained module: :class:`_action.LicensingAction` whose hooks run one :class:`Part`.

    Subclasses set ``PART``; the options are the part's (``ARGUMENT_SPEC`` is copied from it
    by :meth:`__init_subclass__`, so the module's documentation test checks the part's spec).
    """

    PART: t.ClassVar[type[Part]] = Part

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.ARGUMENT_SPEC = cls.PART.ARGUMENT_SPEC
        cls.ARGUMENT_SPEC_OPTIONS = cls.PART.ARGUMENT_SPEC_OPTIONS

    def _va_no_log_values(self, params: t.Mapping[str, t.Any]) -> list[str]:
        return self.PART.no_log_values(params)

    def _va_refusal_prefix(self, ctx: _action.ActionContext) -> str:
        return self.PART(ctx.params).refusal_prefix()

    def _va_reader(self, ctx: _action.ActionContext) -> _action.StateReader:
        self._part = self.PART(ctx.params, self._display.warning)
        self._part.validate()
        return self._part.reader()

    def _va_plan(self, ctx: _action.ActionContext, before: t.Any) -> _action.Plan:
        return self._part.plan(ctx, before)

    def _va_apply_failure(self, ctx: _action.ActionContext, plan: _action.Plan,
                          applied: t.Sequence[_client.OpResult]) -> str | None:
        return self._part.apply_failure(ctx, plan, applied)

    def _va_result(self, ctx: _action.ActionContext, before: t.Any, after: t.Any | None,
                   plan: _action.Plan) -> dict[str, t.Any]:
        return self._part.result(ctx, before, after, plan)
