"""The spec layer: a dict or a YAML/JSON/TOML file -> a validated :class:`GraphSpec`.

Nothing here knows about running a graph. Every problem is reported with the
dotted path of its key (``nodes.rev.coro``), all problems together.
"""

from __future__ import annotations

from .calling import Shape, Signature, classify
from .loader import load_file
from .model import GraphSpec, NodeSpec
from .options import DEFAULT_QUEUE_SIZE, OPTIONS, NodeOptions, Option
from .overrides import apply_overrides
from .parse import collect_spec
from .transport import TransportSpec, spec_fingerprint

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "OPTIONS",
    "GraphSpec",
    "NodeOptions",
    "NodeSpec",
    "Option",
    "Shape",
    "Signature",
    "TransportSpec",
    "apply_overrides",
    "classify",
    "collect_spec",
    "load_file",
    "spec_fingerprint",
]
