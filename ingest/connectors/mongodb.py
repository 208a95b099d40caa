"""MongoDB (and FerretDB) through pymongo's native async client.

A database has one schema of its name; each collection's fields are inferred from its first
``sample_documents`` documents (``find().limit()``: FerretDB has no ``$sample``), which also
give the profiles. Views and system collections are not listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from core.events import Index, TableDiscovered
from core.sources import TlsMode
from core.urns import schema_urn
from ingest.connectors.base import (
    Connector,
    ConnectorError,
    Failure,
    ServerInfo,
    bounded_count,
    registry,
)
from ingest.connectors.documents import infer_columns

SYSTEM_DATABASES = ("admin", "config", "local")
AUTHENTICATION_FAILED = 18  # the server's error code for a login it refused


@dataclass(frozen=True)
class CollectionSpec:
    name: str


# SCRAM is negotiated, so the password itself never goes over the wire, TLS or not.
TLS_OPTIONS: dict[TlsMode, dict[str, bool]] = {
    TlsMode.DISABLE: {"tls": False},
    TlsMode.REQUIRE: {"tls": True, "tlsInsecure": True},
    TlsMode.VERIFY: {"tls": True},
}


@registry.register("mongodb")
class MongoConnector(Connector[CollectionSpec]):
    source_errors = (PyMongoError,)
    standard_port = 27017

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._mongo: AsyncMongoClient[dict[str, Any]] | None = None

    def _failure(self, err: BaseException) -> Failure | None:
        if isinstance(err, OperationFailure) and err.code == AUTHENTICATION_FAILED:
            return Failure.AUTHENTICATION
        if isinstance(err, ConnectionFailure):  # no server selected in time: none answered
            return Failure.UNREACHABLE
        if isinstance(err, PyMongoError) and err.timeout:
            return Failure.TIMEOUT
        return None

    async def client(self) -> AsyncMongoClient[dict[str, Any]]:
        """The pooled client, to the pinned address; it connects lazily, so errors surface on
        the first command."""
        if self._mongo is None:
            cfg, pinned = self.config, self.pinned
            timeout_ms = int(cfg.timeout_s * 1000)
            tls = dict(TLS_OPTIONS[cfg.tls])
            try:
                address = await pinned.answering(cfg.timeout_s)
                if cfg.tls is TlsMode.VERIFY and address != cfg.host:
                    # pymongo names the address it connects to in TLS and takes no context
                    # of ours: the host's name is verified here, the chain on every connection.
                    await pinned.verify_certificate(address, cfg.timeout_s)
                    tls["tlsAllowInvalidHostnames"] = True
            except (OSError, TimeoutError) as err:
                raise ConnectorError(f"cannot connect to {cfg.target}: {err}") from err
            try:
                self._mongo = AsyncMongoClient(
                    host=f"[{address}]" if ":" in address else address,  # IPv6 in brackets
                    port=cfg.port,
                    username=cfg.user,
                    password=self.password() if cfg.user else None,
                    maxPoolSize=cfg.pool_size,
                    serverSelectionTimeoutMS=timeout_ms,
                    connectTimeoutMS=timeout_ms,
                    timeoutMS=timeout_ms,
                    directConnection=True,
                    **tls,
                    appname="datawave",
                )
            except PyMongoError as err:
                raise ConnectorError(f"cannot configure {cfg.target}: {err}") from err
        return self._mongo

    async def close(self) -> None:
        if self._mongo is not None:
            await self._mongo.close()
            self._mongo = None

    async def _server(self) -> ServerInfo:
        client = await self.client()
        info = await client.server_info()
        version = info["version"]
        if "ferretdbVersion" in info:
            version += f" (FerretDB {info['ferretdbVersion']})"
        names = await client.list_database_names()
        return ServerInfo(version, [n for n in names if n not in SYSTEM_DATABASES])

    async def _collections(self, database: str) -> list[str]:
        cursor = await (await self.client())[database].list_collections()
        names = [c["name"] async for c in cursor if c.get("type", "collection") == "collection"]
        return sorted(n for n in names if not n.startswith("system."))

    async def _counts(self, databases: list[str]) -> dict[str, int]:
        total = sum([len(await self._collections(d)) for d in databases])
        return {"schemas": len(databases), "collections": total}

    async def _listing(self, database: str) -> dict[str, list[CollectionSpec]]:
        return {database: [CollectionSpec(n) for n in await self._collections(database)]}

    async def _describe(self, database: str, schema: str, spec: CollectionSpec) -> TableDiscovered:
        cfg = self.config
        db = (await self.client())[database]
        collection = db[spec.name]
        docs = await collection.find({}, limit=cfg.sample_documents).to_list()
        row_count: int | None = len(docs)
        exact = True
        if len(docs) >= cfg.sample_documents:

            async def count_upto(limit: int) -> int:
                return await collection.count_documents({}, limit=limit)

            estimate = await collection.estimated_document_count()
            row_count, exact = await bounded_count(cfg.exact_count_limit, count_upto, estimate)
        stats = await db.command("collStats", spec.name)
        indexes = [
            Index(
                name=ix["name"],
                columns=list(ix["key"]),
                unique=bool(ix.get("unique")) or ix["name"] == "_id_",  # _id is always unique
            )
            async for ix in await collection.list_indexes()
        ]
        return TableDiscovered(
            name=spec.name,
            kind="collection",
            schema_urn=schema_urn(cfg.name, database, schema),
            row_count=row_count,
            row_count_exact=exact,
            size_bytes=stats.get("totalSize", stats.get("size")),
            columns=infer_columns(docs, cfg.sample_size),
            primary_key=["_id"],
            indexes=indexes,
        )
