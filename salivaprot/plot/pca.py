"""PCA score plot of samples (the decomposition is computed by the caller)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.lines import Line2D

from salivaprot.plot._common import axes_or_new, legend_outside
from salivaprot.plot._style import arm_colors, empty_state, visit_markers

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["pca"]


def pca(
    scores: pd.DataFrame,
    samples: pd.DataFrame,
    *,
    arms: Sequence[str],
    visits: Sequence[str],
    explained: Sequence[float] = (),
    ax: Axes | None = None,
    title: str | None = None,
    legend: bool = True,
) -> Axes:
    """Samples on their first two principal components: colour = arm, marker = visit.

    Parameters
    ----------
    scores : pandas.DataFrame
        Indexed by sample ID; the first two columns are PC1 and PC2 (see
        :func:`salivaprot.figures.pca_scores`).
    samples : pandas.DataFrame
        Indexed by sample ID, with ``arm`` and ``visit``.
    arms, visits : sequence of str
        Trial order (reference arm first, baseline first), for colours, markers and legends.
    explained : sequence of float
        Fraction of variance explained by PC1 and PC2 (shown on the axis labels).
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new journal-style figure).
    title : str, optional
        Axes title.
    legend : bool
        Draw the arm and visit legends beside the axes.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes_or_new(ax, title=title)
    if scores.shape[0] < 3 or scores.shape[1] < 2:
        return empty_state(ax, "Too few samples or proteins\nfor a PCA")
    colors, markers = arm_colors(arms), visit_markers(visits)
    table = samples.loc[scores.index]
    for arm in arms:
        for visit in visits:
            keep = (table["arm"].astype(str) == arm) & (table["visit"].astype(str) == visit)
            if keep.any():
                ax.scatter(
                    scores.iloc[:, 0].to_numpy(float)[keep.to_numpy()],
                    scores.iloc[:, 1].to_numpy(float)[keep.to_numpy()],
                    s=12,
                    color=colors[arm],
                    marker=markers[visit],
                    linewidths=0.3,
                    edgecolors="white",
                )
    labels = [f"PC{i + 1}" for i in range(2)]
    for i, share in enumerate(list(explained)[:2]):
        labels[i] += f" ({100 * share:.1f}%)"
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.axhline(0, color="#dddddd", lw=0.5, zorder=0)
    ax.axvline(0, color="#dddddd", lw=0.5, zorder=0)
    if legend:
        handles = [Line2D([], [], ls="", marker="o", color=colors[a], label=a) for a in arms]
        handles += [
            Line2D([], [], ls="", marker=markers[v], color="#555555", label=v) for v in visits
        ]
        legend_outside(ax, handles)
    return ax
