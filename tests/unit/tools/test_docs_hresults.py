"""tools/docs_hresults.py: the troubleshooting guide is exactly what the HRESULT table gives; guides quote what ships."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]


def _load(name: str, path: pathlib.Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


generator = _load("docs_hresults", ROOT / "tools" / "docs_hresults.py")
errors = _load("_errors_for_docs", ROOT / "plugins" / "plugin_utils" / "_errors.py")


def test_the_committed_guide_matches_the_table() -> None:
    # fails when someone changes plugins/plugin_utils/_errors.py without tools/docs_hresults.py --write
    assert generator.GUIDE.read_text(encoding="utf-8") == generator.render()


@pytest.mark.parametrize("code", sorted(errors.HRESULTS))
def test_every_code_has_an_anchor_symbol_and_next_step(code: int) -> None:
    text = generator.render()
    info = errors.HRESULTS[code]
    hexcode = errors.hex_code(code)
    row = text.split(f".. _hresult_{hexcode.lower()}:", 1)[1].split("   * - ", 1)[0]
    assert f"``{hexcode}``" in row
    assert (f"``{info.symbol}``" if info.symbol else "(none published)") in row
    assert generator._rst(info.remedy) in row


def test_check_mode_reports_drift(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "guide.rst"
    stale.write_text(re.sub(r"SL_E_VL_NOT_ENOUGH_COUNT", "SL_E_SOMETHING_ELSE", generator.render()))
    monkeypatch.setattr(generator, "GUIDE", stale)
    monkeypatch.setattr(generator, "ROOT", tmp_path)
    assert generator.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err


def test_the_awx_guide_shows_the_shipped_execution_environment() -> None:
    # the guide quotes ee/execution-environment.yml in full; a change to one must reach the other
    guide = (ROOT / "docs" / "docsite" / "rst" / "guide_awx_execution_environment.rst").read_text(encoding="utf-8")
    lines = (ROOT / "ee" / "execution-environment.yml").read_text(encoding="utf-8").splitlines(True)
    quoted = "".join(("    " + line if line.strip() else "\n") for line in lines)
    assert ".. code-block:: yaml\n\n" + quoted in guide
