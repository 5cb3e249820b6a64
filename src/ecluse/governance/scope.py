"""The row-scope language of instructions: comparisons, `in`, `and` / `or` / `not` over
dictionary fields. Parsed by hand into a small tree; never evaluated as Python.

    last_visit >= '2017-05-07' and laboratory in ('LBM 03 LYON', 'LBM 07 NICE')
    not (sex = 'F' and birth_date < '1950-01-01')

Hard limits keep a hostile expression small. Credential fields cannot be used at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

from ecluse.errors import ValidationError
from ecluse.governance.dictionary import DICTIONARY, Category

MAX_LENGTH, MAX_NODES, MAX_DEPTH = 2000, 100, 24
Op = Literal["=", "!=", "<", "<=", ">", ">="]
Value = str | int


@dataclass(frozen=True, slots=True)
class Compare:
    field: str
    op: Op
    value: Value


@dataclass(frozen=True, slots=True)
class In:
    field: str
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: Literal["and", "or"]
    items: tuple[Node, ...]


Node = Compare | In | Not | BoolOp

_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<num>-?\d+(?![\w.]))
    | (?P<op><=|>=|!=|==|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ValidationError(f"scope: unexpected character at position {pos + 1}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "word" and value.lower() in _KEYWORDS:
            kind, value = "kw", value.lower()
        out.append((kind, value))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_LENGTH:
            raise ValidationError(f"scope longer than {MAX_LENGTH} characters")
        self.toks = _tokens(text)
        self.i = 0
        self.nodes = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str, value: str | None = None) -> str:
        tok = self.peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1] != value):
            want = value or kind
            got = "the end" if tok is None else repr(tok[1])
            raise ValidationError(f"scope: expected {want}, found {got}")
        self.i += 1
        return tok[1]

    def node(self, n: Node, depth: int) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise ValidationError("scope too large or too deeply nested")
        return n

    def parse(self) -> Node:
        if not self.toks:
            raise ValidationError("scope is empty")
        tree = self.or_(0)
        extra = self.peek()
        if extra is not None:
            raise ValidationError(f"scope: unexpected {extra[1]!r}")
        return tree

    def or_(self, depth: int) -> Node:
        return self._chain("or", self.and_, depth)

    def and_(self, depth: int) -> Node:
        return self._chain("and", self.not_, depth)

    def _chain(self, op: Literal["and", "or"], sub: Callable[[int], Node], depth: int) -> Node:
        items = [sub(depth + 1)]
        while self.peek() == ("kw", op):
            self.i += 1
            items.append(sub(depth + 1))
        return items[0] if len(items) == 1 else self.node(BoolOp(op, tuple(items)), depth)

    def not_(self, depth: int) -> Node:
        if self.peek() == ("kw", "not"):
            self.i += 1
            return self.node(Not(self.not_(depth + 1)), depth)
        if self.peek() == ("punct", "("):
            self.i += 1
            inner = self.or_(depth + 1)
            self.take("punct", ")")
            return inner
        return self.comparison(depth)

    def comparison(self, depth: int) -> Node:
        field = _field(self.take("word"))
        tok = self.peek()
        if tok in {("kw", "in"), ("kw", "not")}:
            negated = tok == ("kw", "not")
            if negated:
                self.i += 1
            self.take("kw", "in")
            return self.node(In(field, self.values(), negated), depth)
        op = cast(Op, "=" if (raw := self.take("op")) == "==" else raw)
        return self.node(Compare(field, op, self.literal()), depth)

    def values(self) -> tuple[Value, ...]:
        self.take("punct", "(")
        values = [self.literal()]
        while self.peek() == ("punct", ","):
            self.i += 1
            values.append(self.literal())
        self.take("punct", ")")
        return tuple(values)

    def literal(self) -> Value:
        tok = self.peek()
        if tok is not None and tok[0] == "num":
            self.i += 1
            return int(tok[1])
        raw = self.take("str")
        return re.sub(r"\\(.)", r"\1", raw[1:-1])


def _field(name: str) -> str:
    field = DICTIONARY.get(name)
    if field is None:
        raise ValidationError(f"scope: {name!r} is not a field of the data dictionary")
    if field.category == Category.CREDENTIAL:
        raise ValidationError(f"scope: credential field {name!r} cannot be used")
    return name


def parse_scope(text: str) -> Node:
    """Parse a row scope; raise `ValidationError` naming what is wrong."""
    return _Parser(text).parse()


def to_text(node: Node) -> str:
    """Canonical text of a tree: what is signed, and what parses back to the same tree."""
    if isinstance(node, Compare):
        return f"{node.field} {node.op} {_literal(node.value)}"
    if isinstance(node, In):
        values = ", ".join(_literal(v) for v in node.values)
        return f"{node.field} {'not in' if node.negated else 'in'} ({values})"
    if isinstance(node, Not):
        return f"not ({to_text(node.item)})"
    return f" {node.op} ".join(f"({to_text(i)})" for i in node.items)


def fields_of(node: Node) -> set[str]:
    if isinstance(node, Compare | In):
        return {node.field}
    if isinstance(node, Not):
        return fields_of(node.item)
    return set().union(*(fields_of(i) for i in node.items))


def _literal(value: Value) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
