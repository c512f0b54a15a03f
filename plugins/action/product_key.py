# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.product_key (documentation in plugins/modules/product_key.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import (
    _action,
    _product_key,
    _state,
)


class ActionModule(_action.LicensingAction):
    """Install or remove a product key: read (1 round trip); install/uninstall + refresh + read back (1 more).

    Refusals (malformed key, a GVLK under another key_type, a KMS host key this machine cannot
    hold, a MAK-activated product about to become a KMS client) happen in ``_va_reader`` (no host
    contact) or ``_va_plan`` (after the read, before anything is sent); see ``_product_key``.
    """

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

    def _va_reader(self, ctx: _action.ActionContext) -> _action.StateReader:
        self._request = _product_key.parse_request(ctx.params)
        ids = (self._request.activation_id,) if self._request.activation_id else ()
        return _product_key.KeyStateReader(activation_ids=ids)

    def _va_plan(self, ctx: _action.ActionContext, before: _state.HostState) -> _action.Plan:
        self._key_plan = _product_key.plan_keys(self._request, before)
        return self._key_plan.plan

    def _va_result(
        self,
        ctx: _action.ActionContext,
        before: _state.HostState,
        after: _state.HostState | None,
        plan: _action.Plan,
    ) -> dict[str, t.Any]:
        """``targets`` (what each target had, what was done, where the key is after) and
        ``key_type``; a key that landed outside its target fails the task (the read-back is
        the proof, so this check lives here rather than in ``_va_apply_failure``)."""
        kp = self._key_plan
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
