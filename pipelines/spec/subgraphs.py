"""Nested graphs: a node may be a whole graph, flattened before validation.

A node ``{subgraph: other.yaml, input: a, output: b}`` (or an inline
``subgraph: {nodes, graph}``) becomes the inner graph's nodes, named
``outer/inner``. The outer node's inputs feed the inner ``input`` node and
the inner ``output`` node feeds the outer node's outputs; a subgraph without
``input`` is a source, one without ``output`` a sink. After flattening the
engine runs an ordinary graph, so end of stream, backpressure, errors, stop
and cancellation cross the boundary as if it were not there, and the hot
path pays nothing for it.

Problems keep the key path through the nesting
(``nodes.enrich.subgraph.nodes.fetch.coro``): :class:`Flattened` maps the
qualified names back. A file that includes itself, directly or through
others, is a problem, not a recursion. A subgraph file's ``defaults`` apply
to its own nodes (a node's own value wins, then the file's ``defaults``,
then the outer spec's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Problem, SpecError
from .loader import load_file

__all__ = ["SEPARATOR", "Flattened", "flatten"]

#: Between the names of a subgraph node and of a node inside it.
SEPARATOR = "/"

_SUBGRAPH_KEYS = ("subgraph", "input", "output")
#: A subgraph's input or output that names no inner node (already reported).
_INVALID = "\x00invalid"
_INNER_KEYS = ("nodes", "graph", "name", "version", "description", "defaults")


@dataclass(slots=True)
class _Origin:
    node_path: str  # key path of the node's mapping, e.g. nodes.enrich.subgraph.nodes.fetch
    graph_path: str  # key path of its graph entry
    base_dir: Path | None
    group: tuple[str, ...]


@dataclass(slots=True)
class Flattened:
    """A spec with its subgraphs flattened, and where each qualified node came from."""

    spec: Mapping[str, Any]
    origins: dict[str, _Origin] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def translate(self, path: str) -> str:
        """A problem path of the flat spec -> the key path in the nested spec."""
        if not self.origins:
            return path
        for section in ("nodes.", "graph."):
            if not path.startswith(section):
                continue
            rest = path[len(section) :]
            best = max(
                (q for q in self.origins if rest == q or rest.startswith(q + ".")),
                key=len,
                default=None,
            )
            if best is not None:
                origin = self.origins[best]
                head = origin.node_path if section == "nodes." else origin.graph_path
                return head + rest[len(best) :]
        return path

    def base_dir(self, name: str, default: Path | None) -> Path | None:
        """The folder a node's import strings resolve in (its own spec file's)."""
        origin = self.origins.get(name)
        return origin.base_dir if origin is not None else default

    def group(self, name: str) -> tuple[str, ...]:
        """The subgraph nodes ``name`` sits in, outermost first."""
        origin = self.origins.get(name)
        return origin.group if origin is not None else ()


def _has_subgraph(nodes: Any) -> bool:
    return isinstance(nodes, Mapping) and any(
        isinstance(raw, Mapping) and "subgraph" in raw for raw in nodes.values()
    )


def flatten(spec: Mapping[str, Any], base_dir: Path | None, source: str | None) -> Flattened:
    """Flatten every subgraph of ``spec`` (returned as is when it has none)."""
    if not _has_subgraph(spec.get("nodes")):
        return Flattened(spec)
    out = Flattened({})
    files = [Path(source).resolve()] if source else []
    flat = _Level(out, base_dir, files).expand(spec, "", "", ())
    out.spec = {**spec, **flat}
    return out


class _Level:
    """Expands one spec level; recursion goes through :meth:`expand` with a longer prefix."""

    def __init__(self, out: Flattened, base_dir: Path | None, files: list[Path]) -> None:
        self.out = out
        self.base_dir = base_dir
        self.files = files

    def expand(
        self, spec: Mapping[str, Any], prefix: str, path: str, group: tuple[str, ...]
    ) -> dict[str, Any]:
        """This level's nodes and graph, flattened: ``{"nodes": ..., "graph": ...}``.

        ``prefix`` qualifies names (``enrich/``), ``path`` prefixes key paths
        (``nodes.enrich.subgraph.``).
        """
        nodes_raw = spec.get("nodes")
        graph_raw = spec.get("graph")
        if not isinstance(nodes_raw, Mapping) or not isinstance(graph_raw, Mapping):
            return {"nodes": nodes_raw, "graph": graph_raw}  # the parser reports it
        nodes: dict[Any, Any] = {}
        graph: dict[Any, Any] = {}
        # name -> (entry node, exit node) in qualified names; None where it has none
        ends: dict[Any, tuple[str | None, str | None]] = {}
        for name, raw in nodes_raw.items():
            if isinstance(name, str) and SEPARATOR in name:
                self.problem(
                    f"{path}nodes.{name}",
                    f"a node name cannot contain {SEPARATOR!r} (it joins subgraph and node names)",
                )
                continue
            qualified = f"{prefix}{name}" if prefix or not isinstance(name, str) else name
            if isinstance(raw, Mapping) and "subgraph" in raw:
                ends[name] = self._subgraph(name, raw, nodes, graph, prefix, path, group)
                continue
            ends[name] = (qualified, qualified)
            if prefix:
                nodes[qualified] = _qualify_on_error(raw, prefix, nodes_raw)
                self.out.origins[qualified] = _Origin(
                    f"{path}nodes.{name}", f"{path}graph.{name}", self.base_dir, group
                )
            else:
                nodes[qualified] = raw
        for src, targets in graph_raw.items():
            self._edges(src, targets, ends, graph, prefix, path)
        return {"nodes": nodes, "graph": graph}

    def problem(self, path: str, message: str) -> None:
        self.out.problems.append(Problem(path, message))

    def _edges(
        self,
        src: Any,
        targets: Any,
        ends: Mapping[Any, tuple[str | None, str | None]],
        graph: dict[Any, Any],
        prefix: str,
        path: str,
    ) -> None:
        where = f"{path}graph.{src}"
        if src in ends:
            exit_ = ends[src][1]
            if exit_ == _INVALID:
                return
            if exit_ is None:
                if targets:
                    self.problem(where, f"subgraph {src!r} has no 'output', so it feeds no node")
                return
        else:
            exit_ = f"{prefix}{src}" if prefix and isinstance(src, str) else src
        if not isinstance(targets, list | tuple | str):
            graph[exit_] = targets  # None, or a type the parser reports
            return
        mapped = []
        for target in [targets] if isinstance(targets, str) else targets:
            if target in ends:
                entry = ends[target][0]
                if entry == _INVALID:
                    continue
                if entry is None:
                    self.problem(where, f"subgraph {target!r} has no 'input', so nothing feeds it")
                    continue
                mapped.append(entry)
            else:
                mapped.append(f"{prefix}{target}" if prefix and isinstance(target, str) else target)
        graph[exit_] = mapped

    def _subgraph(
        self,
        name: Any,
        raw: Mapping[str, Any],
        nodes: dict[Any, Any],
        graph: dict[Any, Any],
        prefix: str,
        path: str,
        group: tuple[str, ...],
    ) -> tuple[str | None, str | None]:
        here = f"{path}nodes.{name}"
        for key in raw:
            if key not in _SUBGRAPH_KEYS:
                self.problem(
                    f"{here}.{key}", "a subgraph node takes only subgraph, input and output"
                )
        inner, base_dir, file = self._load(raw["subgraph"], f"{here}.subgraph")
        if inner is None:
            return (None, None)
        for key in inner:
            if key not in _INNER_KEYS:
                self.problem(
                    f"{here}.subgraph.{key}",
                    f"not allowed in a subgraph (known: {', '.join(_INNER_KEYS)})",
                )
        inner = _apply_defaults(inner)
        qualified = f"{prefix}{name}"
        level = _Level(self.out, base_dir, [*self.files, file] if file else self.files)
        flat = level.expand(
            inner, f"{qualified}{SEPARATOR}", f"{here}.subgraph.", (*group, qualified)
        )
        nodes.update(flat["nodes"] or {})
        graph.update(flat["graph"] or {})
        found = inner.get("nodes")
        inner_nodes: Mapping[Any, Any] = found if isinstance(found, Mapping) else {}
        ends: list[str | None] = []
        for key in ("input", "output"):
            chosen = raw.get(key)
            if chosen is None:
                ends.append(None)
            elif chosen not in inner_nodes:
                known = ", ".join(str(n) for n in inner_nodes) or "none"
                self.problem(
                    f"{here}.{key}", f"no node {chosen!r} in the subgraph (nodes: {known})"
                )
                ends.append(_INVALID)
            else:
                ends.append(self._end_of(qualified, chosen, inner_nodes, key))
        return (ends[0], ends[1])

    def _end_of(self, qualified: str, chosen: str, inner_nodes: Mapping[str, Any], key: str) -> str:
        """The qualified node that is a subgraph's input or output (through nested subgraphs)."""
        raw = inner_nodes[chosen]
        name = f"{qualified}{SEPARATOR}{chosen}"
        if isinstance(raw, Mapping) and "subgraph" in raw and raw.get(key) is not None:
            inner = self._peek(raw["subgraph"])
            if inner is not None and isinstance(inner.get("nodes"), Mapping):
                return self._end_of(name, raw[key], inner["nodes"], key)
        return name

    def _peek(self, value: Any) -> Mapping[str, Any] | None:
        if isinstance(value, Mapping):
            return value
        try:
            return load_file(self._path(value)) if isinstance(value, str) else None
        except SpecError:
            return None

    def _path(self, value: str) -> Path:
        path = Path(value)
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        return path

    def _load(
        self, value: Any, where: str
    ) -> tuple[Mapping[str, Any] | None, Path | None, Path | None]:
        """The inner spec, the folder its import strings resolve in, and its file (if one)."""
        if isinstance(value, Mapping):
            return value, self.base_dir, None
        if not isinstance(value, str) or not value:
            self.problem(where, "must be a spec file path or an inline {nodes, graph} mapping")
            return None, None, None
        path = self._path(value).resolve()
        if path in self.files:
            chain = " -> ".join(p.name for p in [*self.files[self.files.index(path) :], path])
            self.problem(where, f"the file includes itself ({chain})")
            return None, None, None
        try:
            data = load_file(path)
        except SpecError as exc:
            for problem in exc.problems:
                self.problem(where, problem.message or str(problem))
            return None, None, None
        return data, path.parent, path


def _apply_defaults(inner: Mapping[str, Any]) -> Mapping[str, Any]:
    """A subgraph file's ``defaults`` apply to its own nodes (a node's own value wins)."""
    defaults = inner.get("defaults")
    nodes = inner.get("nodes")
    if not isinstance(defaults, Mapping) or not defaults or not isinstance(nodes, Mapping):
        return inner
    merged = {
        name: ({**defaults, **raw} if isinstance(raw, Mapping) and "subgraph" not in raw else raw)
        for name, raw in nodes.items()
    }
    return {**inner, "nodes": merged}


def _qualify_on_error(raw: Any, prefix: str, siblings: Mapping[Any, Any]) -> Any:
    """``on_error: dlq`` inside a subgraph names its sibling ``outer/dlq``."""
    if not isinstance(raw, Mapping):
        return raw
    target = raw.get("on_error")
    if isinstance(target, str) and target in siblings:
        return {**raw, "on_error": f"{prefix}{target}"}
    return raw
