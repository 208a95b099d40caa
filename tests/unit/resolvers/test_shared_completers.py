"""A value read whole (``Prefetched``) is completed by a completer compiled once for every
execution of a document when no variable can change its selection, and once per execution
otherwise (resolvers/executor.py ``_shared``): a nested argument or a directive that takes a
variable must not answer the next execution with the first one's values."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
from strawberry.extensions import ParserCache

from resolvers import executor
from resolvers.executor import DataWaveExecutor, Prefetched


@strawberry.interface
class Thing:
    name: str


@strawberry.type
class Box(Thing):
    size: int

    @strawberry.field
    def label(self, prefix: str = "#") -> str:
        return f"{prefix}{self.name}"


@strawberry.type
class Bag(Thing):
    colour: str


def schema(prefetched: bool) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        def things(self) -> list[Thing]:
            values = [Box(name="a", size=1), Bag(name="b", colour="red"), Box(name="c", size=3)]
            if not prefetched:
                return values  # type: ignore[return-value]
            # As a root field hands over the relationships it read: by a reader of the arguments.
            readers = {("Box", "label"): lambda box, args: f"{args['prefix']}{box.name}"}
            return Prefetched(values, readers)  # type: ignore[return-value]

    return strawberry.Schema(
        Query,
        types=[Box, Bag],
        execution_context_class=DataWaveExecutor,
        # Every execution of a document parses to the same nodes, as in the API.
        extensions=[lambda: ParserCache(maxsize=10)],
    )


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the types compiled, in order."""
    seen: list[str] = []
    compile_ = DataWaveExecutor._compile

    def counting(self: DataWaveExecutor, type_: Any, details: Any) -> Any:
        seen.append(str(type_))
        return compile_(self, type_, details)

    monkeypatch.setattr(DataWaveExecutor, "_compile", counting)
    monkeypatch.setattr(executor, "_SHARED", {})
    return seen


BY_ARGUMENT = "query ($prefix: String!) { things { name ... on Box { label(prefix: $prefix) } } }"
BY_DIRECTIVE = "query ($sized: Boolean!) { things { ... on Box { size @include(if: $sized) } } }"
CONSTANT = """{ things { __typename name ... on Box { size } ...bag } }
  fragment bag on Bag { colour }"""


async def test_a_selection_without_variables_is_compiled_once_for_every_execution(
    compiles: list[str],
) -> None:
    whole, by_field = schema(True), schema(False)
    for _ in range(3):
        result = await whole.execute(CONSTANT)
        assert result.data == (await by_field.execute(CONSTANT)).data
    assert result.data == {
        "things": [
            {"__typename": "Box", "name": "a", "size": 1},
            {"__typename": "Bag", "name": "b", "colour": "red"},
            {"__typename": "Box", "name": "c", "size": 3},
        ]
    }
    once = len(compiles)
    await whole.execute(CONSTANT)
    assert len(compiles) == once, "the fourth execution compiled nothing"


@pytest.mark.parametrize(
    ("query", "runs"),
    [
        (BY_ARGUMENT, [({"prefix": "#"}, "label", "#a"), ({"prefix": "no. "}, "label", "no. a")]),
        (BY_DIRECTIVE, [({"sized": True}, "size", 1), ({"sized": False}, "size", None)]),
    ],
)
async def test_a_selection_with_variables_is_compiled_for_each_execution(
    compiles: list[str], query: str, runs: list[tuple[dict[str, Any], str, Any]]
) -> None:
    whole, by_field = schema(True), schema(False)
    for variables, field, value in runs:
        result = await whole.execute(query, variable_values=variables)
        assert result.data == (await by_field.execute(query, variable_values=variables)).data
        assert result.data["things"][0].get(field) == value, variables
    assert compiles.count("Box") == len(runs), "once per execution"
