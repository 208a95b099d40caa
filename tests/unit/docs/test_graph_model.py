"""docs/graph-model.md names every node label the code writes or reads, and links only to files
that exist (issue 12, 11): analysts in Neo4j Browser saw labels (``:Scan``, ``:Migration``)
that no document explained."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "graph-model.md"
# ``(n:Label:Other {`` in a Cypher pattern, and ``SET n:Label`` / ``REMOVE n:Label``.
NODE = re.compile(r"\(\s*\w*\s*((?::\s*[A-Z][A-Za-z]+\s*)+)[\s{)|]")
SET_LABEL = re.compile(r"(?:SET|REMOVE)\s+\w+((?::[A-Z][A-Za-z]+)+)")
LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?:#[^)]*)?\)")
# A file named in the text (``docs/lineage.md``, ``graph/scans.py``, ``classification.md``).
MENTION = re.compile(r"(?<![\w/.-])(?P<path>[\w/-]+\.(?:md|py|cypher|grass))\b")


def _cypher() -> list[str]:
    """Every string literal of graph/ (where all Cypher lives) and every migration."""
    texts = [p.read_text() for p in (ROOT / "graph" / "migrations").glob("*.cypher")]
    for path in (ROOT / "graph").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                texts.append(node.value)
    return texts


def labels() -> set[str]:
    found: set[str] = set()
    for text in _cypher():
        for match in [*NODE.finditer(text), *SET_LABEL.finditer(text)]:
            found |= set(re.findall(r"[A-Z][A-Za-z]+", match[1]))
    return found


def test_every_label_in_the_graph_is_documented() -> None:
    doc = DOC.read_text()
    found = labels()
    assert {"Scan", "Migration", "Table", "ProfilePoint"} <= found  # the scan finds them
    missing = sorted(label for label in found if not re.search(rf":{label}\b", doc))
    assert missing == [], f"describe these labels in {DOC.name}"


def test_links_and_files_named_exist() -> None:
    text = DOC.read_text()
    for link in LINK.finditer(text):
        target = link["target"]
        if "://" not in target:
            assert (DOC.parent / target).exists(), f"{DOC.name} links to a missing {target}"
    for mention in MENTION.finditer(text):
        path = mention["path"]
        assert (DOC.parent / path).exists() or (ROOT / path).exists(), f"{path} does not exist"


GRASS = ROOT / "docs" / "neo4j-browser.grass"
STYLE = re.compile(r"^node\.(?P<label>\w+)\s*\{(?P<body>.*?)^\}", re.M | re.S)
CAPTION = re.compile(r'caption:\s*"(?P<caption>[^"]*)"')


def test_the_browser_style_sheet_tells_same_named_nodes_apart() -> None:
    """A view, the job that computes it and its versions share a name; their captions differ."""
    styles = {m["label"]: m["body"] for m in STYLE.finditer(GRASS.read_text())}
    # :Asset is on every database, schema, table and column: their own labels style them.
    assert labels() - styles.keys() - {"Asset"} == set(), "give these labels a style"
    captions = {}
    for label, body in styles.items():
        caption = CAPTION.search(body)
        assert caption, f"node.{label} has no caption"
        captions[label] = caption["caption"]
    named = [captions[label] for label in ("Table", "Job", "SchemaVersion", "DataSource")]
    assert len(set(named)) == len(named), named
