"""The clients one API process shares, built in the lifespan and exposed as one frozen object."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from neo4j import AsyncDriver
from opensearchpy import AsyncOpenSearch
from redis.asyncio import BlockingConnectionPool, Redis

from core.sample_cipher import SampleCipher
from core.settings import Settings
from graph.driver import open_driver
from graph.models import bind_models
from ingest.producer import BATCH_BYTES
from live.broadcast import Broadcast, open_broadcast
from live.scans import ScanRunner
from live.shared import Shared
from ml.service import LazyService
from security.audit import AuditSink
from security.auth import TokenVerifier
from security.masking import Masker
from security.ratelimit import RateLimiter


@dataclass(frozen=True)
class AppState:
    settings: Settings
    neo4j: AsyncDriver
    redis: Redis
    opensearch: AsyncOpenSearch
    kafka_admin: AIOKafkaAdminClient
    producer: AIOKafkaProducer
    broadcast: Broadcast
    scans: ScanRunner
    # Security: who is calling, how often they may, what they may see, what is recorded.
    verifier: TokenVerifier
    limiter: RateLimiter
    masker: Masker
    audit: AuditSink
    # On-demand classification (the classify mutation), loaded on first use.
    classifier: LazyService
    # Open Policy Agent's REST API (governance/opa.py speaks it).
    opa: httpx.AsyncClient
    # The dependencies' state for /readyz and serverInfo (live/health.py): probed once for
    # concurrent callers, and reused briefly while all are up.
    health: Shared[list[Any]] = field(default_factory=Shared)


# Redis connections per process. A burst beyond them waits for one (up to the dependency
# timeout): redis-py's default pool raises instead, and the rate limiter, which lets requests
# through when Redis fails, stopped limiting during bursts of WebSocket handshakes.
REDIS_CONNECTIONS = 100


def open_redis(settings: Settings) -> Redis:
    """The process's Redis client (cache, rate limits, pub/sub publishing, scans)."""
    timeout = settings.dependency_timeout_s
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=REDIS_CONNECTIONS,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes both


@asynccontextmanager
async def open_state(settings: Settings) -> AsyncIterator[AppState]:
    """Open every client; close them in reverse order whatever happens."""
    timeout = settings.dependency_timeout_s
    async with AsyncExitStack() as stack:
        neo4j = await stack.enter_async_context(
            open_driver(settings.neo4j, connection_timeout=timeout)
        )
        # neomodel's governance entities share this driver (graph/models.py).
        await stack.enter_async_context(bind_models(neo4j, settings.neo4j.database))
        redis = open_redis(settings)
        stack.push_async_callback(redis.aclose)
        opensearch = AsyncOpenSearch(hosts=[settings.opensearch_url], timeout=timeout)
        stack.push_async_callback(opensearch.close)
        admin = AIOKafkaAdminClient(
            **settings.kafka.client_options(),
            client_id=f"{settings.kafka.client_id}-admin",
            request_timeout_ms=int(timeout * 1000),
        )
        await admin.start()
        stack.push_async_callback(admin.close)
        # POST /api/v1/lineage/batch: many events a batch
        producer = AIOKafkaProducer(**settings.kafka.producer_options(BATCH_BYTES))
        await producer.start()
        stack.push_async_callback(producer.stop)
        broadcast = await stack.enter_async_context(
            open_broadcast(settings.redis_url, settings.subscription_queue_size)
        )
        opa = await stack.enter_async_context(
            httpx.AsyncClient(base_url=settings.opa_url, timeout=timeout)
        )
        scans = ScanRunner(settings, neo4j, redis)
        stack.push_async_callback(scans.close)
        audit = AuditSink(neo4j, settings.neo4j.database, producer)
        stack.push_async_callback(audit.drain)  # before the clients it writes with close
        yield AppState(
            settings,
            neo4j,
            redis,
            opensearch,
            admin,
            producer,
            broadcast,
            scans,
            verifier=TokenVerifier(settings.auth),
            limiter=RateLimiter(
                redis, settings.rate_limit.capacity, settings.rate_limit.refill_per_s
            ),
            masker=Masker(settings.masking),
            audit=audit,
            classifier=LazyService(
                neo4j, settings.neo4j.database, SampleCipher.from_settings(settings.kafka)
            ),
            opa=opa,
        )
