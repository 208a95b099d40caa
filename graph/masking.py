"""What masking rules may name: labels (by name or category) and domains that exist."""

from __future__ import annotations

from neo4j import AsyncDriver

from graph.driver import read_values

KNOWN = """
CALL () {
  UNWIND $labels AS name
  OPTIONAL MATCH (l:Label) WHERE l.name = name OR l.category = name
  WITH name, count(l) AS found WHERE found > 0
  RETURN collect(name) AS labels
}
CALL () {
  UNWIND $domains AS name
  OPTIONAL MATCH (d:Domain {name: name})
  WITH name, count(d) AS found WHERE found > 0
  RETURN collect(name) AS domains
}
RETURN labels, domains
"""


async def known(
    driver: AsyncDriver, database: str, labels: list[str], domains: list[str]
) -> tuple[set[str], set[str]]:
    """Which of ``labels`` name a label or a label category, and which ``domains`` exist."""
    row = (await read_values(driver, database, KNOWN, labels=labels, domains=domains))[0]
    return set(row["labels"]), set(row["domains"])
