"""Forest plot of estimates with 95% confidence intervals from ``se`` and ``df``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salivaprot.plot._common import axes_or_new, short_label
from salivaprot.plot._style import OKABE_ITO, empty_state

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["confidence_interval", "forest"]


def confidence_interval(rows: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """``low`` and ``high``: log2fc ± t(1 - (1 - level)/2, df) x se, row by row.

    Examples
    --------
    >>> ci = confidence_interval(pd.DataFrame({"log2fc": [1.0], "se": [0.5], "df": [10.0]}))
    >>> round(float(ci["low"].iloc[0]), 4), round(float(ci["high"].iloc[0]), 4)
    (-0.1141, 2.1141)
    """
    from scipy import stats

    q = stats.t.ppf(0.5 + level / 2, rows["df"].to_numpy(float))
    half = q * rows["se"].to_numpy(float)
    estimate = rows["log2fc"].to_numpy(float)
    return pd.DataFrame({"low": estimate - half, "high": estimate + half}, index=rows.index)


def forest(
    rows: pd.DataFrame,
    *,
    label: str = "label",
    ax: Axes | None = None,
    title: str | None = None,
    fdr: float = 0.05,
    empty_message: str = "No estimate to show",
) -> Axes:
    """Estimates (log2 fold changes) with 95% CIs, one row per estimand, top to bottom.

    Filled markers: ``padj < fdr``; open: not significant. Rows without an
    estimate (F tests, nothing estimable) are left out and counted in a note.

    Parameters
    ----------
    rows : pandas.DataFrame
        ``log2fc``, ``se``, ``df``, ``padj`` and a ``label`` column, in display order
        (labels longer than 40 characters are shortened around an ellipsis).
    label : str
        The column holding row labels (a contrast or a gene).
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new journal-style figure).
    title : str, optional
        Axes title.
    fdr : float
        Significance threshold on ``padj`` (filled markers).
    empty_message : str
        Shown when no row has an estimate.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes_or_new(ax, title=title)
    usable = rows.dropna(subset=["log2fc", "se", "df"])
    if usable.empty:
        return empty_state(ax, empty_message)
    ci = confidence_interval(usable)
    y = np.arange(len(usable))
    significant = usable["padj"].to_numpy(float) < fdr
    ax.hlines(y, ci["low"].to_numpy(float), ci["high"].to_numpy(float), color="#333333", lw=0.8)
    ax.scatter(
        usable["log2fc"].to_numpy(float)[significant],
        y[significant],
        s=14,
        color=OKABE_ITO[1],
        zorder=3,
        label=f"FDR < {fdr:g}",
    )
    ax.scatter(
        usable["log2fc"].to_numpy(float)[~significant],
        y[~significant],
        s=14,
        facecolors="white",
        edgecolors="#333333",
        linewidths=0.7,
        zorder=3,
        label="not significant",
    )
    ax.axvline(0, color="#999999", lw=0.6, ls="--", zorder=0)
    ax.legend(loc="best", fontsize=5, handletextpad=0.2, borderaxespad=0.3)
    ax.set_yticks(y, [short_label(str(v)) for v in usable[label]])
    ax.set_ylim(len(usable) - 0.5, -0.5)
    ax.set_xlabel("log₂ fold change (95% CI)")
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    dropped = len(rows) - len(usable)
    if dropped:
        ax.set_xlabel(  # ending at the axes' right edge: centred, it was cut at the figure's
            f"{ax.get_xlabel()}\n{dropped} row(s) without an estimate\n(F test or not "
            "estimable) not shown",
            loc="right",
        )
    return ax
