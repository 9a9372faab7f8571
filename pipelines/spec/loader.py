"""Reading spec files: YAML (safely), JSON and TOML, with file and line in errors."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import yaml

from ..errors import Problem, SpecError

__all__ = ["SUFFIXES", "load_file"]

SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml"}


def load_file(path: str | Path) -> dict[str, Any]:
    """Read a spec file into a dict; raise :class:`SpecError` naming the file and line."""
    p = Path(path)
    where = str(p)
    fmt = SUFFIXES.get(p.suffix.lower())
    if fmt is None:
        raise SpecError(
            [Problem("", f"unknown spec file type {p.suffix!r}: use .yaml, .yml, .json or .toml")],
            where,
        )
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Problem("", "file not found")], where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem("", f"cannot read file: {exc}")], where) from None
    try:
        if fmt == "yaml":
            data = yaml.safe_load(text)
        elif fmt == "json":
            data = json.loads(text)
        else:
            data = tomllib.loads(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([Problem("", f"{where}: {line}invalid YAML: {problem}")], where) from None
    except json.JSONDecodeError as exc:
        raise SpecError(
            [
                Problem(
                    "", f"{where}: line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}"
                )
            ],
            where,
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError([Problem("", f"{where}: invalid TOML: {exc}")], where) from None
    if not isinstance(data, dict):
        raise SpecError(
            [
                Problem(
                    "",
                    f"the file must hold a mapping with 'nodes' and 'graph', got {type(data).__name__}",
                )
            ],
            where,
        )
    return data
