"""The options table is the single source of truth: docs, NodeOptions, parsing and diagrams follow it."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from pipelines import Plumber, SpecError
from pipelines.spec.option_parsing import markdown_table
from pipelines.spec.options import OPTIONS, NodeOptions

DOCS = Path(__file__).resolve().parents[2] / "docs" / "options.md"


def test_docs_options_table_is_the_generated_one():
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("<!-- options-table:start -->\n") + len("<!-- options-table:start -->\n")
    end = text.index("<!-- options-table:end -->")
    assert text[start:end] == markdown_table()


def test_node_options_fields_and_defaults_follow_the_table():
    assert [f.name for f in fields(NodeOptions)] == [o.name for o in OPTIONS]
    defaults = NodeOptions()
    for option in OPTIONS:
        assert getattr(defaults, option.name) == option.default


async def _merge_or_zip(spec_extra: dict) -> list:
    async def a():
        for i in range(3):
            yield i

    async def b():
        for i in range(10, 13):
            yield i

    async def out(x):
        return x

    spec = {
        "nodes": {
            "a": {"coro": a},
            "b": {"coro": b},
            "out": {"coro": out, "collect": True, **spec_extra},
        },
        "graph": {"a": ["out"], "b": ["out"], "out": None},
    }
    result = await Plumber(spec).run()
    return result.outputs["out"]


async def test_node_level_aggregate_inputs_false_merges():
    # It used to be accepted and silently ignored (the node still zipped).
    merged = await _merge_or_zip({"aggregate_inputs": False})
    assert sorted(merged) == [0, 1, 2, 10, 11, 12]


async def test_properties_aggregate_inputs_false_merges_as_upstream():
    merged = await _merge_or_zip({"properties": {"aggregate_inputs": False}})
    assert sorted(merged) == [0, 1, 2, 10, 11, 12]


async def test_aggregate_inputs_default_zips():
    assert await _merge_or_zip({}) == [(0, 10), (1, 11), (2, 12)]


def test_an_option_outside_its_places_is_a_problem():
    spec = {
        "nodes": {
            "src": {"coro": [1, 2]},
            "a": {"coro": "json:dumps", "properties": {"concurrency": 2}},
        },
        "graph": {"src": ["a"], "a": None},
    }
    with pytest.raises(SpecError) as caught:
        Plumber(spec)
    assert [str(p) for p in caught.value.problems] == [
        "nodes.a.properties.concurrency: unknown property (known: aggregate_inputs)"
    ]


def test_diagram_notes_come_from_the_table():
    opts = NodeOptions(concurrency=4, on_error="skip", retries=2)
    assert opts.notes() == ["concurrency 4", "retries 2", "on_error skip"]
    assert NodeOptions().notes() == []
