"""What a data source may reach: the secrets and the hosts the operator allowed.

A source's ``secretRef`` is read by the process that connects (the API for ``testDataSource``
and ``startScan``, the CLI, the workers) and sent to the source's host. Neither is the
registering caller's to choose freely: a reference to the API's own settings or to any file
would hand that secret to whatever server the host names, and a host on DataWave's own service
ports or a metadata address turns a connection test into a port scanner. So ``admit`` checks a
source against ``SourceSettings`` when it is registered and again before every connection, and
``secret`` resolves only what the operator allowed.

The host is resolved once per connection: ``admit`` checks every address it resolved to and
answers them pinned (``Pinned``), and the connectors connect to those addresses, never to the
name, so a DNS answer that changes in between (rebinding to a metadata address or to one of
DataWave's own ports) reaches nothing. The name stays the TLS server name (SNI and the
certificate check), through ``tls_context``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from core.settings import Settings, SourceSettings
from core.sources import DataSourceConfig, TlsMode

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# (host, port) -> its addresses in the resolver's order: what a connection may be made to.
Resolver = Callable[[str, int], Awaitable[Sequence[Address]]]
MAX_SECRET_BYTES = 64 * 1024
RESOLVE_TIMEOUT_S = 5.0  # a slow resolver must not hold a registration or a scan
# Settings meant for sources (the local stack's account password); every other one is refused.
SOURCE_SETTINGS = frozenset({"source_password"})


class SourceAccessError(Exception):
    """A source's secret or host cannot be used; the message says why (never the secret)."""


class SourceRefused(SourceAccessError):
    """The operator's policy refuses the source's secret reference or host."""


class SecretError(SourceAccessError):
    """An allowed ``secretRef`` does not resolve (variable unset, file unreadable)."""


class _NamedContext(ssl.SSLContext):
    """A client context that names ``server_name`` (SNI, certificate check) whatever server
    name a driver passes: the driver connects to a pinned address and passes that address."""

    server_name: str

    def wrap_bio(  # asyncio's TLS transports (asyncpg, aiomysql)
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        return super().wrap_bio(incoming, outgoing, server_side, self.server_name, session)

    def wrap_socket(  # blocking sockets
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        return super().wrap_socket(
            sock, server_side, do_handshake_on_connect, suppress_ragged_eofs, self.server_name,
            session,
        )  # fmt: skip


def tls_context(mode: TlsMode, server_name: str) -> ssl.SSLContext | None:
    """The drivers' TLS settings for a source's ``tls`` (None: plain TCP), naming the source's
    host as the server (SNI, and the certificate check of ``VERIFY``) whatever address the
    driver connects to."""
    if mode is TlsMode.DISABLE:
        return None
    context = _NamedContext(ssl.PROTOCOL_TLS_CLIENT)  # what ssl.create_default_context makes
    context.server_name = server_name
    if mode is TlsMode.REQUIRE:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    return context


@dataclass(frozen=True)
class Pinned:
    """Where a connection to a source goes: the addresses its host resolved to when it was
    checked (in the resolver's order), never resolved again, and the host as TLS server name."""

    host: str
    port: int
    addresses: tuple[str, ...]

    def tls(self, mode: TlsMode) -> ssl.SSLContext | None:
        return tls_context(mode, self.host)

    async def answering(self, timeout_s: float) -> str:
        """The first address that accepts a TCP connection (closed at once), for drivers that
        take one address: what a driver given the name would have reached among them."""
        if len(self.addresses) == 1:
            return self.addresses[0]
        failure: OSError | TimeoutError = OSError(f"no address of {self.host} to connect to")
        for address in self.addresses:
            try:
                async with asyncio.timeout(timeout_s):
                    _, writer = await asyncio.open_connection(address, self.port)
            except (OSError, TimeoutError) as err:
                failure = err
                continue
            writer.close()
            return address
        raise failure

    async def verify_certificate(self, address: str, timeout_s: float) -> None:
        """One TLS handshake with ``address`` that verifies the certificate names the host
        (ssl.SSLCertVerificationError, an OSError, if not), for drivers that take no context."""
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection(
                address, self.port, ssl=self.tls(TlsMode.VERIFY), server_hostname=self.host
            )
        writer.close()


def _address(text: str) -> Address:
    addr = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone names no other host
    mapped = getattr(addr, "ipv4_mapped", None)
    return mapped or addr


def _is_local(addr: Address) -> bool:
    """An address of this machine: loopback, unspecified, or one it can bind."""
    if addr.is_loopback or addr.is_unspecified:
        return True
    family = socket.AF_INET6 if addr.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((str(addr), 0))
        except OSError:
            return False
    return True


async def resolve(host: str, port: int) -> list[Address]:
    """The system resolver's addresses of ``host``, in its order, each once."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(RESOLVE_TIMEOUT_S):
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(_address(str(info[4][0])) for info in infos))


async def _resolve(resolver: Resolver, host: str, port: int) -> list[Address]:
    try:
        addresses = list(await resolver(host, port))
    except (OSError, UnicodeError, TimeoutError) as err:
        raise SourceRefused(f"host {host} does not resolve") from err
    if not addresses:
        raise SourceRefused(f"host {host} does not resolve")
    return addresses


# Ports DataWave's services listen on beside the one its clients use (their defaults): Neo4j's
# HTTP and HTTPS beside Bolt, the KRaft controller beside a Kafka broker, OpenSearch's transport
# beside its REST API. Elsewhere: DATAWAVE_SOURCES__DENIED_SERVICES.
NEO4J_HTTP = (7474, 7473)
KAFKA_CONTROLLER = (9093,)
OPENSEARCH_TRANSPORT = (9300,)


def _service(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url if "//" in url else f"//{url}")
    return parts.hostname or "127.0.0.1", parts.port or default_port


def _with(service: tuple[str, int], companions: tuple[int, ...]) -> list[tuple[str, int]]:
    """A service and its companion ports on the same host."""
    return [service, *((service[0], port) for port in companions)]


def own_services(settings: Settings) -> list[tuple[str, int]]:
    """(host, port) of DataWave's own services: Neo4j, Kafka, Redis, OpenSearch, OPA, the API,
    the ingest worker's metrics, each with its companion ports, and those the operator denies."""
    web = 443 if settings.opensearch_url.startswith("https") else 80
    metrics = settings.ingest.metrics_port
    return [
        *_with(_service(settings.neo4j.uri, 7687), NEO4J_HTTP),
        *(
            s
            for b in settings.kafka.bootstrap_servers.split(",")
            for s in _with(_service(b.strip(), 9092), KAFKA_CONTROLLER)
        ),
        _service(settings.redis_url, 6379),
        *_with(_service(settings.opensearch_url, web), OPENSEARCH_TRANSPORT),
        _service(settings.opa_url, 8181),
        (settings.host, settings.port),
        *([(settings.host, metrics)] if metrics else []),
        *(_service(entry, 0) for entry in settings.sources.denied_services),
    ]


def own_variables(settings: Settings) -> list[str]:
    """Environment variables that configure DataWave (``DATAWAVE_AUTH`` covers its nested ones)."""
    prefix = settings.model_config.get("env_prefix", "DATAWAVE_").upper()
    return [
        prefix + name.upper() for name in type(settings).model_fields if name not in SOURCE_SETTINGS
    ]


def _networks(entries: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(e, strict=False) for e in entries if _is_network(e)]


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class SourceAccess:
    """The operator's policy for sources, with DataWave's own services and settings to protect."""

    policy: SourceSettings
    own: tuple[tuple[str, int], ...]
    own_variables: tuple[str, ...]
    environ: Mapping[str, str]
    # Sources' hosts are resolved here (the system resolver; tests give answers of their own).
    resolver: Resolver = field(default=resolve)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        environ: Mapping[str, str] | None = None,
        resolver: Resolver = resolve,
    ) -> SourceAccess:
        return cls(
            settings.sources,
            tuple(own_services(settings)),
            tuple(own_variables(settings)),
            os.environ if environ is None else environ,
            resolver,
        )

    # --- secrets ---------------------------------------------------------------------------

    def check_secret_ref(self, ref: str) -> None:
        """Refuse a reference the operator did not allow, without reading anything."""
        scheme, _, target = ref.partition(":")
        if scheme == "env":
            self._check_variable(target)
        elif scheme == "file":
            self._secret_path(target)
        else:
            raise SourceRefused(f"secret reference {ref!r}: expected env:NAME or file:/path")

    def _check_variable(self, name: str) -> None:
        prefixes = self.policy.secret_env_prefixes
        upper = name.upper()
        own = any(upper == v or upper.startswith(v + "_") for v in self.own_variables)
        if own or not name.startswith(tuple(prefixes)):
            allowed = " or ".join(prefixes) or "no prefix (none are allowed)"
            raise SourceRefused(
                f"env:{name} is not a source secret: a variable must start with {allowed} "
                "and never be one of DataWave's own settings"
            )

    def _secret_path(self, target: str) -> Path:
        folder = self.policy.secrets_dir
        if folder is None:
            raise SourceRefused(
                f"file:{target} is refused: no secrets directory is configured "
                "(DATAWAVE_SOURCES__SECRETS_DIR)"
            )
        path = Path(target)
        root = folder.resolve()
        try:
            resolved = path.resolve()  # symlinks and .. followed: the check sees the real file
        except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte: no file
            resolved = root
        if not path.is_absolute() or not resolved.is_relative_to(root) or resolved == root:
            raise SourceRefused(f"file:{target} is outside the secrets directory {folder}")
        return resolved

    def secret(self, ref: str) -> str:
        """The password behind an allowed ``env:NAME`` or ``file:/path`` (one trailing newline
        stripped); it lives in memory just long enough to open a connection."""
        self.check_secret_ref(ref)
        scheme, _, target = ref.partition(":")
        if scheme == "env":
            if target not in self.environ:
                raise SecretError(f"secret_ref {ref}: environment variable {target} is not set")
            return self.environ[target]
        path = self._secret_path(target)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as f:
                data = f.read(MAX_SECRET_BYTES + 1)
        except OSError as err:
            raise SecretError(f"secret_ref {ref}: cannot read {target}: {err.strerror}") from err
        if len(data) > MAX_SECRET_BYTES:
            raise SecretError(f"secret_ref {ref}: larger than {MAX_SECRET_BYTES} bytes")
        return data.decode().removesuffix("\n")

    # --- hosts -----------------------------------------------------------------------------

    async def admit(self, config: DataSourceConfig) -> Pinned:
        """Refuse a source whose secret reference or host the operator did not allow; every
        address its host resolves to is checked, before any connection is made, and those
        addresses are where its connections go (``Pinned``)."""
        if config.secret_ref is not None:
            self.check_secret_ref(config.secret_ref)
        addresses = await self.check_host(
            config.host, config.port, password=config.secret_ref is not None, tls=config.tls
        )
        return Pinned(config.host, config.port, tuple(str(a) for a in addresses))

    async def check_host(
        self, host: str, port: int, *, password: bool, tls: TlsMode
    ) -> list[Address]:
        """The addresses ``host`` resolves to, each allowed by the policy (else SourceRefused)."""
        policy = self.policy
        denied = _networks(policy.denied_hosts)
        allowed = _networks(policy.allowed_hosts)
        names = {e.lower() for e in policy.allowed_hosts if not _is_network(e)}
        cleartext = _networks(policy.cleartext_hosts)
        target = f"{host}:{port}"
        addresses = await _resolve(self.resolver, host, port)
        for addr in sorted(addresses, key=str):
            if any(addr in n for n in denied):
                raise SourceRefused(f"{target} ({addr}) is on a denied network")
            if await self._is_own(addr, port):
                raise SourceRefused(f"{target} is one of DataWave's own services")
            if (
                (allowed or names)
                and host.lower() not in names
                and not any(addr in n for n in allowed)
            ):
                raise SourceRefused(f"{target} ({addr}) is not in DATAWAVE_SOURCES__ALLOWED_HOSTS")
            if password and tls is TlsMode.DISABLE and not any(addr in n for n in cleartext):
                raise SourceRefused(
                    f"a password goes to {target} only over TLS: set tls to require or verify "
                    "(or add the host to DATAWAVE_SOURCES__CLEARTEXT_HOSTS)"
                )
        return addresses

    async def _is_own(self, addr: Address, port: int) -> bool:
        for host, own_port in self.own:
            if own_port != port:
                continue
            try:
                own_addrs = await _resolve(resolve, host, own_port)
            except SourceRefused:  # a service that does not resolve is reached by no one
                continue
            for own_addr in own_addrs:
                if own_addr == addr or (_is_local(own_addr) and _is_local(addr)):
                    return True
        return False
