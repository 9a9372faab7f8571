"""Every example of docs/operators.md runs and gives the output the page shows under it."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from pathlib import Path

import pytest
import yaml

from pipelines import Plumber
from pipelines.testing import VirtualClock

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGE = DOCS / "operators.md"
EXAMPLE = re.compile(
    r"<!-- example: (?P<name>[\w-]+) -->\n```(?P<lang>yaml|python)\n(?P<code>.*?)```\n"
    r"```text\n(?P<output>.*?)```",
    re.S,
)


def _examples() -> list[tuple[str, str, str, str]]:
    found = [
        (m["name"], m["lang"], m["code"], m["output"]) for m in EXAMPLE.finditer(PAGE.read_text())
    ]
    assert found, "no examples found in docs/operators.md"
    return found


EXAMPLES = _examples()


def test_every_example_has_an_output_block():
    marked = re.findall(r"<!-- example: ([\w-]+) -->", PAGE.read_text())
    assert marked == [name for name, *_ in EXAMPLES]
    assert len(set(marked)) == len(marked)


async def _run_yaml(code: str) -> str:
    spec = yaml.safe_load(code)
    clock = VirtualClock(start=0.0)
    plumber = Plumber(spec, base_dir=DOCS / "examples", source=str(PAGE), clock=clock)
    task = asyncio.create_task(plumber.run())
    await clock.advance(3600)
    async with asyncio.timeout(10):
        result = await task
    lines = [f"{name}: {values!r}" for name, values in result.outputs.items()]
    lines += [f"{name} dropped: {s.dropped}" for name, s in result.stats.items() if s.dropped]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("name", "lang", "code", "output"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_the_example_gives_the_documented_output(name, lang, code, output):
    if lang == "yaml":
        got = asyncio.run(_run_yaml(code))
    else:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, f"{PAGE.name}:{name}", "exec"), {"__name__": f"example_{name}"})
        got = printed.getvalue()
    assert got == output
