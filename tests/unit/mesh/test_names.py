"""Names the mesh derives: stream-port topics Kafka accepts, and the table a change is about."""

from __future__ import annotations

import pytest

from core.settings import MeshSettings
from live.changes import ChangeType, catalog_change
from mesh.domains import check_name
from mesh.errors import MeshError, StreamFailed
from mesh.streams import topic_name
from mesh.watch import table_of


def test_a_stream_port_topic_is_named_after_its_product_in_kafka_s_alphabet() -> None:
    cfg = MeshSettings()
    assert topic_name(cfg, "sales", "orders", "events") == "dw.product.sales.orders.events"
    odd = MeshSettings(stream_topic_prefix="")
    assert topic_name(odd, "sales & co", "orders", "v2/events") == "sales___co.orders.v2_events"
    with pytest.raises(StreamFailed, match="longer than Kafka's 249"):
        topic_name(cfg, "d" * 120, "p" * 120, "events")


def test_drift_is_rechecked_for_the_table_a_change_is_about() -> None:
    table = "urn:dw:table:pg/shop/public/orders"
    assert table_of(catalog_change(ChangeType.CHANGED, table)) == table
    assert (
        table_of(catalog_change(ChangeType.CHANGED, f"{table.replace(':table:', ':column:')}/id"))
        == table
    )
    assert table_of(catalog_change(ChangeType.ADDED, "urn:dw:schema:pg/shop/public")) is None


def test_a_name_is_matched_whole() -> None:
    assert check_name("orders-2") == "orders-2"
    for bad in ("orders\n", "Orders", "2orders", "orders team"):
        with pytest.raises(MeshError, match="lower-case letters"):
            check_name(bad)
