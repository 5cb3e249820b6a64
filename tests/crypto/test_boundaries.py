"""Structural rules: one module imports cryptography.hazmat; no pickle anywhere."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "ecluse"


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_only_one_module_imports_hazmat() -> None:
    users = [
        p.relative_to(SRC).as_posix()
        for p in _sources()
        if re.search(r"^\s*(from|import)\s+cryptography\b", p.read_text(), re.MULTILINE)
    ]
    assert users == ["crypto/_primitives.py"]


def test_no_unsafe_deserialisation() -> None:
    pattern = re.compile(
        r"^\s*(import|from)\s+(pickle|marshal|shelve|dill)\b|yaml\.load\(", re.MULTILINE
    )
    assert [p.name for p in _sources() if pattern.search(p.read_text())] == []
