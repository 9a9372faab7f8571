"""The store's tables, and the migrations that build them.

The schema version is SQLite's ``PRAGMA user_version``. :data:`MIGRATIONS`
is an append-only list: migration ``i`` (1-based) takes a database from
version ``i - 1`` to ``i``. A later feature adds its tables as the next
migration; a database made by a newer pipelines (a higher version than the
list knows) is refused rather than misread. Each migration after the first
stands on its own (it needs only the first one's tables), so features
developed side by side can be appended in either order.

Times are epoch seconds (UTC, REAL); the API turns them into ISO 8601.
Statuses are plain text (see :mod:`.status`), so a new status needs no
migration.
"""

from __future__ import annotations

import sqlite3

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SchemaTooNew", "migrate"]

_V1 = """
CREATE TABLE workers (
    id               TEXT PRIMARY KEY,   -- one registration of one process
    name             TEXT NOT NULL,      -- --worker-name, default host:pid
    version          TEXT,               -- the spec's version (serve: name@version, ...)
    kind             TEXT NOT NULL,      -- run | serve | python
    host             TEXT NOT NULL,
    pid              INTEGER NOT NULL,
    pipelines_version TEXT NOT NULL,
    started_at       REAL NOT NULL,
    last_heartbeat   REAL NOT NULL,
    heartbeat_period REAL NOT NULL,      -- the period this worker promised
    status           TEXT NOT NULL,      -- online | offline
    offline_at       REAL
);
CREATE INDEX workers_liveness ON workers (status, last_heartbeat);

CREATE TABLE runs (
    id            TEXT PRIMARY KEY,
    pipeline      TEXT NOT NULL,
    status        TEXT NOT NULL,
    trigger       TEXT NOT NULL,         -- cli | api | python (later: schedule)
    worker_id     TEXT REFERENCES workers (id),
    started_at    REAL NOT NULL,
    ended_at      REAL,
    duration      REAL,
    updated_at    REAL NOT NULL,         -- last figures written
    progress_at   REAL NOT NULL,         -- last time an item moved (for stall watchdogs)
    noticed_at    REAL,                  -- when its worker was found offline (crashed)
    spec          TEXT,                  -- the spec as loaded, JSON (NULL when too large)
    spec_hash     TEXT NOT NULL,
    spec_path     TEXT,
    version       TEXT,                  -- the spec's version
    parameters    TEXT NOT NULL,         -- the --set values, JSON
    graph         TEXT,                  -- what diagrams need (store/graph.py), JSON
    items_in      INTEGER NOT NULL DEFAULT 0,
    items_out     INTEGER NOT NULL DEFAULT 0,
    error_node    TEXT,
    error_item    TEXT,
    error_type    TEXT,
    error_message TEXT
);
CREATE INDEX runs_by_start ON runs (started_at);
CREATE INDEX runs_by_pipeline ON runs (pipeline, started_at);
CREATE INDEX runs_by_status ON runs (status, worker_id);
CREATE INDEX runs_by_update ON runs (updated_at);

CREATE TABLE run_nodes (
    run_id         TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    node           TEXT NOT NULL,
    position       INTEGER NOT NULL,
    kind           TEXT NOT NULL,        -- source | transform | sink
    state          TEXT NOT NULL,        -- waiting | running | done | failed | stopped
    received       INTEGER NOT NULL DEFAULT 0,
    emitted        INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    retried        INTEGER NOT NULL DEFAULT 0,
    dropped        INTEGER NOT NULL DEFAULT 0,
    peak_depth     INTEGER NOT NULL DEFAULT 0,
    peak_in_flight INTEGER NOT NULL DEFAULT 0,
    depth          INTEGER NOT NULL DEFAULT 0,
    busy           REAL,
    latency_p50    REAL,
    latency_p95    REAL,
    latency_max    REAL,
    duration       REAL,
    last_error     TEXT,
    PRIMARY KEY (run_id, node)
) WITHOUT ROWID;

CREATE TABLE run_edges (
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    source     TEXT NOT NULL,
    target     TEXT NOT NULL,
    position   INTEGER NOT NULL,
    kind       TEXT NOT NULL,            -- data | dead_letter
    capacity   INTEGER NOT NULL,         -- 0: unbounded
    depth      INTEGER NOT NULL DEFAULT 0,
    peak_depth INTEGER NOT NULL DEFAULT 0,
    dropped    INTEGER NOT NULL DEFAULT 0,   -- items its overflow policy dropped
    PRIMARY KEY (run_id, source, target)
) WITHOUT ROWID;
"""

# Run logs (pipelines/store/logs.py): the records of get_run_logger() saved with
# their run, and per run how many were dropped past the limit or cut. Only
# needs the runs table of the first migration.
_RUN_LOGS = """
CREATE TABLE IF NOT EXISTS run_logs (
    run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,                -- 1, 2, ... in the order they were logged
    time    REAL NOT NULL,                   -- when it was logged
    level   TEXT NOT NULL,                   -- INFO, WARNING, ERROR, CRITICAL
    node    TEXT,                            -- the node that logged it (NULL: the run)
    message TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS run_log_counts (
    run_id    TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    dropped   INTEGER NOT NULL DEFAULT 0,    -- records past the limit per run, not saved
    truncated INTEGER NOT NULL DEFAULT 0     -- messages cut to the longest kept
) WITHOUT ROWID;
"""

# Schedules (docs/schedules.md): the schedules' cursors, every occurrence's fate,
# and the links between the cycles of a run. Self-contained: it only adds
# columns to `runs` and tables of its own.
_SCHEDULES = """
ALTER TABLE runs ADD COLUMN cycle_of TEXT;     -- the first run of its cycles (cycle: times/until/forever)
ALTER TABLE runs ADD COLUMN cycle INTEGER;     -- its place among them, from 1
CREATE INDEX runs_by_cycle ON runs (cycle_of, cycle);

CREATE TABLE schedules (
    name        TEXT PRIMARY KEY,        -- the pipeline's name
    definition  TEXT NOT NULL,           -- the schedule and watchdog limits as validated, JSON
    description TEXT NOT NULL,           -- every 60 s | cron 30 1 * * * (Europe/Madrid)
    spec_hash   TEXT NOT NULL,           -- of the spec its runs run
    enabled     INTEGER NOT NULL,
    cursor      REAL NOT NULL,           -- every occurrence up to this time is accounted for
    next_at     REAL,                    -- its next occurrence after cursor
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    worker_id   TEXT                     -- the worker that last took its occurrences
);

CREATE TABLE occurrences (
    schedule   TEXT NOT NULL REFERENCES schedules (name) ON DELETE CASCADE,
    due_at     REAL NOT NULL,            -- the occurrence's time (the first of a range of skips)
    last_due   REAL NOT NULL,            -- the last occurrence of the range (= due_at for one)
    count      INTEGER,                  -- occurrences in the range (NULL: too many to count)
    fate       TEXT NOT NULL,            -- queued | started | skipped | late
    reason     TEXT,                     -- why skipped: overlap, catchup, disabled...
    run_id     TEXT,                     -- started or late: its run
    worker_id  TEXT,                     -- the worker that decided its fate
    decided_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (schedule, due_at)       -- an occurrence is claimed once, by one process
) WITHOUT ROWID;
CREATE INDEX occurrences_by_fate ON occurrences (schedule, fate, due_at);
"""

# Pausing a schedule (`pipelines schedules pause`): kept apart from `enabled`,
# which the spec sets again whenever a server registers the schedule.
_PAUSES = """
ALTER TABLE schedules ADD COLUMN paused_at REAL;  -- when it was paused (NULL: not paused)
"""

#: Migration ``i`` (1-based) takes the schema from version ``i - 1`` to ``i``.
#: Append only; never edit a released one.
MIGRATIONS: tuple[str, ...] = (_V1, _RUN_LOGS, _SCHEDULES, _PAUSES)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(Exception):
    """The database was made by a newer pipelines than this one."""


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database up to :data:`SCHEMA_VERSION`; return the version it had.

    Runs in one ``BEGIN IMMEDIATE`` transaction, so two processes opening a
    new store at once do not both create it: the second sees the version the
    first wrote.
    """
    (found,) = conn.execute("PRAGMA user_version").fetchone()
    if found == SCHEMA_VERSION:
        return int(found)
    conn.execute("BEGIN IMMEDIATE")
    try:
        (found,) = conn.execute("PRAGMA user_version").fetchone()
        if found > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the store has schema version {found}, newer than this pipelines knows "
                f"({SCHEMA_VERSION}): upgrade pipelines or use another --store"
            )
        for script in MIGRATIONS[found:]:
            # executescript would commit the open transaction: run statement by statement.
            for statement in _statements(script):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return int(found)


def _statements(script: str) -> list[str]:
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
