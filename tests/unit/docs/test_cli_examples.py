"""Every ``datawave`` command the README and docs/ show exists with the options they give it, and
the ``datawave token`` examples mint a token with the default settings: a newcomer copying
``datawave classify serve`` met "No such command", and the lineage page's service token was
refused for a lifetime over ``DATAWAVE_AUTH__MAX_TOKEN_LIFETIME_S``."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from app.cli.main import cli, load_plugins
from tests.unit.docs.blocks import DOCS, ROOT

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"`(datawave [^`]+)`")
# In a shell block: at a line's start, after `$(` (TOKEN=$(datawave ...)) or after `& ` / `; `.
SHELL = re.compile(r"(?:^|\$\(|[;&|]\s*)\s*(datawave [^)#\n]*)", re.M)


def _examples() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        text = path.read_text()
        shell = [m[2] for m in FENCE.finditer(text) if m[1] in {"", "bash", "sh", "shell"}]
        blocks = [b.replace("\\\n", " ") for b in shell]
        prose = FENCE.sub("", text).replace("\n", " ")
        for command in [*(m[1] for b in blocks for m in SHELL.finditer(b)), *SPAN.findall(prose)]:
            # `[--scale 100]` shows an optional part: check it as given.
            found.append((str(path.relative_to(ROOT)), re.sub(r"[\[\]]", "", command).strip()))
    return found


EXAMPLES = [pytest.param(command, id=f"{doc}: {command}") for doc, command in _examples()]


def _resolve(words: list[str]) -> tuple[typer.core.TyperCommand, list[str]]:
    """The (sub)command the words name, and the words left for it."""
    load_plugins()  # `stack`, `demo`, `up` (devstack, installed in development)
    command = typer.main.get_command(cli)
    while isinstance(command, typer.core.TyperGroup) and words and not words[0].startswith("-"):
        sub = command.get_command(typer.Context(command), words[0])
        assert sub is not None, f"no command {words[0]!r} under {command.name!r}"
        command, words = sub, words[1:]
    return command, words


def test_the_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 30


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_documented_command_exists_with_its_options(example: str) -> None:
    command, words = _resolve(shlex.split(example)[1:])
    known = {opt for p in command.params for opt in p.opts + p.secondary_opts}
    unknown = [
        w.split("=")[0] for w in words if w.startswith("--") and w.split("=")[0] not in known
    ]
    assert unknown == [], f"{command.name} has no option {unknown}"


@pytest.mark.parametrize(
    "example",
    [e for e in EXAMPLES if " token " in e.values[0] and "--private-key" not in e.values[0]],
)
def test_a_documented_token_mints(
    example: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the working folder
    words = shlex.split(example)[1:]
    if len(words) < 2 or words[1].startswith("-"):
        pytest.skip("names the command or a flag, not a whole invocation")
    result = CliRunner().invoke(cli, words)
    assert result.exit_code == 0, result.output
