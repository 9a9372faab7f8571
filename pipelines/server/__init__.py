"""``pipelines serve`` (a surface): the HTTP API, live event streams, ``/metrics`` and the dashboard.

:class:`Server` serves one run store on a loopback address by default
(elsewhere only with a token); the pipelines given to it are hosted: started
and stopped through the API or the page. See docs/server.md and
docs/dashboard.md.
"""

from __future__ import annotations

from .hosting import HostedPipeline, load_hosted
from .metrics import MetricSet
from .security import BindError, check_binding
from .service import DEFAULT_HOST, DEFAULT_PORT, Server

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "BindError",
    "HostedPipeline",
    "MetricSet",
    "Server",
    "check_binding",
    "load_hosted",
]
