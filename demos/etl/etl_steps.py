"""The ETL demo's node functions and its resource (declared in ``etl.yaml``).

``customer_api`` is a run resource: the flaky API (:mod:`etl_api`) starts
before any node and stops after the last one has finished, also when the run
fails, is stopped or cancelled, so every record sent on can still be
fetched during a graceful stop. ``customer_ids`` (source) yields the ids the
API lists; ``extract_customer`` fetches each record (the node's ``retries``
and ``concurrency`` ride out the injected 503s); ``transform`` cleans a
record; ``load`` writes it to SQLite.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from etl_api import CustomerApi

from pipelines import Context

__all__ = ["customer_api", "customer_ids", "extract_customer", "load", "transform"]

_FRESH_KEY = "etl.fresh_tables"  # in the run's context: database files this run has replaced

SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    country TEXT NOT NULL,
    balance REAL NOT NULL,
    signup_year INTEGER NOT NULL
)
"""


def customer_api(
    count: int = 40, failure_rate: float = 0.3, seed: int = 7, latency: float = 0.005
) -> CustomerApi:
    """The run resource ``api``: the flaky API on a free loopback port (an async context manager)."""
    return CustomerApi(count=count, failure_rate=failure_rate, seed=seed, latency=latency)


async def customer_ids(api: CustomerApi) -> AsyncIterator[int]:
    """Yield every customer id the API lists."""
    for customer_id in await api.list_ids():
        yield customer_id


async def extract_customer(customer_id: int, api: CustomerApi) -> dict[str, Any]:
    """Fetch one raw record; an HTTP 503 raises, and the node's ``retries`` try again."""
    return await api.get_customer(customer_id)


def transform(record: dict[str, Any]) -> dict[str, Any]:
    """Clean one record: tidy name, lower-case email, upper-case country, cents to units."""
    return {
        "id": int(record["id"]),
        "name": " ".join(record["name"].split()).title(),
        "email": record["email"].strip().lower(),
        "country": record["country"].strip().upper(),
        "balance": round(record["balance_cents"] / 100, 2),
        "signup_year": int(record["signup"][:4]),
    }


def load(record: dict[str, Any], *, db_path: str, context: Context) -> int:
    """Insert one record into ``customers`` in the SQLite file ``db_path``; return its id.

    The first call of a run replaces the table (each run loads a fresh
    snapshot), so a record loaded twice fails on the primary key. Which
    files this run has replaced is kept in the run's shared context. A plain
    ``def``: the engine runs it in a thread, off the event loop.
    """
    path = Path(db_path).resolve()
    with contextlib.closing(sqlite3.connect(path)) as db:
        with context:  # the context's thread lock: one thread replaces the table
            fresh: set[Path] = context.setdefault(_FRESH_KEY, set())
            if path not in fresh:
                with db:
                    db.execute("DROP TABLE IF EXISTS customers")
                    db.execute(SCHEMA)
                fresh.add(path)
        with db:
            db.execute(
                "INSERT INTO customers (id, name, email, country, balance, signup_year) "
                "VALUES (:id, :name, :email, :country, :balance, :signup_year)",
                record,
            )
    return int(record["id"])
