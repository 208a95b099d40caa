"""Registering a source from a person's input: standard ports and errors in words (issue 11)."""

from __future__ import annotations

import re

import pytest

from core.sources import (
    DATABASE_EMPTY_RULE,
    DATABASE_NAME_RULE,
    DATABASES_RULE,
    KIND_RULE,
    MAX_DATABASE_NAME,
    MAX_DATABASES,
    MAX_SECRET_REF,
    MAX_USER,
    NAME_RULE,
    SECRET_LENGTH_RULE,
    SECRET_RULE,
    USER_LENGTH_RULE,
)
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


def test_a_secret_reference_is_capped_like_the_other_fields() -> None:
    """A megabyte reference was accepted, stored on the source and named in its messages."""
    longest = "file:/" + "s" * (MAX_SECRET_REF - len("file:/"))
    assert source_config({"name": "s", "kind": "postgresql", "secret_ref": longest}).secret_ref
    for ref in (longest + "s", "env:DATAWAVE_SOURCE_" + "A" * 1_000_000):
        with pytest.raises(InvalidSource) as caught:
            source_config({"name": "s", "kind": "postgresql", "secret_ref": ref})
        assert caught.value.problems == [("secretRef", SECRET_LENGTH_RULE)]


LONGEST = {
    "user": "u" * MAX_USER,
    "databases": ["d" * MAX_DATABASE_NAME] + [f"db{n}" for n in range(MAX_DATABASES - 1)],
}


@pytest.mark.parametrize(
    ("values", "field", "rule"),
    [
        ({"user": "u" * (MAX_USER + 1)}, "user", USER_LENGTH_RULE),
        ({"user": "u" * 1_000_000}, "user", USER_LENGTH_RULE),
        ({"databases": ["sales", "d" * (MAX_DATABASE_NAME + 1)]}, "databases", DATABASE_NAME_RULE),
        ({"databases": ["d" * 1_000_000] * 1000}, "databases", DATABASE_NAME_RULE),
        ({"databases": [f"db{n}" for n in range(MAX_DATABASES + 1)]}, "databases", DATABASES_RULE),
        ({"databases": ["d" * 1_000_000] * 100_000}, "databases", DATABASES_RULE),
        ({"kind": "a" * 64}, "kind", KIND_RULE),
        ({"kind": "a" * 1_000_000}, "kind", KIND_RULE),
    ],
)
def test_free_text_is_capped_like_the_host_and_the_secret_reference(
    values: dict, field: str, rule: str
) -> None:
    """A megabyte user, megabyte database names or a hundred thousand of them were registered,
    stored on the source and listed; a megabyte kind was echoed whole in its message. One
    problem names the field, however many of its values are too long."""
    with pytest.raises(InvalidSource) as caught:
        source_config({"name": "s", "kind": "postgresql"} | values)
    assert caught.value.problems == [(field, rule)]
    assert len(str(caught.value)) < 200


def test_values_at_the_caps_are_registered() -> None:
    config = source_config({"name": "s", "kind": "postgresql"} | LONGEST)
    assert (config.user, config.databases) == (LONGEST["user"], LONGEST["databases"])
    limit = source_config({"name": "s", "kind": "postgresql", "exact_count_limit": 2**63 - 1})
    assert limit.exact_count_limit == 2**63 - 1
    with pytest.raises(InvalidSource) as caught:  # Neo4j's driver failed on it, a traceback
        source_config({"name": "s", "kind": "postgresql", "exact_count_limit": 2**63})
    assert [field for field, _ in caught.value.problems] == ["exactCountLimit"]


@pytest.mark.parametrize("databases", [[""], ["sales", ""], ["", ""], [""] * MAX_DATABASES])
def test_an_empty_database_name_is_refused(databases: list[str]) -> None:
    """``databases: [""]`` was registered: a name no server has, looked for by every scan. One
    problem names the field, as for the caps; listing none is how every database is meant."""
    with pytest.raises(InvalidSource) as caught:
        source_config({"name": "s", "kind": "postgresql", "databases": databases})
    assert caught.value.problems == [("databases", DATABASE_EMPTY_RULE)]
