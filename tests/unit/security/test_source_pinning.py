"""A source's host is resolved once: the addresses its check saw are where its connections go.

DNS rebinding: a name that answers an allowed address when it is checked and 169.254.169.254
(or DataWave's own 127.0.0.1:7687) when the driver resolves it again would pass the check and
reach what the check refuses. ``SourceAccess.admit`` answers the checked addresses pinned; TLS
still names (SNI) and verifies the host, whatever address the driver passes.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.settings import Settings
from core.sources import DataSourceConfig, TlsMode
from ingest.source_access import Address, SourceAccess, SourceRefused

NAME = "db.pinning.test"
OTHER = "other.pinning.test"  # a name the certificate does not give


class Rebinding:
    """A resolver whose first answer is allowed and every later one a metadata address."""

    def __init__(self, first: str = "127.0.0.1") -> None:
        self.answers = [first]
        self.calls = 0

    async def __call__(self, host: str, port: int) -> Sequence[Address]:
        self.calls += 1
        answer = self.answers[0] if self.calls == 1 else "169.254.169.254"
        return [ipaddress.ip_address(answer)]


def source(host: str = NAME, port: int = 5432, **extra: object) -> DataSourceConfig:
    return DataSourceConfig(name="pg", kind="postgresql", host=host, port=port, **extra)


async def test_the_checked_answer_is_the_address_connected_to() -> None:
    resolver = Rebinding()
    access = SourceAccess.from_settings(Settings(_env_file=None), {}, resolver)
    pinned = await access.admit(source())
    assert (pinned.host, pinned.port, pinned.addresses) == (NAME, 5432, ("127.0.0.1",))
    assert resolver.calls == 1
    # Connections take the pinned address: no second answer is asked for, so none is used.
    assert await pinned.answering(1) == "127.0.0.1"
    assert resolver.calls == 1
    # The next check (the next connection) resolves again and sees the rebound answer.
    with pytest.raises(SourceRefused, match="denied network"):
        await access.admit(source())


async def test_every_answer_is_checked_and_kept_in_order() -> None:
    async def two(host: str, port: int) -> Sequence[Address]:
        return [ipaddress.ip_address("127.0.0.3"), ipaddress.ip_address("127.0.0.2")]

    access = SourceAccess.from_settings(Settings(_env_file=None), {}, two)
    assert (await access.admit(source())).addresses == ("127.0.0.3", "127.0.0.2")

    async def one_denied(host: str, port: int) -> Sequence[Address]:
        return [ipaddress.ip_address("127.0.0.2"), ipaddress.ip_address("169.254.169.254")]

    access = SourceAccess.from_settings(Settings(_env_file=None), {}, one_denied)
    with pytest.raises(SourceRefused, match="denied network"):
        await access.admit(source())

    async def nothing(host: str, port: int) -> Sequence[Address]:
        return []

    access = SourceAccess.from_settings(Settings(_env_file=None), {}, nothing)
    with pytest.raises(SourceRefused, match="does not resolve"):
        await access.admit(source())


async def test_a_driver_given_one_address_gets_the_first_that_answers() -> None:
    async def listening(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(listening, "127.0.0.2", 0)
    port = server.sockets[0].getsockname()[1]

    async def two(host: str, port: int) -> Sequence[Address]:
        return [ipaddress.ip_address("127.0.0.3"), ipaddress.ip_address("127.0.0.2")]

    async with server:
        access = SourceAccess.from_settings(Settings(_env_file=None), {}, two)
        pinned = await access.admit(source(port=port))
        assert await pinned.answering(1) == "127.0.0.2"  # nothing listens on 127.0.0.3
    with pytest.raises(OSError):
        await pinned.answering(1)


# --- TLS names the host, whatever address the driver connects to -----------------------------


@dataclass(frozen=True)
class Tls:
    server: ssl.SSLContext
    names: list[str]  # SNI the server was sent, one per handshake


def _certificate(tmp: Path, name: str) -> Tls:
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pinning test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    (tmp / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    names: list[str] = []
    server.sni_callback = lambda sock, sni, ctx: names.append(sni)  # type: ignore[assignment]
    return Tls(server, names)


@pytest.fixture
async def tls_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Tls, int]]:
    """A TLS server on loopback whose certificate names ``NAME``, its CA the system's."""
    tls = _certificate(tmp_path, NAME)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))  # load_default_certs reads it

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0, ssl=tls.server)
    async with server:
        yield tls, server.sockets[0].getsockname()[1]


async def _loopback(host: str, port: int) -> Sequence[Address]:
    return [ipaddress.ip_address("127.0.0.1")]


LOOPBACK = SourceAccess.from_settings(Settings(_env_file=None), {}, _loopback)


async def test_tls_verifies_the_hosts_name_at_the_pinned_address(
    tls_server: tuple[Tls, int],
) -> None:
    """What asyncpg and aiomysql do: connect to the address, TLS with the address as server
    name. The context names the host instead, so VERIFY checks the certificate against it."""
    tls, port = tls_server
    pinned = await LOOPBACK.admit(source(port=port, tls=TlsMode.VERIFY))
    context = pinned.tls(TlsMode.VERIFY)
    reader, writer = await asyncio.open_connection(pinned.addresses[0], port, ssl=context)
    assert await reader.read() == b"hello"
    writer.close()
    assert tls.names == [NAME]
    # A certificate for another name fails, as it did when the driver was given the name.
    other = await LOOPBACK.admit(source(OTHER, port=port, tls=TlsMode.VERIFY))
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        await asyncio.open_connection(other.addresses[0], port, ssl=other.tls(TlsMode.VERIFY))


async def test_require_names_the_host_without_checking_it(tls_server: tuple[Tls, int]) -> None:
    tls, port = tls_server
    pinned = await LOOPBACK.admit(source(port=port, tls=TlsMode.REQUIRE))
    _, writer = await asyncio.open_connection(
        pinned.addresses[0], port, ssl=pinned.tls(TlsMode.REQUIRE)
    )
    writer.close()
    assert tls.names == [NAME]
    assert pinned.tls(TlsMode.DISABLE) is None


async def test_a_drivers_own_tls_is_checked_against_the_name_first(
    tls_server: tuple[Tls, int],
) -> None:
    """pymongo takes no TLS context and names the address it connects to:
    ``verify_certificate`` checks the host's name at that address before pymongo connects."""
    tls, port = tls_server
    pinned = await LOOPBACK.admit(source(port=port, tls=TlsMode.VERIFY))
    await pinned.verify_certificate("127.0.0.1", 2)
    assert tls.names == [NAME]
    other = await LOOPBACK.admit(source(OTHER, port=port, tls=TlsMode.VERIFY))
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        await other.verify_certificate("127.0.0.1", 2)
