"""Random DAG specs for property tests, with the item multiplicities they must produce.

Items are *bags*: tuples of tokens ``(source, index)``. A source emits
one-token bags; a merge (or single-input) node passes a bag on; a zip node
concatenates the bags of its inputs. So a token reaches a node once per path
from its source to that node, whatever the mix of merges, zips and fan-outs,
as long as every zip's inputs carry equal counts (no drops).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

STYLES = ("async", "def", "agen", "upstream")
SOURCE_STYLES = ("list", "agen", "rig", "gen")


def _combine(item: Any, zipped: bool) -> tuple:
    return tuple(itertools.chain.from_iterable(item)) if zipped else item


def make_transform(style: str, zipped: bool) -> Any:
    if style == "async":

        async def transform(item):
            await asyncio.sleep(0)
            return _combine(item, zipped)

    elif style == "def":

        def transform(item):
            return _combine(item, zipped)

    elif style == "agen":

        async def transform(item):
            await asyncio.sleep(0)
            yield _combine(item, zipped)

    else:

        async def transform(self, q_elt):
            return tuple(itertools.chain.from_iterable(q_elt))

    return transform


def make_source(style: str, name: str, count: int) -> Any:
    bags = [((name, i),) for i in range(count)]
    if style == "list":
        return bags
    if style == "agen":

        async def source():
            for bag in bags:
                yield bag

        return source
    if style == "rig":

        async def rig(self, output_q):
            for bag in bags:
                await output_q.put(bag)

        return rig

    def gen():
        yield from bags

    return gen


@dataclass
class RandomGraph:
    """A DAG of ``n`` nodes named ``n0..``; the first ``sources`` are sources."""

    sources: int
    lengths: list[int]
    edges: list[tuple[int, int]]
    zips: set[int]
    styles: dict[int, str]
    options: dict[int, dict[str, Any]]
    n: int
    counts: dict[int, int] = field(default_factory=dict)

    def name(self, i: int) -> str:
        return f"n{i}"

    def inputs(self, j: int) -> list[int]:
        return sorted(i for i, k in self.edges if k == j)

    def outputs(self, i: int) -> list[int]:
        return sorted(k for j, k in self.edges if j == i)

    def spec(self) -> dict[str, Any]:
        nodes: dict[str, Any] = {}
        for i in range(self.n):
            name = self.name(i)
            if i < self.sources:
                node = {"coro": make_source(self.styles[i], name, self.lengths[i])}
            else:
                node = {"coro": make_transform(self.styles[i], i in self.zips), **self.options[i]}
                if i not in self.zips and len(self.inputs(i)) > 1:
                    node["properties"] = {"aggregate_inputs": False}
            if not self.outputs(i):
                node["collect"] = True
            nodes[name] = node
        # graph keys in index order: a zip's tuple follows its inputs' index order
        graph = {
            self.name(i): [self.name(k) for k in self.outputs(i)] or None for i in range(self.n)
        }
        return {"nodes": nodes, "graph": graph}

    def paths(self, source: int, target: int) -> int:
        memo: dict[int, int] = {}

        def count(v: int) -> int:
            if v == source:
                return 1
            if v not in memo:
                memo[v] = sum(count(u) for u in self.inputs(v))
            return memo[v]

        return count(target)

    def sinks(self) -> list[int]:
        return [i for i in range(self.n) if not self.outputs(i)]

    def expected_tokens(self, sink: int) -> Counter:
        expected: Counter = Counter()
        for s in range(self.sources):
            multiplicity = self.paths(s, sink)
            if multiplicity:
                for i in range(self.lengths[s]):
                    expected[(self.name(s), i)] = multiplicity
        return expected
