"""``datawave token``: development tokens the API accepts, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import cli
from core.settings import AuthSettings
from security.auth import TokenVerifier


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no .env of the working folder
    return CliRunner()


def test_a_minted_token_verifies_with_its_roles_and_scopes(runner: CliRunner) -> None:
    args = ["token", "ada", "--role", "steward", "--domain", "sales", "--permission", "pii:read"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    principal = TokenVerifier(AuthSettings()).verify(result.output.strip())
    assert (principal.subject, principal.roles) == ("ada", {"steward"})
    assert (principal.domains, principal.sources) == ({"sales"}, {"*"})
    assert principal.permissions == {"pii:read"}


@pytest.mark.parametrize(
    "args",
    [["--role", "superuser"], ["--role", "viewer", "--permission", "system:admin"]],
)
def test_unknown_roles_and_permissions_are_refused(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(cli, ["token", "ada", *args])
    assert result.exit_code == 2
    assert "unknown role or permission" in result.output
