"""kms_host: replays executor results recorded from the lab (tests/unit/test_data/kms, see record.py)."""

from __future__ import annotations

import copy
import typing as t

import pytest

from ansible_collections.winops.volume_activation.plugins.action.kms_host import ActionModule
from ansible_collections.winops.volume_activation.plugins.plugin_utils import _errors, _kms_host
from ansible_collections.winops.volume_activation.tests.unit.plugins.conftest import (
    licensing_read,
    load_data,
    make_action,
)

SPP_KEY = "HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\SoftwareProtectionPlatform"
READ_OPS = [
    licensing_read("SoftwareLicensingService"),
    licensing_read("SoftwareLicensingProduct", "PartialProductKey <> null AND IsKeyManagementServiceMachine = 1"),
    {"op": "reg_get", "path": SPP_KEY, "names": ["DnsDomainPublishList"]},
]
ALL_ARGS = {"port": 1689, "dns_publishing": False, "low_priority": True, "activation_interval": 60,
            "renewal_interval": 1440, "host_caching": False,
            "publish_domains": [{"domain": "branch.example.test", "priority": 10, "weight": 50}]}


def _svc(method: str, **arguments: t.Any) -> dict[str, t.Any]:
    return {"op": "cim_invoke", "class": "SoftwareLicensingService", "method": method, "arguments": arguments}


APPLY_ALL = [
    _svc("SetKeyManagementServiceListeningPort", PortNumber=1689),
    _svc("DisableKeyManagementServiceDnsPublishing", DisablePublishing=True),
    {"op": "reg_set", "path": SPP_KEY, "name": "DnsDomainPublishList", "type": "MultiString",
     "value": ["branch.example.test, 10, 50"]},
    _svc("EnableKeyManagementServiceLowPriority", EnableLowPriority=True),
    _svc("SetVLActivationInterval", ActivationInterval=60),
    _svc("SetVLRenewalInterval", RenewalInterval=1440),
    _svc("DisableKeyManagementServiceHostCaching", DisableCaching=True),
    {"op": "service_restart", "name": "sppsvc"},
]
BEFORE = {"port": 1688, "dns_publishing": True, "publish_domains": [], "low_priority": False,
          "activation_interval": 120, "renewal_interval": 10080, "host_caching": True}
AFTER = {"port": 1689, "dns_publishing": False,
         "publish_domains": [{"domain": "branch.example.test", "priority": 10, "weight": 50}],
         "low_priority": True, "activation_interval": 60, "renewal_interval": 1440, "host_caching": False}


def run(scenario: str, args: dict[str, t.Any] | None = None, *, responses: list[t.Any] | None = None,
        check_mode: bool = False, diff: bool = False) -> tuple[dict[str, t.Any], t.Any]:
    data = load_data("kms", f"{scenario}.json")
    plugin, fake = make_action(ActionModule, data["args"] if args is None else args,
                               data["round_trips"] if responses is None else responses,
                               check_mode=check_mode, diff=diff, action="winops.volume_activation.kms_host")
    return plugin.run(task_vars={}), fake


def test_change_sends_every_setter_then_restarts_sppsvc_in_the_same_batch() -> None:
    result, fake = run("host_change", diff=True)
    assert fake.operations == [READ_OPS, APPLY_ALL + READ_OPS]
    assert [c["module_args"]["stop_on_error"] for c in fake.calls] == [False, True]
    assert result["changed"] is True
    assert result["round_trips"] == 2
    assert result["restarted"] is True
    assert result["restart_required"] is False
    assert result["before"] == BEFORE
    assert result["after"] == AFTER
    assert result["diff"] == {"before": BEFORE, "after": AFTER}
    assert result["changed_settings"] == ["port", "dns_publishing", "publish_domains", "low_priority",
                                          "activation_interval", "renewal_interval", "host_caching"]
    assert result["changes"][0] == "set the KMS listening port to 1689 (was 1688)"
    assert result["changes"][-1] == ("restart the Software Protection service (sppsvc) so that the KMS host "
                                     "applies the new settings")
    # 4294967295 from CIM is -1: no client has contacted the new host yet [SEED].
    assert result["current_count"] == -1
    assert result["required_count"] == 25
    assert result["requests"]["total"] == 0
    assert [p["name"] for p in result["kms_host_products"]] == ["Windows(R), ServerStandard edition"]
    assert result["kms_host_products"][0]["activated"] is True
    assert result["warnings"] == ["publish_domains has no effect while DNS publishing is off (dns_publishing: false)"]


def test_nothing_to_change_costs_one_round_trip() -> None:
    result, fake = run("host_noop")
    assert fake.operations == [READ_OPS]
    assert result["changed"] is False
    assert result["round_trips"] == 1
    assert "changes" not in result
    assert result["before"] == result["after"] == AFTER
    assert result["restarted"] is False
    assert result["changed_settings"] == []


def test_host_caching_alone_does_not_restart_sppsvc() -> None:
    result, fake = run("host_caching_only")
    assert fake.operations[1] == [_svc("DisableKeyManagementServiceHostCaching", DisableCaching=True), *READ_OPS]
    assert result["restarted"] is False
    assert result["restart_required"] is False
    assert result["after"]["host_caching"] is False
    assert result["round_trips"] == 2


def test_check_mode_reports_the_change_and_sends_nothing_mutating() -> None:
    data = load_data("kms", "host_change.json")
    result, fake = run("host_change", responses=data["round_trips"][:1], check_mode=True, diff=True)
    assert fake.operations == [READ_OPS]
    assert fake.calls[0]["check_mode"] is True  # the read runs in check mode
    assert result["changed"] is True
    assert result["restarted"] is False
    assert result["after"] == AFTER
    assert result["diff"] == {"before": BEFORE, "after": AFTER}
    assert len(result["changes"]) == 8


def test_restart_service_false_stores_the_settings_and_says_a_restart_is_needed() -> None:
    data = load_data("kms", "host_change.json")
    applied = copy.deepcopy(data["round_trips"][1])
    del applied["results"][7]  # the recorded service_restart result
    args = {**data["args"], "restart_service": False}
    result, fake = run("host_change", args, responses=[data["round_trips"][0], applied])
    assert fake.operations[1] == APPLY_ALL[:7] + READ_OPS
    assert result["restarted"] is False
    assert result["restart_required"] is True
    assert result["warnings"][-1] == (
        "The KMS host applies port, dns_publishing, publish_domains, low_priority, activation_interval, "
        "renewal_interval at the next start of the Software Protection service (sppsvc); restart_service is false")


def test_refused_on_a_machine_that_is_not_a_kms_host() -> None:
    result, fake = run("host_not_a_host")
    assert fake.operations == [READ_OPS]
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["msg"] == (
        "Failed to configure the KMS host: this machine is not a KMS host (no product with an installed key has "
        "IsKeyManagementServiceMachine set); install and activate a KMS host key (CSVLK) first with "
        "winops.volume_activation.product_key and winops.volume_activation.activation")
    assert result["msg"] == _kms_host.NOT_A_HOST


def test_a_failed_setter_is_explained_and_the_state_read_back_in_the_same_round_trip() -> None:
    data = load_data("kms", "host_change.json")
    applied = copy.deepcopy(data["round_trips"][1])
    # A port the licensing service refuses: E_INVALIDARG, as a parameter name the class lacks would be
    # (Invoke-CimMethod's ArgumentException, PowerShell's CimInvokeCimMethod.cs).
    applied["results"][0] = {"op": "cim_invoke", "ok": False, "hresult": 0x80070057, "hresult_hex": "0x80070057",
                             "error": "The parameter is incorrect.", "matched": 1, "invocations": []}
    # The executor skips the mutating operations after the failure; the read-back at the end runs.
    reads = len(READ_OPS)
    for r in applied["results"][1:-reads]:
        r.clear()
        r.update({"op": "cim_invoke", "ok": False, "skipped": True})
    applied["results"][-reads:] = copy.deepcopy(data["round_trips"][0]["results"])
    result, fake = run("host_change", responses=[data["round_trips"][0], applied])
    assert len(fake.calls) == 2 and result["round_trips"] == 2
    assert fake.operations[1][-reads:] == READ_OPS
    assert result["failed"] is True
    assert result["msg"] == (
        "Failed to set the KMS listening port to 1689 (was 1688): 0x80070057 (E_INVALIDARG): "
        + _errors.HRESULTS[0x80070057].explanation + "; next step: " + _errors.HRESULTS[0x80070057].remedy)
    assert result["restarted"] is False
    assert result["after"] == BEFORE


@pytest.mark.parametrize(("args", "message"), [
    ({"port": 0}, "port 0 is outside 1..65535"),
    ({"port": 70000}, "port 70000 is outside 1..65535"),
    ({"activation_interval": 10}, "activation_interval 10 is outside 15..43200 minutes (15 minutes to 30 days)"),
    ({"renewal_interval": 43201},
     "renewal_interval 43201 is outside 15..43200 minutes (15 minutes to 30 days)"),
    ({"publish_domains": [{"domain": "-bad.example.com"}]},
     "publish_domains[0].domain '-bad.example.com' is not a valid DNS name: label '-bad' must be 1 to 63 letters, "
     "digits or hyphens and must not start or end with a hyphen"),
    ({"publish_domains": [{"domain": "a.example.com"}, {"domain": "A.example.com."}]},
     "publish_domains[1].domain 'a.example.com' is listed twice"),
    ({"publish_domains": [{"domain": "a.example.com", "priority": 65536}]},
     "publish_domains[0].priority 65536 is outside 0..65535 (a 16-bit SRV field)"),
])
def test_bad_input_fails_before_anything_is_sent(args: dict[str, t.Any], message: str) -> None:
    result, fake = run("host_noop", args, responses=[])
    assert fake.calls == []
    assert result["failed"] is True
    assert result["msg"] == f"Failed to configure the KMS host: {message}"


def test_a_refused_sppsvc_restart_is_not_a_failure_of_the_applied_settings() -> None:
    """slmgr.vbs never restarts sppsvc after /sprt ("Warning: a KMS reboot is needed for this
    setting to take effect", Microsoft's slmgr.vbs L_MsgWarningKmsReboot); a trigger-started sppsvc
    may refuse a restart over WinRM. The port is set: the task succeeds, says a restart is needed
    and when the setting takes effect. (Before: failed: true for a setting that was applied.)"""
    result, fake = run("host_restart_refused")
    assert fake.operations[1] == [_svc("SetKeyManagementServiceListeningPort", PortNumber=1689),
                                  {"op": "service_restart", "name": "sppsvc"}, *READ_OPS]
    assert "failed" not in result
    assert result["changed"] is True
    assert (result["restarted"], result["restart_required"]) == (False, True)
    assert result["after"]["port"] == 1689
    assert result["warnings"] == [
        "The KMS host settings port are saved, but Windows refused to restart the Software Protection service "
        "(sppsvc): " + _errors.explain(0x80070005) + " (Windows said: Service 'Software Protection (sppsvc)' "
        "cannot be stopped due to the following error: Cannot open sppsvc service on computer '.'.)"
        ". The KMS host applies them the next time sppsvc starts: restart it on the host (Restart-Service sppsvc "
        "in an elevated session) or reboot the host. On Windows 8 and later sppsvc also stops by itself when idle "
        "and starts again on demand."]


def test_a_failed_setter_before_the_restart_is_still_a_failure() -> None:
    data = load_data("kms", "host_restart_refused.json")
    applied = copy.deepcopy(data["round_trips"][1])
    applied["results"][0] = {"op": "cim_invoke", "ok": False, "hresult": 0xC004F039, "hresult_hex": "0xC004F039",
                             "error": "x", "matched": 1, "invocations": []}
    applied["results"][1] = {"op": "service_restart", "ok": False, "skipped": True}
    result, _fake = run("host_restart_refused", responses=[data["round_trips"][0], applied])
    assert result["failed"] is True
    assert result["msg"].startswith("Failed to set the KMS listening port to 1689 (was 1688): 0xC004F039")
