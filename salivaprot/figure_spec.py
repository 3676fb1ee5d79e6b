"""Figure specs: which figures to draw, read from YAML (see :mod:`salivaprot.figures`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salivaprot.errors import InputFormatError

__all__ = ["DEFAULT_SIZES", "KINDS", "FigureSpec", "read_spec"]

KINDS = ("volcano", "pca", "correlation", "heatmap", "trajectory", "forest", "qc", "run_qc")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class FigureSpec:
    """One figure to draw: a file stem, a kind and what it shows."""

    name: str
    kind: str
    contrast: str | None = None
    proteins: tuple[str, ...] = ()
    size: tuple[float, float] | None = None  # (width_mm, height_mm)


DEFAULT_SIZES: dict[str, tuple[float, float]] = {
    "volcano": (89.0, 75.0),
    "pca": (183.0, 75.0),
    "correlation": (183.0, 150.0),
    "heatmap": (183.0, 120.0),
    "trajectory": (183.0, 110.0),
    "forest": (89.0, 80.0),
    "qc": (183.0, 200.0),
    "run_qc": (183.0, 100.0),
}


def _size(value: Any, index: int, path: Path | None) -> tuple[float, float] | None:
    if value is None:
        return None
    if value in ("single", "double"):
        return (89.0 if value == "single" else 183.0, float("nan"))
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and 10 <= v <= 500 for v in value)
    ):
        return (float(value[0]), float(value[1]))
    raise InputFormatError(
        f"figure {index + 1}: size must be single, double or [width_mm, height_mm] "
        f"(10-500 mm), not {value!r}",
        path=path,
    )


def read_spec(path: Path) -> list[FigureSpec]:
    """Read a figures spec (YAML, see the module docstring); every problem at once."""
    import yaml

    from salivaprot.io._files import read_text

    text = read_text(path, what="figures spec")
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise InputFormatError(
            f"not valid YAML: {getattr(err, 'problem', err)}",
            path=path,
            line=mark.line + 1 if mark is not None else None,
        ) from err
    if isinstance(content, dict) and "figures" in content:
        content = content["figures"]
    if not isinstance(content, list) or not content:
        raise InputFormatError(
            "expected a list of figures (under 'figures:'), each with name and kind", path=path
        )
    problems: list[str] = []
    specs: list[FigureSpec] = []
    allowed = {"name", "kind", "contrast", "proteins", "size"}
    for i, item in enumerate(content):
        if not isinstance(item, dict):
            problems.append(f"figure {i + 1}: expected a mapping with name and kind")
            continue
        extra = sorted(set(map(str, item)) - allowed)
        if extra:
            problems.append(f"figure {i + 1}: unknown key(s) {extra}; allowed: {sorted(allowed)}")
        name, kind = str(item.get("name", "")), str(item.get("kind", ""))
        if not _NAME.match(name):
            problems.append(
                f"figure {i + 1}: name {name!r} must be a file stem (letters, digits, _ . -)"
            )
        if kind not in KINDS:
            problems.append(f"figure {i + 1}: kind {kind!r} is not one of {list(KINDS)}")
        proteins = item.get("proteins", [])
        if isinstance(proteins, str):
            proteins = [p.strip() for p in proteins.split(",") if p.strip()]
        if not isinstance(proteins, list):
            problems.append(f"figure {i + 1}: proteins must be a list")
            proteins = []
        try:
            size = _size(item.get("size"), i, None)
        except InputFormatError as err:
            problems.extend(err.problems)
            size = None
        contrast = item.get("contrast")
        specs.append(
            FigureSpec(
                name=name,
                kind=kind,
                contrast=None if contrast is None else str(contrast),
                proteins=tuple(str(p) for p in proteins),
                size=size,
            )
        )
    names = [s.name for s in specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        problems.append(f"figure names must be unique: {repeated}")
    if problems:
        raise InputFormatError(problems, path=path)
    return specs
