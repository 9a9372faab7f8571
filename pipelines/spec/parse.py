"""The spec layer's entry point: a dict (or a loaded file) -> a validated :class:`GraphSpec`.

Every problem is collected with the dotted path of its key and reported
together in one :class:`~pipelines.SpecError`; nothing runs before the spec
is valid. The work is split by section: top-level keys, the graph's
structure, each node, dead-letter routes, then per-node checks
(:mod:`pipelines.spec.checks`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import Problem
from .calling import INJECTABLE, Signature, classify, injected_names
from .checks import check_node
from .cycle import parse_cycle
from .hooks import parse_node_hooks, parse_run_hooks
from .limits import parse_watchdog
from .model import GraphSpec, NodeSpec
from .operators import as_is, function_refs, key_value
from .option_parsing import parse_defaults, parse_options, unknown_key
from .options import (
    NODE_OPTION_NAMES,
    UPSTREAM_CONCURRENCY,
    NodeOptions,
)
from .resolve import ResolveError, resolve_coro, resolve_function
from .resources import parse_context, parse_resources
from .schedule import parse_schedule
from .subgraphs import Flattened, flatten
from .transport import check_distributable, parse_transport

__all__ = ["NODE_KEYS", "TOP_LEVEL_KEYS", "collect_spec"]

TOP_LEVEL_KEYS = (
    "nodes",
    "graph",
    "name",
    "version",
    "defaults",
    "env",
    "description",
    "hooks",
    "context",
    "context_mode",
    "resources",
    "schedule",
    "cycle",
    "watchdog",
    "transport",
)
#: Keys of a node that are not options.
NODE_KEYS = ("coro", "args", "properties", "hooks")


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
    if not isinstance(spec, Mapping):
        problem = Problem(
            "", f"a spec must be a mapping with 'nodes' and 'graph', got {type(spec).__name__}"
        )
        return GraphSpec({}, source=source), [problem], []
    flat = flatten(spec, base_dir, source)
    parser = _Parser(coro_map, base_dir, flat)
    parsed = parser.parse(flat.spec, source)
    problems = flat.problems + [Problem(flat.translate(p.path), p.message) for p in parser.problems]
    return parsed, problems, parser.edges


def _as_outputs(value: Any) -> list[Any] | None:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return list(value)
    return None


class _Parser:
    """One parse: the problems and edges found so far, and the resolution context."""

    def __init__(
        self, coro_map: Callable[[Any], Any] | None, base_dir: Path | None, flat: Flattened
    ) -> None:
        self.coro_map = coro_map
        self.base_dir = base_dir
        self.flat = flat
        self.available: tuple[str, ...] = INJECTABLE  # names a function can declare
        self.problems: list[Problem] = []
        self.edges: list[tuple[str, str]] = []
        self.outputs: dict[str, list[str]] = {}
        self.inputs: dict[str, list[str]] = {}
        # True when the graph section names unknown nodes or misses some: then
        # a node without inputs may not really be a source, so checks that
        # depend on its kind would only add misleading problems.
        # (A subgraph with a problem leaves the same doubt.)
        self.structure_unsure = bool(flat.problems)
        self._signatures: dict[int, tuple[Any, Signature | str]] = {}
        self._bad_names: list[Any] = []  # node keys already reported as bad names

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def parse(self, spec: Mapping[Any, Any], source: str | None) -> GraphSpec:
        for key in spec:
            if key not in TOP_LEVEL_KEYS:
                self.add(str(key), f"unknown top-level key (known: {', '.join(TOP_LEVEL_KEYS)})")
        raw_nodes = self._section(spec, "nodes", "a mapping of node name -> node spec")
        raw_graph = self._section(spec, "graph", "a mapping of node name -> list of output nodes")
        defaults = parse_defaults(spec.get("defaults"), self.problems)
        env = spec.get("env") or {}
        if not isinstance(env, Mapping):
            self.add("env", "must be a mapping")
            env = {}
        resources = parse_resources(spec.get("resources"), self.base_dir, self.problems)
        self.available = (*INJECTABLE, *resources)
        context, context_mode = parse_context(
            spec.get("context"), spec.get("context_mode"), self.problems
        )
        hooks = parse_run_hooks(spec.get("hooks"), self.base_dir, self.problems)
        names = self._node_names(raw_nodes)
        schedule = parse_schedule(spec.get("schedule"), self.problems, names, resources)
        cycle = parse_cycle(spec.get("cycle"), self.problems, self.coro_map, self.base_dir)
        watchdog = parse_watchdog(spec.get("watchdog"), self.problems, scheduled="schedule" in spec)
        self._structure(raw_graph, names)
        nodes: dict[str, NodeSpec] = {}
        for name, raw in names.items():
            node = self._node(name, raw, defaults)
            if node is not None:
                nodes[name] = node
        self._dead_letters(nodes)
        for node in nodes.values():
            node.inject = injected_names(node.signature, node.args, self.available, node.is_source)
            node.group = self.flat.group(node.name)
            if self.structure_unsure and not node.inputs:
                continue
            check_node(node, self.problems)
        transport = parse_transport(spec.get("transport"), nodes, self.problems)
        if transport is not None and transport.redis:
            run_level = {"hooks": hooks is not None, "resources": bool(resources)}
            run_level["context"] = bool(context) or context_mode != "lockable"
            run_level["cycle"] = not cycle.once  # cycles of a distributed run: not yet
            check_distributable(nodes, run_level, self.problems)
        return GraphSpec(
            nodes,
            name=spec.get("name"),
            version=spec.get("version"),
            env=dict(env),
            source=source,
            hooks=hooks,
            resources=resources,
            context=context,
            context_mode=context_mode,
            schedule=schedule,
            cycle=cycle,
            watchdog=watchdog,
            transport=transport,
        )

    def _section(self, spec: Mapping[Any, Any], key: str, what: str) -> Mapping[Any, Any]:
        raw = spec.get(key)
        if isinstance(raw, Mapping) and (raw or key != "nodes"):
            return raw
        state = "missing or empty" if key == "nodes" else "missing"
        self.add(key, f"{state}: {what} is required")
        return {}

    def _node_names(self, raw_nodes: Mapping[Any, Any]) -> dict[str, Any]:
        """The nodes by name; a name that is not a non-empty string is one problem."""
        names: dict[str, Any] = {}
        for key, raw in raw_nodes.items():
            if not isinstance(key, str) or not key:
                self.add(f"nodes.{key}", _bad_name(key))
                self._bad_names.append(key)
                continue
            names[key] = raw
        self.inputs = {name: [] for name in names}
        return names

    def _structure(self, raw_graph: Mapping[Any, Any], names: Mapping[str, Any]) -> None:
        """Outputs per node, and inputs in the order the sources appear as keys of ``graph``."""
        for src, targets in raw_graph.items():
            where = f"graph.{src}"
            if not isinstance(src, str) or not src:
                if src not in self._bad_names:
                    self.add(where, _bad_name(src))
                self.structure_unsure = True
                continue
            if src not in names:
                self.add(where, f"unknown node {src!r} (not a key of nodes)")
                self.structure_unsure = True
            outs = _as_outputs(targets)
            if outs is None:
                self.add(
                    where, f"must be a list of node names or null, got {type(targets).__name__}"
                )
                self.structure_unsure = True
                continue
            self.outputs[src] = self._targets(src, where, outs, names)
        for name in names:
            if raw_graph and name not in raw_graph:
                self.add(
                    f"graph.{name}",
                    f"node {name!r} is missing from graph (use null or [] for no outputs)",
                )
                self.structure_unsure = True

    def _targets(
        self, src: str, where: str, outs: list[Any], names: Mapping[str, Any]
    ) -> list[str]:
        seen: set[str] = set()
        good: list[str] = []
        for target in outs:
            if not isinstance(target, str) or not target:
                if target not in self._bad_names:
                    self.add(where, f"output names must be strings, got {target!r}")
                self.structure_unsure = True
            elif target not in names:
                self.add(where, f"unknown node {target!r} (not a key of nodes)")
                self.structure_unsure = True
            elif target in seen:
                self.add(where, f"{target!r} is listed twice")
            else:
                seen.add(target)
                good.append(target)
                if src in names:
                    self.inputs[target].append(src)
                    self.edges.append((src, target))
        return good

    def _node(self, name: str, raw: Any, defaults: Mapping[str, Any]) -> NodeSpec | None:
        """Options, args, the resolved function and its signature of one node."""
        path = f"nodes.{name}"
        if not isinstance(raw, Mapping):
            self.add(path, f"must be a mapping with at least 'coro', got {type(raw).__name__}")
            return None
        options = parse_options(raw, path, defaults, self.problems)
        for key in raw:
            if key not in NODE_KEYS and key not in NODE_OPTION_NAMES:
                self.add(f"{path}.{key}", unknown_key(str(key)))
        args = raw.get("args") or {}
        if not isinstance(args, Mapping) or not all(isinstance(k, str) for k in args):
            self.add(f"{path}.args", "must be a mapping of keyword arguments")
            args = {}
        base_dir = self.flat.base_dir(name, self.base_dir)
        functions = self._functions(path, options, base_dir)
        if raw.get("coro") is None and options.reduce is None and options.join is None:
            self.add(f"{path}.coro", "missing: every node needs a coro")
            return None
        hooks = parse_node_hooks(raw.get("hooks"), f"{path}.hooks", base_dir, self.problems)
        if raw.get("coro") is None:
            # A reduce or join node may leave its function out: it emits
            # (key, value) or (left, right) as they are (docs/operators.md).
            coro = key_value if options.window is not None else as_is
        else:
            try:
                coro = resolve_coro(raw["coro"], self.coro_map, base_dir)
            except ResolveError as exc:
                self.add(f"{path}.coro", str(exc))
                return None
        signature = self._signature(coro, raw.get("coro"))
        if isinstance(signature, str):
            self.add(f"{path}.coro", signature)
            return None
        upstream_transform = signature.upstream and bool(self.inputs.get(name))
        if upstream_transform and "concurrency" not in raw and "concurrency" not in defaults:
            # The original overlapped every call of such a transform.
            options = dataclasses.replace(options, concurrency=UPSTREAM_CONCURRENCY)
        return NodeSpec(
            name,
            coro,
            raw.get("coro"),
            dict(args),
            options,
            signature,
            outputs=tuple(self.outputs.get(name, ())),
            inputs=tuple(self.inputs.get(name, ())),
            hooks=hooks,
            functions=functions,
        )

    def _functions(self, path: str, options: NodeOptions, base_dir: Path | None) -> dict[str, Any]:
        """Resolve the functions the options name (``key``, ``window.time``...), like ``coro``."""
        functions: dict[str, Any] = {}
        for where, value, may_be_async in function_refs(options):
            try:
                functions[where] = resolve_function(
                    value, self.coro_map, base_dir, may_be_async=may_be_async
                )
            except ResolveError as exc:
                self.add(f"{path}.{where}", str(exc))
        return functions

    def _signature(self, coro: Any, raw: Any) -> Signature | str:
        """Classify ``coro`` once per function object (large graphs reuse a few)."""
        hit = self._signatures.get(id(coro))
        if hit is not None and hit[0] is coro:
            return hit[1]
        try:
            result: Signature | str = classify(coro)
        except TypeError as exc:
            result = f"{raw!r} {exc}"
        self._signatures[id(coro)] = (coro, result)
        return result

    def _dead_letters(self, nodes: dict[str, NodeSpec]) -> None:
        """Dead-letter routes: an edge like any other for end of stream."""
        dead_from: dict[str, list[str]] = {}
        for node in nodes.values():
            target = node.dead_letter
            if target is None:
                continue
            where = f"nodes.{node.name}.on_error"
            if target not in self.inputs:
                self.add(where, f"must be 'raise', 'skip' or a node name; no node named {target!r}")
            elif target == node.name:
                self.add(where, "a node cannot be its own dead-letter node")
            else:
                dead_from.setdefault(target, []).append(node.name)
                self.edges.append((node.name, target))
        for target, froms in dead_from.items():
            dead = nodes.get(target)
            if dead is None:
                continue
            dead.dead_letter_from = tuple(froms)
            if dead.inputs and dead.options.aggregate_inputs:
                self.add(
                    f"nodes.{target}.properties.aggregate_inputs",
                    "a dead-letter node that also has graph inputs must merge them (aggregate_inputs: false)",
                )


def _bad_name(key: Any) -> str:
    if isinstance(key, str):
        return "a node name must not be empty"
    return (
        f"a node name must be a string, got {type(key).__name__} {key!r} "
        f"(in YAML, quote it: '{key}')"
    )
