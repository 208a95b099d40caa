"""Reading TLS support from a MySQL/MariaDB greeting, before any login is sent."""

from __future__ import annotations

import struct

from pymysql.constants import CLIENT

from ingest.connectors.mysql import _offers_tls


def greeting(flags: int) -> bytes:
    payload = b"\x0a" + b"11.4.7-MariaDB\0" + struct.pack("<I", 7) + b"s" * 8 + b"\0"
    payload += struct.pack("<H", flags) + b"\x2d\x02\x00"
    return struct.pack("<I", len(payload))[:3] + b"\0" + payload


def test_the_ssl_capability_is_read_from_the_greeting() -> None:
    assert _offers_tls(greeting(CLIENT.SSL | CLIENT.PROTOCOL_41))
    assert not _offers_tls(greeting(CLIENT.PROTOCOL_41))


def test_anything_but_a_greeting_offers_nothing() -> None:
    for data in (b"", b"R\0\0\0\x08\0\0\0\x03", b"\x05\0\0\0\xff\x15\x04Bye"):
        assert not _offers_tls(data)
