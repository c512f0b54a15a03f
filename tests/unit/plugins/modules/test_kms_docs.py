"""The documentation stubs of kms_host, kms_firewall and kms_client match the action plugins:
every option with its type, default, choices, elements, aliases and suboptions; options in
alphabetical order with version_added; every top-level key of a recorded result documented."""

from __future__ import annotations

import importlib
import typing as t

import pytest
import yaml

from ansible_collections.winops.volume_activation.tests.unit.plugins.conftest import load_data, make_action

MODULES = ("kms_host", "kms_firewall", "kms_client", "product_key", "activation", "key_budget", "ad_activation_object",
           "rearm", "host_licensing")
PKG = "ansible_collections.winops.volume_activation.plugins"
SCENARIOS = {
    "kms_host": ["host_change", "host_noop"],
    "kms_firewall": ["fw_builtin_open", "fw_absent"],
    "kms_client": ["client_windows_set", "client_office2010_ospp"],
}


def docs(name: str) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    mod = importlib.import_module(f"{PKG}.modules.{name}")
    return yaml.safe_load(mod.DOCUMENTATION), yaml.safe_load(mod.RETURN)


# The attributes every module shares (plugins/doc_fragments/attributes.py); a module's own keys
# win over the fragment's, attribute by attribute, as ansible-core merges them.
FRAGMENT = yaml.safe_load(importlib.import_module(f"{PKG}.doc_fragments.attributes").ModuleDocFragment.DOCUMENTATION)


def attributes(doc: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    assert "winops.volume_activation.attributes" in doc["extends_documentation_fragment"]
    merged = {key: dict(value) for key, value in FRAGMENT["attributes"].items()}
    for key, value in doc.get("attributes", {}).items():
        merged.setdefault(key, {}).update(value)
    return merged


def spec(name: str) -> dict[str, t.Any]:
    return t.cast(dict[str, t.Any], importlib.import_module(f"{PKG}.action.{name}").ActionModule.ARGUMENT_SPEC)


def _compare(doc_opts: dict[str, t.Any], arg_spec: dict[str, t.Any], where: str) -> None:
    assert sorted(doc_opts) == sorted(arg_spec), where
    assert list(doc_opts) == sorted(doc_opts), f"{where}: options not in alphabetical order"
    for opt, d in doc_opts.items():
        s = arg_spec[opt]
        assert d.get("type", "str") == s.get("type", "str"), f"{where}.{opt} type"
        assert d.get("default") == s.get("default"), f"{where}.{opt} default"
        assert d.get("choices") == s.get("choices"), f"{where}.{opt} choices"
        assert d.get("elements") == s.get("elements"), f"{where}.{opt} elements"
        assert d.get("aliases") == s.get("aliases"), f"{where}.{opt} aliases"
        assert bool(d.get("required")) == bool(s.get("required")), f"{where}.{opt} required"
        assert d.get("version_added") == "0.1.0", f"{where}.{opt} version_added"
        assert d.get("description"), f"{where}.{opt} description"
        if "suboptions" in d or "options" in s:
            _compare(d["suboptions"], s["options"], f"{where}.{opt}")


@pytest.mark.parametrize("name", MODULES)
def test_documented_options_match_the_argument_spec(name: str) -> None:
    doc, _unused = docs(name)
    assert doc["module"] == name
    assert doc["version_added"] == "0.1.0"
    attrs = attributes(doc)
    assert set(attrs) == {"check_mode", "diff_mode", "platform", "action", "async", "bypass_host_loop"}
    assert attrs["check_mode"]["support"] == "full" and attrs["check_mode"]["details"]
    assert attrs["diff_mode"]["support"] == "full" and attrs["diff_mode"]["details"]
    assert attrs["action"]["support"] == "full"
    _compare(doc["options"], spec(name), name)


@pytest.mark.parametrize("name", MODULES)
def test_every_return_value_has_a_sample_or_contains(name: str) -> None:
    _unused, ret = docs(name)
    for key, d in ret.items():
        assert d.get("version_added") == "0.1.0", key
        assert d.get("description"), key
        assert "sample" in d or "contains" in d, key
        for sub, sd in (d.get("contains") or {}).items():
            assert "sample" in sd, f"{key}.{sub}"


@pytest.mark.parametrize(("name", "scenario"), [(m, s) for m, ss in SCENARIOS.items() for s in ss])
def test_every_returned_key_is_documented(name: str, scenario: str) -> None:
    data = load_data("kms", f"{scenario}.json")
    cls = importlib.import_module(f"{PKG}.action.{name}").ActionModule
    plugin, _unused = make_action(cls, data["args"], data["round_trips"], action=f"winops.volume_activation.{name}")
    result = plugin.run(task_vars={})
    _doc, ret = docs(name)
    # changed/failed/msg/warnings/diff/invocation are Ansible's common return values.
    common = {"changed", "failed", "msg", "warnings", "diff", "invocation", "_ansible_no_log"}
    assert set(result) - common <= set(ret), sorted(set(result) - common - set(ret))
