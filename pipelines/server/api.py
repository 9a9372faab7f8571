"""The JSON API's handlers (the names in the responses are the contract: docs/server.md)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..store.db import MAX_LIMIT, StoreError
from ..store.status import RUN_STATUSES, RUNNING
from .diagrams import NoDiagram
from .feeds import TooManyStreams
from .hosting import Busy
from .metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from .app import ServerState

__all__ = ["ROUTES", "STATE"]

#: The application key of the :class:`~pipelines.server.app.ServerState`.
STATE: web.AppKey[ServerState] = web.AppKey("pipelines_state")

#: Every route of the API (handlers below).
ROUTES = web.RouteTableDef()


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, separators=(",", ":")), status=status, content_type="application/json"
    )


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


def _state(request: web.Request) -> ServerState:
    return request.app[STATE]


def _limit(request: web.Request, default: int) -> int:
    raw = request.query.get("limit")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_LIMIT:
        raise web.HTTPBadRequest(reason=f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return value


@ROUTES.get("/healthz")
async def _healthz(request: web.Request) -> web.Response:
    """``{"status": "ok"}`` while the server runs."""
    return _json({"status": "ok"})


@ROUTES.get("/api/runs")
async def _list_runs(request: web.Request) -> web.Response:
    """``{"runs": [...]}``, newest first; ``?pipeline=&status=&limit=`` (limit 1..1000, default 50)."""
    state = _state(request)
    status = request.query.get("status") or None
    if status is not None and status not in RUN_STATUSES:
        raise web.HTTPBadRequest(reason=f"status must be one of {', '.join(RUN_STATUSES)}")
    pipeline = request.query.get("pipeline") or None
    limit = _limit(request, 50)
    runs = await state.read(lambda store: store.runs(pipeline, status, limit))
    return _json({"runs": [state.run_json(run) for run in runs]})


@ROUTES.get("/api/runs/{id}")
async def _get_run(request: web.Request) -> web.Response:
    """One run with ``nodes``, ``edges`` and ``error``; 404 for an unknown id."""
    data = await _state(request).run_detail(request.match_info["id"])
    if data is None:
        return _error(404, f"no run {request.match_info['id']!r}")
    return _json(data)


@ROUTES.get("/api/runs/{id}/events")
async def _run_events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: ``snapshot`` at least once a second while running, then ``end``."""
    state = _state(request)
    run_id = request.match_info["id"]
    if await state.read(lambda store: store.status_of(run_id)) is None:
        return _error(404, f"no run {run_id!r}")
    try:
        return await state.feeds.stream(request, run_id)
    except TooManyStreams as exc:
        return _error(503, str(exc))


@ROUTES.get("/api/runs/{id}/diagram")
async def _run_diagram(request: web.Request) -> web.Response:
    """``{"svg", "nodes", "edges"}``: the run's diagram and the key the page needs to update it."""
    state = _state(request)
    run_id = request.match_info["id"]
    run = await state.read(lambda store: store.run(run_id))
    if run is None:
        return _error(404, f"no run {run_id!r}")
    try:
        return _json(await state.diagrams.get(run))
    except NoDiagram as exc:
        return _error(503, str(exc))


@ROUTES.get("/api/runs/{id}/logs")
async def _run_logs(request: web.Request) -> web.Response:
    """``{"run_id", "logs", "dropped", "truncated", "limit"}``: the run's saved log records
    numbered above ``?after=`` (default 0), at most ``?limit=`` (1..1000, default 1000)."""
    run_id = request.match_info["id"]
    raw = request.query.get("after") or "0"
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPBadRequest(reason="after must be a record number (0 or more)")
    after = int(raw)
    limit = _limit(request, MAX_LIMIT)
    saved = await _state(request).read(lambda store: store.logs(run_id, after, limit))
    if saved is None:
        return _error(404, f"no run {run_id!r}")
    return _json(saved.as_json())


@ROUTES.post("/api/runs/{id}/stop")
async def _stop_run(request: web.Request) -> web.Response:
    """Stop a run this server hosts (``?mode=drain``, the default, or ``?mode=cancel``): 202;
    400 another mode; 404 unknown; 409 not hosted here or already ended."""
    state = _state(request)
    run_id = request.match_info["id"]
    mode = request.query.get("mode", "drain")
    if mode not in ("drain", "cancel"):
        return _error(400, f"mode must be drain or cancel, not {mode[:40]!r}")
    status = await state.read(lambda store: store.status_of(run_id))
    if status is None:
        return _error(404, f"no run {run_id!r}")
    if status != RUNNING:
        return _error(409, f"run {run_id} already ended ({status})")
    if not state.host.stop(run_id, drain=mode == "drain"):
        return _error(409, f"run {run_id} is not hosted by this server")
    return _json({"id": run_id, "status": "stopping", "mode": mode}, 202)


@ROUTES.get("/api/workers")
async def _list_workers(request: web.Request) -> web.Response:
    """``{"workers": [...]}``: online first, then by latest heartbeat (``?limit=``, default 100)."""
    limit = _limit(request, 100)
    workers = await _state(request).read(lambda store: store.workers(limit))
    return _json({"workers": [worker.as_json() for worker in workers]})


@ROUTES.get("/api/pipelines")
async def _list_pipelines(request: web.Request) -> web.Response:
    """``{"pipelines": [...]}``: the pipelines this server hosts, with their live runs."""
    host = _state(request).host
    return _json(
        {
            "pipelines": [
                {**hosted.as_json(), "active_runs": host.active(name)}
                for name, hosted in host.pipelines.items()
            ]
        }
    )


@ROUTES.post("/api/pipelines/{name}/runs")
async def _start_run(request: web.Request) -> web.Response:
    """Start a run of a hosted pipeline: 201 ``{"id", "pipeline", "status"}``; 404; 429 when busy."""
    state = _state(request)
    name = request.match_info["name"]
    if name not in state.host.pipelines:
        return _error(404, f"this server hosts no pipeline {name!r}")
    body = await request.read()
    if body.strip() not in (b"", b"{}"):
        return _error(400, "a hosted run takes no parameters: send no body, or {}")
    try:
        run_id = await state.host.start(name)
    except Busy as exc:
        return _error(429, str(exc))
    except StoreError as exc:
        return _error(503, f"the run could not be recorded, so it was not started: {exc}")
    return _json({"id": run_id, "pipeline": name, "status": RUNNING}, 201)


@ROUTES.get("/metrics")
async def _metrics(request: web.Request) -> web.Response:
    """Prometheus text format (see :mod:`pipelines.server.metrics`)."""
    state = _state(request)
    await state.read(lambda store: state.metrics_feed.refresh())
    body = state.metrics_feed.metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
