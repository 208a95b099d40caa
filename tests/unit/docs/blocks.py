"""The README and docs/ as the docs tests read them: each file, and its fenced blocks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _pytest.mark import ParameterSet

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def fenced(language: str) -> list[ParameterSet]:
    """Every ```` ```<language> ```` block of the README and docs/, as a pytest parameter
    named by its file and line."""
    fence = re.compile(rf"^```{language}\n(.*?)^```", re.S | re.M)
    return [
        pytest.param(
            m.group(1), id=f"{path.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}"
        )
        for path in DOCS
        for text in [path.read_text()]
        for m in fence.finditer(text)
    ]
