# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.kms_firewall (documentation in plugins/modules/kms_firewall.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _action, _kms_firewall


class ActionModule(_action.LicensingAction):
    """The inbound rule for the KMS port: read (1 round trip), apply + read back (1 more)."""

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

    def _va_refusal_prefix(self, ctx: _action.ActionContext) -> str:
        return "Failed to configure the KMS firewall rule: "

    def _va_reader(self, ctx: _action.ActionContext) -> _action.StateReader:
        self._want = _kms_firewall.desired_firewall(ctx.params)
        for w in self._want.warnings:
            # Loud on purpose: also shown when the task's warnings are not displayed by the callback.
            self._display.warning(w)
        return _kms_firewall.FirewallReader()

    def _va_plan(self, ctx: _action.ActionContext, before: _kms_firewall.FirewallState) -> _action.Plan:
        self._fw_plan = _kms_firewall.plan_firewall(self._want, before)
        plan = self._fw_plan.plan
        plan.diff = {
            "before": _kms_firewall.rules_view(self._fw_plan.before),
            "after": _kms_firewall.rules_view(self._fw_plan.after),
        }
        return plan

    def _va_result(
        self,
        ctx: _action.ActionContext,
        before: _kms_firewall.FirewallState,
        after: _kms_firewall.FirewallState | None,
        plan: _action.Plan,
    ) -> dict[str, t.Any]:
        fp = self._fw_plan
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
