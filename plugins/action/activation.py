# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.activation (documentation in plugins/modules/activation.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import (
    _action,
    _activation,
    _client,
    _keys,
    _ledger,
    _product_key,
    _state,
)


class ActionModule(_action.LicensingAction):
    """Activate now or by phone: read (1 round trip); Activate/Deposit + refresh + read back (1 more).

    Every product is tried (``stop_on_error`` false) and gets its own outcome; the task fails
    when a product failed, or waits below the KMS threshold with ``fail_below_threshold``.
    """

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

    def _va_no_log_values(self, params: t.Mapping[str, t.Any]) -> list[str]:
        """confirmation_ids is a dict: each confirmation ID is scrubbed from everything returned."""
        values = [v for v in super()._va_no_log_values(params) if not v.startswith("{")]
        values.extend(str(v) for v in (params.get("confirmation_ids") or {}).values() if v)
        return values

    def _va_reader(self, ctx: _action.ActionContext) -> _action.StateReader:
        self._request = _activation.parse_request(ctx.params)
        return _product_key.KeyStateReader(activation_ids=self._request.activation_ids)

    def _va_plan(self, ctx: _action.ActionContext, before: _state.HostState) -> _action.Plan:
        """With a key ledger, a phone activation reuses the confirmation IDs its CID store holds
        for the installation IDs the products show (VAMT's CID reuse after a reimage)."""
        request = self._request
        self._reused: set[str] = set()
        self._reused_cids: list[str] = []
        path = _ledger.ledger_path(ctx.task_vars)
        if path is not None and request.method == "offline":
            ledger = _ledger.Ledger(path)
            _activation.check_against_store(request, before, ledger.cid_owners(request.confirmation_ids.values()))
            stored = ledger.stored_cids(p.offline_installation_id or "" for p in before.products)
            request, self._reused = _activation.with_stored_cids(request, before, stored)
            self._reused_cids = [request.confirmation_ids[a] for a in self._reused]
        self._act_plan = _activation.plan_activation(request, before)
        return self._act_plan.plan

    def _va_apply_failure(
        self, ctx: _action.ActionContext, plan: _action.Plan, applied: t.Sequence[_client.OpResult]
    ) -> str | None:
        """The outcome of each product needs the read-back (the KMS host a client reached), so
        Activate() failures are judged in ``_va_result``; only a failed refresh is reported here."""
        sent = {i.op_index for i in self._act_plan.items if i.op_index is not None}
        for r in applied:
            if r.failed and r.index not in sent:
                return _action.failure_message(plan, r)
        return None

    def _va_result(
        self,
        ctx: _action.ActionContext,
        before: _state.HostState,
        after: _state.HostState | None,
        plan: _action.Plan,
    ) -> dict[str, t.Any]:
        rows, failures = _activation.outcomes(self._act_plan, ctx.applied, after)
        for row in rows:
            row["confirmation_id_reused"] = row["activation_id"] in self._reused
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
        return t.cast(dict[str, t.Any], _keys.scrub(out, self._reused_cids))
