"""Journal style: sizes in mm, the Okabe-Ito palette, embedded fonts, reproducible files.

:func:`style` is the one place rcParams are set (as a context, so nothing leaks);
:func:`new_figure` makes a figure of a journal column width; :func:`save` writes
it as vector PDF and SVG and 300 dpi PNG with fixed metadata, so the same
figure gives the same bytes every time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "DOUBLE_COLUMN_MM",
    "FORMATS",
    "OKABE_ITO",
    "SINGLE_COLUMN_MM",
    "VISIT_MARKERS",
    "arm_colors",
    "empty_state",
    "new_figure",
    "save",
    "style",
    "to_bytes",
    "visit_markers",
]

#: Journal column widths (Nature, Cell, Elsevier: 89 mm single, 183 mm double).
SINGLE_COLUMN_MM = 89.0
DOUBLE_COLUMN_MM = 183.0
MM_PER_INCH = 25.4

#: Okabe & Ito (2008), the colour-blind-safe palette, black last.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
GREY = "#999999"

#: Markers for visits, baseline first (distinct in shape, not only in colour).
VISIT_MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")

FORMATS: tuple[str, ...] = ("pdf", "svg", "png")
PNG_DPI = 300

_RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 7,
    "axes.titlesize": 7,
    "axes.labelsize": 7,
    "xtick.labelsize": 6,
    "ytick.labelsize": 6,
    "legend.fontsize": 6,
    "legend.title_fontsize": 6,
    "legend.frameon": False,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "lines.linewidth": 1.0,
    "lines.markersize": 3.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": None,  # set in style()
    "figure.dpi": 100,
    "savefig.dpi": PNG_DPI,
    "pdf.fonttype": 42,  # TrueType, embedded (editable in Illustrator)
    "ps.fonttype": 42,
    "svg.fonttype": "path",  # glyphs as paths: the SVG needs no font installed
    "svg.hashsalt": "salivaprot",  # fixed ids: identical SVG bytes on every run
    "path.simplify": False,
    "image.interpolation": "nearest",
    "axes.unicode_minus": True,
    # Every label is literal text (gene names, protein IDs, contrasts): "$x^2$" is drawn as
    # written, never as math, and "P$\\foo$" is no crash. Our own labels use Unicode (log₂).
    "text.parse_math": False,
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The salivaprot journal style, as a context (rcParams restored on exit).

    Examples
    --------
    >>> import matplotlib
    >>> with style():
    ...     matplotlib.rcParams["pdf.fonttype"]
    42
    """
    import matplotlib as mpl
    from cycler import cycler

    params = dict(_RC)
    params["axes.prop_cycle"] = cycler(color=list(OKABE_ITO))
    with mpl.rc_context(params):  # type: ignore[arg-type]
        yield


def new_figure(
    width: Literal["single", "double"] | float = "single",
    height_mm: float = 70.0,
    *,
    nrows: int = 1,
    ncols: int = 1,
    **subplot_kw: Any,
) -> tuple[Figure, Any]:
    """A figure of a journal column width (or ``width`` mm) with its axes.

    The figure is not attached to pyplot (no global state, nothing shown);
    it renders with Agg and uses the constrained layout.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if width == "single":
        width_mm = SINGLE_COLUMN_MM
    elif width == "double":
        width_mm = DOUBLE_COLUMN_MM
    else:
        width_mm = float(width)
    fig = Figure(
        figsize=(float(width_mm) / MM_PER_INCH, height_mm / MM_PER_INCH), layout="constrained"
    )
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=True, **subplot_kw)
    return fig, axes


def save(fig: Figure, stem: str | Path, *, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` as ``stem.pdf``, ``stem.svg`` and/or ``stem.png`` (300 dpi).

    Metadata carry no date and no software version, and SVG ids come from a
    fixed hash salt, so the same figure gives byte-identical files.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of ``formats``.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown figure formats {unknown}; choose from {list(FORMATS)}")
    written = []
    for fmt in formats:
        path = Path(f"{stem}.{fmt}")
        path.write_bytes(to_bytes(fig, fmt))
        written.append(path)
    return written


#: Metadata that would vary between runs or machines, removed from every file.
_METADATA: dict[str, dict[str, Any]] = {
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
    "svg": {"Date": None, "Creator": None},
    "png": {"Software": None},
}


def to_bytes(fig: Figure, fmt: str, *, dpi: float = PNG_DPI) -> bytes:
    """The bytes of ``fig`` as ``fmt`` (pdf, svg or png), without dates or versions."""
    import io

    buffer = io.BytesIO()
    with style():  # rcParams read at render time (fonts, hash salt) are the style's too
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
    return buffer.getvalue()


def arm_colors(arms: Sequence[str]) -> dict[str, str]:
    """One Okabe-Ito colour per arm, in trial order (reference arm first)."""
    return {arm: OKABE_ITO[i % len(OKABE_ITO)] for i, arm in enumerate(arms)}


def visit_markers(visits: Sequence[str]) -> dict[str, str]:
    """One marker per visit, in trial order (baseline first)."""
    return {visit: VISIT_MARKERS[i % len(VISIT_MARKERS)] for i, visit in enumerate(visits)}


def empty_state(ax: Axes, message: str) -> Axes:
    """Say honestly, inside the axes, why there is nothing to draw."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.text(
        0.5,
        0.5,
        message,
        ha="center",
        va="center",
        wrap=True,
        color="#555555",
        transform=ax.transAxes,
    )
    return ax
