"""lab/README.md's coverage table is generated from the model; it must not be stale."""

from __future__ import annotations

import pathlib
import subprocess
import sys

TOOL = pathlib.Path(__file__).resolve().parents[1] / "tools" / "coverage_table.py"


def test_coverage_table_is_current() -> None:
    proc = subprocess.run([sys.executable, str(TOOL), "--check"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_coverage_table_lists_every_simulated_executor_method() -> None:
    from winlab.surfaces.cim import coverage

    readme = TOOL.parents[1].joinpath("README.md").read_text(encoding="utf-8")
    rows = coverage()
    assert len(rows) > 40
    for row in rows:
        assert f"| {row['class']} | {row['method']}(" in readme
