"""The policy engine: Open Policy Agent over its REST API (v1 policies and data).

OPA keeps modules and data in memory. DataWave pushes the shipped modules and the active rule
set (``data.datawave.active``) on activation, and again whenever an evaluation finds OPA without
them (a restarted OPA), so nothing is lost with it. Any transport failure or 5xx is
``PolicyEngineUnavailable``: callers pause instead of reporting anything as compliant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from governance.templates import shipped_modules

ACTIVE = "datawave/active"
FINDINGS = "datawave/main"


class PolicyEngineUnavailable(Exception):
    """OPA cannot be reached or failed; no decision was made."""


@dataclass(frozen=True)
class RegoProblem:
    message: str
    line: int | None
    column: int | None


class RegoCompileError(Exception):
    """OPA refused a module; ``problems`` carry the line of each error in the module's text."""

    def __init__(self, problems: list[RegoProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"line {p.line}: {p.message}" for p in problems))


@dataclass(frozen=True)
class PolicyEngine:
    client: httpx.AsyncClient  # AppState.opa, its base URL the OPA server

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            raise PolicyEngineUnavailable(f"OPA unreachable: {type(err).__name__}") from err
        if response.status_code >= 500:
            raise PolicyEngineUnavailable(f"OPA failed: {response.status_code} {response.text}")
        return response

    async def put_module(self, module_id: str, text: str) -> None:
        """Load (or replace) one module; a compile error names its lines."""
        response = await self._call(
            "PUT",
            f"/v1/policies/{module_id}",
            content=text.encode(),
            headers={"content-type": "text/plain"},
        )
        if response.status_code == 400:
            raise RegoCompileError(_problems(response.json()))
        response.raise_for_status()

    async def delete_module(self, module_id: str) -> None:
        response = await self._call("DELETE", f"/v1/policies/{module_id}")
        if response.status_code not in (200, 404):
            response.raise_for_status()

    async def put_data(self, path: str, document: Any) -> None:
        """Replace the document at ``path`` in one step (what activation switches)."""
        (await self._call("PUT", f"/v1/data/{path}", json=document)).raise_for_status()

    async def get_data(self, path: str) -> Any:
        response = await self._call("GET", f"/v1/data/{path}")
        response.raise_for_status()
        return response.json().get("result")

    async def decide(self, path: str, input: dict[str, Any]) -> Any:
        """Evaluate the document at ``path`` for ``input`` (None when it is undefined)."""
        response = await self._call("POST", f"/v1/data/{path}", json={"input": input})
        if response.status_code == 400:  # e.g. a conflict at evaluation time in custom Rego
            raise RegoCompileError(_problems(response.json()))
        response.raise_for_status()
        return response.json().get("result")

    async def load_shipped(self) -> None:
        for module_id, text in shipped_modules().items():
            await self.put_module(module_id, text)


def _problems(body: dict[str, Any]) -> list[RegoProblem]:
    problems = []
    for e in body.get("errors") or [{"message": body.get("message", "refused by OPA")}]:
        where = e.get("location") or {}
        problems.append(RegoProblem(e.get("message", ""), where.get("row"), where.get("col")))
    return problems
