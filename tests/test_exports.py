"""Every public module's ``__all__`` lists exactly what it defines publicly."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pipelines"
#: Modules that only re-export (upstream import paths).
RE_EXPORTS = {"pipelines.plumber", "pipelines.processor"}


def _public_modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(part.startswith("_") for part in parts) or parts[-1] == "__main__":
            continue
        out.append((".".join(parts), path))
    return out


def _defined(path: Path) -> set[str]:
    """Public classes and functions, and UPPER_CASE constants, defined at module level."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper():
                    names.add(target.id)
    return {name for name in names if not name.startswith("_")}


MODULES = _public_modules()


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_all_matches_the_public_names(module, path):
    mod = importlib.import_module(module)
    exported = getattr(mod, "__all__", None)
    assert exported is not None, f"{module} has no __all__"
    assert len(exported) == len(set(exported)), f"{module}.__all__ repeats a name"
    for name in exported:
        assert hasattr(mod, name), f"{module}.__all__ names {name!r}, which it does not have"
    if path.name != "__init__.py" and module not in RE_EXPORTS:
        assert set(exported) == _defined(path)


def test_the_package_exports_the_public_api():
    import pipelines

    for name in ("Plumber", "Processor", "SpecError", "PipelineError", "RunResult", "run"):
        assert name in pipelines.__all__
