# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.ad_activation_object (documentation in
plugins/modules/ad_activation_object.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _action, _ad_activation


class ActionModule(_action.LicensingAction):
    """Active Directory activation objects: read (1 round trip), create or remove + read back (1 more)."""

    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "confirmation_id": {"type": "str", "no_log": True},
        "method": {"type": "str", "default": "online", "choices": ["online", "phone"]},
        "name": {"type": "str", "required": True},
        "product_key": {"type": "str", "no_log": True},
        "state": {"type": "str", "default": "present", "choices": ["absent", "present"]},
    }

    def _va_reader(self, ctx: _action.ActionContext) -> _action.StateReader:
        self._request = _ad_activation.parse_request(ctx.params)
        return _ad_activation.AdReader(product_key=self._request.product_key)

    def _va_plan(self, ctx: _action.ActionContext, before: _ad_activation.AdState) -> _action.Plan:
        self._ao_plan = _ad_activation.plan_activation_object(self._request, before)
        return self._ao_plan.plan

    def _va_result(
        self,
        ctx: _action.ActionContext,
        before: _ad_activation.AdState,
        after: _ad_activation.AdState | None,
        plan: _action.Plan,
    ) -> dict[str, t.Any]:
        out = _ad_activation.result(self._ao_plan, before, after)
        if self._ao_plan.awaiting_confirmation:
            out["msg"] = (f"Give the installation ID of the forest for the key '{self._request.masked_key}' to the "
                          "Microsoft activation line, then run again with method=phone and the confirmation_id it "
                          "gives")
        return out
