"""The aiohttp application: the API, the event streams, ``/metrics`` and the dashboard's files."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from ..schedule.scheduler import Scheduler
from ..store.db import Store
from ..store.records import RunRecord
from .api import ROUTES, STATE
from .diagrams import Diagrams
from .feeds import RunFeeds
from .hosting import Host
from .metrics import StoreFeed
from .schedules_api import SCHEDULE_ROUTES
from .security import security_middleware

__all__ = ["MAX_BODY", "STATIC", "ServerState", "make_app"]

log = logging.getLogger("pipelines")

#: The dashboard's files (HTML, CSS, JS), shipped with the package.
STATIC = Path(__file__).resolve().parent / "static"
#: Largest request body accepted (bytes).
MAX_BODY = 64 * 1024

_T = TypeVar("_T")


@dataclass
class ServerState:
    """What the handlers share: the store (read on ``executor``), the host, feeds, diagrams, metrics."""

    store: Store
    executor: concurrent.futures.Executor
    host: Host
    feeds: RunFeeds
    diagrams: Diagrams
    metrics_feed: StoreFeed
    #: The schedules this server runs (None: none).
    scheduler: Scheduler | None = None

    async def read(self, query: Callable[[Store], _T]) -> _T:
        """Run ``query(store)`` on the read threads (SQLite calls block)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, query, self.store)

    def run_json(self, run: RunRecord, detail: bool = False) -> dict[str, Any]:
        """A run's API form, saying whether this server hosts it (and so can stop it)."""
        data = run.as_json(detail)
        data["hosted"] = self.host.hosts(run.id)
        return data

    async def run_detail(self, run_id: str) -> dict[str, Any] | None:
        """``GET /api/runs/{id}``'s body, or None for an unknown run."""
        run = await self.read(lambda store: store.run(run_id))
        return None if run is None else self.run_json(run, detail=True)


@web.middleware
async def _errors_as_json(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """API errors are JSON ``{"error": message}``, never an HTML page or a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        return web.Response(
            status=exc.status,
            text=json.dumps({"error": exc.reason}),
            content_type="application/json",
        )
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("pipelines: %s %s failed", request.method, request.path)
        return web.Response(
            status=500,
            text=json.dumps({"error": "internal error"}),
            content_type="application/json",
        )


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def _run_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "run.html")


def make_app(state: ServerState, token: str | None) -> web.Application:
    """The application: every route of docs/server.md, behind :mod:`.security`'s rules."""
    app = web.Application(
        client_max_size=MAX_BODY, middlewares=[security_middleware(token), _errors_as_json]
    )
    app[STATE] = state
    app.add_routes(ROUTES)
    app.add_routes(SCHEDULE_ROUTES)
    app.router.add_get("/", _index)
    app.router.add_get("/runs/{id}", _run_page)
    app.router.add_static("/static/", STATIC, show_index=False, follow_symlinks=False)
    return app
