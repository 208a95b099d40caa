"""How names are split into the words search finds them by (live/search.py)."""

from __future__ import annotations

import pytest

from live.search import identifier_words


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("customerOrders", "customer Orders"),
        ("orders_2024", "orders 2024"),
        ("HTTPLog", "HTTP Log"),
        ("HTTPSession", "HTTP Session"),
        ("customerIDs", "customer IDs"),  # was "customer I Ds": "ids" found nothing
        ("APIs", "APIs"),
        ("URLsByHost", "URLs By Host"),
        ("qty_q3", "qty q 3"),
    ],
)
def test_names_split_into_the_words_a_reader_sees(name: str, words: str) -> None:
    assert identifier_words([name]) == words
