"""Distributed runs: the same spec with its links on Redis Streams, workers anywhere.

``pipelines run SPEC --redis URL`` (or ``transport: {redis: URL}`` in the
spec) makes ``Plumber.run()`` hand the run to a :class:`Coordinator`; each
``pipelines worker SPEC --redis URL`` process is a :class:`Worker` that
serves the spec's nodes for every run of it. Delivery is at least once and
nothing is lost: each step hands its results on and acknowledges its inputs
in one atomic script, dead workers' entries are taken over, links are
bounded by their capacity. See docs/distributed.md.

Modules: ``keys`` (names in Redis), ``topology`` (links per plan),
``seqs`` (sequence numbers), ``codec`` (json / pickle), ``scripts`` (the Lua
steps), ``connection``, ``entries``, ``batch`` (calling a node's function on
a batch), ``consume`` / ``handoff`` / ``join`` (a replica's loops),
``ending`` (end of stream), ``replica``, ``runserver``, ``worker``,
``heartbeat``, ``senders`` (sources), ``monitor`` and ``coordinator``.
"""

from __future__ import annotations

from .context import current_item_id
from .coordinator import Coordinator
from .heartbeat import list_workers
from .worker import Worker

__all__ = ["Coordinator", "Worker", "current_item_id", "list_workers"]
