"""tools/check_powershell.py: catches real syntax errors and PowerShell 7-only syntax, passes the executor."""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
EXECUTOR = ROOT / "plugins" / "modules" / "licensing_batch.ps1"


def _load_checker() -> types.ModuleType:
    # tools/ is not a package (it is not shipped in the collection), so load the file itself
    spec = importlib.util.spec_from_file_location("check_powershell", ROOT / "tools" / "check_powershell.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks the module up while building Problem
    spec.loader.exec_module(module)
    return module


checker = _load_checker()


def test_executor_is_clean() -> None:
    assert checker.find_problems(EXECUTOR.read_bytes()) == []


def test_default_files_include_the_executor() -> None:
    assert EXECUTOR in checker.default_files()


def test_a_broken_executor_is_caught() -> None:
    # Delete the closing brace of the $Handlers table: a real mistake in the real file.
    source = EXECUTOR.read_text(encoding="utf-8")
    marker = "    }\n}\n\n# --- Run:"
    assert source.count(marker) == 1
    broken = source.replace(marker, "    }\n\n# --- Run:")
    problems = checker.find_problems(broken.encode())
    assert problems, "an unclosed hashtable must be reported"
    assert any("missing '}'" in p.message or "syntax error" in p.message for p in problems)


@pytest.mark.parametrize(
    ("source", "line", "fragment"),
    [
        # tree-sitter places the missing token where the input ends
        pytest.param("if ($a) {\n  $b = 1\n", 2, "missing '}'", id="unclosed-block"),
        pytest.param("$x = @{ a = 1; b = }\n", 1, "syntax error", id="hashtable-without-value"),
        pytest.param("function f( { }\n", 1, "syntax error", id="bad-param-list"),
        pytest.param("$ok = 1\n$a = $b ?? 'default'\n", 2, "syntax error", id="null-coalescing-ps7"),
        pytest.param("$a = $b ? 1 : 2\n", 1, "syntax error", id="ternary-ps7"),
        pytest.param("$n = $obj?.Name\n", 1, "syntax error", id="null-conditional-ps7"),
        pytest.param("Get-Item x && Get-Item y\n", 1, "&&, ||", id="pipeline-chain-ps7"),
        pytest.param("1..3 | ForEach-Object -Parallel { $_ }\n", 1, "-Parallel", id="foreach-parallel-ps7"),
        # the grammar does not know the PowerShell 7.3 clean block; it fails at the block list
        pytest.param(
            "function f {\n  process { 1 }\n  clean { 2 }\n}\n", 2, "syntax error", id="clean-block-ps73"
        ),
    ],
)
def test_problems_are_reported_with_their_line(source: str, line: int, fragment: str) -> None:
    problems = checker.find_problems(source.encode())
    assert [p for p in problems if p.line == line and fragment in p.message], problems


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("$x = if ($a) { 1 } else { 2 }\n", id="if-as-value"),
        pytest.param("try { throw 'x' } catch { $_.Exception.HResult } finally { }\n", id="try-catch"),
        pytest.param("switch ($t) {\n  'DWord' { 1 }\n  default { 2 }\n}\n", id="switch"),
        pytest.param("$l = [Collections.Generic.List[object]]::new()\nreturn , $l\n", id="generic-new"),
        pytest.param("$s = @'\nverbatim $x\n'@\n", id="here-string"),
        pytest.param("1..3 | ForEach-Object { $_ * 2 }\n", id="foreach-object"),
    ],
)
def test_windows_powershell_51_syntax_passes(source: str) -> None:
    assert checker.find_problems(source.encode()) == []


def test_main_prints_file_line_col_and_fails(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.ps1"
    good.write_text("$a = 1\n")
    bad = tmp_path / "bad.ps1"
    bad.write_text("$a = 1\n$b = $a ?? 2\n")
    assert checker.main([str(good), str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{bad}:2:6: syntax error near '$a ??'"]


def test_main_passes_clean_files(tmp_path: pathlib.Path) -> None:
    good = tmp_path / "good.ps1"
    good.write_text("$a = 1\n")
    assert checker.main([str(good)]) == 0
