"""Registering a source from a person's input: standard ports and errors in words (issue 11)."""

from __future__ import annotations

import re

import pytest

from core.sources import NAME_RULE, SECRET_RULE
from ingest.registration import InvalidSource, source_config


@pytest.mark.parametrize(
    ("kind", "port"), [("postgresql", 5432), ("mysql", 3306), ("mariadb", 3306), ("mongodb", 27017)]
)
def test_the_port_defaults_to_the_kinds_standard_port(kind: str, port: int) -> None:
    assert source_config({"name": "s", "kind": kind}).port == port
    assert source_config({"name": "s", "kind": kind, "port": 6000}).port == 6000


def test_problems_are_said_in_words_per_field() -> None:
    with pytest.raises(InvalidSource) as caught:
        source_config(
            {"name": "Acme Sales!", "kind": "postgresql", "secretRef": "hunter2", "poolSize": 0}
        )
    problems = dict(caught.value.problems)
    assert problems["name"] == NAME_RULE
    assert problems["secretRef"] == SECRET_RULE
    assert problems["poolSize"] == "Input should be greater than or equal to 1"
    text = str(caught.value)
    assert "pattern" not in text and not re.search(r"\^|\$'|\[a-z", text), text


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(InvalidSource) as caught:
        source_config({"name": "o", "kind": "oracle"})
    assert caught.value.problems == [
        ("kind", "no connector 'oracle'; known: mariadb, mongodb, mysql, postgres, postgresql")
    ]
