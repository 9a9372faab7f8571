"""The ETL demo's node functions (declared in ``etl.yaml``).

``customer_ids`` (source) starts the flaky API (:mod:`etl_api`), shares it
with the other nodes through ``processor.env_vars`` and yields the customer
ids; ``extract_customer`` fetches each record (the node's ``retries`` and
``concurrency`` ride out the injected 503s); ``transform`` cleans a record;
``load`` writes it to SQLite. The API lives exactly as long as the source:
after its last id the source waits until extraction has settled every
record, and stops the API on its way out, also when the run fails or is
cancelled. A graceful stop (``processor.stop_requested``) first lets the
records already sent on settle.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from etl_api import CustomerApi

from pipelines import Processor

__all__ = ["API_KEY", "customer_ids", "extract_customer", "load", "transform"]

#: Where the source puts the running :class:`~etl_api.CustomerApi` in ``env_vars``.
API_KEY = "etl.api"
_SCHEMA_KEY = "etl.fresh_tables"  # database files whose table this run has replaced
_schema_lock = threading.Lock()

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


async def customer_ids(
    *,
    processor: Processor,
    count: int = 40,
    failure_rate: float = 0.3,
    seed: int = 7,
    latency: float = 0.005,
) -> AsyncIterator[int]:
    """Start the API, yield every customer id it lists, stop the API once extraction is done."""
    api = CustomerApi(count=count, failure_rate=failure_rate, seed=seed, latency=latency)
    await api.start()
    try:
        processor.env_vars[API_KEY] = api
        processor.env_vars[_SCHEMA_KEY] = set()  # env_vars outlive a run; this state must not
        for customer_id in await api.list_ids():
            api.settlement.expect(customer_id)
            yield customer_id
        await api.settlement.wait()
    except asyncio.CancelledError:
        if processor.stop_requested:
            # A graceful stop (first Ctrl-C): the ids already sent on are still
            # being extracted downstream, so keep serving them until they settle.
            await api.settlement.wait()
        raise
    finally:
        await api.stop()


async def extract_customer(customer_id: int, *, processor: Processor) -> dict[str, Any]:
    """Fetch one raw record; an HTTP 503 raises, and the node's ``retries`` try again."""
    api: CustomerApi = processor.env_vars[API_KEY]
    with api.settlement.attempt(customer_id, processor.spec.options.retries):
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


def load(record: dict[str, Any], *, db_path: str, processor: Processor) -> int:
    """Insert one record into ``customers`` in the SQLite file ``db_path``; return its id.

    The first call of a run replaces the table (each run loads a fresh
    snapshot), so a record loaded twice fails on the primary key. A plain
    ``def``: the engine runs it in a thread, off the event loop.
    """
    path = Path(db_path).resolve()
    with contextlib.closing(sqlite3.connect(path)) as db:
        with _schema_lock:
            fresh: set[Path] = processor.env_vars.setdefault(_SCHEMA_KEY, set())
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
    return record["id"]
