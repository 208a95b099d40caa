"""Source databases of a test's own on the local PostgreSQL, created empty and dropped after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


@asynccontextmanager
async def postgres_database(password: str, name: str) -> AsyncIterator[asyncpg.Connection]:
    """A new database ``name``, connected as ``datawave``; dropped afterwards, whoever is still
    connected to it (a connector's pool, a test's connection)."""
    login = {"host": "127.0.0.1", "user": "datawave", "password": password}
    admin = await asyncpg.connect(**login, database="postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            conn = await asyncpg.connect(**login, database=name)
            try:
                yield conn
            finally:
                await conn.close()
        finally:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()
