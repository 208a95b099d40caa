"""Typed settings read from ``DATAWAVE_*`` environment variables and an optional ``.env``.

One ``Settings`` object is built at start-up and passed down; nothing reads ``os.environ``
elsewhere, so tests build ``Settings(_env_file=None, ...)`` explicitly.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from aiokafka.helpers import create_ssl_context
from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.topics import CHANGES, DISCOVERY, DLQ, LINEAGE

DEFAULT_DEV_SECRET = "datawave-development-secret-not-for-production"
MIN_SECRET_BYTES = 32
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "PS256"})
DEFAULT_HASH_KEY = "datawave-development-masking-key-not-for-production"
DEFAULT_NEO4J_PASSWORD = "datawave-dev"
# Seals sample values on Kafka in development; production refuses it.
DEFAULT_SAMPLE_KID = "dev"
DEFAULT_SAMPLE_KEY = base64.b64encode(b"datawave-dev-samples-key-32bytes").decode()
SAMPLE_KEY_BYTES = 32


class Strategy(StrEnum):
    REDACT = "redact"
    PARTIAL = "partial"
    HASH = "hash"


class AuthSettings(BaseModel):
    """``DATAWAVE_AUTH__*``: how tokens are verified and how claims map to roles and scopes."""

    algorithms: list[str] = Field(default_factory=lambda: ["HS256"])
    hs_secret: SecretStr = SecretStr(DEFAULT_DEV_SECRET)
    public_key_files: list[Path] = Field(default_factory=list)
    jwks_url: str | None = None
    issuer: str = "datawave"
    audience: str = "datawave-api"
    clock_skew_s: int = Field(30, ge=0, le=600)
    max_token_bytes: int = Field(8192, ge=256)
    # Tokens whose exp is further than this from their iat are refused (a stolen one stays
    # useful for a bounded time).
    max_token_lifetime_s: int = Field(24 * 3600, ge=60, le=366 * 86400)
    roles_claim: str = "roles"
    domains_claim: str = "domains"
    sources_claim: str = "sources"
    permissions_claim: str = "permissions"

    @field_validator("algorithms")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        allowed = HMAC_ALGORITHMS | ASYMMETRIC_ALGORITHMS
        bad = [a for a in v if a not in allowed]
        if bad or not v:
            raise ValueError(f"unsupported algorithm(s) {bad}; choose from {sorted(allowed)}")
        return v

    def production_problems(self) -> list[str]:
        """Why this configuration must not serve production traffic (empty when fine)."""
        problems = []
        if HMAC_ALGORITHMS & set(self.algorithms):
            secret = self.hs_secret.get_secret_value()
            if secret == DEFAULT_DEV_SECRET:
                problems.append("DATAWAVE_AUTH__HS_SECRET is the development default")
            elif len(secret.encode()) < MIN_SECRET_BYTES:
                problems.append(
                    f"DATAWAVE_AUTH__HS_SECRET is shorter than {MIN_SECRET_BYTES} bytes"
                )
        if ASYMMETRIC_ALGORITHMS & set(self.algorithms) and not (
            self.public_key_files or self.jwks_url
        ):
            problems.append("RS/ES algorithms need DATAWAVE_AUTH__JWKS_URL or PUBLIC_KEY_FILES")
        return problems


class MaskingSettings(BaseModel):
    """``DATAWAVE_MASKING__*``: the strategy for each sensitivity, and the key of ``hash``."""

    confidential: Strategy = Strategy.PARTIAL
    restricted: Strategy = Strategy.REDACT
    hash_key: SecretStr = SecretStr(DEFAULT_HASH_KEY)

    def production_problems(self) -> list[str]:
        uses_hash = Strategy.HASH in (self.confidential, self.restricted)
        if uses_hash and self.hash_key.get_secret_value() == DEFAULT_HASH_KEY:
            return ["DATAWAVE_MASKING__HASH_KEY is the development default"]
        return []


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


def _default_stack_dir() -> Path:
    # Services that refuse to run as root (OpenSearch, PostgreSQL) run as a service user when
    # we are root, so their state must live where that user can reach it: not under /root.
    if os.geteuid() == 0:
        return Path("/var/lib/datawave")
    return Path.home() / ".local" / "share" / "datawave"


class Neo4jSettings(BaseModel):
    uri: str = "bolt://127.0.0.1:7687"
    user: str = "neo4j"
    password: SecretStr = SecretStr(DEFAULT_NEO4J_PASSWORD)
    database: str = "neo4j"

    def production_problems(self) -> list[str]:
        if self.password.get_secret_value() == DEFAULT_NEO4J_PASSWORD:
            return ["DATAWAVE_NEO4J__PASSWORD is the development default"]
        return []

    @field_validator("uri")
    @classmethod
    def _uri_scheme(cls, v: str) -> str:
        schemes = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")
        if not v.startswith(schemes):
            raise ValueError(f"expected a Bolt URI such as bolt://host:7687, got {v!r}")
        return v


class KafkaSettings(BaseModel):
    """``DATAWAVE_KAFKA__*``: the brokers, how every client authenticates to them, and the keys
    that seal sample values on the discovery topic (core/sample_cipher.py)."""

    bootstrap_servers: str = "127.0.0.1:9092"
    topic_partitions: int = Field(6, ge=1, le=1000)
    client_id: str = "datawave"
    # How producers compress their batches. zstd costs a fifth of gzip's CPU per event and
    # compresses OpenLineage events a third smaller (docs/benchmarks.md); every Kafka broker
    # since 2.1 accepts it. Consumers read whatever codec a batch was written with.
    compression: Literal["zstd", "gzip", "lz4", "snappy", "none"] = "zstd"
    # TLS and SASL, as the brokers' listeners require; passed to every producer, consumer and
    # admin client (``client_options``).
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = Field(None, description="CA bundle of the brokers; None: system's")
    # AES-256 keys (base64 of 32 bytes) by key id: samples are sealed with ``sample_kid``'s and
    # opened with whichever key their id names, so a new key can be added before it is used
    # and an old one dropped once its events have aged out of the topic.
    sample_keys: dict[str, SecretStr] = Field(
        default_factory=lambda: {DEFAULT_SAMPLE_KID: SecretStr(DEFAULT_SAMPLE_KEY)}
    )
    sample_kid: str = Field(DEFAULT_SAMPLE_KID, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSettings:
        if self.sample_kid not in self.sample_keys:
            raise ValueError(f"sample_kid {self.sample_kid!r} is not a key of sample_keys")
        for kid, key in self.sample_keys.items():
            try:
                raw = base64.b64decode(key.get_secret_value(), validate=True)
            except binascii.Error as err:
                raise ValueError(f"sample key {kid!r} is not base64") from err
            if len(raw) != SAMPLE_KEY_BYTES:
                raise ValueError(f"sample key {kid!r} must be base64 of {SAMPLE_KEY_BYTES} bytes")
        if self.sasl_mechanism and (self.sasl_username is None or self.sasl_password is None):
            raise ValueError("sasl_mechanism needs sasl_username and sasl_password")
        return self

    def sample_keyring(self) -> dict[str, bytes]:
        return {
            kid: base64.b64decode(key.get_secret_value()) for kid, key in self.sample_keys.items()
        }

    def client_options(self) -> dict[str, Any]:
        """Where the brokers are and how to authenticate: keyword arguments of every aiokafka
        producer, consumer and admin client."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism and self.sasl_password is not None:
            options |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password.get_secret_value(),
            }
        if self.security_protocol in ("SSL", "SASL_SSL"):
            cafile = str(self.ssl_cafile) if self.ssl_cafile else None
            options["ssl_context"] = create_ssl_context(cafile=cafile)
        return options

    def producer_options(self, max_batch_size: int) -> dict[str, Any]:
        """``client_options`` and durable delivery: acks from all replicas, idempotent retries,
        batches of up to ``max_batch_size`` bytes a partition, compressed."""
        return self.client_options() | {
            "client_id": self.client_id,
            "acks": "all",
            "enable_idempotence": True,
            "compression_type": None if self.compression == "none" else self.compression,
            "max_batch_size": max_batch_size,
        }

    def production_problems(self) -> list[str]:
        if self.sample_keys.get(DEFAULT_SAMPLE_KID) == SecretStr(DEFAULT_SAMPLE_KEY):
            return ["DATAWAVE_KAFKA__SAMPLE_KEYS holds the development key"]
        return []


class IngestSettings(BaseModel):
    """The ingest worker: which topics it consumes as which group, and how it batches."""

    topics: list[str] = Field(default_factory=lambda: [DISCOVERY, LINEAGE])
    group_id: str = "datawave-ingest"
    dlq_topic: str = DLQ
    # Where the worker announces what it wrote (datawave.asset.changed.v1), for the API's relay.
    changes_topic: str = CHANGES
    # Small transactions cost Neo4j less per column, and the worker overlaps them (docs/ingest.md).
    batch_size: int = Field(100, ge=1, le=10_000)
    batch_timeout_ms: int = Field(200, ge=1, le=60_000)
    # How long the group waits for a crashed worker before handing its partitions to others.
    session_timeout_ms: int = Field(10_000, ge=6_000, le=300_000)
    # Bounds the driver's own retries of transient Neo4j errors before a batch is split.
    neo4j_retry_s: float = Field(5.0, ge=0, le=300)
    metrics_port: int = Field(0, ge=0, le=65535, description="0: no Prometheus endpoint")


class SourceSettings(BaseModel):
    """``DATAWAVE_SOURCES__*``: the secrets and hosts data sources may use (ingest/source_access).

    A source's ``secretRef`` names a secret the connecting process reads, and its host is where
    that secret goes: both are the operator's to allow, never the registering caller's.
    """

    # env:NAME resolves only for names with one of these prefixes (never DataWave's settings).
    secret_env_prefixes: list[str] = Field(default_factory=lambda: ["DATAWAVE_SOURCE_"])
    # file:/path resolves only inside this folder (after symlinks and ..); unset: no files.
    secrets_dir: Path | None = None
    # Networks (CIDR) or host names sources may be on; empty: anywhere not denied.
    allowed_hosts: list[str] = Field(default_factory=list)
    # Networks no source may be on (cloud metadata, link-local), besides DataWave's own services.
    denied_hosts: list[str] = Field(
        default_factory=lambda: ["169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128"]
    )
    # Where a password may travel without TLS; elsewhere a source with a secret needs tls.
    cleartext_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    # host:port pairs no source may use, besides DataWave's own services and their companion
    # ports at their defaults (ingest/source_access.py): ports moved from those, sidecars.
    denied_services: list[str] = Field(default_factory=list)

    @field_validator("denied_hosts", "cleartext_hosts")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for network in v:
            ipaddress.ip_network(network, strict=False)  # its ValueError names the entry
        return v

    @field_validator("denied_services")
    @classmethod
    def _host_ports(cls, v: list[str]) -> list[str]:
        for entry in v:
            try:
                parts = urlsplit(f"//{entry}")
                valid = bool(parts.hostname) and parts.port is not None
            except ValueError:  # a port that is no number, or out of range
                valid = False
            if not valid:
                raise ValueError(f"expected host:port, got {entry!r}")
        return v


class HttpSettings(BaseModel):
    """``DATAWAVE_HTTP__*``: who may speak for clients, which browsers may call, and how long a
    client may keep the door busy before it is admitted (app/main.py, app/gateway.py)."""

    # Proxies (addresses or CIDR networks) whose X-Forwarded-For and X-Forwarded-Proto are
    # believed; from anyone else they are ignored, so a client cannot pick its own address.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Origins of browser frontends allowed to call the API (CORS); empty: none.
    cors_origins: list[str] = Field(default_factory=list)
    # Strict-Transport-Security on responses served over HTTPS (or a trusted proxy's); 0: none.
    hsts_max_age_s: int = Field(365 * 86400, ge=0)
    # Connections of one client address not yet admitted: WebSockets before connection_init,
    # requests still sending their body (per process).
    max_waiting_per_address: int = Field(100, ge=1, le=100_000)
    # How long a request may take to send its body.
    body_timeout_s: float = Field(10.0, gt=0, le=600)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, v: list[str]) -> list[str]:
        for proxy in v:
            if proxy != "*":
                ipaddress.ip_network(proxy, strict=False)  # its ValueError names the entry
        return v


class RateLimitSettings(BaseModel):
    """Per-principal token bucket in Redis (security/ratelimit.py), shared by every replica."""

    capacity: int = Field(300, ge=1, le=1_000_000, description="requests in a burst")
    refill_per_s: float = Field(50.0, gt=0, le=1_000_000, description="requests a second after")


class RequestLimits(BaseModel):
    """Sizes a GraphQL request may have: refused before any work is spent on it."""

    max_body_bytes: int = Field(128 * 1024, ge=1024, le=64 * 2**20)
    max_variables_bytes: int = Field(64 * 1024, ge=256, le=64 * 2**20)
    # ``search`` text: longer texts are refused (BAD_USER_INPUT) before OpenSearch parses them.
    max_search_chars: int = Field(256, ge=1, le=10_000)


class MeshSettings(BaseModel):
    """``DATAWAVE_MESH__*``: the topics of data products' stream ports (mesh/streams.py)."""

    # A stream port's topic is <prefix><domain>.<product>.<port>.
    stream_topic_prefix: str = Field("dw.product.", pattern=r"^[A-Za-z0-9._-]*$", max_length=100)
    stream_partitions: int = Field(3, ge=1, le=1000)
    stream_retention_ms: int = Field(7 * 86400 * 1000, ge=60_000)
    stream_replication: int = Field(1, ge=1, le=10)
    # Access grants last at most this long; a request asks for fewer days or gets this.
    max_grant_days: int = Field(365, ge=1, le=3650)
    # Consumers hear ``access.expiring`` this long before a grant ends (mesh/expiry.py) ...
    grant_notice_days: float = Field(7.0, ge=0, le=365)
    # ... from a sweep every API replica runs this often (0: none; expiry itself is read time).
    grant_sweep_s: float = Field(60.0, ge=0, le=86_400)
    # A contract's SQL quality rule is stopped by its source after this long (a rule's
    # ``timeoutSeconds`` custom property may ask for less, never more; mesh/probes.py).
    quality_sql_timeout_s: float = Field(10.0, gt=0, le=600)


class ResilienceSettings(BaseModel):
    """``DATAWAVE_RESILIENCE__*``: how long-running workers wait out a dependency outage
    (core/outages.py) and how their supervisors restart them (docs/operations.md)."""

    # Capped exponential backoff with full jitter: the first wait is at most this long ...
    backoff_initial_s: float = Field(0.5, gt=0, le=60)
    # ... and no wait is longer than this, however long the outage lasts.
    backoff_max_s: float = Field(10.0, gt=0, le=600)
    # A supervised child that exits unexpectedly is started again after at most this long.
    restart_max_s: float = Field(30.0, gt=0, le=3600)
    # Workers write a heartbeat to Redis this often (ingest/heartbeat.py); it expires after 3.
    heartbeat_s: float = Field(5.0, gt=0, le=300)
    # A worker with records waiting and no commit for this long is reported degraded (stalled).
    stall_s: float = Field(120.0, gt=0, le=86_400)
    # A scan interrupted by a Kafka or Neo4j outage is retried for this long, then failed.
    scan_retry_s: float = Field(300.0, ge=0, le=86_400)
    # A source that failed this many scans in a row (unreachable) opens its circuit breaker ...
    breaker_threshold: int = Field(3, ge=1, le=1000)
    # ... and its scans are refused for this long, then one probe scan is let through.
    breaker_reset_s: float = Field(300.0, gt=0, le=86_400)


class Settings(BaseSettings):
    """Every knob of DataWave; env var = ``DATAWAVE_`` + field name (nested with ``__``)."""

    model_config = SettingsConfigDict(
        env_prefix="DATAWAVE_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    mode: Mode = Mode.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    neo4j: Neo4jSettings = Neo4jSettings()
    kafka: KafkaSettings = KafkaSettings()
    auth: AuthSettings = AuthSettings()
    masking: MaskingSettings = MaskingSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    limits: RequestLimits = RequestLimits()
    http: HttpSettings = HttpSettings()
    ingest: IngestSettings = IngestSettings()
    sources: SourceSettings = SourceSettings()
    mesh: MeshSettings = MeshSettings()
    resilience: ResilienceSettings = ResilienceSettings()
    redis_url: str = "redis://127.0.0.1:6379/0"
    opensearch_url: str = "http://127.0.0.1:9200"
    # Open Policy Agent's REST API: governance pushes Rego and rule sets there and evaluates.
    opa_url: str = "http://127.0.0.1:8181"
    # password of the `datawave` account the local stack creates in MariaDB and PostgreSQL
    source_password: SecretStr = SecretStr("datawave")
    stack_dir: Path = Field(default_factory=_default_stack_dir)
    cache_dir: Path = Path.home() / ".cache" / "datawave"
    # Where GraphiQL's files come from on first use in development (app/graphiql.py).
    npm_registry: str = "https://registry.npmjs.org"
    # Introspection and "did you mean" hints in GraphQL errors (both name fields a caller may
    # not know); unset: on in development, off in production.
    introspection: bool | None = None
    suggestions: bool | None = None
    # Relay datawave.changes.v1 to the cache, live subscribers and search (live/relay.py).
    relay_changes: bool = True
    # Re-evaluate the compliance of changed columns as the changes arrive (governance/watch.py).
    watch_compliance: bool = True
    # Re-check data contracts for drift when their output ports change (mesh/watch.py).
    watch_contracts: bool = True
    # A critical finding open this long is escalated (datawave.compliance.escalation.v1).
    escalate_after_h: float = Field(24.0, gt=0, le=24 * 365)
    dependency_timeout_s: float = Field(2.0, gt=0, le=60)
    # How long /readyz and serverInfo reuse a round of probes that found all up (live/health.py).
    dependency_cache_s: float = Field(1.0, ge=0, le=60)
    # Live subscriptions: events a client may fall behind before it is disconnected (4008).
    subscription_queue_size: int = Field(256, ge=1, le=100_000)
    # Redis read-through cache of asset details and lineage (live/cache.py); 0 turns it off.
    cache_ttl_s: int = Field(300, ge=0, le=3600)
    # Root fields read what their selection asks for whole and skip per-field resolvers
    # (resolvers/executor.py); false resolves field by field, as tests and bench/graphql.py
    # compare.
    compiled_reads: bool = True

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, v: str) -> str:
        if not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"expected redis://host:port/db, got {v!r}")
        return v

    @field_validator("opensearch_url", "opa_url", "npm_registry")
    @classmethod
    def _http_scheme(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"expected http(s)://host:port, got {v!r}")
        return v.rstrip("/")

    @property  # not cached: model_copy(update={"mode": ...}) would copy a stale answer
    def development(self) -> bool:
        return self.mode is Mode.DEVELOPMENT

    @property
    def introspection_on(self) -> bool:
        return self.development if self.introspection is None else self.introspection

    @property
    def suggestions_on(self) -> bool:
        return self.development if self.suggestions is None else self.suggestions


class SettingsError(Exception):
    """Settings are invalid; the message names each variable and the expected form."""


def describe_validation_error(err: ValidationError) -> str:
    lines = ["invalid DataWave settings:"]
    for e in err.errors():
        var = "DATAWAVE_" + "__".join(str(p).upper() for p in e["loc"])
        # A section's whole input may hold secrets (keys, passwords): only values are echoed.
        got = e.get("input")
        lines.append(f"  {var}: {e['msg']}" + ("" if isinstance(got, dict) else f" (got {got!r})"))
    return "\n".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's error into one readable message.

    Production refuses development-only security settings (e.g. the default HS256 secret).
    """
    try:
        settings = Settings(**overrides)
    except ValidationError as err:
        raise SettingsError(describe_validation_error(err)) from err
    problems = (
        settings.auth.production_problems()
        + settings.masking.production_problems()
        + settings.kafka.production_problems()
        + settings.neo4j.production_problems()
    )
    if not settings.development and problems:
        raise SettingsError("refusing to start in production mode:\n  " + "\n  ".join(problems))
    return settings
