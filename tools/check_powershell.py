#!/usr/bin/env python
"""Syntax check for the collection's PowerShell without pwsh.

pwsh is not installable from the registries this project can reach, so ansible-test's
pslint and validate-modules cannot look at ``.ps1`` files here. This checker parses each
file with the tree-sitter PowerShell grammar (PyPI ``tree-sitter-powershell``) and reports

* every ``ERROR`` node (text the grammar cannot parse) and every ``MISSING`` node (a token
  the parser had to invent, such as an unclosed ``}``), and
* constructs that parse but need PowerShell 7, while Windows targets run Windows
  PowerShell 5.1: pipeline chains (``&&``, ``||``) and ``ForEach-Object -Parallel``. The
  grammar itself already rejects ``??``, ``?.``, the ternary operator and the ``clean``
  block, so those show up as ``ERROR``.

Known limit of the grammar (0.26): a ``switch`` whose clauses share one line without ``;``
between them (``switch ($t) { 'a' { 1 } default { 2 } }``) is reported although PowerShell
accepts it; write one clause per line. It is a syntax check, not pslint: it does not find
unknown commands, misspelt variables or wrong parameter names.

Usage: ``tools/check_powershell.py [PATH ...]`` (default: ``plugins/**/*.ps1`` and
``*.psm1`` under the repository root). Prints ``file:line:col: message`` per problem and
exits 1 when there is any, 2 when no file was found.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import typing as t

import tree_sitter
import tree_sitter_powershell

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_GLOBS = ("plugins/**/*.ps1", "plugins/**/*.psm1")

_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


@dataclasses.dataclass(frozen=True)
class Problem:
    """One finding; ``line`` and ``column`` are 1-based, as editors show them."""

    line: int
    column: int
    message: str


def _snippet(source: bytes, node: tree_sitter.Node) -> str:
    text = source[node.start_byte : node.end_byte].decode("utf-8", "replace")
    first = text.splitlines()[0] if text else ""
    return first[:60]


def _walk(node: tree_sitter.Node) -> t.Iterator[tree_sitter.Node]:
    """Yield ``node`` and its descendants, but not the inside of an ``ERROR`` node (one report each)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current.type != "ERROR":
            stack.extend(reversed(current.children))


def _ps7_only(source: bytes, node: tree_sitter.Node) -> str | None:
    """Name the PowerShell 7 feature ``node`` uses, or return None."""
    if node.type == "pipeline_chain_tail":
        return "pipeline chain operators (&&, ||) need PowerShell 7"
    if node.type == "command":
        name = node.child_by_field_name("command_name")
        if name is not None and _snippet(source, name).lower() in {"foreach-object", "%", "foreach"}:
            for child in _walk(node):
                if child.type == "command_parameter" and _snippet(source, child).lower().startswith("-para"):
                    return "ForEach-Object -Parallel needs PowerShell 7"
    return None


def find_problems(source: bytes) -> list[Problem]:
    """Return the syntax problems in PowerShell ``source``, in file order (empty when clean)."""
    tree = _PARSER.parse(source)
    problems: list[Problem] = []
    for node in _walk(tree.root_node):
        row, col = node.start_point
        if node.is_missing:
            problems.append(Problem(row + 1, col + 1, f"missing {node.type!r}"))
        elif node.type == "ERROR":
            problems.append(Problem(row + 1, col + 1, f"syntax error near {_snippet(source, node)!r}"))
        else:
            reason = _ps7_only(source, node)
            if reason:
                problems.append(Problem(row + 1, col + 1, reason))
    return sorted(set(problems), key=lambda p: (p.line, p.column, p.message))


def default_files(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """Every PowerShell file under ``root/plugins``, sorted."""
    return sorted({p for pattern in DEFAULT_GLOBS for p in root.glob(pattern)})


def main(argv: t.Sequence[str] | None = None) -> int:
    """Check the given files (or the defaults); print problems; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=pathlib.Path)
    args = parser.parse_args(argv)
    files = list(args.paths) or default_files()
    if not files:
        print("check_powershell: no PowerShell files found", file=sys.stderr)
        return 2
    failed = 0
    for path in files:
        for problem in find_problems(path.read_bytes()):
            failed += 1
            print(f"{path}:{problem.line}:{problem.column}: {problem.message}")
    print(f"check_powershell: {len(files)} file(s), {failed} problem(s)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
