# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.kms_client (documentation in plugins/modules/kms_client.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _action, _kms_client


class ActionModule(_action.LicensingAction):
    """KMS client settings of one product family: read (1 round trip), apply + read back (1 more)."""

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

    def _va_refusal_prefix(self, ctx: _action.ActionContext) -> str:
        return "Failed to configure the KMS client: "

    def _va_reader(self, ctx: _action.ActionContext) -> _action.StateReader:
        self._want = _kms_client.desired_client_settings(ctx.params)
        return _kms_client.KmsClientReader(self._want.family, self._want.activation_ids)

    def _va_plan(self, ctx: _action.ActionContext, before: _kms_client.KmsClientState) -> _action.Plan:
        self._client_plan = _kms_client.plan_kms_client(self._want, before)
        cp = self._client_plan
        plan = cp.plan
        plan.diff = {
            "before": cp.diff_view(cp.targets, cp.host_caching_before),
            "after": cp.diff_view(cp.after_targets, cp.host_caching_after),
        }
        return plan

    def _va_result(
        self,
        ctx: _action.ActionContext,
        before: _kms_client.KmsClientState,
        after: _kms_client.KmsClientState | None,
        plan: _action.Plan,
    ) -> dict[str, t.Any]:
        cp = self._client_plan
        if after is not None:
            targets_after, caching_after = _kms_client.client_targets_after(self._want, after)
        else:
            targets_after, caching_after = cp.after_targets, cp.host_caching_after
        state = after or before
        out: dict[str, t.Any] = {
            "product": self._want.family if self._want.family != "ids" else None,
            "platform": _platform(cp),
            "host_caching": caching_after,
            "targets": [tg.view() for tg in targets_after],
            "before": cp.diff_view(cp.targets, cp.host_caching_before),
            "after": cp.diff_view(targets_after, caching_after),
        }
        warnings = list(cp.warnings) + list(state.errors)
        if warnings:
            out["warnings"] = warnings
        return out


def _platform(cp: _kms_client.KmsClientPlan) -> str | None:
    """``spp`` or ``ospp``: where the settings live."""
    stores = {tg.store for tg in cp.targets}
    if len(stores) == 1:
        return stores.pop()
    if cp.caching_service:
        return "ospp" if cp.caching_service == "OfficeSoftwareProtectionService" else "spp"
    return None
