"""Volcano plot of one contrast, with labels that do not overlap."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salivaprot.plot._common import axes_or_new, short_label
from salivaprot.plot._style import GREY, OKABE_ITO, empty_state

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["volcano"]

#: Candidate label offsets (points): rings of eight directions, nearest first.
_ANGLES = np.deg2rad([45, 135, -45, -135, 90, -90, 0, 180])
_RADII = (5.0, 9.0, 14.0, 20.0, 28.0, 38.0)


def volcano(
    results: pd.DataFrame,
    *,
    ax: Axes | None = None,
    fdr: float = 0.05,
    label_top: int = 10,
    highlight: Sequence[str] = (),
    title: str | None = None,
) -> Axes:
    """Volcano plot: log2 fold change against -log10 p-value for one contrast.

    Proteins with ``padj < fdr`` are coloured (vermillion up, blue down); the
    dashed line marks the smallest p-value that is not significant at ``fdr``
    (the BH threshold as it fell in this contrast). The ``label_top`` most
    significant proteins and every protein of ``highlight`` (IDs or genes) are
    labelled; labels are placed by a deterministic repel so they do not
    overlap one another or leave the axes.

    Parameters
    ----------
    results : pandas.DataFrame
        Rows of one contrast: ``protein_id``, ``gene``, ``log2fc``, ``pvalue``, ``padj``.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new journal-style figure).
    fdr : float
        False discovery rate threshold.
    label_top : int
        Number of significant proteins to label.
    highlight : sequence of str
        A protein panel to label (and ring) whatever its significance.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes_or_new(ax, title=title)
    rows = results.dropna(subset=["log2fc", "pvalue"])
    if rows.empty:
        return empty_state(ax, "No estimates in this contrast\n(an F test or nothing estimable)")
    x = rows["log2fc"].to_numpy(float)
    p = np.clip(rows["pvalue"].to_numpy(float), 1e-300, 1.0)
    y = -np.log10(p)
    padj = rows["padj"].to_numpy(float)
    significant = padj < fdr
    up, down = significant & (x > 0), significant & (x <= 0)
    ax.scatter(
        x[~significant],
        y[~significant],
        s=4,
        color=GREY,
        alpha=0.6,
        linewidths=0,
        rasterized=False,
        label="not significant",
    )
    ax.scatter(x[up], y[up], s=6, color=OKABE_ITO[1], linewidths=0, label=f"up (FDR < {fdr:g})")
    ax.scatter(
        x[down], y[down], s=6, color=OKABE_ITO[0], linewidths=0, label=f"down (FDR < {fdr:g})"
    )
    not_significant_p = p[~significant & np.isfinite(padj)]
    if significant.any() and not_significant_p.size:
        threshold = -np.log10(not_significant_p.min())
        ax.axhline(threshold, color="#555555", lw=0.6, ls="--", zorder=0)
        ax.annotate(
            f"FDR {fdr:g}",
            (1.0, threshold),
            xycoords=("axes fraction", "data"),
            ha="right",
            va="bottom",
            fontsize=5,
            color="#555555",
        )
    ax.axvline(0, color="#bbbbbb", lw=0.5, zorder=0)
    ax.set_xlabel("log₂ fold change")
    ax.set_ylabel("−log₁₀ p-value")
    span = max(float(np.abs(x).max()), 0.5) * 1.15
    ax.set_xlim(-span, span)
    ax.set_ylim(0, max(float(y.max()), 1.0) * 1.12)
    if not significant.any():
        ax.text(
            0.02,
            0.98,
            f"No protein at FDR < {fdr:g}",
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=6,
            color="#555555",
        )
    names = [
        g if isinstance(g, str) and g else str(pid)
        for g, pid in zip(rows["gene"], rows["protein_id"], strict=True)
    ]
    order = np.lexsort((np.arange(len(p)), p))
    chosen = [int(i) for i in order if significant[i]][: max(label_top, 0)]
    wanted = {str(h) for h in highlight}
    panel = [
        i
        for i in range(len(names))
        if names[i] in wanted or str(rows["protein_id"].iloc[i]) in wanted
    ]
    if panel:
        ax.scatter(
            x[panel],
            y[panel],
            s=16,
            facecolors="none",
            edgecolors="#000000",
            linewidths=0.6,
            label="panel",
        )
    labelled = list(dict.fromkeys(chosen + panel))
    _repel_labels(ax, x, y, [short_label(n) for n in names], labelled)
    return ax


def _repel_labels(
    ax: Axes, x: np.ndarray, y: np.ndarray, names: list[str], which: list[int]
) -> None:
    """Place each label at the first candidate offset that overlaps nothing placed so far.

    Works in display coordinates after the figure's layout, measuring every
    label with the renderer; offsets are stored in points, so labels keep
    their place at any dpi. Deterministic: no randomness, fixed order.
    """
    if not which:
        return
    root = ax.get_figure(root=True)
    if root is None:  # pragma: no cover - axes always belong to a figure
        return
    engine = root.get_layout_engine()
    if engine is not None:
        engine.execute(root)
    get_renderer = getattr(root.canvas, "get_renderer", None)  # Agg and its subclasses
    renderer = get_renderer() if get_renderer else root._get_renderer()  # type: ignore[attr-defined]
    to_pixels = root.dpi / 72.0
    frame = ax.get_window_extent(renderer)
    points = ax.transData.transform(np.column_stack([x, y]))
    placed: list[tuple[float, float, float, float]] = []
    # the labelled points themselves are obstacles too (a label must not hide a hit)
    dots = [(points[i, 0] - 2, points[i, 1] - 2, points[i, 0] + 2, points[i, 1] + 2) for i in which]
    for i in which:
        probe = ax.text(0, 0, names[i], fontsize=5.5)
        extent = probe.get_window_extent(renderer)
        probe.remove()
        width, height = extent.width, extent.height
        px, py = points[i]
        best = (math.inf, 0.0, 0.0)  # (cost, dx, dy); the loops below always improve on it
        for radius in _RADII:
            for angle in _ANGLES:
                dx, dy = radius * np.cos(angle), radius * np.sin(angle)
                cx, cy = px + dx * to_pixels, py + dy * to_pixels
                # anchor the box on the side facing away from the point
                left = cx - (width if dx < -1e-9 else 0 if dx > 1e-9 else width / 2)
                bottom = cy - (height if dy < -1e-9 else 0 if dy > 1e-9 else height / 2)
                box = (left, bottom, left + width, bottom + height)
                cost = sum(_overlap(box, other) for other in placed + dots)
                inside = (
                    box[0] >= frame.x0
                    and box[2] <= frame.x1
                    and box[1] >= frame.y0
                    and box[3] <= frame.y1
                )
                if not inside:
                    cost += width * height
                if cost < best[0] - 1e-9:
                    best = (cost, dx, dy)
                if cost == 0:
                    break
            if best[0] == 0:
                break
        _, dx, dy = best
        ha = "right" if dx < -1e-9 else "left" if dx > 1e-9 else "center"
        va = "top" if dy < -1e-9 else "bottom" if dy > 1e-9 else "center"
        annotation = ax.annotate(
            names[i],
            (x[i], y[i]),
            xytext=(dx, dy),
            textcoords="offset points",
            ha=ha,
            va=va,
            fontsize=5.5,
            arrowprops={
                "arrowstyle": "-",
                "lw": 0.4,
                "color": "#555555",
                "shrinkA": 0,
                "shrinkB": 1.5,
            }
            if np.hypot(dx, dy) > 6
            else None,
        )
        annotation.set_in_layout(False)
        cx, cy = px + dx * to_pixels, py + dy * to_pixels
        left = cx - (width if ha == "right" else 0 if ha == "left" else width / 2)
        bottom = cy - (height if va == "top" else 0 if va == "bottom" else height / 2)
        placed.append((left, bottom, left + width, bottom + height))


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Area shared by two boxes (x0, y0, x1, y1)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0
