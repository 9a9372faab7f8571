"""The schedules' part of the JSON API: ``GET /api/schedules``, ``GET /api/schedules/{name}``,
and ``POST /api/schedules/{name}/pause`` and ``/resume``.

Each schedule comes with its next occurrence, its latest outcome, its last
run and its ``recent`` occurrences (started, queued, skipped with a reason,
late), as the store keeps them; ``hosted`` says whether this server runs it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..store import Store
from ..store import schedules as book
from ..store.db import MAX_LIMIT
from ..store.schedule_records import ScheduleRecord
from .api import STATE

if TYPE_CHECKING:
    from .app import ServerState

__all__ = ["SCHEDULE_ROUTES"]

#: The routes of this module.
SCHEDULE_ROUTES = web.RouteTableDef()


def _state(request: web.Request) -> ServerState:
    return request.app[STATE]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, separators=(",", ":")), status=status, content_type="application/json"
    )


def _recent(request: web.Request, default: int) -> int:
    raw = request.query.get("recent")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_LIMIT:
        raise web.HTTPBadRequest(reason=f"recent must be a whole number from 0 to {MAX_LIMIT}")
    return value


def _hosted(state: ServerState, data: dict[str, Any]) -> dict[str, Any]:
    scheduler = state.scheduler
    data["hosted"] = scheduler is not None and data["name"] in scheduler.entries
    return data


@SCHEDULE_ROUTES.get("/api/schedules")
async def _list_schedules(request: web.Request) -> web.Response:
    """``{"schedules": [...]}`` by name, each with its ``recent`` occurrences (``?recent=``,
    default 5)."""
    state = _state(request)
    recent = _recent(request, 5)
    found = await state.read(lambda store: book.list_records(store.connection(), recent))
    return _json({"schedules": [_hosted(state, record.as_json()) for record in found]})


@SCHEDULE_ROUTES.get("/api/schedules/{name}")
async def _get_schedule(request: web.Request) -> web.Response:
    """One schedule with its ``recent`` occurrences (``?recent=``, default 50); 404 if unknown."""
    state = _state(request)
    name = request.match_info["name"]
    recent = _recent(request, 50)
    record = await state.read(lambda store: book.record(store.connection(), name, recent))
    if record is None:
        return _json({"error": f"no schedule {name!r}"}, 404)
    return _json(_hosted(state, record.as_json()))


def _set_paused(store: Store, name: str, paused: bool) -> ScheduleRecord | None:
    with store.transaction() as conn:
        if book.set_paused(conn, name, paused, store.clock.time()) is None:
            return None
    return book.record(store.connection(), name, 0)


async def _pause_or_resume(request: web.Request, paused: bool) -> web.Response:
    state = _state(request)
    name = request.match_info["name"]
    record = await state.read(lambda store: _set_paused(store, name, paused))
    if record is None:
        return _json({"error": f"no schedule {name!r}"}, 404)
    return _json(_hosted(state, record.as_json()))


@SCHEDULE_ROUTES.post("/api/schedules/{name}/pause")
async def _pause(request: web.Request) -> web.Response:
    """Pause a schedule (its occurrences are skipped as ``paused``): 200 with the schedule;
    404 if unknown. Pausing a paused schedule changes nothing."""
    return await _pause_or_resume(request, True)


@SCHEDULE_ROUTES.post("/api/schedules/{name}/resume")
async def _resume(request: web.Request) -> web.Response:
    """Resume a schedule: 200 with the schedule; 404 if unknown."""
    return await _pause_or_resume(request, False)
