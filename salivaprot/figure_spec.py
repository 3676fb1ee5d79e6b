"""Figure specs: which figures to draw, read from YAML (see :mod:`salivaprot.figures`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salivaprot.errors import InputFormatError

__all__ = ["DEFAULT_SIZES", "KINDS", "KIND_KEYS", "MAX_NAME", "FigureSpec", "read_spec"]

KINDS = ("volcano", "pca", "correlation", "heatmap", "trajectory", "forest", "qc", "run_qc")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: The longest figure name (a file stem: with its suffix well within any file system's limit).
MAX_NAME = 100

#: The keys each kind takes, besides name, kind and size (a heatmap: proteins or contrast).
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "volcano": ("contrast", "proteins"),
    "pca": (),
    "correlation": (),
    "heatmap": ("contrast", "proteins"),
    "trajectory": ("contrast", "proteins"),
    "forest": ("contrast", "proteins"),
    "qc": (),
    "run_qc": (),
}
_COMMON_KEYS = ("name", "kind", "size")
_KEYS = (*_COMMON_KEYS, "contrast", "proteins")


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


def _size(value: Any, label: str) -> tuple[float, float] | None:
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
        f"{label}: size must be single, double or [width_mm, height_mm] (10-500 mm), not {value!r}"
    )


def _label(index: int, name: Any, kind: Any) -> str:
    """How messages name a figure: ``figure 3 ('cystatins', trajectory)``."""
    if not isinstance(name, str) or not name:
        return f"figure {index + 1}"
    shown = name if len(name) <= 40 else name[:37] + "..."
    return f"figure {index + 1} ('{shown}'" + (f", {kind})" if kind in KINDS else ")")


def _not_text(value: Any) -> str:
    """A hint for a value YAML did not read as text."""
    return " (quote a name that YAML reads as a number)" if isinstance(value, int | float) else ""


def _figure(item: dict[Any, Any], index: int, problems: list[str]) -> FigureSpec:
    """One figure of a spec; what is wrong with it goes to ``problems``."""
    name, kind = item.get("name", ""), item.get("kind", "")
    label = _label(index, name, kind)
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(
            f"{label}: name {name!r} must be a file stem (letters, digits, _ . -, "
            "starting with a letter or digit)"
        )
    elif len(name) > MAX_NAME:
        problems.append(
            f"{label}: name is {len(name)} characters long; at most {MAX_NAME} (a file stem)"
        )
    if kind not in KINDS:
        problems.append(f"{label}: kind {kind!r} is not one of {list(KINDS)}")
    keys = [str(k) for k in item]
    takes = (*_COMMON_KEYS, *KIND_KEYS[kind]) if kind in KINDS else _KEYS
    unknown = sorted(set(keys) - set(_KEYS))
    if unknown:
        problems.append(f"{label}: unknown key(s) {unknown}; allowed: {sorted(takes)}")
    if kind in KINDS:
        for key in ("contrast", "proteins"):
            if key in keys and key not in takes:
                problems.append(
                    f"{label}: {key} is not used by a {kind} figure; a {kind} figure takes "
                    + ", ".join(takes)
                )
        if kind == "heatmap" and "contrast" in keys and "proteins" in keys:
            problems.append(
                f"{label}: give proteins or contrast, not both: a heatmap shows the given "
                "proteins, or the proteins with padj < 0.05 in a contrast"
            )
    proteins = item.get("proteins")
    if proteins is None:
        proteins = []
    elif isinstance(proteins, str):
        proteins = [p.strip() for p in proteins.split(",") if p.strip()]
    elif not isinstance(proteins, list):
        problems.append(
            f"{label}: proteins must be a list of protein IDs or gene names, not {proteins!r}"
        )
        proteins = []
    else:
        bad = [p for p in proteins if not isinstance(p, str) or not p.strip()]
        if bad:
            problems.append(
                f"{label}: proteins must be protein IDs or gene names (text), not "
                + ", ".join(map(repr, bad))
                + next((_not_text(p) for p in bad if _not_text(p)), "")
            )
        proteins = [p.strip() for p in proteins if isinstance(p, str) and p.strip()]
    given = item.get("proteins", ...)
    if given is None or given == [] or (isinstance(given, str) and not proteins):
        problems.append(
            f"{label}: proteins is empty; list protein IDs or gene names, or leave the key out"
        )
    contrast = item.get("contrast")
    if contrast is not None and (not isinstance(contrast, str) or not contrast.strip()):
        problems.append(
            f"{label}: contrast must be one contrast name (text), not {contrast!r}"
            + _not_text(contrast)
        )
        contrast = None
    try:
        size = _size(item.get("size"), label)
    except InputFormatError as err:
        problems.extend(err.problems)
        size = None
    return FigureSpec(
        name=str(name),
        kind=str(kind),
        contrast=None if contrast is None else contrast.strip(),
        proteins=tuple(proteins),
        size=size,
    )


def read_spec(path: Path) -> list[FigureSpec]:
    """Read a figures spec (YAML, see the module docstring); every problem at once.

    Nothing is ignored without a word: an unknown key, a key given twice, a key
    the figure's kind does not use (``contrast`` on a ``pca``), a top-level key
    beside ``figures:``, a protein or contrast that is not text, and a name that
    is not a file stem of at most :data:`MAX_NAME` characters are refused.
    Whether the proteins and contrasts are in a results folder is checked by
    :func:`salivaprot.figures.check_specs`.
    """
    from salivaprot.io._files import read_text
    from salivaprot.io._yaml import load_yaml

    text = read_text(path, what="figures spec")
    content = load_yaml(text, path=path, repeated="give each key once")
    if isinstance(content, dict) and "figures" in content:
        others = sorted(str(k) for k in content if k != "figures")
        if others:
            raise InputFormatError(
                f"unknown top-level key(s) {others}; a spec holds only 'figures:', the list of "
                "figures"
                + (" (file formats are chosen with --format)" if "formats" in others else ""),
                path=path,
            )
        content = content["figures"]
    if not isinstance(content, list) or not content:
        raise InputFormatError(
            "expected a list of figures (under 'figures:'), each with name and kind", path=path
        )
    problems: list[str] = []
    specs: list[FigureSpec] = []
    for i, item in enumerate(content):
        if not isinstance(item, dict):
            problems.append(f"figure {i + 1}: expected a mapping with name and kind")
            continue
        specs.append(_figure(item, i, problems))
    names = [s.name for s in specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        problems.append(f"figure names must be unique: {repeated}")
    if problems:
        raise InputFormatError(problems, path=path)
    return specs
