"""The KMS firewall planner and the remote address rules."""

from __future__ import annotations

import pytest

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _kms_firewall as fw


@pytest.mark.parametrize(("value", "expected"), [
    ("localsubnet", "LocalSubnet"),
    ("dns", "DNS"),
    ("defaultgateway", "DefaultGateway"),
    ("*", "Any"),
    ("10.20.0.0/16", "10.20.0.0/16"),
    ("10.20.0.0/255.255.0.0", "10.20.0.0/16"),  # the form Windows reports
    ("10.20.1.5/16", "10.20.0.0/16"),
    ("10.1.2.3/32", "10.1.2.3"),
    ("FD00:0::10", "fd00::10"),
    ("fd00::/64", "fd00::/64"),
    ("10.0.0.1 - 10.0.0.9", "10.0.0.1-10.0.0.9"),
])
def test_normalize_address(value: str, expected: str) -> None:
    assert fw.normalize_address(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("Any", True), ("Internet", True), ("0.0.0.0/0", True), ("::/0", True), ("LocalSubnet", False),
    ("10.0.0.0/8", False),
])
def test_opens_to_everyone(value: str, expected: bool) -> None:
    assert fw.opens_to_everyone(fw.normalize_address(value)) is expected


@pytest.mark.parametrize(("values", "expected"), [
    (["Domain", "Private"], ("Domain", "Private")),
    (["private", "domain"], ("Domain", "Private")),
    (["Domain", "Private", "Public"], ("Any",)),
    (["Any"], ("Any",)),
])
def test_normalize_profiles(values: list[str], expected: tuple[str, ...]) -> None:
    assert fw.normalize_profiles(values) == expected


def test_any_among_other_addresses_is_any() -> None:
    assert fw.normalize_addresses(["10.0.0.0/8", "any"]) == ("Any",)


def rule(name: str, **kw: object) -> dict[str, object]:
    base = {"name": name, "enabled": True, "profiles": ["Domain", "Private"], "remote_addresses": ["LocalSubnet"],
            "local_ports": ["1688"]}
    return {"op": "firewall_get", "ok": True, "exists": True, "rule": {**base, **kw}}


ABSENT = {"op": "firewall_get", "ok": True, "exists": False, "rule": None}


def state(port: int, builtin: dict[str, object], own: dict[str, object]) -> fw.FirewallState:
    svc = {"op": "cim_query", "ok": True, "instances": [{"KeyManagementServiceListeningPort": port}]}
    return fw.FirewallReader().parse([svc, builtin, own])


def test_subnet_in_mask_form_is_no_change() -> None:
    st = state(0, rule("SPPSVC-In-TCP", remote_addresses=["10.20.0.0/255.255.0.0"]), ABSENT)
    want = fw.desired_firewall({"remote_addresses": ["10.20.0.0/16"]})
    plan = fw.plan_firewall(want, st)
    assert not plan.plan
    assert (plan.port, plan.port_source) == (1688, "host")


def test_back_to_1688_removes_the_own_rule_left_from_another_port() -> None:
    st = state(0, rule("SPPSVC-In-TCP"), rule("winops-va-kms-tcp-in", local_ports=["1689"]))
    plan = fw.plan_firewall(fw.desired_firewall({"remote_addresses": ["LocalSubnet"]}), st)
    assert plan.plan.operations == [{"op": "firewall_remove", "name": "winops-va-kms-tcp-in"}]
    assert plan.plan.changes == ["remove the firewall rule winops-va-kms-tcp-in (ports 1689), which the KMS host "
                                 "no longer needs on port 1688"]


def test_port_change_updates_the_own_rule() -> None:
    st = state(1690, rule("SPPSVC-In-TCP", enabled=False), rule("winops-va-kms-tcp-in", local_ports=["1689"]))
    plan = fw.plan_firewall(fw.desired_firewall({"remote_addresses": ["LocalSubnet"]}), st)
    assert plan.plan.operations == [{"op": "firewall_set", "name": "winops-va-kms-tcp-in", "local_ports": ["1690"]}]
    assert plan.rule_name == "winops-va-kms-tcp-in"


def test_missing_builtin_rule_falls_back_to_the_own_rule_for_1688() -> None:
    st = state(0, ABSENT, ABSENT)
    plan = fw.plan_firewall(fw.desired_firewall({"remote_addresses": ["LocalSubnet"]}), st)
    assert [op["op"] for op in plan.plan.operations] == ["firewall_create"]
    assert plan.plan.operations[0]["local_ports"] == ["1688"]
    assert plan.warnings == ["The built-in firewall rule SPPSVC-In-TCP does not exist on this host; the module "
                             "uses its own rule winops-va-kms-tcp-in for TCP 1688"]


def test_unreadable_port_falls_back_to_1688_with_the_reason() -> None:
    svc = {"op": "cim_query", "ok": False, "hresult": 0x80070005, "error": "Access denied"}
    st = fw.FirewallReader().parse([svc, rule("SPPSVC-In-TCP"), ABSENT])
    plan = fw.plan_firewall(fw.desired_firewall({"remote_addresses": ["LocalSubnet"]}), st)
    assert (plan.port, plan.port_source) == (1688, "default")
    assert plan.warnings == ["Failed to read the KMS listening port: 0x80070005 (E_ACCESSDENIED): access is denied: "
                             "the operation needs administrative rights"]
