"""Production defaults against the running API: errors suggest no names and introspection is
off unless settings turn them on; ``serverInfo`` is for admins and probes the dependencies once
however often a document asks; the open /readyz names no versions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from core.settings import Mode, Settings
from live import health
from tests.integration.graphql.conftest import Served, serve
from tests.integration.security.conftest import Api

TYPO = "{ assetz(first: 1) { totalCount } }"  # Cannot query field 'assetz'. Did you mean ...?
# A variable's enum value misspelt: reported while executing, not validating.
ENUM_TYPO = (
    "query ($o: AuditOutcome) { auditEvents(filter: {outcome: $o}, first: 1) { totalCount } }",
    {"o": "DENYED"},
)
INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.fixture(scope="module")
async def production(suite_settings: Settings) -> AsyncIterator[Served]:
    async with serve(suite_settings.model_copy(update={"mode": Mode.PRODUCTION})) as served:
        yield served


@pytest.fixture(scope="module")
async def production_with_hints(suite_settings: Settings) -> AsyncIterator[Served]:
    cfg = suite_settings.model_copy(
        update={"mode": Mode.PRODUCTION, "introspection": True, "suggestions": True}
    )
    async with serve(cfg) as served:
        yield served


async def errors(api: Api, query: str, variables: dict[str, str] | None = None) -> str:
    body = await api.graphql(api.token("admin"), query, **(variables or {}))
    assert "errors" in body, body
    return " ".join(e["message"] for e in body["errors"])


async def test_production_errors_suggest_nothing(api: Api, production: Served) -> None:
    async with api.on(production):
        typo = await errors(api, TYPO)
        enum_typo = await errors(api, *ENUM_TYPO)
        introspection = await errors(api, INTROSPECTION)
    assert "Cannot query field 'assetz'" in typo
    assert "Did you mean" not in typo
    assert "DENYED" in enum_typo
    assert "Did you mean" not in enum_typo
    assert "introspection has been disabled" in introspection.lower()


async def test_settings_turn_hints_back_on(api: Api, production_with_hints: Served) -> None:
    async with api.on(production_with_hints):
        assert "Did you mean 'asset'" in await errors(api, TYPO)
        assert "Did you mean the enum value 'DENIED'" in await errors(api, *ENUM_TYPO)
        body = await api.graphql(api.token("admin"), INTROSPECTION)
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_development_keeps_its_hints(api: Api) -> None:
    assert "Did you mean 'asset'" in await errors(api, TYPO)


async def test_server_info_is_for_admins(api: Api) -> None:
    query = "{ serverInfo { version dependencies { name detail } } }"
    denied = await api.graphql(api.token("steward"), query)
    assert denied["data"] is None
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    allowed = await api.graphql(api.token("admin"), query)
    assert {d["name"] for d in allowed["data"]["serverInfo"]["dependencies"]} == set(health.CHECKS)


Check = Callable[..., Awaitable[str]]


async def test_aliased_server_info_probes_once(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """30 aliases once made 4 probes each: 120 calls to the services in one request."""
    probes: list[str] = []

    def counted(name: str, check: Check) -> Check:
        async def probe(state: object) -> str:
            probes.append(name)
            return await check(state)

        return probe

    for name, check in list(health.CHECKS.items()):
        monkeypatch.setitem(health.CHECKS, name, counted(name, check))
    query = "{" + " ".join(f"s{i}: serverInfo {{ ready }}" for i in range(30)) + "}"
    body = await api.graphql(api.token("admin"), query)
    assert all(body["data"][f"s{i}"]["ready"] for i in range(30))
    assert len(probes) <= len(health.CHECKS), f"{len(probes)} probes"


async def test_readyz_names_no_versions(api: Api) -> None:
    response = await api.http.get("/readyz")
    assert response.status_code == 200
    dependencies = response.json()["dependencies"]
    assert set(dependencies) == set(health.CHECKS)
    assert all(set(d) == {"up", "latencyMs"} for d in dependencies.values())
    health_body = (await api.http.get("/healthz")).json()
    assert health_body == {"status": "ok"}
