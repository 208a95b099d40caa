"""Fold the rows of many OpenLineage events into one row per run, job, dataset, edge and check,
so a batch of events is a handful of ``UNWIND`` statements however many events it holds.

One ``UNWIND`` must not hold two rows of one run (or of one edge's end): Cypher runs a
statement clause by clause, so the second row's comparisons would read the graph as it was
before the first row's writes. The folds below apply the same rules the Cypher applies to the
graph (graph/runs.py), so writing the folded row gives what writing the rows one by one gave:

- a run's state is the furthest reached, between terminal states the latest (the first to
  reach a lower rank keeps it); ``startedAt`` the earliest START, ``endedAt`` the latest end;
- an edge is valid from its earliest declaration (``since``) and last seen at its latest
  (``time``), with the transformations of the latest declaration;
- a job's COMPLETE runs each end the edges they no longer declare: kept as one row per job
  with its runs' times grouped by the edges they declared (``closes``), the earliest that
  applies wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from graph.driver import Record


def _latest(rows: Iterable[Record], key: str) -> list[Record]:
    """One row per ``row[key]``: the fields of the latest row, each falling back on earlier
    rows where the latest has none (as ``coalesce(row.x, n.x)`` writes them one by one)."""
    out: dict[Any, Record] = {}
    for row in sorted(rows, key=lambda r: r["time"]):
        seen = out.get(row[key])
        out[row[key]] = (
            row
            if seen is None
            else {k: v if v is not None else seen.get(k) for k, v in row.items()}
        )
    return list(out.values())


def _moves(row: Record, state: Record) -> bool:
    """Whether a run event moves the run's state (UPSERT_RUNS ``moves``)."""
    return row["rank"] > state["rank"] or (
        row["rank"] == 3 and state["rank"] == 3 and row["time"] >= state["time"]
    )


def fold_runs(rows: Sequence[Record]) -> list[Record]:
    """One row per run, in arrival order: its state row (``type``, ``rank``, ``time``), the
    ``keys`` of all its events, ``started`` and ``ended`` times, and the latest facets."""
    out: dict[str, Record] = {}
    for row in rows:
        keys = [row["key"]]
        started = row["time"] if row["type"] == "START" else None
        ended = row["time"] if row["rank"] == 3 else None
        seen = out.get(row["urn"])
        if seen is not None:
            keys = seen["keys"] + [k for k in keys if k not in seen["keys"]]
            started = min(filter(None, (started, seen["started"])), default=None)
            ended = max(filter(None, (ended, seen["ended"])), default=None)
            state = row if _moves(row, seen) else seen
            row = {
                **state,
                **{
                    k: row[k] if row[k] is not None else seen[k]
                    for k in ("errorMessage", "stackTrace", "nominalStart")
                },
            }
        out[row["urn"]] = {**row, "keys": keys, "started": started, "ended": ended}
    return list(out.values())


def fold_feeds(rows: Iterable[Record]) -> list[Record]:
    """One row per edge (``from``, ``to``, ``via``): ``since`` the earliest declaration,
    ``time`` the latest, whose transformations it keeps. A row may stand for several events
    declaring the edge alike: its ``since`` is their earliest time, its ``time`` and ``seq``
    (arrival order, which breaks ties) their latest."""
    out: dict[tuple[str, str, str], Record] = {}
    for row in sorted(rows, key=lambda r: (r["time"], r.get("seq", 0))):
        key = (row["from"], row["to"], row["via"])
        seen = out.get(key)
        since = row.get("since") or row["time"]
        out[key] = {
            **row,
            **{
                k: row.get(k) if row.get(k) is not None or seen is None else seen.get(k)
                for k in ("transformations", "masking", "columns")
            },
            "since": since if seen is None else min(since, seen["since"]),
        }
    return list(out.values())


def fold_closes(rows: Iterable[Record]) -> list[Record]:
    """One row per job: its COMPLETE runs as groups of the same declared edges (``feeds``),
    each with the times of its runs (``times``)."""
    out: dict[str, list[Record]] = {}
    for row in rows:
        out.setdefault(row["via"], []).append({"times": row["times"], "feeds": row["feeds"]})
    return [{"via": via, "closes": closes} for via, closes in out.items()]


def fold_jobs(rows: Iterable[Record]) -> list[Record]:
    """One row per job: its latest description, and each dataset it read or wrote (``links``:
    ``(type, urn)``) once, at the latest time it did."""
    rows = list(rows)
    links: dict[str, dict[tuple[str, str], Any]] = {}
    for row in rows:
        mine = links.setdefault(row["urn"], {})
        for link in row["links"]:
            mine[link] = max(mine.get(link, row["time"]), row["time"])
    return [
        {
            **job,
            "links": [
                {"type": t, "urn": u, "time": at} for (t, u), at in links[job["urn"]].items()
            ],
        }
        for job in _latest(rows, "urn")
    ]


def fold_latest(rows: Iterable[Record], *key: str) -> list[Record]:
    """One row per ``key`` fields, the latest (datasets, checks)."""
    keyed = [{**row, "_key": tuple(row[k] for k in key)} for row in rows]
    return [{k: v for k, v in row.items() if k != "_key"} for row in _latest(keyed, "_key")]
