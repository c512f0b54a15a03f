"""kms_firewall: replays executor results recorded from the lab (tests/unit/test_data/kms, see record.py)."""

from __future__ import annotations

import typing as t
from unittest import mock

import pytest

from ansible_collections.winops.volume_activation.plugins.action.kms_firewall import ActionModule
from ansible_collections.winops.volume_activation.tests.unit.plugins.conftest import (
    licensing_read,
    load_data,
    make_action,
)

READ_OPS = [
    licensing_read("SoftwareLicensingService"),
    {"op": "firewall_get", "name": "SPPSVC-In-TCP"},
    {"op": "firewall_get", "name": "winops-va-kms-tcp-in", "group": "winops.volume_activation"},
]
BUILTIN_CLOSED = {"exists": True, "enabled": False, "profiles": ["Any"], "remote_addresses": ["Any"],
                  "local_ports": ["1688"]}
BUILTIN_OPEN = {"exists": True, "enabled": True, "profiles": ["Domain", "Private"],
                "remote_addresses": ["LocalSubnet"], "local_ports": ["1688"]}
OWN_1689 = {"exists": True, "enabled": True, "profiles": ["Domain", "Private"],
            "remote_addresses": ["10.20.0.0/16", "LocalSubnet"], "local_ports": ["1689"]}
ANY_WARNING = (
    "kms_firewall opens the KMS port to every address ({}): any machine that can reach this host, from the "
    "internet too, can use the KMS host and is counted by it. Scope remote_addresses to your clients' subnets "
    "or LocalSubnet.")


def run(scenario: str, args: dict[str, t.Any] | None = None, *, responses: list[t.Any] | None = None,
        check_mode: bool = False, diff: bool = False) -> tuple[dict[str, t.Any], t.Any, t.Any]:
    data = load_data("kms", f"{scenario}.json")
    plugin, fake = make_action(ActionModule, data["args"] if args is None else args,
                               data["round_trips"] if responses is None else responses,
                               check_mode=check_mode, diff=diff, action="winops.volume_activation.kms_firewall")
    plugin._display = mock.MagicMock()
    return plugin.run(task_vars={}), fake, plugin._display


def test_port_1688_enables_and_scopes_the_builtin_rule() -> None:
    result, fake, _unused = run("fw_builtin_open", diff=True)
    assert fake.operations == [READ_OPS, [
        {"op": "firewall_set", "name": "SPPSVC-In-TCP", "enabled": True, "profiles": ["Domain", "Private"],
         "remote_addresses": ["LocalSubnet"]},
        *READ_OPS,
    ]]
    assert result["changed"] is True
    assert result["round_trips"] == 2
    assert (result["port"], result["port_source"], result["rule_name"]) == (1688, "host", "SPPSVC-In-TCP")
    assert result["rule"] == BUILTIN_OPEN
    assert result["diff"] == {
        "before": {"SPPSVC-In-TCP": BUILTIN_CLOSED, "winops-va-kms-tcp-in": {"exists": False}},
        "after": {"SPPSVC-In-TCP": BUILTIN_OPEN, "winops-va-kms-tcp-in": {"exists": False}},
    }
    assert result["changes"] == ["open TCP 1688 with the firewall rule SPPSVC-In-TCP (enabled True; profiles "
                                 "Domain, Private; remote_addresses LocalSubnet)"]


def test_open_rule_is_left_alone_in_one_round_trip() -> None:
    result, fake, _unused = run("fw_builtin_noop")
    assert fake.operations == [READ_OPS]
    assert result["changed"] is False
    assert result["round_trips"] == 1
    assert result["rule"] == BUILTIN_OPEN


def test_custom_port_read_from_the_host_gets_the_collections_own_rule() -> None:
    result, fake, _unused = run("fw_custom_port_from_host")
    assert fake.operations[1] == [
        {"op": "firewall_create", "name": "winops-va-kms-tcp-in", "group": "winops.volume_activation",
         "description": "Inbound rule for a Key Management Service host listening on a port other than 1688. "
                        "Managed by winops.volume_activation.kms_firewall.",
         "direction": "Inbound", "action": "Allow", "protocol": "TCP",
         "local_ports": ["1689"], "remote_addresses": ["10.20.0.0/16", "LocalSubnet"],
         "profiles": ["Domain", "Private"], "enabled": True,
         "program": "%SystemRoot%\\system32\\sppextcomobj.exe", "service": "sppsvc"},
        *READ_OPS,
    ]
    assert (result["port"], result["port_source"], result["rule_name"]) == (1689, "host", "winops-va-kms-tcp-in")
    assert result["rule"] == OWN_1689
    # The built-in rule for 1688 is not opened for a host that listens elsewhere.
    assert result["after"]["SPPSVC-In-TCP"] == BUILTIN_CLOSED


def test_absent_removes_the_own_rule() -> None:
    result, fake, _unused = run("fw_absent", diff=True)
    assert fake.operations[1] == [{"op": "firewall_remove", "name": "winops-va-kms-tcp-in",
                                   "group": "winops.volume_activation"}, *READ_OPS]
    assert result["changed"] is True
    assert result["rule"] == {"exists": False}
    assert result["diff"]["before"]["winops-va-kms-tcp-in"] == OWN_1689
    assert result["changes"] == ["close TCP 1689: remove the firewall rule winops-va-kms-tcp-in"]


def test_absent_on_1688_disables_the_builtin_rule() -> None:
    data = load_data("kms", "fw_builtin_noop.json")
    result, fake, _unused = run("fw_builtin_noop", {"state": "absent"}, responses=[data["round_trips"][0]],
                                check_mode=True)
    assert fake.operations == [READ_OPS]
    assert result["changed"] is True
    assert result["changes"] == ["close TCP 1688: disable the firewall rule SPPSVC-In-TCP"]
    assert result["rule"] == {**BUILTIN_OPEN, "enabled": False}


@pytest.mark.parametrize("everyone", ["Any", "0.0.0.0/0", "::/0", "*"])
def test_opening_to_everyone_warns_loudly(everyone: str) -> None:
    data = load_data("kms", "fw_builtin_open.json")
    result, fake, display = run("fw_builtin_open", {"remote_addresses": [everyone]},
                                responses=data["round_trips"][:1], check_mode=True)
    warning = ANY_WARNING.format("Any" if everyone == "*" else everyone)  # shown as Windows spells it
    assert result["warnings"] == [warning]
    display.warning.assert_called_once_with(warning)
    assert result["changed"] is True
    assert fake.operations == [READ_OPS]


@pytest.mark.parametrize(("args", "message"), [
    ({"remote_addresses": ["10.0.0.300"]},
     "remote address '10.0.0.300' is not an IPv4 or IPv6 address, subnet, range, Any or one of the keywords "
     "LocalSubnet, DNS, DHCP, WINS, DefaultGateway"),
    ({"remote_addresses": ["LocalSubnet", "Internet"]},
     "remote address 'Internet' is a keyword of the NetSecurity cmdlets that the Windows Firewall COM API "
     "(INetFwRule.RemoteAddresses), which this module uses on every Windows version, does not accept; use subnets, "
     "ranges, Any or one of LocalSubnet, DNS, DHCP, WINS, DefaultGateway"),
    ({"remote_addresses": ["10.0.0.9-10.0.0.1"]}, "remote address range '10.0.0.9-10.0.0.1' ends before it starts"),
    ({"remote_addresses": ["10.0.0.1-fd00::1"]}, "remote address range '10.0.0.1-fd00::1' mixes IPv4 and IPv6"),
    ({"remote_addresses": []},
     "remote_addresses is empty; name the clients' subnets, or LocalSubnet (an empty scope would be Any)"),
    ({"port": 0}, "port 0 is outside 1..65535"),
])
def test_bad_input_fails_before_anything_is_sent(args: dict[str, t.Any], message: str) -> None:
    result, fake, _unused = run("fw_builtin_noop", args, responses=[])
    assert fake.calls == []
    assert result["failed"] is True
    assert result["msg"] == f"Failed to configure the KMS firewall rule: {message}"


def test_unknown_profile_is_refused_by_the_argument_spec() -> None:
    result, fake, _unused = run("fw_builtin_noop", {"profiles": ["Work"]}, responses=[])
    assert fake.calls == []
    assert result["failed"] is True
    assert "profiles" in result["msg"] and "Work" in result["msg"]
