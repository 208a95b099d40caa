"""The layering of docs/architecture.md, enforced: imports only go down, Cypher only in graph/.

A package may import its own modules and packages of a lower layer; packages of one layer may
import each other only where ``PEERS`` allows it, so no two packages import each other (no
package cycle), and no two modules import each other (no file circle).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = {
    "core": 0,
    "graph": 1,
    "ingest": 2,
    "ml": 2,
    "security": 2,
    "live": 3,
    "governance": 4,
    "mesh": 4,
    "resolvers": 5,
    "app": 6,
    "devstack": 7,
}
# Same-layer imports that are allowed, one direction only.
PEERS = {("ml", "ingest")}
CYPHER = re.compile(r"""["'][^"']*\b(MATCH|MERGE)\s*\(""")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def allowed(importer: str, imported: str) -> bool:
    if importer == imported:
        return True
    low, high = LAYERS[imported], LAYERS[importer]
    return low < high or (low == high and (importer, imported) in PEERS)


def test_imports_only_go_down_the_layers():
    wrong = []
    for name, path in modules().items():
        package = name.split(".")[0]
        for target in imports(path):
            top = target.split(".")[0]
            if top in LAYERS and not allowed(package, top):
                wrong.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not wrong, "imports that go up or sideways:\n" + "\n".join(sorted(set(wrong)))


def test_no_two_modules_import_each_other():
    known = modules()
    graph = defaultdict(set)
    for name, path in known.items():
        graph[name] = {t for t in imports(path) if t in known and t != name}
    circles = sorted(
        f"{a} <-> {b}" for a in graph for b in graph[a] if a < b and a in graph.get(b, ())
    )
    assert not circles, "module circles:\n" + "\n".join(circles)


@pytest.mark.parametrize("package", [p for p in LAYERS if p not in ("graph", "devstack")])
def test_cypher_lives_only_in_graph(package):
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / package).rglob("*.py")
        if CYPHER.search(p.read_text())
    ]
    assert not offenders, f"Cypher outside graph/: {offenders}"
