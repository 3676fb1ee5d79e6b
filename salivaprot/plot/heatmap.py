"""Heatmaps: sample correlation, and z-scored significant proteins (clustered)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from salivaprot.plot._common import _figure, axes_or_new, short_label, trial_order
from salivaprot.plot._style import arm_colors, empty_state

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap

__all__ = ["correlation_heatmap", "protein_heatmap"]

#: Colour of missing cells (distinct from the white centre of the diverging map).
MISSING_COLOR = "#FFE9A8"

#: Greys for visits in the annotation strip (light = baseline), colour-blind safe.
_VISIT_GREYS = ("#f0f0f0", "#bdbdbd", "#969696", "#636363", "#252525", "#d9d9d9", "#737373")


def _annotation_strip(
    ax: Axes,
    samples: pd.DataFrame,
    order: pd.Index,
    arms: Sequence[str],
    visits: Sequence[str],
    *,
    y: float,
    height: float,
    missing: bool = True,
) -> list[Patch]:
    """Arm and visit strips above a heatmap's columns (in data coordinates)."""
    colors = arm_colors(arms)
    greys = {v: _VISIT_GREYS[i % len(_VISIT_GREYS)] for i, v in enumerate(visits)}
    for j, sample in enumerate(order):
        arm, visit = str(samples.at[sample, "arm"]), str(samples.at[sample, "visit"])
        ax.add_patch(_rect(j - 0.5, y, 1, height, colors.get(arm, "#000000")))
        ax.add_patch(_rect(j - 0.5, y + height, 1, height, greys.get(visit, "#ffffff")))
    handles = [Patch(color=colors[a], label=a) for a in arms]
    handles += [Patch(facecolor=greys[v], edgecolor="#999999", lw=0.3, label=v) for v in visits]
    if missing:
        handles.append(Patch(facecolor=MISSING_COLOR, edgecolor="#999999", lw=0.3, label="missing"))
    return handles


def plt_cmap(name: str, *, bad: str) -> Colormap:
    """A named colormap whose masked (missing) cells show as ``bad``."""
    import matplotlib as mpl

    return mpl.colormaps[name].with_extremes(bad=bad)


def _strip_legend(ax: Axes, handles: list[Patch]) -> None:
    """The arm and visit keys in one row above the strips."""
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.0, -0.01),
        ncols=len(handles),
        fontsize=5,
        handlelength=0.8,
        columnspacing=0.8,
        borderaxespad=0.0,
    )


def _rect(x: float, y: float, w: float, h: float, color: str) -> Patch:
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=color, edgecolor="none", clip_on=False)


def correlation_heatmap(
    matrix: pd.DataFrame,
    samples: pd.DataFrame,
    *,
    arms: Sequence[str],
    visits: Sequence[str],
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Pearson correlation between samples (pairwise-complete proteins), in trial order.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Proteins x samples, log2.
    samples : pandas.DataFrame
        Indexed by sample ID, with ``arm`` and ``visit``.
    arms, visits : sequence of str
        Trial order; samples are grouped by arm, then visit.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new journal-style figure).
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes_or_new(ax, height_mm=80, title=title)
    if matrix.shape[1] < 2 or matrix.shape[0] < 2:
        return empty_state(ax, "Too few samples or proteins\nfor correlations")
    order = trial_order(samples.loc[matrix.columns], arms, visits)
    corr = matrix[order].corr(min_periods=3).to_numpy(float)
    cmap = plt_cmap("viridis", bad="#ffffff")
    image = ax.imshow(np.ma.masked_invalid(corr), cmap=cmap, aspect="auto", interpolation="nearest")
    n = len(order)
    strip = max(n / 40, 0.6)
    top = -0.5 - 2 * strip - strip / 2
    handles = _annotation_strip(
        ax, samples, order, arms, visits, y=top, height=strip, missing=False
    )
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(n - 0.5, top)
    ax.set_xticks([])
    ax.set_yticks(
        range(n), [short_label(str(s)) for s in order], fontsize=max(2.0, min(5.0, 240 / n))
    )
    return _finish(ax, image, handles, "Pearson r", shrink=0.6, pad=0.02)


def protein_heatmap(
    matrix: pd.DataFrame,
    samples: pd.DataFrame,
    *,
    arms: Sequence[str],
    visits: Sequence[str],
    labels: Mapping[str, str] | None = None,
    row_order: Sequence[str] | None = None,
    imputed: pd.DataFrame | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    empty_message: str = "No significant protein",
) -> Axes:
    """Z-scored abundances of a set of proteins, samples grouped by arm and visit.

    Rows are shown in ``row_order`` (e.g. from
    :func:`salivaprot.figures.cluster_order`, a hierarchical clustering) and
    each row is z-scored over samples; missing values are pale yellow, imputed
    values are dotted.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Proteins x samples, log2, the proteins to show.
    samples : pandas.DataFrame
        Indexed by sample ID, with ``arm`` and ``visit``.
    arms, visits : sequence of str
        Trial order.
    labels : mapping, optional
        protein_id -> row label (gene names).
    row_order : sequence of str, optional
        Order of the rows (default: as given).
    imputed : pandas.DataFrame, optional
        Boolean mask, proteins x samples.
    empty_message : str
        Shown when there is no protein.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new journal-style figure).
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes_or_new(ax, "double", 90, title=title)
    if matrix.shape[0] == 0:
        return empty_state(ax, empty_message)
    rows = list(row_order) if row_order is not None else list(matrix.index)
    order = trial_order(samples.loc[matrix.columns], arms, visits)
    values = matrix.loc[rows, order]
    centred = values.sub(values.mean(axis=1), axis=0)
    spread = values.std(axis=1, ddof=1).replace(0, np.nan)
    z = centred.div(spread, axis=0).to_numpy(float)
    limit = 3.0
    image = ax.imshow(
        np.ma.masked_invalid(np.clip(z, -limit, limit)),
        cmap=plt_cmap("RdBu_r", bad=MISSING_COLOR),
        vmin=-limit,
        vmax=limit,
        aspect="auto",
        interpolation="nearest",
    )
    if imputed is not None:
        mask = imputed.reindex(index=rows, columns=order).fillna(False).to_numpy(bool)
        ii, jj = np.nonzero(mask)
        if ii.size:
            ax.scatter(jj, ii, s=1.0, color="#000000", marker=".", linewidths=0)
    n_rows, n_cols = z.shape
    strip = max(n_rows / 30, 0.5)
    top = -0.5 - 2 * strip - strip / 2
    handles = _annotation_strip(ax, samples, order, arms, visits, y=top, height=strip)
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, top)
    names = [short_label(str((labels or {}).get(r, r))) for r in rows]
    ax.set_yticks(range(n_rows), names, fontsize=max(2.5, min(5.5, 300 / max(n_rows, 1))))
    ax.set_xticks([])
    return _finish(ax, image, handles, "z-score (log₂)", shrink=0.5, pad=0.01)


def _finish(ax: Axes, image: Any, handles: Any, label: str, *, shrink: float, pad: float) -> Axes:
    """A heatmap's frame: no tick marks or spines, a labelled colour bar, the strip legend."""
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    colorbar = _figure(ax).colorbar(image, ax=ax, shrink=shrink, pad=pad)
    colorbar.set_label(label)
    colorbar.outline.set_linewidth(0.4)
    _strip_legend(ax, handles)
    return ax
