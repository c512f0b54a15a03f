# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.rearm (documentation in plugins/modules/rearm.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import (
    _action,
    _product_key,
    _rearm,
    _restart,
)


class ActionModule(_action.LicensingAction):
    """Rearm Windows, Office or one SKU, and restart: read (1 round trip); rearm + restart order +
    read back (1 more); then the restart: attempts until the host is back with a new boot time
    (those that reach the host are counted in ``round_trips``; the last one is the read-back).

    Refusals (no condition, a count of 0, ReArmSku/ReArmApp before Windows 8) come before
    anything is sent; see ``_rearm``.
    """

    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "activation_id": {"type": "str"},
        "cmids": {"type": "list", "elements": "str", "default": []},
        "force": {"type": "bool", "default": False},
        "product": {"type": "str", "choices": list(_rearm.PRODUCT_CHOICES)},
        "restart": {"type": "bool"},
        "restart_timeout": {"type": "int", "default": 600},
    }
    ARGUMENT_SPEC_OPTIONS: t.ClassVar[dict[str, t.Any]] = {
        "mutually_exclusive": [["product", "activation_id"]],
    }

    def _va_reader(self, ctx: _action.ActionContext) -> _action.StateReader:
        self._request = _rearm.parse_request(ctx.params)
        ids = (self._request.activation_id,) if self._request.activation_id else ()
        return _rearm.RearmStateReader(_product_key.KeyStateReader(activation_ids=ids))

    def _va_plan(self, ctx: _action.ActionContext, before: _rearm.RearmState) -> _action.Plan:
        self._before = before
        self._rearm_plan = _rearm.plan_rearm(self._request, before)
        self._restart: _restart.RestartResult | None = None
        return self._rearm_plan.plan

    def _va_after_apply(self, ctx: _action.ActionContext, reader: _action.StateReader, plan: _action.Plan,
                        after: _action.ParsedState) -> _action.ParsedState:
        """When the batch ordered a restart and nothing failed, wait for the host to come back
        with a later boot time and read again (that read is the state reported)."""
        rp = self._rearm_plan
        if rp.restart_index is None or not ctx.applied or any(r.failed for r in ctx.applied):
            return after
        parse = t.cast(_rearm.RearmStateReader, reader)
        try:
            self._restart = _restart.wait_for_restart(
                self, ctx.client, parse.operations(), boot_time=lambda res: parse.parse(res).last_boot,
                boot_before=self._before.last_boot, delay=_rearm.RESTART_DELAY, timeout=rp.request.restart_timeout)
        except _restart.RestartTimeout as e:
            raise _action.LicensingActionError(f"Failed to restart the host after the rearm: {e}", changed=True) from e
        return parse.parse(self._restart.results)

    def _va_result(self, ctx: _action.ActionContext, before: _rearm.RearmState, after: _rearm.RearmState | None,
                   plan: _action.Plan) -> dict[str, t.Any]:
        rp = self._rearm_plan
        out: dict[str, t.Any] = {"targets": _rearm.outcomes(rp, after), "restarted": self._restart is not None,
                                 "restart": None}
        if self._restart is not None:
            out["restart"] = {"elapsed": round(self._restart.elapsed, 1), "attempts": self._restart.attempts,
                              "boot_time": _rearm.iso(after.last_boot) if after else None}
        return out
