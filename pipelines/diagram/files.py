"""Drawing to files and bytes: formats from suffixes, Graphviz for images."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from .dot import to_dot
from .mermaid import to_mermaid
from .styles import ALIASES, FORMATS, IMAGE_FORMATS, SUFFIXES, DiagramError, GraphvizNotFound

if TYPE_CHECKING:
    from ..plan import Plan
    from ..runtime.stats import RunResult

__all__ = ["draw", "ensure_dot", "format_for", "render", "render_result"]


def format_for(path: str | Path | None, format: str | None = None) -> str:
    """The output format: ``format`` if given (``gv`` and ``mmd`` are aliases), else from the suffix.

    Raises :class:`DiagramError` for an unknown format or suffix.
    """
    if format:
        fmt = ALIASES.get(format.lower(), format.lower())
        if fmt not in FORMATS:
            raise DiagramError(f"unknown diagram format {format!r} (known: {', '.join(FORMATS)})")
        return fmt
    suffix = Path(path).suffix.lower() if path is not None else ""
    found = SUFFIXES.get(suffix)
    if found is None:
        known = ", ".join(SUFFIXES)
        raise DiagramError(
            f"cannot tell the diagram format from {str(path)!r}: name the file with one of {known}"
        )
    return found


def ensure_dot(fmt: str = "svg") -> None:
    """Raise :class:`GraphvizNotFound` unless ``dot`` is on PATH (only image formats need it)."""
    if fmt in IMAGE_FORMATS and shutil.which("dot") is None:
        raise GraphvizNotFound(fmt)


def draw(plan: Plan, format: str, result: RunResult | None = None) -> str | bytes:
    """The diagram in ``format``: text for ``dot`` and ``mermaid``, bytes for images.

    Raises :class:`GraphvizNotFound` when an image is asked for and ``dot`` is
    missing, :class:`DiagramError` for an unknown format or a Graphviz failure.
    """
    fmt = format_for(None, format)
    if fmt == "mermaid":
        return to_mermaid(plan, result)
    source = to_dot(plan, result)
    if fmt == "dot":
        return source
    import graphviz

    try:
        image: bytes = graphviz.Source(source).pipe(format=fmt)
        return image
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFound(fmt) from None
    except subprocess.CalledProcessError as exc:
        detail = (
            exc.stderr.decode(errors="replace").strip()
            if isinstance(exc.stderr, bytes)
            else exc.stderr
        )
        raise DiagramError(f"Graphviz could not draw the {fmt} image: {detail or exc}") from None


def _write(data: str | bytes, path: str | Path) -> Path:
    p = Path(path)
    try:
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise DiagramError(f"cannot write {str(p)!r}: {exc.strerror or exc}") from None
    return p


def render(
    plan: Plan, path: str | Path, format: str | None = None, result: RunResult | None = None
) -> Path:
    """Draw the graph to ``path`` and return it.

    The format is ``format`` (svg, png, pdf, dot or mermaid) or follows the
    suffix (``.gv`` is DOT, ``.mmd``/``.mermaid`` Mermaid). Raises
    :class:`GraphvizNotFound` for an image without Graphviz installed and
    :class:`DiagramError` for an unknown format or an unwritable path.
    """
    return _write(draw(plan, format_for(path, format), result), path)


def render_result(result: RunResult, path: str | Path, format: str | None = None) -> Path:
    """Draw the graph of a finished run to ``path``, annotated with its figures (see :func:`render`)."""
    if result.graph is None:
        raise DiagramError("this RunResult has no graph to draw (it was not made by Plumber.run)")
    return render(result.graph, path, format, result)
