"""tools/check_changelog.py: the fragment conventions of changelogs/README.md are enforced.

Each case is a real mistake from the 0.1.0 changelog as it was first generated (a module
announced in prose and so listed twice, bugfixes of behaviour never released, playbooks and
roles missing), written into a scratch collection.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import types

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]


def _load_checker() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("check_changelog", ROOT / "tools" / "check_changelog.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


checker = _load_checker()

PLAYBOOKS = {"add object.playbook": [{"name": "site", "description": "The whole job"}]}


def _collection(tmp_path: pathlib.Path, fragments: dict[str, object], released: bool = False, role_version: bool = True) -> pathlib.Path:
    (tmp_path / "changelogs" / "fragments").mkdir(parents=True)
    releases = {"0.1.0": {"changes": {"release_summary": "first"}, "objects": {"playbook": [{"name": "site", "description": "x"}]}}}
    (tmp_path / "changelogs" / "changelog.yaml").write_text(
        yaml.safe_dump({"ancestor": None, "releases": releases if released else {}})
    )
    for name, data in fragments.items():
        (tmp_path / "changelogs" / "fragments" / name).write_text(yaml.safe_dump(data))
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "site.yml").write_text("---\n- name: x\n  hosts: all\n")
    (tmp_path / "roles" / "kms_server" / "meta").mkdir(parents=True)
    main = {"short_description": "x", **({"version_added": "0.1.0"} if role_version else {})}
    (tmp_path / "roles" / "kms_server" / "meta" / "argument_specs.yml").write_text(yaml.safe_dump({"argument_specs": {"main": main}}))
    return tmp_path


def _problems(root: pathlib.Path) -> list[str]:
    problems, declared = checker.check_fragments(root)
    return problems + checker.check_objects(root, declared)


def test_the_repository_follows_its_conventions() -> None:
    assert _problems(ROOT) == []


def test_a_clean_first_release_passes(tmp_path: pathlib.Path) -> None:
    fragments = {
        "release.yml": {"release_summary": "First release.", **PLAYBOOKS},
        "x.yml": {"minor_changes": ["kms_host - returns the request counters."]},
    }
    root = _collection(tmp_path, fragments)
    assert _problems(root) == []


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        pytest.param(
            {"bugfixes": ["product_key - gvlk=auto no longer replaces the KMS host key."]},
            "section 'bugfixes' before the first release",
            id="bugfix-of-unreleased",
        ),
        pytest.param({"breaking_changes": ["kms_host - renamed an option."]}, "section 'breaking_changes' before the first release", id="breaking-unreleased"),
        pytest.param({"minor_changes": ["kms_host - new module that sets the KMS host's port."]}, "announces a 'new module'", id="module-twice"),
        pytest.param({"minor_changes": ["kms_srv_records - New lookup that reads SRV records."]}, "announces a 'New lookup'", id="lookup-twice"),
        pytest.param({"major_changes": ["Adds a new role to set up KMS hosts."]}, "announces a 'new role'", id="role-in-prose"),
        pytest.param({"add plugin.filter": [{"name": "gvlk", "description": "x"}]}, "'add plugin.filter'", id="add-plugin"),
        pytest.param({"add object.role": [{"name": "kms_server", "description": "x"}]}, "'add object.role'", id="add-role"),
        pytest.param({"add object.playbook": [{"name": "nope", "description": "x"}]}, "playbooks/nope.yml does not exist", id="unknown-playbook"),
        pytest.param({"add object.playbook": [{"name": "site"}]}, "need name and description", id="playbook-without-description"),
    ],
)
def test_mistakes_are_caught(tmp_path: pathlib.Path, fragment: dict[str, object], expected: str) -> None:
    root = _collection(tmp_path, {"release.yml": PLAYBOOKS, "mistake.yml": fragment})
    problems = _problems(root)
    assert any("mistake.yml" in p and expected in p for p in problems), problems


def test_bugfixes_are_fine_after_a_release(tmp_path: pathlib.Path) -> None:
    root = _collection(tmp_path, {"fix.yml": {"bugfixes": ["kms_host - keeps the port."]}}, released=True)
    assert _problems(root) == []


def test_an_undeclared_playbook_is_caught(tmp_path: pathlib.Path) -> None:
    root = _collection(tmp_path, {"release.yml": {"release_summary": "First release."}})
    assert _problems(root) == ["playbooks/site.yml: no fragment declares it (add it under 'add object.playbook' with name and description)"]


def test_a_role_without_version_added_is_caught(tmp_path: pathlib.Path) -> None:
    root = _collection(tmp_path, {"release.yml": PLAYBOOKS}, role_version=False)
    assert _problems(root) == [
        "roles/kms_server/meta/argument_specs.yml: the main entry point has no version_added (the changelog would not list the role)"
    ]


def test_a_non_yaml_fragment_is_caught(tmp_path: pathlib.Path) -> None:
    root = _collection(tmp_path, {"release.yml": PLAYBOOKS})
    (root / "changelogs" / "fragments" / "note.txt").write_text("bugfixes: x")
    assert _problems(root) == ["changelogs/fragments/note.txt: not a .yml fragment"]
