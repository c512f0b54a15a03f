"""Harness for end-to-end tests: real ansible-playbook, real pywinrm, the lab's simulated fleet.

Fixtures
--------
``lab``            a module-scoped running lab (``winlab.control.Lab``) on ``lab/fleets/small.yml``,
                   reset before each test.
``start_lab``      factory: ``start_lab(fleet_path_or_dict) -> LabHandle`` for tests that need
                   another fleet; stopped at the end of the test module.
``ansible``        runs ``ansible-playbook`` (``ansible.run(playbook_yaml, handle, ...)``) and
                   returns a :class:`PlaybookRun` with every task result, recorded by the
                   ``record`` callback in tests/integration/plugins/callback.

The lab is imported here and never by the collection: tests may read the lab's state
(the independent check of what a module did), the collection never does.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import typing as t

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".build" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "winops" / "volume_activation"
BIN = pathlib.Path(sys.executable).parent
CALLBACKS = pathlib.Path(__file__).resolve().parent / "plugins" / "callback"
SMALL_FLEET = ROOT / "lab" / "fleets" / "small.yml"

if not LINK.exists():
    LINK.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(ROOT, LINK.parent), LINK)


@dataclasses.dataclass
class LabHandle:
    """A running lab with its inventories (NTLM over HTTP and Basic over HTTPS)."""

    lab: t.Any
    spec: t.Any
    inventory: pathlib.Path
    inventory_basic: pathlib.Path

    def round_trips(self, host: str, since: int | None = None) -> int:
        """Module executions the host answered (one entry per module call in the request log)."""
        return sum(1 for e in self.lab.request_log(host, since=since) if "module" in e)

    def log_mark(self, host: str) -> int:
        """The current end of the host's request log (pass to ``round_trips(since=)``): the
        position the next entry will take, so ``since=`` counts only what comes after."""
        entries = self.lab.request_log(host)
        return int(entries[-1]["seq"]) + 1 if entries else 0


@dataclasses.dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    records: list[dict[str, t.Any]]

    def results(self, task: str) -> dict[str, dict[str, t.Any]]:
        """host -> result of the task named ``task`` (the last one if it ran twice)."""
        out: dict[str, dict[str, t.Any]] = {}
        for r in self.records:
            if r["task"] == task:
                out[r["host"]] = {**r["result"], "_status": r["status"]}
        if not out:
            names = sorted({r["task"] for r in self.records})
            raise AssertionError(f"no result for task {task!r}; tasks seen: {names}\n{self.stdout[-3000:]}")
        return out

    def result(self, task: str, host: str) -> dict[str, t.Any]:
        return self.results(task)[host]


class Ansible:
    """Runs ansible-playbook with the collection from this checkout."""

    def __init__(self, tmp: pathlib.Path) -> None:
        self.tmp = tmp
        self.count = 0

    def env(self, record: pathlib.Path) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
            ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
            ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS),
            ANSIBLE_CALLBACKS_ENABLED="record",
            ANSIBLE_HOST_KEY_CHECKING="false",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_RETRY_FILES_ENABLED="false",
            ANSIBLE_DEPRECATION_WARNINGS="false",
            ANSIBLE_LOCAL_TEMP=str(self.tmp / "ansible-local"),
            ANSIBLE_ROLES_PATH=str(ROOT / "roles"),
            WINOPS_RECORD_FILE=str(record),
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        )
        return env

    def run(
        self,
        playbook: str | pathlib.Path,
        handle: LabHandle | None = None,
        *,
        inventory: pathlib.Path | None = None,
        extra_vars: dict[str, t.Any] | None = None,
        check: bool = False,
        diff: bool = False,
        verbosity: int = 0,
        limit: str | None = None,
        timeout: int = 600,
    ) -> PlaybookRun:
        """Run a playbook given as YAML text or a path; ``inventory`` defaults to the handle's NTLM one."""
        self.count += 1
        if isinstance(playbook, pathlib.Path):
            path = playbook
        else:
            path = self.tmp / f"play{self.count}.yml"
            path.write_text(playbook, encoding="utf-8")
        record = self.tmp / f"record{self.count}.jsonl"
        cmd = [str(BIN / "ansible-playbook"), str(path)]
        inv = inventory or (handle.inventory if handle else None)
        if inv is not None:
            cmd += ["-i", str(inv)]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if limit:
            cmd += ["--limit", limit]
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        proc = subprocess.run(cmd, env=self.env(record), capture_output=True, text=True, timeout=timeout,
                              cwd=str(self.tmp), check=False)
        records = []
        if record.exists():
            records = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines() if line]
        return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, records)


def _start(fleet: str | pathlib.Path | dict[str, t.Any], state_dir: pathlib.Path) -> LabHandle:
    from winlab.control import Lab
    from winlab.inventory import render_inventory
    from winlab.spec import load_fleet, parse_fleet

    spec = parse_fleet(fleet) if isinstance(fleet, dict) else load_fleet(fleet)
    lab = Lab(spec, state_dir).start()
    ports = lab.all_ports()
    dns = lab.dns_info() if lab.network is not None else None  # winlab_dns_* vars, as `winlab up` writes them
    inv = state_dir / "inventory.yml"
    inv.write_text(render_inventory(spec, ports, "ntlm", dns), encoding="utf-8")
    inv_basic = state_dir / "inventory-basic.yml"
    inv_basic.write_text(render_inventory(spec, ports, "basic", dns), encoding="utf-8")
    return LabHandle(lab=lab, spec=spec, inventory=inv, inventory_basic=inv_basic)


@pytest.fixture(scope="module")
def start_lab(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[t.Callable[..., LabHandle]]:
    started: list[LabHandle] = []

    def factory(fleet: str | pathlib.Path | dict[str, t.Any]) -> LabHandle:
        handle = _start(fleet, tmp_path_factory.mktemp("lab"))
        started.append(handle)
        return handle

    yield factory
    for h in started:
        h.lab.stop()


@pytest.fixture(scope="module")
def small_lab(start_lab: t.Callable[..., LabHandle]) -> LabHandle:
    return start_lab(SMALL_FLEET)


@pytest.fixture
def lab(small_lab: LabHandle) -> LabHandle:
    small_lab.lab.reset()
    return small_lab


@pytest.fixture
def ansible(tmp_path: pathlib.Path) -> Ansible:
    return Ansible(tmp_path)


def load_yaml(text: str) -> t.Any:
    return yaml.safe_load(text)
