"""The functions of the workflow demo (orders.yaml and pricing.yaml)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from typing import Any

from pipelines import Context, RunResult, get_run_logger

__all__ = ["add_tax", "log_saved", "net_price", "open_db", "orders", "report", "save"]

PRODUCTS = {"tea": 3.5, "cake": 4.25, "juice": 2.8}


async def orders(count: int = 12) -> AsyncIterator[dict[str, Any]]:
    """A day of orders: id, product and quantity (the same every run)."""
    names = sorted(PRODUCTS)
    for i in range(count):
        yield {"id": i + 1, "product": names[i % len(names)], "quantity": 1 + i % 4}


async def net_price(order: dict[str, Any]) -> dict[str, Any]:
    """Quantity times unit price."""
    return {**order, "net": round(order["quantity"] * PRODUCTS[order["product"]], 2)}


async def add_tax(order: dict[str, Any], context: Context) -> dict[str, Any]:
    """Add the tax at the rate the shared context holds."""
    return {**order, "total": round(order["net"] * (1 + context["tax_rate"]), 2)}


@contextlib.contextmanager
def open_db(path: str = ":memory:") -> Iterator[sqlite3.Connection]:
    """A SQLite database for the run: one table, closed when the run ends."""
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, total REAL NOT NULL)")
    try:
        yield db
    finally:
        db.close()


async def save(order: dict[str, Any], db: sqlite3.Connection, context: Context) -> int:
    """Write one order into the run's database; count it in the shared context."""
    with db:
        db.execute("INSERT INTO orders (id, total) VALUES (?, ?)", (order["id"], order["total"]))
    async with context as ctx:  # a read-modify-write: hold the context's lock
        ctx["saved"] += 1
    return int(order["id"])


def log_saved(order: dict[str, Any], order_id: int) -> None:
    """Hook after each save: one run-log record."""
    get_run_logger().info("saved order %s (%.2f)", order_id, order["total"])


def report(result: RunResult) -> None:
    """Run hook: one line when the run has ended."""
    saved = result.stats["save"].emitted
    get_run_logger().info("%s orders saved in %.3f s", saved, result.duration)
