"""The demo mesh ``datawave up --demo`` loads (devstack/demo_mesh.py), laid over a small estate
of this test's own: three domains with their products, a published version with a breaking
draft after it and a pending access request, a quarantined version, a drifted published version
with a consumer, all under the mesh-baseline policy; loading again changes nothing."""

from __future__ import annotations

from typing import Any

from devstack.demo_mesh import INVOICES, ORDERS, SESSIONS, Layout, load_demo_mesh
from graph.driver import write
from tests.integration.estate import Estate
from tests.integration.mesh.flow import nodes

TYPES = """
UNWIND $columns AS c MATCH (x:Column {urn: c.urn}) SET x.dataType = c.type
"""
# Scanned types that satisfy the contracts' logical types, except user_agent (text).
SCANNED = {"integer": "bigint", "string": "varchar", "number": "numeric",
           "timestamp": "timestamp", "date": "date"}  # fmt: skip
PRODUCTS = """
query($domain: ID) { dataProducts(domain: $domain) { edges { node { name
  versions { edges { node { version status quarantined drift consumers { edges { node { name } } }
  accessRequests { edges { node { status } } } } } }
} } } }
"""
ACTIVE = "query($urn: ID!) { policy(urn: $urn) { activeVersion { state } } }"


async def test_the_demo_mesh(mesh: dict[str, Any]) -> None:
    m = mesh
    estate, pre = Estate(m["name"]), f"{m['name']}-"
    columns = {"orders": ORDERS, "invoices": INVOICES, "sessions": SESSIONS}
    tables = {t: estate.table(t, tuple(cols), row_count=200) for t, cols in columns.items()}
    db = m["settings"].neo4j.database
    await estate.write(m["neo4j"], db)
    types = [
        {"urn": estate.column_urn(t, c), "type": "text" if c == "user_agent" else SCANNED[kind]}
        for t, cols in columns.items()
        for c, kind in cols.items()
    ]
    await write(m["neo4j"], db, TYPES, columns=types)
    layout = Layout(
        prefix=pre,
        holdings={"sales": tables["orders"], "finance": tables["invoices"],
                  "marketing": tables["sessions"]},
        tables={"orders": tables["orders"], "invoices": tables["invoices"],
                "web-sessions": tables["sessions"]},
    )  # fmt: skip
    quiet = m["settings"].model_copy(update={
        "relay_changes": False, "watch_compliance": False, "watch_contracts": False,
    })  # fmt: skip
    assert await load_demo_mesh(quiet, layout)
    assert not await load_demo_mesh(quiet, layout)  # there already

    async def versions(domain: str) -> dict[str, list[dict[str, Any]]]:
        found = await m["admin"](PRODUCTS, domain=f"urn:dw:domain:{pre}{domain}")
        return {p["name"]: nodes(p["versions"]) for p in nodes(found["dataProducts"])}

    orders = (await versions("sales"))["orders"]
    assert [(v["version"], v["status"]) for v in orders] == [
        ("1.0.0", "PUBLISHED"), ("2.0.0", "DRAFT"),
    ]  # fmt: skip
    assert orders[0]["accessRequests"]["edges"] == [{"node": {"status": "PENDING"}}]
    assert orders[0]["drift"] == []
    invoices = (await versions("finance"))["invoices"]
    assert [(v["status"], v["quarantined"]) for v in invoices] == [("DRAFT", True)]
    sessions = (await versions("marketing"))["web-sessions"][0]
    assert sessions["status"] == "PUBLISHED"
    assert sessions["drift"] == ["sessions.user_agent: source type text is not integer"]
    assert nodes(sessions["consumers"]) == [{"name": f"{pre}sales-team"}]
    policy = (await m["admin"](ACTIVE, urn=f"urn:dw:policy:{pre}mesh-baseline"))["policy"]
    assert policy["activeVersion"] == {"state": "ACTIVE"}
