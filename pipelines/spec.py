"""The spec layer: a dict (or a loaded file) -> a validated :class:`GraphSpec`.

Every problem is collected with the dotted path of its key and reported
together in one :class:`SpecError`; nothing runs before the spec is valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .calling import Shape, Signature, check_args, classify
from .errors import Problem, SpecError
from .options import NodeOptions, parse_defaults, parse_options, unknown_key
from .resolve import ResolveError, resolve_coro

__all__ = ["GraphSpec", "NodeSpec", "collect_spec", "parse_spec"]

TOP_LEVEL_KEYS = ("nodes", "graph", "name", "version", "defaults", "env", "description")
NODE_KEYS = ("coro", "args", "properties")


@dataclass(slots=True)
class NodeSpec:
    """One validated node: its function, bound args, options and neighbours."""

    name: str
    coro: Any
    raw_coro: Any
    args: dict[str, Any]
    options: NodeOptions
    signature: Signature
    outputs: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()  # in the order the sources appear as keys of ``graph``
    dead_letter_from: tuple[str, ...] = ()  # nodes whose failures are routed here

    @property
    def dead_letter(self) -> str | None:
        """The node this node's failures go to, if ``on_error`` names one."""
        on_error = self.options.on_error
        return None if on_error in ("raise", "skip") else on_error

    @property
    def is_source(self) -> bool:
        return not self.inputs and not self.dead_letter_from

    @property
    def kind(self) -> str:
        """``source``, ``transform`` or ``sink``."""
        if self.is_source:
            return "source"
        return "sink" if not self.outputs else "transform"


@dataclass(slots=True)
class GraphSpec:
    """A whole validated spec."""

    nodes: dict[str, NodeSpec]
    name: str | None = None
    version: Any = None
    env: dict[str, Any] = field(default_factory=dict)
    source: str | None = None  # the file it came from, if any


def _as_outputs(value: Any) -> list[Any] | None:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return list(value)
    return None


def parse_spec(
    spec: Any,
    coro_map: Callable[[Any], Any] | None = None,
    base_dir: Path | None = None,
    source: str | None = None,
) -> GraphSpec:
    """Validate ``spec`` fully and return a :class:`GraphSpec`; raise :class:`SpecError`."""
    parsed, problems, _ = collect_spec(spec, coro_map, base_dir, source)
    if problems:
        raise SpecError(problems, source)
    return parsed


def collect_spec(
    spec: Any,
    coro_map: Callable[[Any], Any] | None = None,
    base_dir: Path | None = None,
    source: str | None = None,
) -> tuple[GraphSpec, list[Problem], list[tuple[str, str]]]:
    """Parse ``spec`` and return (what is valid, every problem, every edge named).

    The edges (data and dead-letter routes, between known node names) let the
    plan layer look for cycles even when some nodes have other problems, so
    that all problems are reported at once.
    """
    problems: list[Problem] = []
    edges: list[tuple[str, str]] = []
    if not isinstance(spec, Mapping):
        problem = Problem(
            "", f"a spec must be a mapping with 'nodes' and 'graph', got {type(spec).__name__}"
        )
        return GraphSpec({}, source=source), [problem], edges
    for key in spec:
        if key not in TOP_LEVEL_KEYS:
            problems.append(
                Problem(str(key), f"unknown top-level key (known: {', '.join(TOP_LEVEL_KEYS)})")
            )
    raw_nodes = spec.get("nodes")
    raw_graph = spec.get("graph")
    if not isinstance(raw_nodes, Mapping) or not raw_nodes:
        problems.append(
            Problem("nodes", "missing or empty: a mapping of node name -> node spec is required")
        )
        raw_nodes = {}
    if not isinstance(raw_graph, Mapping):
        problems.append(
            Problem("graph", "missing: a mapping of node name -> list of output nodes is required")
        )
        raw_graph = {}
    defaults = parse_defaults(spec.get("defaults"), problems)
    env = spec.get("env") or {}
    if not isinstance(env, Mapping):
        problems.append(Problem("env", "must be a mapping"))
        env = {}

    # Graph structure: outputs per node, inputs in the order of graph keys.
    outputs: dict[str, list[str]] = {}
    inputs: dict[str, list[str]] = {str(n): [] for n in raw_nodes}
    for src, targets in raw_graph.items():
        src_name = str(src)
        where = f"graph.{src_name}"
        if src_name not in inputs:
            problems.append(Problem(where, f"unknown node {src_name!r} (not a key of nodes)"))
        outs = _as_outputs(targets)
        if outs is None:
            problems.append(
                Problem(
                    where, f"must be a list of node names or null, got {type(targets).__name__}"
                )
            )
            continue
        seen: set[str] = set()
        good: list[str] = []
        for target in outs:
            if not isinstance(target, str):
                problems.append(Problem(where, f"output names must be strings, got {target!r}"))
            elif target not in inputs:
                problems.append(Problem(where, f"unknown node {target!r} (not a key of nodes)"))
            elif target in seen:
                problems.append(Problem(where, f"{target!r} is listed twice"))
            else:
                seen.add(target)
                good.append(target)
                if src_name in inputs:
                    inputs[target].append(src_name)
                    edges.append((src_name, target))
        outputs[src_name] = good
    for name in inputs:
        if raw_graph and name not in raw_graph:
            problems.append(
                Problem(
                    f"graph.{name}",
                    f"node {name!r} is missing from graph (use null or [] for no outputs)",
                )
            )

    # Nodes: options, coro resolution, signatures.
    nodes: dict[str, NodeSpec] = {}
    cache: dict[int, tuple[Any, Signature | str]] = {}
    for raw_name, raw in raw_nodes.items():
        name = str(raw_name)
        path = f"nodes.{name}"
        if not isinstance(raw, Mapping):
            problems.append(
                Problem(path, f"must be a mapping with at least 'coro', got {type(raw).__name__}")
            )
            continue
        for key in raw:
            if key not in NODE_KEYS and key not in NodeOptions.__slots__:
                problems.append(Problem(f"{path}.{key}", unknown_key(str(key))))
        options = parse_options(dict(raw), path, defaults, problems)
        args = raw.get("args") or {}
        if not isinstance(args, Mapping) or not all(isinstance(k, str) for k in args):
            problems.append(Problem(f"{path}.args", "must be a mapping of keyword arguments"))
            args = {}
        if "coro" not in raw or raw["coro"] is None:
            problems.append(Problem(f"{path}.coro", "missing: every node needs a coro"))
            continue
        try:
            coro = resolve_coro(raw["coro"], coro_map, base_dir)
        except ResolveError as exc:
            problems.append(Problem(f"{path}.coro", str(exc)))
            continue
        key = id(coro)
        hit = cache.get(key)
        if hit is not None and hit[0] is coro:
            sig_or_error = hit[1]
        else:
            try:
                sig_or_error = classify(coro)
            except TypeError as exc:
                sig_or_error = f"{raw['coro']!r} {exc}"
            cache[key] = (coro, sig_or_error)
        if isinstance(sig_or_error, str):
            problems.append(Problem(f"{path}.coro", sig_or_error))
            continue
        nodes[name] = NodeSpec(
            name,
            coro,
            raw["coro"],
            dict(args),
            options,
            sig_or_error,
            outputs=tuple(outputs.get(name, ())),
            inputs=tuple(inputs.get(name, ())),
        )

    # Dead-letter routes: an edge like any other for end of stream.
    dead_from: dict[str, list[str]] = {}
    for node in nodes.values():
        target = node.dead_letter
        if target is None:
            continue
        where = f"nodes.{node.name}.on_error"
        if target not in inputs:
            problems.append(
                Problem(where, f"must be 'raise', 'skip' or a node name; no node named {target!r}")
            )
        elif target == node.name:
            problems.append(Problem(where, "a node cannot be its own dead-letter node"))
        else:
            dead_from.setdefault(target, []).append(node.name)
            edges.append((node.name, target))
    for target, froms in dead_from.items():
        node = nodes.get(target)
        if node is None:
            continue
        node.dead_letter_from = tuple(froms)
        if node.inputs and node.options.aggregate_inputs:
            problems.append(
                Problem(
                    f"nodes.{target}.properties.aggregate_inputs",
                    "a dead-letter node that also has graph inputs must merge them (aggregate_inputs: false)",
                )
            )

    for node in nodes.values():
        _check_node(node, problems)

    parsed = GraphSpec(
        nodes, name=spec.get("name"), version=spec.get("version"), env=dict(env), source=source
    )
    return parsed, problems, edges


def _check_node(node: NodeSpec, problems: list[Problem]) -> None:
    path = f"nodes.{node.name}"
    sig = node.signature
    shape = sig.shape
    if shape in (Shape.ITERABLE, Shape.ASYNC_ITERABLE):
        if not node.is_source:
            problems.append(
                Problem(
                    f"{path}.coro",
                    f"a {shape.value} can only feed a source node; this node has inputs",
                )
            )
        elif node.args:
            problems.append(Problem(f"{path}.args", f"a {shape.value} source takes no args"))
        return
    message = check_args(sig, node.args, node.is_source)
    if message:
        problems.append(Problem(f"{path}.args", message))
    if node.is_source and sig.upstream and shape is not Shape.COROUTINE:
        problems.append(
            Problem(
                f"{path}.coro",
                f"an upstream-style source {sig.name}(self, output_q) must be an async def coroutine function",
            )
        )
    executor = node.options.executor
    if executor is not None:
        if sig.is_async and executor != "async":
            problems.append(
                Problem(
                    f"{path}.executor",
                    f"{executor!r} runs plain def functions; {sig.name} is async (use 'async' or leave it out)",
                )
            )
        elif not sig.is_async and executor == "async":
            problems.append(
                Problem(
                    f"{path}.executor",
                    f"{sig.name} is a plain def function; it runs in a 'thread' (default) or 'process', never on the event loop",
                )
            )
        if executor == "process" and (sig.upstream or sig.wants_processor):
            problems.append(
                Problem(
                    f"{path}.executor",
                    "a function that takes its Processor cannot run in another process",
                )
            )
        if executor == "process" and node.is_source:
            problems.append(Problem(f"{path}.executor", "sources cannot use executor 'process'"))
