"""Quality-control panels: intensity distributions, missing values, proteins per sample,
the sample flow, and run-level TIC and MS2 counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from salivaprot.plot._common import (
    _figure,
    axes_or_new,
    legend_outside,
    short_label,
    trial_order,
)
from salivaprot.plot._style import OKABE_ITO, arm_colors, empty_state

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "intensity_distributions",
    "missing_by_group",
    "proteins_per_sample",
    "run_qc",
    "sample_flow",
]


def _arm_legend(ax: Axes, arms: Sequence[str]) -> None:
    colors = arm_colors(arms)
    legend_outside(ax, [Patch(color=colors[a], label=a) for a in arms])


def intensity_distributions(
    matrix: pd.DataFrame | None,
    samples: pd.DataFrame,
    *,
    arms: Sequence[str],
    visits: Sequence[str],
    ax: Axes | None = None,
    title: str | None = None,
    empty_message: str = "Not in the results folder",
) -> Axes:
    """Box plots of each sample's log2 values (observed only), samples in trial order."""
    ax = axes_or_new(ax, "double", 50, title=title)
    if matrix is None or matrix.shape[1] == 0 or not np.isfinite(matrix.to_numpy(float)).any():
        return empty_state(ax, empty_message)
    order = trial_order(samples.loc[matrix.columns], arms, visits)
    colors = arm_colors(arms)
    values = [matrix[s].dropna().to_numpy(float) for s in order]
    positions = [i for i, v in enumerate(values) if v.size]
    parts = ax.boxplot(
        [values[i] for i in positions],
        positions=positions,
        widths=0.7,
        showfliers=False,
        patch_artist=True,
        medianprops={"color": "#000000", "lw": 0.6},
        whiskerprops={"lw": 0.5},
        capprops={"lw": 0.5},
        boxprops={"lw": 0.4},
    )
    for box, i in zip(parts["boxes"], positions, strict=True):
        box.set_facecolor(colors.get(str(samples.at[order[i], "arm"]), "#999999"))
    return _per_sample_axis(ax, order, arms, "log₂ abundance")


def missing_by_group(
    table: pd.DataFrame,
    *,
    arms: Sequence[str],
    visits: Sequence[str],
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Percent of values missing in each arm x visit group, as a labelled grid.

    Parameters
    ----------
    table : pandas.DataFrame
        ``arm``, ``visit``, ``samples``, ``missing_fraction``.
    arms, visits : sequence of str
        Trial order (rows and columns).
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new journal-style figure).
    title : str, optional
        Axes title.
    """
    ax = axes_or_new(ax, height_mm=45, title=title)
    if table.empty:
        return empty_state(ax, "No samples")
    grid = np.full((len(arms), len(visits)), np.nan)
    counts = np.zeros((len(arms), len(visits)), int)
    for row in table.itertuples(index=False):
        if row.arm in arms and row.visit in visits:
            i, j = list(arms).index(str(row.arm)), list(visits).index(str(row.visit))
            grid[i, j], counts[i, j] = row.missing_fraction, row.samples
    image = ax.imshow(
        np.ma.masked_invalid(100 * grid), cmap="Greys", vmin=0, vmax=100, aspect="auto"
    )
    for i in range(len(arms)):
        for j in range(len(visits)):
            text = (
                "no samples" if counts[i, j] == 0 else f"{100 * grid[i, j]:.1f}%\nn={counts[i, j]}"
            )
            dark = np.isfinite(grid[i, j]) and grid[i, j] > 0.5
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=5.5,
                color="white" if dark else "black",
            )
    ax.set_xticks(range(len(visits)), list(visits))
    ax.set_yticks(range(len(arms)), list(arms))
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    colorbar = _figure(ax).colorbar(image, ax=ax, shrink=0.8, pad=0.02)
    colorbar.set_label("% missing")
    colorbar.outline.set_linewidth(0.4)
    return ax


def proteins_per_sample(
    counts: pd.Series,
    samples: pd.DataFrame,
    *,
    arms: Sequence[str],
    visits: Sequence[str],
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Bars: the number of proteins measured in each sample, samples in trial order."""
    ax = axes_or_new(ax, "double", 45, title=title)
    if counts.empty:
        return empty_state(ax, "No samples")
    order = trial_order(samples.loc[counts.index], arms, visits)
    colors = arm_colors(arms)
    ax.bar(
        range(len(order)),
        counts[order].to_numpy(float),
        width=0.8,
        color=[colors.get(str(samples.at[s, "arm"]), "#999999") for s in order],
    )
    return _per_sample_axis(ax, order, arms, "proteins measured")


def sample_flow(
    flow: pd.DataFrame | None, *, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Horizontal bars from subjects to samples analysed (``step``, ``count``), top to bottom."""
    ax = axes_or_new(ax, height_mm=45, title=title)
    if flow is None or flow.empty:
        return empty_state(ax, "No sample flow in the results folder\n(rerun 'salivaprot diff')")
    y = np.arange(len(flow))
    values = flow["count"].to_numpy(float)
    ax.barh(y, values, color=[OKABE_ITO[0]] * 2 + [OKABE_ITO[5]] * (len(flow) - 2), height=0.65)
    for yi, value in zip(y, values, strict=True):
        ax.text(float(value), float(yi), f" {int(value)}", va="center", ha="left", fontsize=6)
    ax.set_yticks(y, [str(s) for s in flow["step"]])
    ax.set_ylim(len(flow) - 0.5, -0.5)
    ax.set_xlim(0, max(float(values.max()), 1.0) * 1.18)
    ax.set_xlabel("count")
    ax.tick_params(axis="y", length=0)
    return ax


#: Accepted names of run-level QC columns (the first present is used).
TIC_COLUMNS = ("tic_total", "tic", "total_ion_current", "tic_sum")
MS2_COLUMNS = ("n_ms2", "ms2_count", "ms2_spectra", "n_ms2_spectra")
RUN_COLUMNS = ("run", "run_id", "file", "sample_id")


def _first(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    return next((n for n in names if n in frame.columns), None)


#: Columns of a run QC table that flag a run (1/true/yes/fail = flagged); ``qc_pass``
#: (salivaprot qc's verdict) flags a run when false.
FLAG_COLUMNS = ("qc_pass", "flag", "flagged", "outlier", "fail")


def flagged_runs(qc: pd.DataFrame) -> np.ndarray:
    """Boolean: which runs a QC table flags (none when it has no flag column)."""
    flagged = np.zeros(len(qc), bool)
    if "qc_pass" in qc.columns:  # salivaprot qc's verdict
        passed = qc["qc_pass"].astype(str).str.strip().str.lower()
        flagged |= passed.isin(["false", "0", "no", "fail", "failed"]).to_numpy()
    for flag in FLAG_COLUMNS[1:]:
        if flag in qc.columns:
            flagged |= (
                qc[flag].astype(str).str.lower().isin(["1", "true", "yes", "fail"]).to_numpy()
            )
    return flagged


def run_qc(
    qc: pd.DataFrame | None, *, what: str, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Bars per run of the total ion current (``what="tic"``) or the MS2 count (``"ms2"``).

    Uses the first present of :data:`TIC_COLUMNS` or :data:`MS2_COLUMNS` and of
    :data:`RUN_COLUMNS`; says so in the axes when the table lacks them.
    """
    ax = axes_or_new(ax, "double", 45, title=title)
    names = TIC_COLUMNS if what == "tic" else MS2_COLUMNS
    if qc is None:
        return empty_state(ax, "No run QC table (qc.tsv); run 'salivaprot qc'")
    column, run = _first(qc, names), _first(qc, RUN_COLUMNS)
    if column is None or run is None:
        return empty_state(ax, f"qc.tsv has no {' / '.join(names[:2])} or run column")
    values = pd.to_numeric(qc[column], errors="coerce").to_numpy(float)
    x = np.arange(len(qc))
    flagged = flagged_runs(qc)
    ax.bar(x, values, width=0.8, color=np.where(flagged, OKABE_ITO[1], OKABE_ITO[0]))
    ax.set_xticks(
        x,
        [short_label(str(r)) for r in qc[run]],
        rotation=90,
        fontsize=max(2.0, min(5.0, 200 / max(len(qc), 1))),
    )
    ax.set_xlim(-0.7, len(qc) - 0.3)
    ax.set_ylabel("total ion current" if what == "tic" else "MS2 spectra")
    if flagged.any():
        legend_outside(
            ax,
            [Patch(color=OKABE_ITO[1], label="flagged"), Patch(color=OKABE_ITO[0], label="passed")],
        )
    return ax


def _per_sample_axis(ax: Axes, order: pd.Index, arms: Sequence[str], ylabel: str) -> Axes:
    """One labelled x position per sample, in trial order, and the arm legend."""
    ax.set_xticks(
        range(len(order)),
        [short_label(str(s)) for s in order],
        rotation=90,
        fontsize=max(2.0, min(5.0, 200 / len(order))),
    )
    ax.set_xlim(-0.7, len(order) - 0.3)
    ax.set_ylabel(ylabel)
    _arm_legend(ax, arms)
    return ax
