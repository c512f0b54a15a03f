# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.activation (documentation in plugins/modules/activation.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import (
    _action,
    _client,
    _errors,
    _keyselect,
    _state,
)

#: Activate() failed because the KMS host counts too few clients: not a failure of the task
#: unless fail_on_waiting [licensing-api §4, §5; SEED: thresholds 25/5/5].
NOT_ENOUGH_COUNT = 0xC004F038


class ActionModule(_action.LicensingAction):
    """Activate now (slmgr /ato, ospp /act) or by phone (/dti, /atp): read, then activate + read back."""

    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "activation_ids": {"type": "list", "elements": "str", "default": []},
        "confirmation_ids": {"type": "dict", "no_log": True, "default": {}},
        "fail_on_waiting": {"type": "bool", "default": False},
        "force": {"type": "bool", "default": False},
        "method": {"type": "str", "choices": ["online", "offline"], "default": "online"},
        "products": {"type": "list", "elements": "str", "default": ["windows", "office"]},
    }

    def _va_no_log_values(self, params: t.Mapping[str, t.Any]) -> list[str]:
        """The confirmation IDs are the values of a dict: scrub each of them."""
        values = super()._va_no_log_values(params)
        values.extend(str(v) for v in (params.get("confirmation_ids") or {}).values() if v)
        return values

    def _va_reader(self, ctx: _action.ActionContext) -> _action.StateReader:
        bad = [f for f in ctx.params["products"] if f not in _keyselect.FAMILIES]
        if bad:
            raise _action.LicensingActionError(
                f"Failed to activate: product '{bad[0]}' is not one of {', '.join(_keyselect.FAMILIES)}")
        if ctx.params["confirmation_ids"] and ctx.params["method"] != "offline":
            raise _action.LicensingActionError("Failed to activate: confirmation_ids need method offline")
        for name, cid in ctx.params["confirmation_ids"].items():
            digits = "".join(ch for ch in str(cid) if ch.isdigit())
            if len(digits) != 48 or any(ch not in "0123456789- " for ch in str(cid)):
                raise _action.LicensingActionError(
                    f"Failed to activate: the confirmation ID for '{name}' is not 48 digits (groups of 6 may be "
                    "separated by hyphens or spaces), as the Microsoft Activation Center gives it")
        return _action.LicensingStateReader()

    # ------------------------------------------------------------------ plan

    def _targets(self, ctx: _action.ActionContext, state: _state.HostState) -> list[_state.LicensingProduct]:
        ids = {a.strip().strip("{}").lower() for a in ctx.params["activation_ids"]}
        out = []
        for p in state.products:
            if not p.has_key or p.channel in ("unknown",):
                continue
            if ids:
                if p.id in ids:
                    out.append(p)
            elif any(_keyselect.matches(p, f) for f in ctx.params["products"]):
                out.append(p)
        if ids - {p.id for p in out}:
            missing = sorted(ids - {p.id for p in out})[0]
            raise _action.LicensingActionError(
                f"Failed to activate '{missing}': no licensing product with a key has this activation ID")
        return out

    def _va_plan(self, ctx: _action.ActionContext, before: _state.HostState) -> _action.Plan:
        plan = _action.Plan(stop_on_error=False)
        self._sent: dict[int, _state.LicensingProduct] = {}
        self._outcomes: dict[str, dict[str, t.Any]] = {}
        self._installation_ids: dict[str, str] = {}
        cids = {str(k).strip("{}").lower(): "".join(ch for ch in str(v) if ch.isdigit())
                for k, v in ctx.params["confirmation_ids"].items()}
        spp = False
        for p in self._targets(ctx, before):
            family = _keyselect.product_family(p)
            if p.activated and not ctx.params["force"]:
                self._outcomes[p.id] = self._outcome(p, "already_activated", activated=True,
                                                     message=f"{p.name}: already activated")
                continue
            if ctx.params["method"] == "offline":
                cid = cids.get(p.id) or cids.get(family)
                if not cid:
                    iid = p.offline_installation_id or ""
                    self._installation_ids[family if family not in self._installation_ids else p.id] = iid
                    self._outcomes[p.id] = self._outcome(
                        p, "installation_id_issued", activated=False,
                        message=f"{p.name}: give the installation ID to the Microsoft Activation Center, then "
                                "run again with its confirmation ID in confirmation_ids")
                    continue
                index = plan.add(
                    {"op": "cim_invoke", "class": _keyselect.product_class(p), "method": "DepositOfflineConfirmationId",
                     "filter": _keyselect.by_id(p),
                     "arguments": {"InstallationId": p.offline_installation_id,
                                   "ConfirmationId": plan.batch.confirmation_id(cid)}},
                    f"deposit the confirmation ID for '{p.name}'")
            else:
                index = plan.add(
                    {"op": "cim_invoke", "class": _keyselect.product_class(p), "method": "Activate",
                     "filter": _keyselect.by_id(p)},
                    f"activate '{p.name}'")
            self._sent[index] = p
            spp = spp or p.source == "spp"
        if spp:
            plan.add({"op": "cim_invoke", "class": _state.SPP_SERVICE, "method": "RefreshLicenseStatus"},
                     "refresh the license status")
        plan.diff = {
            "before": "".join(f"{p.name}: {p.status}\n" for p in self._sent.values()),
            "after": "".join(f"{p.name}: licensed\n" for p in self._sent.values()),
        }
        return plan

    @staticmethod
    def _outcome(p: _state.LicensingProduct, status: str, *, activated: bool, message: str) -> dict[str, t.Any]:
        return {"activation_id": p.id, "name": p.name, "product": _keyselect.product_family(p), "channel": p.channel,
                "status": status, "activated": activated, "message": message}

    # ------------------------------------------------------------------ apply + result

    def _va_apply_failure(self, ctx: _action.ActionContext, plan: _action.Plan,
                          applied: t.Sequence[_client.OpResult]) -> str | None:
        self._applied = {r.index: r for r in applied}
        failures = []
        for index, p in self._sent.items():
            r = self._applied.get(index)
            if r is None or not r.failed:
                continue
            if r.hresult == NOT_ENOUGH_COUNT and not ctx.params["fail_on_waiting"]:
                continue
            if r.hresult is None:
                failures.append(f"{p.name}: {r.error}")
            else:
                info = _errors.describe(r.hresult, r.error)
                failures.append(f"{p.name}: {info['message']}; next step: {info['remedy']}")
        refresh = [r for i, r in self._applied.items() if i not in self._sent and r.failed]
        if refresh:
            failures.append(f"refresh the license status: {refresh[0].message}")
        if failures:
            return "Failed to activate " + "; ".join(failures)
        return None

    def _va_result(self, ctx: _action.ActionContext, before: _state.HostState, after: _state.HostState | None,
                   plan: _action.Plan) -> dict[str, t.Any]:
        applied = getattr(self, "_applied", {})
        now = after if after is not None else before
        for index, p in self._sent.items():
            cur = now.product(p.id) or p
            r = applied.get(index)
            if r is None:  # check mode: predicted
                self._outcomes[p.id] = self._outcome(p, "would_activate", activated=False,
                                                     message=f"{p.name}: would be activated")
                continue
            if not r.failed:
                self._outcomes[p.id] = self._outcome(
                    cur, "activated", activated=cur.activated,
                    message=f"{cur.name}: activated{self._via(cur)}")
                continue
            info = _errors.describe(r.hresult, r.error) if r.hresult is not None else {"message": r.error}
            if r.hresult == NOT_ENOUGH_COUNT:
                count = _state.u32_signed(cur.raw.get("KeyManagementServiceCurrentCount"))
                required = _state.u32(cur.raw.get("RequiredClientCount"))
                counted = f"{count} of {required}" if count is not None and required else "too few"
                out = self._outcome(cur, "waiting_for_threshold", activated=False,
                                    message=f"{cur.name}: waiting for threshold: {counted} clients{self._via(cur)}")
                out.update(current_count=count, required_count=required, error=info)
            else:
                out = self._outcome(cur, "failed", activated=False, message=f"{cur.name}: {info['message']}")
                out["error"] = info
            self._outcomes[p.id] = out
        outcomes = list(self._outcomes.values())
        result: dict[str, t.Any] = {
            "outcomes": outcomes,
            "waiting": any(o["status"] == "waiting_for_threshold" for o in outcomes),
            "installation_ids": self._installation_ids,
        }
        if applied:
            # RefreshLicenseStatus always succeeds; only a product that changed state is a change.
            result["changed"] = any(not applied[i].failed for i in self._sent if i in applied)
        return result

    @staticmethod
    def _via(p: _state.LicensingProduct) -> str:
        kc = p.kms_client
        if kc is None or not kc.discovered_host:
            return ""
        return f" (KMS host {kc.discovered_host}:{kc.discovered_port or 1688})"
