"""The template-method base of the action plugins, driven by a minimal planner defined here.

The planner installs a Windows key when the primary Windows product does not already end
with its last five characters: enough to exercise read, plan, apply + read back, check mode,
diff, failures with the read-back skipped, and secret scrubbing.
"""

from __future__ import annotations

import copy
import typing as t

import pytest

from ansible_collections.winops.volume_activation.plugins.plugin_utils import (
    _action,
    _client,
    _errors,
    _keys,
    _state,
)
from ansible_collections.winops.volume_activation.tests.unit.plugins.conftest import (
    DisplayRecorder,
    load_data,
    make_action,
)

KEY = "WX4NM-KYWYW-QJJR4-XV3QB-6VM33"  # public GVLK, Windows Server 2022 Datacenter [WSD-KEYS]
MASKED = "XXXXX-XXXXX-XXXXX-XXXXX-6VM33"
INSTALL = {"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "InstallProductKey",
           "arguments": {"ProductKey": {"secret": "product_keys", "index": 0}}}
REFRESH = {"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "RefreshLicenseStatus"}
READ = _state.StateQuery().operations()


class InstallKey(_action.LicensingAction):
    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "product_key": {"type": "str", "required": True, "no_log": True},
        "mode": {"type": "str", "default": "normal", "choices": ["normal", "tolerant"]},
    }

    def _va_plan(self, ctx: _action.ActionContext, before: _state.HostState) -> _action.Plan:
        key = ctx.params["product_key"]
        win = before.primary_windows
        current = win.partial_product_key if win else None
        if current == _keys.last5(key):
            return _action.Plan()
        plan = _action.Plan(diff={"before": {"product_key": _keys.mask_product_key(current)},
                                  "after": {"product_key": _keys.mask_product_key(key)}})
        plan.add(_client.cim_invoke("SoftwareLicensingService", "InstallProductKey",
                                    arguments={"ProductKey": plan.batch.product_key(key)}),
                 f"install product key '{key}'")  # deliberately unmasked: run() must scrub it
        plan.add(_client.cim_invoke("SoftwareLicensingService", "RefreshLicenseStatus"), "refresh the license status")
        return plan

    def _va_apply_failure(self, ctx: _action.ActionContext, plan: _action.Plan,
                          applied: t.Sequence[_client.OpResult]) -> str | None:
        if ctx.params["mode"] == "tolerant":
            return None
        return super()._va_apply_failure(ctx, plan, applied)

    def _va_result(self, ctx: _action.ActionContext, before: _state.HostState, after: _state.HostState | None,
                   plan: _action.Plan) -> dict[str, t.Any]:
        def ppk(s: _state.HostState | None) -> str | None:
            win = s.primary_windows if s else None
            return win.partial_product_key if win else None
        return {"before_key": ppk(before), "after_key": ppk(after), "echo": f"asked for {ctx.params['product_key']}"}


def read_response(ppk: str = "VMK7H") -> dict[str, t.Any]:
    data = copy.deepcopy(load_data("license_info", "windows_kms_client.json")["module_result"])
    data["results"][2]["instances"][0]["PartialProductKey"] = ppk
    return data


def apply_response(install_ok: bool = True) -> dict[str, t.Any]:
    read = read_response("6VM33" if install_ok else "VMK7H")["results"]
    if install_ok:
        ok_invocation = {"key": {"Version": "10.0.20348.1"}, "return_value": 0, "out": {}, "hresult": None,
                         "error": None}
        head = [{"op": "cim_invoke", "ok": True, "matched": 1, "invocations": [dict(ok_invocation)]},
                {"op": "cim_invoke", "ok": True, "matched": 1, "invocations": [dict(ok_invocation)]}]
        return {"changed": True, "results": head + read}
    err = f"Product key {KEY} is invalid."  # a provider that echoes the key: must be scrubbed
    head = [{"op": "cim_invoke", "ok": False, "hresult": 3221549136, "hresult_hex": "0xC004F050", "error": err,
             "matched": 1, "invocations": [{"key": {"Version": "10.0.20348.1"}, "return_value": None, "out": {},
                                            "hresult": 3221549136, "hresult_hex": "0xC004F050", "error": err}]},
            {"op": "cim_invoke", "ok": False, "skipped": True}]
    # The executor skips the mutating operations after the failure and still runs the read-back.
    return {"changed": False, "results": head + read}


def test_change_costs_two_round_trips_and_reads_back(display_recorder: DisplayRecorder) -> None:
    plugin, fake = make_action(InstallKey, {"product_key": KEY.lower()}, [read_response(), apply_response()],
                               action="winops.volume_activation.install_key")
    result = plugin.run(task_vars={})
    assert fake.operations == [READ, [INSTALL, REFRESH, *READ]]
    assert fake.calls[0]["module_args"]["stop_on_error"] is False
    assert fake.calls[1]["module_args"]["stop_on_error"] is True
    assert fake.calls[1]["module_args"]["product_keys"] == [KEY]
    assert result == {"changed": True, "changes": [f"install product key '{MASKED}'", "refresh the license status"],
                      "before_key": "VMK7H", "after_key": "6VM33", "echo": f"asked for {MASKED}",
                      "round_trips": 2}
    assert KEY[:23] not in display_recorder.text and KEY.lower()[:23] not in display_recorder.text
    assert all(m.startswith("winops.volume_activation.install_key: ") for _n, m in display_recorder.messages)


def test_no_change_costs_one_round_trip() -> None:
    plugin, fake = make_action(InstallKey, {"product_key": KEY}, [read_response("6VM33")])
    result = plugin.run(task_vars={})
    assert len(fake.calls) == 1
    assert result["changed"] is False and "changes" not in result and result["after_key"] is None


def test_check_mode_sends_no_mutating_operation() -> None:
    plugin, fake = make_action(InstallKey, {"product_key": KEY}, [read_response()], check_mode=True, diff=True)
    result = plugin.run(task_vars={})
    assert fake.operations == [READ]
    assert result["changed"] is True and result["after_key"] is None
    assert result["diff"] == {"before": {"product_key": "XXXXX-XXXXX-XXXXX-XXXXX-VMK7H"},
                              "after": {"product_key": MASKED}}
    assert result["round_trips"] == 1


@pytest.mark.parametrize("diff", [True, False])
def test_diff_only_with_diff_mode(diff: bool) -> None:
    plugin, _fake = make_action(InstallKey, {"product_key": KEY}, [read_response(), apply_response()], diff=diff)
    assert ("diff" in plugin.run(task_vars={})) is diff


def test_failure_explained_and_state_read_again(display_recorder: DisplayRecorder) -> None:
    plugin, fake = make_action(InstallKey, {"product_key": KEY},
                               [read_response(), apply_response(install_ok=False)])
    result = plugin.run(task_vars={})
    # the failed install skipped the refresh; the read-back in the same batch still ran
    assert fake.operations == [READ, [INSTALL, REFRESH, *READ]]
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"] == (f"Failed to install product key '{MASKED}': 0xC004F050 (SL_E_INVALID_PRODUCT_KEY): "
                             "the Software Licensing Service reported that the product key is invalid; "
                             "next step: " + _errors.HRESULTS[0xC004F050].remedy)
    assert result["after_key"] == "VMK7H" and result["round_trips"] == 2
    assert KEY[:23] not in repr(result) and KEY[:23] not in display_recorder.text


def test_hook_can_tolerate_failures() -> None:
    plugin, _fake = make_action(InstallKey, {"product_key": KEY, "mode": "tolerant"},
                                [read_response(), apply_response(install_ok=False)])
    result = plugin.run(task_vars={})
    assert "failed" not in result


def test_argument_errors_never_show_the_secret() -> None:
    plugin, fake = make_action(InstallKey, {"product_key": KEY, "mode": KEY}, [])
    result = plugin.run(task_vars={})
    assert result["failed"] is True and "mode" in result["msg"]
    assert KEY[:23] not in repr(result) and fake.calls == []


def test_invalid_key_in_a_planner_is_a_failed_result() -> None:
    plugin, fake = make_action(InstallKey, {"product_key": "WX4NM-KYWYW-QJJR4-XV3QB-6VM3A"}, [read_response()])
    result = plugin.run(task_vars={})
    assert result == {"failed": True, "changed": False, "round_trips": 1,
                      "msg": "Failed to validate the product key: the product key 'XXXXX-XXXXX-XXXXX-XXXXX-6VM3A' "
                             "contains 'A'; product keys use only BCDFGHJKMPQRTVWXY2346789 and at most one N"}
    assert len(fake.calls) == 1


class Refusing(_action.LicensingAction):
    def _va_plan(self, ctx: _action.ActionContext, before: _state.HostState) -> _action.Plan:
        raise _action.LicensingActionError("Failed to do it: because", hint="x")


def test_licensing_action_error_becomes_failed_result() -> None:
    plugin, _fake = make_action(Refusing, {}, [read_response()])
    assert plugin.run(task_vars={}) == {"failed": True, "changed": False, "msg": "Failed to do it: because",
                                        "hint": "x", "round_trips": 1}


def test_plan_helpers() -> None:
    plan = _action.Plan()
    assert not plan and plan.changes == []
    assert plan.add(REFRESH, f"use {KEY}") == 0
    assert plan and plan.operations == [REFRESH] and plan.changes == [f"use {MASKED}"]
