"""Check the changelog fragments against the conventions of changelogs/README.md (``make lint``).

Contract: exits 0 when every rule holds, else prints one line per problem (file and cause) and
exits 1. Offline; needs PyYAML, and for ``--render`` ``antsibull-changelog`` and ``ansible-doc``
beside the Python that runs it (the project's .venv).

Rules (on top of ``antsibull-changelog lint``, which checks the fragments' structure):

- While no release is recorded in changelogs/changelog.yaml (0.1.0, the first release, is not
  out), a fragment may not carry ``bugfixes``, ``security_fixes``, ``breaking_changes``,
  ``deprecated_features`` or ``removed_features``: nothing released can be fixed, broken,
  deprecated or removed yet.
- No entry announces a new module or plugin ("new module", "new lookup", ...): antsibull-changelog
  lists them by itself from ``version_added``, so such an entry lists it twice.
- No entry announces a new role or playbook in prose either: roles are listed from
  ``version_added`` in ``meta/argument_specs.yml``; playbooks are declared with
  ``add object.playbook`` (``name``, ``description``). ``add plugin.*`` and ``add object.role``
  are refused for the same reason (they would list the plugin or role twice).
- Every role's ``main`` entry point has ``version_added``, and every playbook under playbooks/
  is declared by some fragment's ``add object.playbook`` or by a recorded release.

With ``--render`` it also releases the pending version in a scratch copy (``antsibull-changelog
release``) and checks CHANGELOG.rst: every module and plugin listed exactly once, every role under
"New Roles" and every playbook under "New Playbooks", and no "Bugfixes" section in a first release.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import typing as t

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]

FIX_SECTIONS = ("bugfixes", "security_fixes", "breaking_changes", "deprecated_features", "removed_features")
TEXT_SECTIONS = ("major_changes", "minor_changes", "known_issues", *FIX_SECTIONS)
NEW_THING = re.compile(
    r"\bnew\s+(module|modules|plugin|plugins|lookup|lookups|filter|filters|test plugin|role|roles|playbook|playbooks)\b",
    re.IGNORECASE,
)
PLUGIN_DIRS = ("action", "filter", "lookup", "modules", "test", "inventory", "callback", "connection")


def _load(path: pathlib.Path) -> t.Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def released_versions(root: pathlib.Path) -> list[str]:
    """Versions recorded in changelogs/changelog.yaml (empty before the first release)."""
    data = _load(root / "changelogs" / "changelog.yaml") or {}
    return list((data.get("releases") or {}).keys())


def released_playbooks(root: pathlib.Path) -> set[str]:
    data = _load(root / "changelogs" / "changelog.yaml") or {}
    names: set[str] = set()
    for release in (data.get("releases") or {}).values():
        for entry in (release.get("objects") or {}).get("playbook") or []:
            names.add(entry["name"])
    return names


def check_fragments(root: pathlib.Path) -> tuple[list[str], set[str]]:
    """Problems found in the fragments, and the playbooks they declare."""
    problems: list[str] = []
    declared: set[str] = set()
    first_release = not released_versions(root)
    for path in sorted((root / "changelogs" / "fragments").glob("*")):
        rel = path.relative_to(root)
        if path.suffix not in (".yml", ".yaml"):
            problems.append(f"{rel}: not a .yml fragment")
            continue
        data = _load(path) or {}
        if not isinstance(data, dict):
            problems.append(f"{rel}: a fragment is a mapping of sections")
            continue
        for section, entries in data.items():
            if first_release and section in FIX_SECTIONS:
                problems.append(
                    f"{rel}: section {section!r} before the first release: nothing is released yet, so there is "
                    "nothing to fix or break; describe the behaviour as it ships (or drop the fragment)"
                )
            if section in TEXT_SECTIONS:
                for entry in entries if isinstance(entries, list) else [entries]:
                    match = NEW_THING.search(str(entry))
                    if match:
                        problems.append(
                            f"{rel}: {section} entry announces a {match.group(0)!r}: modules, plugins and roles are "
                            "listed from version_added, playbooks from 'add object.playbook'; an entry lists them twice"
                        )
            if section.startswith("add plugin.") or section == "add object.role":
                problems.append(
                    f"{rel}: {section!r}: antsibull-changelog finds these itself from version_added; declaring them "
                    "again lists them twice"
                )
            if section == "add object.playbook":
                for entry in entries or []:
                    if not (isinstance(entry, dict) and entry.get("name") and entry.get("description")):
                        problems.append(f"{rel}: 'add object.playbook' entries need name and description: {entry!r}")
                        continue
                    if not (root / "playbooks" / f"{entry['name']}.yml").is_file():
                        problems.append(f"{rel}: declares playbook {entry['name']!r}, but playbooks/{entry['name']}.yml does not exist")
                    declared.add(entry["name"])
    return problems, declared


def check_objects(root: pathlib.Path, declared: set[str]) -> list[str]:
    problems: list[str] = []
    for spec in sorted(root.glob("roles/*/meta/argument_specs.yml")):
        main = ((_load(spec) or {}).get("argument_specs") or {}).get("main") or {}
        if not main.get("version_added"):
            problems.append(f"{spec.relative_to(root)}: the main entry point has no version_added (the changelog would not list the role)")
    known = declared | released_playbooks(root)
    for playbook in sorted((root / "playbooks").glob("*.yml")):
        if playbook.stem not in known:
            problems.append(
                f"{playbook.relative_to(root)}: no fragment declares it (add it under 'add object.playbook' with name and description)"
            )
    return problems


def render(root: pathlib.Path) -> list[str]:
    """Release the pending version in a scratch copy and check CHANGELOG.rst."""
    galaxy = _load(root / "galaxy.yml")
    version, namespace, name = galaxy["version"], galaxy["namespace"], galaxy["name"]
    if version in released_versions(root):
        return []
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        coll = pathlib.Path(tmp) / "ansible_collections" / namespace / name
        coll.mkdir(parents=True)
        for item in ("galaxy.yml", "meta", "plugins", "roles", "playbooks", "changelogs"):
            src = root / item
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, coll / item)
        # the tools of this Python's virtual environment (antsibull-changelog runs ansible-doc)
        bindir = str(pathlib.Path(sys.executable).parent)
        env = dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH=tmp,
            ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
            PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
        )
        result = subprocess.run(
            [os.path.join(bindir, "antsibull-changelog"), "release", "--version", version, "--date", "2000-01-01"],
            cwd=coll, env=env, capture_output=True, text=True, check=False,
        )
        if result.returncode:
            return [f"antsibull-changelog release failed: {result.stdout}{result.stderr}"]
        text = (coll / "CHANGELOG.rst").read_text(encoding="utf-8")
        # what antsibull-changelog found through ansible-doc
        cache = _load(coll / "changelogs" / ".plugin-cache.yaml")
    sections = dict(re.findall(r"\n([^\n]+)\n-{3,}\n(.*?)(?=\n[^\n]+\n-{3,}\n|\Z)", text, re.S))
    fqcn = f"{namespace}.{name}"
    found_modules = set((cache["plugins"].get("module") or {}).keys())
    for mod in sorted(p.stem for p in (root / "plugins" / "modules").glob("*.py") if not p.name.startswith("_")):
        if mod not in found_modules:
            problems.append(f"antsibull-changelog (trial {version}): ansible-doc did not find module {mod}")
    listed = [(kind, plugin) for kind, plugins in cache["plugins"].items() for plugin in (plugins or {})]
    # a playbook or role may share a module's name (kms_host): count outside their sections
    plugin_text = "".join(body for title, body in sections.items() if title not in ("New Roles", "New Playbooks"))
    for kind, plugin in listed:
        count = len(re.findall(rf"^- {re.escape(fqcn)}\.{re.escape(plugin)} - ", plugin_text, re.M))
        if count != 1:
            problems.append(f"CHANGELOG.rst (trial {version}): {kind} {plugin} listed {count} times, not once")
    for role in sorted(p.name for p in (root / "roles").iterdir() if p.is_dir()):
        if not re.search(rf"^- {re.escape(fqcn)}\.{re.escape(role)} - ", sections.get("New Roles", ""), re.M):
            problems.append(f"CHANGELOG.rst (trial {version}): role {role} is not under New Roles")
    for playbook in sorted(p.stem for p in (root / "playbooks").glob("*.yml")):
        if not re.search(rf"^- {re.escape(fqcn)}\.{re.escape(playbook)} - ", sections.get("New Playbooks", ""), re.M):
            problems.append(f"CHANGELOG.rst (trial {version}): playbook {playbook} is not under New Playbooks")
    if not released_versions(root) and "Bugfixes" in sections:
        problems.append(f"CHANGELOG.rst (trial {version}): a Bugfixes section in the first release")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=pathlib.Path, default=ROOT, help="collection root (default: this checkout)")
    parser.add_argument("--render", action="store_true", help="also release the pending version in a scratch copy and check CHANGELOG.rst")
    args = parser.parse_args(argv)
    problems, declared = check_fragments(args.root)
    problems += check_objects(args.root, declared)
    if args.render and not problems:
        problems += render(args.root)
    for problem in problems:
        print(problem)
    if problems:
        print("changelog: see changelogs/README.md for the fragment conventions")
        return 1
    print("changelog: fragments follow changelogs/README.md" + (" and the trial release renders correctly" if args.render else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
