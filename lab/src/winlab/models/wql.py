"""WQL ``WHERE`` conditions: a parser and evaluator over CIM property dicts.

Supported, as WMI accepts them: ``=``, ``<>``, ``!=``, ``<``, ``>``, ``<=``, ``>=``,
``IS [NOT] NULL``, ``= NULL`` / ``<> NULL`` (slmgr.vbs filters ``PartialProductKey
<> null`` [SLMGR10]), ``[NOT] LIKE`` with ``%``, ``_`` and ``[set]``, ``AND``,
``OR``, ``NOT``, parentheses, single- or double-quoted strings with backslash
escapes, integers (decimal or ``0x`` hex), ``TRUE``/``FALSE``. Names (properties
and keywords) are case-insensitive and string comparisons are case-insensitive,
as in WMI. Any syntax error or unknown property raises
``WmiError(WBEM_E_INVALID_QUERY)`` (0x80041017), as ``Get-CimInstance -Filter`` does.
Not simulated: ``ISA``, ``__CLASS``-style system properties, datetime literals.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing as t

from winlab.models.errors import WBEM_E_INVALID_QUERY, WmiError

Predicate = t.Callable[[dict[str, t.Any]], bool]

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<num>-?0[xX][0-9a-fA-F]+|-?\d+(?:\.\d+)?)
  | (?P<op><>|!=|<=|>=|=|<|>)
  | (?P<lp>\()
  | (?P<rp>\))
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)

_KEYWORDS = {"AND", "OR", "NOT", "IS", "NULL", "LIKE", "TRUE", "FALSE"}


@dataclasses.dataclass
class _Tok:
    kind: str
    value: t.Any
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise _bad(text, f"unexpected character at {pos}")
        kind = m.lastgroup or ""
        raw = m.group()
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "str":
            out.append(_Tok("lit", re.sub(r"\\(.)", r"\1", raw[1:-1]), m.start()))
        elif kind == "num":
            val: t.Any = int(raw, 16) if "x" in raw.lower() else (float(raw) if "." in raw else int(raw))
            out.append(_Tok("lit", val, m.start()))
        elif kind == "name" and raw.upper() in _KEYWORDS:
            up = raw.upper()
            if up in ("TRUE", "FALSE"):
                out.append(_Tok("lit", up == "TRUE", m.start()))
            else:
                out.append(_Tok(up, up, m.start()))
        else:
            out.append(_Tok(kind, raw, m.start()))
    out.append(_Tok("end", None, len(text)))
    return out


def _bad(text: str, why: str) -> WmiError:
    return WmiError(WBEM_E_INVALID_QUERY, f"WQL condition {text!r}: {why}")


def like_to_regex(pattern: str) -> re.Pattern[str]:
    """Translate a WQL LIKE pattern (``%``, ``_``, ``[abc]``, ``[^abc]``) to a regex."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:j]
                neg = body.startswith("^")
                body = body[1:] if neg else body
                out.append("[" + ("^" if neg else "") + re.escape(body).replace("\\-", "-") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$", re.IGNORECASE | re.DOTALL)


def _norm(v: t.Any) -> t.Any:
    if isinstance(v, str):
        return v.lower()
    if isinstance(v, dt.datetime):
        return v
    return v


def _compare(op: str, left: t.Any, right: t.Any) -> bool:
    if left is None or right is None:
        return False
    if isinstance(left, bool) or isinstance(right, bool):
        # WMI converts a boolean literal/property pair; strings "true"/"false" too.
        left = _as_bool(left)
        right = _as_bool(right)
        if left is None or right is None:
            return False
    elif isinstance(left, (int, float)) and isinstance(right, str):
        try:
            right = int(right, 0)
        except ValueError:
            return False
    elif isinstance(left, str) and isinstance(right, (int, float)):
        right = str(right)
    a, b = _norm(left), _norm(right)
    try:
        if op == "=":
            return bool(a == b)
        if op in ("<>", "!="):
            return bool(a != b)
        if op == "<":
            return bool(a < b)
        if op == ">":
            return bool(a > b)
        if op == "<=":
            return bool(a <= b)
        if op == ">=":
            return bool(a >= b)
    except TypeError:
        return False
    raise AssertionError(op)


def _as_bool(v: t.Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    return None


class _Parser:
    def __init__(self, text: str, names: dict[str, str]) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.names = names  # lower-case name -> canonical name

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self, kind: str | None = None) -> _Tok:
        tok = self.toks[self.i]
        if kind is not None and tok.kind != kind:
            raise _bad(self.text, f"expected {kind} at {tok.pos}, found {tok.value!r}")
        self.i += 1
        return tok

    def parse(self) -> Predicate:
        if self.peek().kind == "end":
            raise _bad(self.text, "empty condition")
        pred = self.or_expr()
        if self.peek().kind != "end":
            raise _bad(self.text, f"unexpected {self.peek().value!r} at {self.peek().pos}")
        return pred

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.peek().kind == "OR":
            self.take()
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda row: any(p(row) for p in parts)

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while self.peek().kind == "AND":
            self.take()
            parts.append(self.not_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda row: all(p(row) for p in parts)

    def not_expr(self) -> Predicate:
        if self.peek().kind == "NOT":
            self.take()
            inner = self.not_expr()
            return lambda row: not inner(row)
        return self.primary()

    def prop(self, tok: _Tok) -> str:
        canon = self.names.get(str(tok.value).lower())
        if canon is None:
            raise _bad(self.text, f"no property {tok.value!r} on this class")
        return canon

    def primary(self) -> Predicate:
        tok = self.peek()
        if tok.kind == "lp":
            self.take()
            inner = self.or_expr()
            self.take("rp")
            return inner
        if tok.kind == "name":
            name = self.prop(self.take())
            return self.rest_of_comparison(name)
        if tok.kind == "lit":
            # literal op property (WQL allows either side)
            lit = self.take().value
            op_tok = self.take("op")
            name = self.prop(self.take("name"))
            flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op_tok.value, op_tok.value)
            return lambda row: _compare(flipped, row.get(name), lit)
        raise _bad(self.text, f"unexpected {tok.value!r} at {tok.pos}")

    def rest_of_comparison(self, name: str) -> Predicate:
        tok = self.take()
        if tok.kind == "IS":
            negate = False
            if self.peek().kind == "NOT":
                self.take()
                negate = True
            self.take("NULL")
            return (lambda row: row.get(name) is not None) if negate else (lambda row: row.get(name) is None)
        negate_like = False
        if tok.kind == "NOT":
            tok = self.take("LIKE")
            negate_like = True
        if tok.kind == "LIKE":
            pat_tok = self.take("lit")
            if not isinstance(pat_tok.value, str):
                raise _bad(self.text, "LIKE needs a string pattern")
            rx = like_to_regex(pat_tok.value)

            def like(row: dict[str, t.Any]) -> bool:
                v = row.get(name)
                if v is None:
                    return False
                return bool(rx.match(str(v))) != negate_like
            return like
        if tok.kind != "op":
            raise _bad(self.text, f"expected an operator after {name} at {tok.pos}")
        op = tok.value
        nxt = self.take()
        if nxt.kind == "NULL":
            if op == "=":
                return lambda row: row.get(name) is None
            if op in ("<>", "!="):
                return lambda row: row.get(name) is not None
            raise _bad(self.text, f"operator {op} cannot compare with NULL")
        if nxt.kind == "lit":
            lit = nxt.value
            return lambda row: _compare(op, row.get(name), lit)
        if nxt.kind == "name":
            other = self.prop(nxt)
            return lambda row: _compare(op, row.get(name), row.get(other))
        raise _bad(self.text, f"expected a value after {op} at {nxt.pos}")


def compile_condition(text: str, properties: t.Iterable[str]) -> Predicate:
    """Compile a WQL condition against a class with ``properties``.

    The returned predicate takes a property dict keyed by the canonical names.
    Raises ``WmiError`` 0x80041017 for bad syntax or an unknown property.
    """
    names = {p.lower(): p for p in properties}
    return _Parser(text, names).parse()


def select(rows: t.Iterable[dict[str, t.Any]], condition: str | None,
           properties: t.Iterable[str]) -> list[dict[str, t.Any]]:
    """Rows that satisfy ``condition`` (all rows when it is None or blank)."""
    rows = list(rows)
    if condition is None or not condition.strip():
        return rows
    pred = compile_condition(condition, properties)
    return [r for r in rows if pred(r)]
