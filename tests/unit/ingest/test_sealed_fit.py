"""A table event is fitted to Kafka's record limit as it will travel: with its samples sealed."""

from __future__ import annotations

from core.events import ColumnInfo, TableDiscovered
from core.sample_cipher import sealed_size
from ingest.connectors.base import EVENT_BUDGET, fit_event


def test_samples_are_halved_until_the_sealed_event_fits() -> None:
    # Plain JSON just under the budget: sealed (base64) it would be a third larger.
    value = "x" * 1000
    columns = [
        ColumnInfo(name=f"c{i}", data_type="text", ordinal=i, samples=[value] * 100)
        for i in range(9)
    ]
    table = TableDiscovered(
        name="t", kind="table", schema_urn="urn:dw:schema:s/d/p", columns=columns
    )
    assert len(table.model_dump_json()) < EVENT_BUDGET < sealed_size(table)
    fitted = fit_event(table)
    assert sealed_size(fitted) <= EVENT_BUDGET
    assert all(len(c.samples) == 50 for c in fitted.columns), "halved once, no more"
