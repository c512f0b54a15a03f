"""The repository stands alone: no file points at a development machine's paths or at notes
outside the repository (the shared working notes of the team); sourced facts live in
docs/reference/ with their public sources."""

from __future__ import annotations

import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
# written in pieces so that this file does not match itself
FORBIDDEN = re.compile("|".join(["/" + "work/", r"\.\./" + "shared", "shared/" + "reference", "shared/" + "seed", "helpers" + "-brief"]))


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [f for f in out.splitlines() if f and (ROOT / f).is_file()]


def test_no_file_points_outside_the_repository() -> None:
    offenders = []
    for name in _tracked_files():
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if FORBIDDEN.search(line):
                offenders.append(f"{name}:{number}: {line.strip()[:120]}")
    assert offenders == []


@pytest.mark.parametrize("note", ["licensing-api.md", "existing-tools.md", "winrm-and-lab.md"])
def test_reference_notes_exist_and_cite_sources(note: str) -> None:
    text = (ROOT / "docs" / "reference" / note).read_text(encoding="utf-8")
    assert "learn.microsoft.com" in text or "ansible-core" in text


def test_every_source_tag_cited_in_code_is_defined() -> None:
    # the tags of plugins/ and lab/src must be expanded in section 0 of licensing-api.md
    key = (ROOT / "docs" / "reference" / "licensing-api.md").read_text(encoding="utf-8").split("## 1.", 1)[0]
    defined = set(re.findall(r"\b([A-Z][A-Z0-9.]*(?:-[A-Z]+)?)\b", key))
    cited: set[str] = set()
    for name in _tracked_files():
        if name.startswith(("plugins/", "lab/src/")) and name.endswith(".py"):
            text = (ROOT / name).read_text(encoding="utf-8")
            cited |= set(re.findall(r"\[((?:SEED|MS-[A-Z]+|WSD-[A-Z]+|ODO-[A-Z]+|SLMGR\d+|OSPP15|SLERRXML|MOF7601|SLERROR\.H|PYKMS))\]", text))
    assert cited - defined == set()
