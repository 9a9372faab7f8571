"""The steps examples of the README and docs/workflows.md run and give what they say."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def python_block(path: Path, heading: str) -> str:
    """The first ```python block after ``heading`` in ``path``."""
    text = path.read_text(encoding="utf-8")
    after = text[text.index(heading) :]
    match = re.search(r"```python\n(.*?)```", after, re.S)
    assert match, f"no python block after {heading!r} in {path.name}"
    return match.group(1)


def test_the_readme_s_steps_example_prints_its_comment(capsys):
    code = python_block(ROOT / "README.md", "**Steps** (wpipe's API)")
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out == (
        "[1/2] Fetch v1.0\n[2/2] Tax v1.0\n{'order': 7, 'amount': 30, 'tax': 3}\n"
    )


def test_the_docs_steps_example_gives_its_comment():
    code = python_block(ROOT / "docs" / "workflows.md", "## Steps (wpipe)")
    names: dict[str, object] = {}
    exec(compile(code, "workflows.md", "exec"), names)
    assert names["result"] == {"order": 7, "amount": 30, "tax": 3}
