# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.kms_host (documentation in plugins/modules/kms_host.py)."""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import (
    _action,
    _client,
    _kms_host,
    _state,
)


class ActionModule(_action.LicensingAction):
    """KMS host settings: read (1 round trip), apply + restart sppsvc + read back (1 more)."""

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

    def _va_refusal_prefix(self, ctx: _action.ActionContext) -> str:
        return "Failed to configure the KMS host: "

    def _va_apply_failure(
        self, ctx: _action.ActionContext, plan: _action.Plan, applied: t.Sequence[_client.OpResult]
    ) -> str | None:
        """A refused sppsvc restart is not a failure: the settings before it were applied.

        slmgr.vbs never restarts sppsvc after /sprt and co.; it says "a KMS reboot is needed for
        this setting to take effect" (Microsoft's slmgr.vbs, L_MsgWarningKmsReboot). On Windows 8
        and later sppsvc is trigger-started and may refuse a restart requested over WinRM. So when
        every setting succeeded and only the restart failed, the task succeeds with
        ``restart_required: true`` and a warning (``_va_result``). Any other failure is reported
        as usual (the default hook).
        """
        self._restart_refused = None
        failed = [r for r in applied if r.failed]
        if len(failed) == 1 and failed[0].op == "service_restart":
            said = f" (Windows said: {failed[0].error.strip()})" if failed[0].error else ""
            self._restart_refused = f"{failed[0].message}{said}"
            return None
        return super()._va_apply_failure(ctx, plan, applied)

    def _va_reader(self, ctx: _action.ActionContext) -> _action.StateReader:
        self._want = _kms_host.desired_host_settings(ctx.params)
        return _kms_host.KmsHostReader()

    def _va_plan(self, ctx: _action.ActionContext, before: _kms_host.KmsHostState) -> _action.Plan:
        self._host_plan = _kms_host.plan_kms_host(self._want, before, ctx.params["restart_service"],
                                                  check_mode=ctx.check_mode)
        plan = self._host_plan.plan
        if ctx.params["republish"] and not self._host_plan.restart:
            # Windows publishes the KMS host's _vlmcs._tcp record when the service starts and every
            # 24 hours after [WSD-DNS]: a restart publishes a record lost to a DNS outage now.
            plan.add({"op": "service_restart", "name": "sppsvc"},
                     "restart the Software Protection service (sppsvc) so that the KMS host publishes its "
                     "SRV record again")
            self._host_plan = dataclasses.replace(self._host_plan, restart=True)
        plan.diff = {"before": self._host_plan.before.as_dict(), "after": self._host_plan.after.as_dict()}
        return plan

    def _va_result(
        self,
        ctx: _action.ActionContext,
        before: _kms_host.KmsHostState,
        after: _kms_host.KmsHostState | None,
        plan: _action.Plan,
    ) -> dict[str, t.Any]:
        hp = self._host_plan
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
        refused = getattr(self, "_restart_refused", None) if applied else None
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
