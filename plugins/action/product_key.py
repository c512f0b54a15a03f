# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.product_key (documentation in plugins/modules/product_key.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import (
    _action,
    _keys,
    _keyselect,
    _state,
)


class ActionModule(_action.LicensingAction):
    """Install or remove a product key: read (1 round trip), install/uninstall + read back (1 more)."""

    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "activation_id": {"type": "str"},
        "force": {"type": "bool", "default": False},
        "gvlk": {"type": "str", "choices": ["auto"]},
        "key_type": {"type": "str", "choices": list(_keyselect.KEY_TYPES), "default": "kms_client"},
        "product": {"type": "list", "elements": "str", "default": ["windows"]},
        "product_key": {"type": "str", "no_log": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }
    ARGUMENT_SPEC_OPTIONS: t.ClassVar[dict[str, t.Any]] = {
        "mutually_exclusive": [["product_key", "gvlk"]],
    }

    def _va_reader(self, ctx: _action.ActionContext) -> _action.StateReader:
        p = ctx.params
        bad = [f for f in p["product"] if f not in _keyselect.FAMILIES]
        if bad:
            raise _action.LicensingActionError(
                f"Failed to manage the product key: product '{bad[0]}' is not one of {', '.join(_keyselect.FAMILIES)}"
            )
        if p["state"] == "present" and not p.get("product_key") and not p.get("gvlk"):
            raise _action.LicensingActionError(
                "Failed to manage the product key: state present needs product_key or gvlk: auto")
        if p.get("product_key") and len(p["product"]) != 1:
            raise _action.LicensingActionError(
                f"Failed to install the product key: a product_key belongs to one product, got product "
                f"{p['product']}")
        if p.get("product_key"):
            try:
                self._request = _keyselect.check_key_request({**p, "product": p["product"][0]})
            except _keyselect.KeyPlanError as e:
                raise _action.LicensingActionError(f"Failed to install the product key: {e}") from None
        return _action.LicensingStateReader()

    def _va_plan(self, ctx: _action.ActionContext, before: _state.HostState) -> _action.Plan:
        p = ctx.params
        plan = _action.Plan()
        self._notes: list[str] = []
        self._installed: list[dict[str, t.Any]] = []
        diff_before: list[str] = []
        diff_after: list[str] = []
        try:
            if p["state"] == "absent":
                self._plan_absent(ctx, before, plan, diff_before, diff_after)
            elif p.get("product_key"):
                self._plan_key(ctx, before, plan, diff_before, diff_after)
            else:
                for family in p["product"]:
                    self._plan_gvlk(ctx, before, family, plan, before=diff_before, after=diff_after)
        except _keyselect.KeyPlanError as e:
            verb = "remove" if p["state"] == "absent" else "install"
            raise _action.LicensingActionError(f"Failed to {verb} the product key: {e}") from None
        plan.diff = {"before": "\n".join(diff_before) + "\n", "after": "\n".join(diff_after) + "\n"}
        return plan

    # ------------------------------------------------------------------ planners

    @staticmethod
    def _line(p: _state.LicensingProduct) -> str:
        return f"{p.name}: {_keys.mask_product_key(p.partial_product_key) if p.partial_product_key else 'no key'}"

    def _plan_key(self, ctx: _action.ActionContext, state: _state.HostState, plan: _action.Plan,
                  before: list[str], after: list[str]) -> None:
        req = self._request
        key = t.cast(str, req.key)
        current = _keyselect.family_products(state, req.family, req.key_type)
        if req.activation_id:
            current = [c for c in current if c.id == req.activation_id.strip("{}").lower()]
        for c in current:
            before.append(self._line(c))
        if any(c.partial_product_key == _keys.last5(key) for c in current):
            self._notes.append(f"{req.family}: the key ending in {_keys.last5(key)} is already installed")
            after.extend(before)
            return
        _keyselect.check_key_fits_host(req, state)
        if req.key_type == "kms_client" and not ctx.params["force"]:
            mak = [c for c in _keyselect.family_products(state, req.family, "mak") if c.channel == "mak" and c.activated]
            if mak:
                raise _keyselect.KeyPlanError(
                    f"'{mak[0].name}' is MAK-activated; installing a KMS client key would switch it to KMS: "
                    "set force: true to do so")
        _keyselect.install_ops(plan.add, plan.batch, state, family=req.family, key=key, key_type=req.key_type,
                             target_name=req.family)
        after.append(f"{req.family}: {_keys.mask_product_key(key)} ({req.key_type})")
        self._installed.append({"product": req.family, "key_type": req.key_type,
                                "product_key": _keys.mask_product_key(key)})

    def _plan_gvlk(self, ctx: _action.ActionContext, state: _state.HostState, family: str, plan: _action.Plan,
                   *, before: list[str], after: list[str]) -> None:
        key, why = _keyselect.choose_gvlk(state, family, ctx.params["force"])
        for c in _keyselect.family_products(state, family):
            before.append(self._line(c))
        if key is None:
            self._notes.append(f"{family}: {why}")
            after.extend(self._line(c) for c in _keyselect.family_products(state, family))
            return
        _keyselect.install_ops(plan.add, plan.batch, state, family=family, key=key, key_type="kms_client",
                             target_name=f"{family} ({why})")
        after.append(f"{family}: {_keys.mask_product_key(key)} (kms_client)")
        self._installed.append({"product": family, "key_type": "kms_client", "product_key": _keys.mask_product_key(key)})

    def _plan_absent(self, ctx: _action.ActionContext, state: _state.HostState, plan: _action.Plan,
                     before: list[str], after: list[str]) -> None:
        p = ctx.params
        if p.get("activation_id"):
            target = state.product(p["activation_id"])
            targets = [target] if target is not None and target.has_key else []
        else:
            targets = []
            for family in p["product"]:
                found = _keyselect.family_products(state, family)
                if family == "windows":
                    found = [x for x in found if x is state.primary_windows] or found[:1]
                targets.extend(found)
        if p.get("product_key"):
            last = _keys.last5(_keys.validate_product_key(p["product_key"]))
            targets = [x for x in targets if x.partial_product_key == last]
        for x in targets:
            before.append(self._line(x))
            after.append(f"{x.name}: no key")
            plan.add({"op": "cim_invoke", "class": _keyselect.product_class(x), "method": "UninstallProductKey",
                      "filter": _keyselect.by_id(x)},
                     f"uninstall product key '{_keys.mask_product_key(x.partial_product_key)}' of '{x.name}'")
        if any(x.source == "spp" for x in targets):
            plan.add({"op": "cim_invoke", "class": _state.SPP_SERVICE, "method": "RefreshLicenseStatus"},
                     "refresh the license status")
        if not targets:
            self._notes.append("no matching product key is installed")

    # ------------------------------------------------------------------ result

    def _va_result(self, ctx: _action.ActionContext, before: _state.HostState, after: _state.HostState | None,
                   plan: _action.Plan) -> dict[str, t.Any]:
        now = after if after is not None else before
        families = ctx.params["product"]
        products = [
            {"activation_id": x.id, "name": x.name, "channel": x.channel, "license_status": x.status,
             "partial_product_key": x.partial_product_key}
            for x in now.products if x.has_key and any(_keyselect.matches(x, f) for f in families)
        ]
        out: dict[str, t.Any] = {"installed": self._installed if ctx.params["state"] == "present" else [],
                                 "products": products, "notes": self._notes}
        if after is not None and self._installed:
            # The read-back is the proof: every installed key must now show on a product.
            for item in self._installed:
                last = item["product_key"][-5:]
                if not any(x.partial_product_key == last for x in after.products):
                    out.setdefault("warnings", []).append(
                        f"the key {item['product_key']} was accepted but no product shows it after the read-back")
        return out
