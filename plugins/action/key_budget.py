# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.key_budget (documentation in plugins/modules/key_budget.py).

Runs on the controller only: it reads and writes the key ledger (plugin_utils/_ledger.py) and
never contacts the host, so it costs no WinRM round trip.
"""

from __future__ import annotations

import os
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _keys, _ledger


class ActionModule(ActionBase):
    """Record or read the activations left on a MAK or KMS host key in the key ledger."""

    TRANSFERS_FILES = False
    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "edition": {"type": "str"},
        "key": {"type": "str", "required": True, "no_log": True, "aliases": ["product_key"]},
        "key_type": {"type": "str", "choices": list(_ledger.KINDS)},
        "ledger": {"type": "path"},
        "note": {"type": "str"},
        "remaining": {"type": "int"},
        "state": {"type": "str", "choices": ["absent", "present", "query"], "default": "present"},
    }

    def _ledger_file(self, params: t.Mapping[str, t.Any], task_vars: t.Mapping[str, t.Any]) -> str:
        if params.get("ledger"):
            return os.path.abspath(str(params["ledger"]))
        found = _ledger.ledger_path(task_vars)
        if found:
            return found
        inv = task_vars.get("inventory_dir")
        if not inv:
            raise AnsibleActionFail("Failed to find the key ledger: no 'ledger' option, no "
                                    f"'{_ledger.LEDGER_VAR}' variable and no inventory directory to put it beside")
        return os.path.abspath(os.path.join(str(inv), _ledger.DEFAULT_NAME))

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        result: dict[str, t.Any] = super().run(tmp=tmp, task_vars=task_vars)
        task_vars = task_vars or {}
        raw_key = str(self._task.args.get("key") or self._task.args.get("product_key") or "")
        secrets = [raw_key] if raw_key else []
        try:
            _v, params = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
            result.update(self._run(params, task_vars))
        except (AnsibleActionFail, _ledger.LedgerError, _keys.ProductKeyError) as e:
            result.update(failed=True, changed=False, msg=str(e))
        return t.cast(dict[str, t.Any], _keys.scrub(result, secrets))

    def _run(self, params: t.Mapping[str, t.Any], task_vars: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        try:
            key = _keys.validate_product_key(params["key"])
        except _keys.ProductKeyError as e:
            raise AnsibleActionFail(f"Failed to validate the product key: {e}") from e
        masked = _keys.mask_product_key(key)
        state = params["state"]
        remaining = params.get("remaining")
        if remaining is not None and remaining < 0:
            raise AnsibleActionFail(f"Failed to record the budget of '{masked}': remaining must be 0 or more, "
                                    f"got {remaining}")
        if state == "present" and not params.get("key_type"):
            raise AnsibleActionFail(f"Failed to record the budget of '{masked}': key_type is required "
                                    "(mak or kms_host)")
        path = self._ledger_file(params, task_vars)
        ledger = _ledger.Ledger(path)
        check = bool(self._task.check_mode)
        if check or state == "query":
            doc = ledger.read()
            return self._apply(doc, key, params, path)
        with ledger.transaction() as doc:
            return self._apply(doc, key, params, path)

    def _apply(self, doc: _ledger.LedgerDoc, key: str, params: t.Mapping[str, t.Any], path: str) -> dict[str, t.Any]:
        kid = doc.key_id(key)
        before = dict(doc.keys[kid]) if kid in doc.keys else None
        state = params["state"]
        if state == "present":
            doc.set_budget(key, params["key_type"], params.get("remaining"), params.get("note"), _ledger.now_iso(),
                           edition=params.get("edition"))
        elif state == "absent":
            doc.remove_key(kid)
        elif kid not in doc.keys:
            raise AnsibleActionFail(f"Failed to read the budget of '{_keys.mask_product_key(key)}': the key ledger "
                                    f"'{path}' does not hold this key")
        after = dict(doc.keys[kid]) if kid in doc.keys else None
        out: dict[str, t.Any] = {
            "changed": before != after,
            "ledger": path,
            "key_id": kid,
            "product_key": _keys.mask_product_key(key),
            "budget": None,
            "activations": [],
        }
        if after is not None:
            b = doc.budget(kid)
            out["key_type"] = after["kind"]
            out["edition"] = after.get("edition")
            out["budget"] = {k: b[k] for k in ("remaining", "as_of", "used", "reserved", "available")}
            out["budget"]["reserved_by"] = b["reserved_by"]
            out["activations"] = [{k: a.get(k) for k in ("host", "cmid", "activation_id", "product", "method", "date")}
                                  for a in doc.activations if a.get("key") == kid]
        if self._task.diff:
            view = ("remaining", "kind", "as_of", "note", "edition")
            out["diff"] = {"before": {k: before[k] for k in view} if before else {},
                           "after": {k: after[k] for k in view} if after else {}}
        return out
