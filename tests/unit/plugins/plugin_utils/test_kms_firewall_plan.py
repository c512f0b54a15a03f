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
    ("10.1.2.3/255.255.255.255", "10.1.2.3"),  # a bare address as the COM API may read it back
    ("FD00:0::10", "fd00::10"),
    ("fd00::/64", "fd00::/64"),
    ("10.0.0.1 - 10.0.0.9", "10.0.0.1-10.0.0.9"),
])
def test_normalize_address(value: str, expected: str) -> None:
    assert fw.normalize_address(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("Any", True), ("*", True), ("0.0.0.0/0", True), ("::/0", True), ("LocalSubnet", False),
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


@pytest.mark.parametrize("keyword", ["Intranet", "rmtintranet", "Internet", "internet4", "Ply2Renders",
                                     "PlayToDevice", "IntranetRemoteAccess", "LocalSubnet4", "dns6"])
def test_netsecurity_only_keywords_are_refused(keyword: str) -> None:
    """INetFwRule.RemoteAddresses takes *, five keywords, addresses, subnets and ranges only
    [MicrosoftDocs/sdk-api sdk-api-src/content/netfw/nf-netfw-inetfwrule-get_remoteaddresses.md]."""
    with pytest.raises(fw.FirewallSettingError, match=f"remote address '{keyword}' is a keyword of the NetSecurity"):
        fw.normalize_address(keyword)


def test_com_forms_read_back_are_no_change() -> None:
    """What the executor returns through the COM API ('*', mask subnets, /255.255.255.255) equals
    what the module asked for."""
    read_back = ["10.20.0.0/255.255.0.0", "10.1.2.3/255.255.255.255", "LocalSubnet"]
    st = state(0, rule("SPPSVC-In-TCP", remote_addresses=read_back), ABSENT)
    plan = fw.plan_firewall(fw.desired_firewall({"remote_addresses": ["10.1.2.3", "LocalSubnet", "10.20.0.0/16"]}), st)
    assert not plan.plan


@pytest.mark.parametrize(("addresses", "wide"), [
    (["Any"], ["Any"]),
    (["*"], ["Any"]),
    (["0.0.0.0/0"], ["0.0.0.0/0"]),
    (["0.0.0.0/0.0.0.0"], ["0.0.0.0/0"]),
    (["::/0"], ["::/0"]),
    (["0.0.0.0-255.255.255.255"], ["0.0.0.0-255.255.255.255 (every IPv4 address)"]),
    (["0.0.0.0/1", "128.0.0.0/1"], ["0.0.0.0/1 + 128.0.0.0/1 (every IPv4 address)"]),
    (["0.0.0.0-127.255.255.255", "128.0.0.0/1", "LocalSubnet"],
     ["0.0.0.0-127.255.255.255 + 128.0.0.0/1 (every IPv4 address)"]),
    (["::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"], ["::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff (every IPv6 address)"]),
    (["0.0.0.0/1"], []),
    (["10.0.0.0/8", "LocalSubnet", "DNS"], []),
    (["1.0.0.0-255.255.255.255"], []),
])
def test_everywhere_in_every_spelling(addresses: list[str], wide: list[str]) -> None:
    """Issue 11 item 6: every equivalent of "everywhere" is found (and warned about)."""
    assert fw.everywhere([fw.normalize_address(a) for a in addresses]) == wide
    want = fw.desired_firewall({"remote_addresses": addresses, "profiles": ["Domain"]})
    assert bool([w for w in want.warnings if "every address" in w]) is bool(wide)


@pytest.mark.parametrize("profiles", [["Any"], ["Public"], ["Domain", "Private", "Public"], ["domain", "public"]])
def test_public_profile_warns_like_any(profiles: list[str]) -> None:
    want = fw.desired_firewall({"remote_addresses": ["LocalSubnet"], "profiles": profiles})
    assert [w for w in want.warnings if "Public profile" in w], want.warnings


def test_private_profiles_do_not_warn() -> None:
    assert fw.desired_firewall({"remote_addresses": ["LocalSubnet"], "profiles": ["Domain", "Private"]}).warnings == ()


def test_empty_profiles_are_refused_not_any() -> None:
    with pytest.raises(fw.FirewallSettingError, match="profiles is empty"):
        fw.desired_firewall({"remote_addresses": ["LocalSubnet"], "profiles": []})


@pytest.mark.parametrize(("value", "expected"), [
    # The keywords INetFwRule.RemoteAddresses takes (MicrosoftDocs/sdk-api
    # sdk-api-src/content/netfw/nf-netfw-inetfwrule-get_remoteaddresses.md), in the cmdlet's spelling.
    ("localsubnet", "LocalSubnet"), ("DNS", "DNS"), ("dhcp", "DHCP"), ("WINS", "WINS"),
    ("DefaultGateway", "DefaultGateway"), ("defaultgateway", "DefaultGateway"),
])
def test_remote_address_keywords(value: str, expected: str) -> None:
    assert fw.normalize_address(value) == expected


@pytest.mark.parametrize("value", ["LocalSubnet5", "Internets", "Everyone", "Intranet46"])
def test_unknown_keywords_are_refused(value: str) -> None:
    with pytest.raises(fw.FirewallSettingError, match=f"'{value}'"):
        fw.normalize_address(value)


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
    assert plan.plan.operations == [{"op": "firewall_remove", "name": "winops-va-kms-tcp-in",
                                     "group": "winops.volume_activation"}]
    assert plan.plan.changes == ["remove the firewall rule winops-va-kms-tcp-in (ports 1689), which the KMS host "
                                 "no longer needs on port 1688"]


def test_port_change_updates_the_own_rule() -> None:
    st = state(1690, rule("SPPSVC-In-TCP", enabled=False), rule("winops-va-kms-tcp-in", local_ports=["1689"]))
    plan = fw.plan_firewall(fw.desired_firewall({"remote_addresses": ["LocalSubnet"]}), st)
    assert plan.plan.operations == [{"op": "firewall_set", "name": "winops-va-kms-tcp-in",
                                     "group": "winops.volume_activation", "local_ports": ["1690"]}]
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
