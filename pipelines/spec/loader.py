"""Reading spec files: YAML (safely), JSON and TOML, with file and line in errors."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import yaml

from ..errors import Problem, SpecError

__all__ = ["MAX_SPEC_BYTES", "SUFFIXES", "load_file"]

SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml"}

#: Spec files larger than this are refused before they are parsed: a spec is
#: a graph description, and parsing a huge YAML file takes minutes and
#: gigabytes (a 55 MB file: 188 s and 5.7 GB with the pure-Python loader).
MAX_SPEC_BYTES = 10 * 1024 * 1024

#: libyaml's safe loader when PyYAML was built with it (about 10x faster; the
#: same safety and the same line numbers in errors), else the pure-Python one.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
        size = p.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError(
                [
                    Problem(
                        "",
                        f"the file is {size / 1024 / 1024:.1f} MB; spec files larger than "
                        f"{MAX_SPEC_BYTES // 1024 // 1024} MB are refused (a spec describes a "
                        "graph: keep data in files the nodes read)",
                    )
                ],
                where,
            )
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Problem("", "file not found")], where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem("", f"cannot read file: {exc}")], where) from None
    try:
        if fmt == "yaml":
            data = yaml.load(text, Loader=_SafeLoader)  # a safe loader (never yaml.Loader)
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
