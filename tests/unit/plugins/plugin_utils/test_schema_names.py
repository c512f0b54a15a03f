"""Every CIM name the executor and the engine use exists on the Windows versions where they use it.

The schemas are test data written by hand from Microsoft's sources, one file per NT version
(lab/src/winlab/data/schema/<nt>.yml, OSPP in ospp.yml; each file cites its sources: Windows 7
SP1 class dumps, microsoft/wmi server2019/root/cimv2/SoftwareLicensing*.go, slmgr.vbs,
ospp.vbs, MicrosoftDocs/win32 DNS pages). They are read here as data: the collection never
imports the lab. The lab serves each host from the same files, so a name that passes here
also exists in the lab, and one that fails here would fail on real Windows.

The collection supports NT 6.1 (Windows 7 / Server 2008 R2, best effort) and later; 6.0 is
simulated by the lab but not supported, so its schema is only checked for not being used.
"""

from __future__ import annotations

import importlib.util
import pathlib
import typing as t

import pytest
import yaml

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _state

ROOT = pathlib.Path(__file__).resolve().parents[4]
SCHEMA_DIR = ROOT / "lab" / "src" / "winlab" / "data" / "schema"
SUPPORTED = ("6.1", "6.2", "6.3", "10.0")


def _load(name: str) -> dict[str, t.Any]:
    return t.cast("dict[str, t.Any]", yaml.safe_load((SCHEMA_DIR / name).read_text(encoding="utf-8")))


SCHEMAS: dict[str, dict[str, t.Any]] = {nt: _load(f"{nt}.yml") for nt in ("6.0", *SUPPORTED)}
OSPP: dict[str, t.Any] = _load("ospp.yml")


def _classes(nt: str) -> dict[str, t.Any]:
    """The classes a host of version ``nt`` with OSPP installed has."""
    return {**SCHEMAS[nt]["classes"], **OSPP["classes"]}


def _ps_tables() -> dict[str, t.Any]:
    """The executor's contract tables, parsed as test_licensing_batch_contract.py parses them."""
    path = ROOT / "tests" / "unit" / "plugins" / "modules" / "test_licensing_batch_contract.py"
    spec = importlib.util.spec_from_file_location("_contract", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return t.cast("dict[str, t.Any]", module._top_level_literals((ROOT / "plugins" / "modules" /
                                                                 "licensing_batch.ps1").read_bytes()))


def test_every_schema_file_cites_its_sources_on_every_entry() -> None:
    for nt, schema in [*SCHEMAS.items(), ("ospp", OSPP)]:
        for cls, body in schema["classes"].items():
            for prop, (ctype, source) in body["properties"].items():
                assert ctype and source, (nt, cls, prop)
            for method, m in body["methods"].items():
                assert m.get("source"), (nt, cls, method)


@pytest.mark.parametrize("nt", SUPPORTED)
@pytest.mark.parametrize("cls", [_state.SPP_SERVICE, _state.SPP_PRODUCT, _state.OSPP_SERVICE, _state.OSPP_PRODUCT])
def test_the_engine_reads_only_properties_the_class_has(nt: str, cls: str) -> None:
    """A required name exists on every supported version; an optional one on the newest that
    has it at all (10.0 has every SPP member; OSPP is the same on every version)."""
    props = _classes(nt)[cls]["properties"]
    required = [n for n, everywhere in _state.LICENSING_PROPERTIES[cls] if everywhere]
    assert [n for n in required if n not in props] == []
    newest = (OSPP if cls.startswith("Office") else SCHEMAS["10.0"])["classes"][cls]["properties"]
    optional = [n for n, everywhere in _state.LICENSING_PROPERTIES[cls] if not everywhere]
    assert [n for n in optional if n not in newest] == []


@pytest.mark.parametrize("cls", [_state.SPP_SERVICE, _state.SPP_PRODUCT])
def test_optional_properties_are_exactly_those_windows_7_lacks(cls: str) -> None:
    """The split is the sources', not a guess: what 6.1 lacks is optional, nothing else is."""
    win7 = SCHEMAS["6.1"]["classes"][cls]["properties"]
    assert {n for n, everywhere in _state.LICENSING_PROPERTIES[cls] if not everywhere} == \
        {n for n, _everywhere in _state.LICENSING_PROPERTIES[cls] if n not in win7}


def test_no_version_has_vl_activation_type_enabled_on_the_service() -> None:
    """The engine must not read it there (Server 2019's class and Windows 7's have only the
    setters); the product carries it from 6.2."""
    for schema in SCHEMAS.values():
        assert "VLActivationTypeEnabled" not in schema["classes"][_state.SPP_SERVICE]["properties"]
    assert "VLActivationTypeEnabled" not in dict(_state.SPP_SERVICE_PROPERTIES)


def test_key_management_service_activation_disabled_is_on_windows_7_not_on_server_2019() -> None:
    assert "KeyManagementServiceActivationDisabled" in SCHEMAS["6.1"]["classes"][_state.SPP_SERVICE]["properties"]
    assert "KeyManagementServiceActivationDisabled" not in SCHEMAS["10.0"]["classes"][_state.SPP_SERVICE]["properties"]


@pytest.mark.parametrize("nt", SUPPORTED)
def test_the_os_properties_exist(nt: str) -> None:
    props = SCHEMAS[nt]["classes"][_state.OS_CLASS]["properties"]
    assert [n for n in _state.OS_PROPERTIES if n not in props] == []


@pytest.mark.parametrize("nt", SUPPORTED)
def test_every_query_class_of_the_executor_exists(nt: str) -> None:
    ps = _ps_tables()
    assert [c for c in ps["queryclasses"] if c not in _classes(nt)] == []


@pytest.mark.parametrize(("table", "cls"), [("ServiceMethods", _state.SPP_SERVICE),
                                            ("ProductMethods", _state.SPP_PRODUCT)])
def test_every_method_the_executor_allows_exists_on_the_newest_windows(table: str, cls: str) -> None:
    ps = _ps_tables()
    methods = SCHEMAS["10.0"]["classes"][cls]["methods"]
    assert [m for m in ps[table.lower()] if m not in methods] == []


def test_the_invocation_keys_exist_everywhere() -> None:
    ps = _ps_tables()
    for nt in SUPPORTED:
        for cls, key in ps["keyproperty"].items():
            assert key in _classes(nt)[cls]["properties"], (nt, cls, key)


def test_the_schema_files_do_not_overlap_and_name_their_versions() -> None:
    seen: dict[str, str] = {}
    for nt, schema in SCHEMAS.items():
        assert schema["nt"] == nt
        for os_id in schema["oses"]:
            assert os_id not in seen, (os_id, seen.get(os_id), nt)
            seen[os_id] = nt


# --- what the engine really sends: every recorded scenario replayed through its action plugin ---

_ACTIONS = {"kms_host": "kms_host", "kms_client": "kms_client", "kms_firewall": "kms_firewall",
            "product_key": "product_key", "activation": "activation", "kms_srv_record": "kms_srv_record"}
_SCENARIOS = sorted(
    (path.parent.name, path.stem)
    for path in (ROOT / "tests" / "unit" / "test_data").glob("*/*.json")
    if (data := __import__("json").loads(path.read_text(encoding="utf-8"))).get("module") in _ACTIONS
    and "round_trips" in data
)


def _sent(directory: str, name: str) -> tuple[str | None, list[dict[str, t.Any]]]:
    """Replay a recorded scenario; return the host's NT version (from its Win32_OperatingSystem
    read, None when the scenario reads none) and every operation the engine sent."""
    from ansible_collections.winops.volume_activation.tests.unit.plugins.conftest import (
        load_data,
        make_action,
    )

    data = load_data(directory, f"{name}.json")
    args = dict(data["args"])
    if args.get("confirmation_ids"):  # the recorded phone call's confirmation ID (record.py: phone.json)
        phone = load_data(directory, "phone.json")
        args["confirmation_ids"] = {k: phone["confirmation_id"] for k in args["confirmation_ids"]}
    module = importlib.import_module(
        f"ansible_collections.winops.volume_activation.plugins.action.{_ACTIONS[data['module']]}")
    plugin, fake = make_action(module.ActionModule, args, data["round_trips"],
                               check_mode=bool(data.get("check_mode") or "check_mode" in name),
                               action=f"winops.volume_activation.{data['module']}")
    plugin.run(task_vars={})
    nt = None
    for trip in data["round_trips"]:
        for res in trip.get("results") or []:
            for inst in res.get("instances") or []:
                if isinstance(inst, dict) and "OperatingSystemSKU" in inst and inst.get("Version"):
                    nt = ".".join(str(inst["Version"]).split(".")[:2])
    return nt, [op for batch in fake.operations for op in batch]


@pytest.mark.parametrize(("directory", "name"), _SCENARIOS)
def test_every_name_the_engine_sends_exists_on_the_hosts_version(directory: str, name: str) -> None:
    """Classes, properties, methods and argument names of every operation the engine sent in a
    recorded scenario exist on the recorded host's Windows version (every supported version when
    the scenario does not read the OS: then the names must hold everywhere)."""
    nt, ops = _sent(directory, name)
    assert ops
    versions = [nt] if nt else list(SUPPORTED)
    for version in versions:
        classes = _classes(version)
        for op in ops:
            if op["op"] not in ("cim_query", "cim_invoke", "cim_delete"):
                continue
            cls = classes.get(op["class"])
            assert cls is not None, (version, op["class"])
            for prop in op.get("properties") or []:
                assert prop in cls["properties"], (version, op["class"], prop)
            if op["op"] == "cim_invoke":
                method = cls["methods"].get(op["method"])
                assert method is not None, (version, op["class"], op["method"])
                declared = {p[0] for p in method.get("in") or []}
                assert set(op.get("arguments") or {}) <= declared, (version, op["class"], op["method"], op["arguments"])
