"""The layer contract, checked over the package's real import graph (import-linter's config too)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pipelines"

#: Layer of each top-level part of the package, lowest first.
LAYERS = {
    "errors": 0,
    "_version": 0,
    "spec": 1,
    "plan": 2,
    "runtime": 3,
}
#: Every other subpackage or module is a surface (layer 4) unless it is one of
#: the package's own entry points, which may import anything.
ENTRY_POINTS = {"__init__", "__main__", "plumber", "processor"}
SURFACE = 4

#: The one exception, written down in CONTRIBUTING.md: conveniences of the
#: runtime that draw a diagram import it lazily, inside the function.
ALLOWED_LAZY = {
    ("runtime.plumber", "diagram"),
    ("runtime.stats", "diagram"),
}


def _part(module: str) -> str:
    return module.split(".")[0]


def _layer(module: str) -> int:
    return LAYERS.get(_part(module), SURFACE)


def _imports(path: Path, module: str) -> list[tuple[str, bool]]:
    """(imported module relative to the package, whether at module level) for ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    found: list[tuple[str, bool]] = []
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join([*base, node.module or ""]).strip(".")
            elif node.module and node.module.startswith("pipelines"):
                target = node.module.removeprefix("pipelines").strip(".")
            else:
                continue
            found.append((target, id(node) in top_level))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pipelines."):
                    found.append((alias.name.removeprefix("pipelines."), id(node) in top_level))
    return found


def _modules() -> list[tuple[Path, str]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1] or ["__init__"]
        out.append((path, ".".join(parts)))
    return out


def test_no_module_imports_a_higher_layer():
    violations = []
    for path, module in _modules():
        if module in ENTRY_POINTS:
            continue
        for target, _ in _imports(path, module):
            if not target:
                continue
            if _layer(target) > _layer(module):
                key = (module, _part(target)) if "." in module else (module, target)
                if (".".join(module.split(".")[:2]), _part(target)) in ALLOWED_LAZY:
                    continue
                violations.append(f"{module} imports {target} ({key})")
    assert violations == []


def test_the_allowed_exceptions_are_lazy_imports_only():
    for path, module in _modules():
        for target, at_top in _imports(path, module):
            if (module, _part(target)) in ALLOWED_LAZY:
                assert not at_top, f"{module} must import {target} inside a function"


def test_the_checker_sees_a_violation():
    # The check itself must be able to fail: a spec module importing the runtime.
    assert _layer("runtime.plumber") > _layer("spec.parse")
    assert _layer("store.db") > _layer("runtime.plumber")


def test_import_linter_contract_is_kept():
    """The same contract as CI's ``lint-imports`` (pyproject.toml), run as CI runs it."""
    command = Path(sys.executable).parent / "lint-imports"
    if not command.exists():
        if os.environ.get("CI"):
            pytest.fail("lint-imports is not installed (pip install '.[test]')")
        pytest.skip("lint-imports is not installed (pip install '.[test]')")
    done = subprocess.run(
        [str(command), "--no-cache"],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
