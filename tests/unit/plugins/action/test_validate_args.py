"""The validation-only pass (issue 11): each action's ``va_validate_only`` checks the options as its
run would before the first round trip, and contacts no host; validate_args' helpers."""

from __future__ import annotations

import importlib
import typing as t

import pytest

from ansible_collections.winops.volume_activation.plugins.action import validate_args
from ansible_collections.winops.volume_activation.tests.unit.plugins.conftest import make_action

CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"  # synthetic


def validate(module: str, args: dict[str, t.Any]) -> tuple[dict[str, t.Any], t.Any]:
    cls = importlib.import_module(f"ansible_collections.winops.volume_activation.plugins.action.{module}").ActionModule
    plugin, fake = make_action(cls, args, responses=[], action=f"winops.volume_activation.{module}")
    return plugin.va_validate_only({"inventory_hostname": "kms01"}), fake


@pytest.mark.parametrize(("module", "args", "fragment"), [
    ("kms_host", {"port": 0}, "Failed to configure the KMS host: port 0 is outside 1..65535"),
    ("kms_host", {"renewal_interval": 10}, "renewal_interval 10 is outside 15..43200"),
    ("kms_firewall", {"remote_addresses": ["10.0.0.0/33"]}, "remote address '10.0.0.0/33'"),
    ("kms_firewall", {"profiles": []}, "profiles is empty"),
    ("kms_client", {"kms_host": "kms host!"}, "kms_host 'kms host!'"),
    ("activation", {"activation_ids": ["nope"]}, "got 'nope'"),
    ("product_key", {"key": CSVLK, "key_type": "kms_client", "product": "windows"}, "invalid volume license key"),
    ("kms_srv_record", {"method": "rfc2136", "server": " ", "zone": "example.test"}, "server must name"),
    ("kms_srv_record", {"method": "rfc2136", "server": "127.0.0.1", "zone": "example.test",
                        "records": ["kms01"]}, "records[0] must be a dictionary"),
    ("license_info", {"application": "linux"}, "value of application must be one of"),
])
def test_refused_without_contacting_the_host(module: str, args: dict[str, t.Any], fragment: str) -> None:
    out, fake = validate(module, args)
    assert out["failed"] is True and fragment in out["msg"], out
    assert fake.calls == []
    assert CSVLK not in str(out)


@pytest.mark.parametrize(("module", "args"), [
    ("kms_host", {"port": 1689, "renewal_interval": 10080}),
    ("kms_firewall", {"remote_addresses": ["LocalSubnet", "10.0.0.0/255.0.0.0", "DNS"], "profiles": ["Domain"]}),
    ("product_key", {"key": CSVLK, "key_type": "kms_host", "product": "windows"}),
    ("product_key", {"key": CSVLK, "key_type": "kms_client", "product": "windows", "allow_unpublished_gvlk": True}),
    ("kms_srv_record", {"method": "rfc2136", "server": "127.0.0.1", "zone": "example.test",
                        "records": [{"target": "kms01.example.test"}]}),
])
def test_good_options_pass(module: str, args: dict[str, t.Any]) -> None:
    out, fake = validate(module, args)
    assert out == {} and fake.calls == []


@pytest.mark.parametrize(("message", "option", "expected"), [
    ("remote address '10.0.0.0/33' is not ...", "remote_addresses", True),
    ("port 0 is outside 1..65535", "port", True),
    ("server_port 0 is out of range", "port", False),
    ("records[0].priority 70000 is out of range", "priority", True),
    ("publish_domains[0].domain 'x' is listed twice", "publish_domains", True),
])
def test_messages_name_the_option_by_its_words(message: str, option: str, expected: bool) -> None:
    assert validate_args._mentions(message, option) is expected


@pytest.mark.parametrize(("value", "expected"), [
    (True, True), (False, False), ("true", True), ("False", False), ("yes", True), ("0", False), ("", False),
])
def test_truthy_takes_what_extra_vars_pass(value: t.Any, expected: bool) -> None:
    assert validate_args._truthy(value) is expected


ROLE_VARS = {
    "my_checks": [{"module": "kms_host", "args": {"port": "{{ my_port }}"}, "variables": {"port": "my_port"}},
                  {"that": "{{ my_flag | bool }}", "msg": "my_flag is off"}],
    "my_port": "{{ base_port | int + 1 }}",
    "base_port": 1687,
    "my_flag": True,
}


def test_hosts_with_equal_variables_share_a_signature() -> None:
    roots = ["my_checks"]
    a = validate_args._signature(roots, {**ROLE_VARS, "inventory_hostname": "a", "other": 1})
    b = validate_args._signature(roots, {**ROLE_VARS, "inventory_hostname": "b", "other": 2})
    assert a is not None and a == b
    # the names followed through the templates, and nothing else
    assert [name for name, _value in a] == ["base_port", "my_checks", "my_flag", "my_port"]


@pytest.mark.parametrize("change", [
    {"base_port": 1688},                        # a value two templates away
    {"my_flag": False},
    {"my_port": "{{ inventory_hostname }}"},   # a template that reads the host's own name
])
def test_a_difference_anywhere_in_the_templates_separates_hosts(change: dict[str, t.Any]) -> None:
    roots = ["my_checks"]
    base = validate_args._signature(roots, {**ROLE_VARS, "inventory_hostname": "a"})
    other = {**ROLE_VARS, **change}
    assert validate_args._signature(roots, {**other, "inventory_hostname": "b"}) != base
    if "inventory_hostname" in str(change):
        assert validate_args._signature(roots, {**other, "inventory_hostname": "a"}) != \
            validate_args._signature(roots, {**other, "inventory_hostname": "b"})


def test_fleet_wide_names_and_bound_names_do_not_separate_hosts() -> None:
    checks = {"checks": [{"that": "{{ groups['kms_hosts'] | map('extract', hostvars) | list | length > 0 }}",
                          "msg": "{% for h in groups['all'] %}{{ h }}{% endfor %}"}]}
    a = validate_args._signature(["checks"], {**checks, "inventory_hostname": "a", "hostvars": object()})
    b = validate_args._signature(["checks"], {**checks, "inventory_hostname": "b", "hostvars": object()})
    assert a == b and [name for name, _v in a] == ["checks"]
    assert validate_args._references("{% for h in x %}{{ h }}{% endfor %}") == frozenset({"x"})


def test_a_template_that_does_not_parse_is_checked_on_its_own() -> None:
    assert validate_args._references("{{ broken") is None
    assert validate_args._signature(["c"], {"c": "{{ broken"}) is None
