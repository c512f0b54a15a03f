"""Shared fixtures for the lab's tests: fleet files and the ``winlab`` command line."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import typing as t

import pytest
import yaml

LAB_ROOT = pathlib.Path(__file__).resolve().parents[1]
FLEETS = LAB_ROOT / "fleets"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a few seconds (deselect with -m 'not slow')")


@pytest.fixture
def small_fleet() -> pathlib.Path:
    """lab/fleets/small.yml: a KMS host and two clients, every port 0 (free ports)."""
    return FLEETS / "small.yml"


@pytest.fixture
def write_fleet(tmp_path: pathlib.Path) -> t.Callable[[dict[str, t.Any]], pathlib.Path]:
    """Write a fleet document to a YAML file in tmp_path and return its path."""
    counter = iter(range(1_000_000))

    def write(doc: dict[str, t.Any]) -> pathlib.Path:
        path = tmp_path / f"fleet{next(counter)}.yml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def winlab(tmp_path: pathlib.Path) -> t.Iterator[t.Callable[..., subprocess.CompletedProcess[str]]]:
    """Run ``winlab ARGS --state-dir <tmp>/state`` in a child process; the lab it may have
    started is stopped at teardown."""
    state_dir = tmp_path / "state"

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "winlab.cli", *args, "--state-dir", str(state_dir)],
                              capture_output=True, text=True, timeout=timeout, check=False)

    run.state_dir = state_dir  # type: ignore[attr-defined]
    yield run
    if (state_dir / "daemon.lock").exists():
        run("down")
