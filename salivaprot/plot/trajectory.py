"""One protein over visits: a thin line per subject, arm means with 95% CIs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from salivaprot.plot._common import axes_or_new, legend_outside
from salivaprot.plot._style import arm_colors, empty_state

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["arm_means", "trajectory"]


def arm_means(long: pd.DataFrame, arms: Sequence[str], visits: Sequence[str]) -> pd.DataFrame:
    """Descriptive mean and t-based 95% CI of ``value`` per arm and visit (no model).

    Returns
    -------
    pandas.DataFrame
        ``arm``, ``visit``, ``n``, ``mean``, ``low``, ``high`` (NaN CI below two values),
        in trial order.
    """
    from scipy import stats

    rows = []
    for arm in arms:
        for visit in visits:
            v = long.loc[(long["arm"] == arm) & (long["visit"] == visit), "value"].dropna()
            n = len(v)
            mean = float(v.mean()) if n else np.nan
            half = (
                float(stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / np.sqrt(n)) if n >= 2 else np.nan
            )
            rows.append(
                {
                    "arm": arm,
                    "visit": visit,
                    "n": n,
                    "mean": mean,
                    "low": mean - half,
                    "high": mean + half,
                }
            )
    return pd.DataFrame(rows)


def trajectory(
    long: pd.DataFrame,
    *,
    arms: Sequence[str],
    visits: Sequence[str],
    ax: Axes | None = None,
    title: str | None = None,
    ylabel: str = "log₂ abundance",
    legend: bool = True,
    means_include_imputed: bool = False,
) -> Axes:
    """A protein's values over visits: subjects as thin lines, arm means with 95% CI.

    Visits are evenly spaced in trial order (never alphabetical); arms are
    dodged slightly. Imputed values are drawn as open markers; they count in
    the means only with ``means_include_imputed`` (as when the model used them).

    Parameters
    ----------
    long : pandas.DataFrame
        One row per sample: ``subject_id``, ``arm``, ``visit``, ``value`` and,
        optionally, ``imputed`` (bool).
    arms, visits : sequence of str
        Trial order.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new journal-style figure).
    title : str, optional
        Axes title.
    ylabel : str
        Y-axis label.
    legend : bool
        Draw the legend beside the axes.
    means_include_imputed : bool
        Let imputed values count in the arm means (default: measured values only).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes_or_new(ax, title=title)
    data = long.dropna(subset=["value"])
    if data.empty:
        return empty_state(ax, "No measured value for this protein")
    colors = arm_colors(arms)
    position = {v: i for i, v in enumerate(visits)}
    width = 0.12 if len(arms) > 1 else 0.0
    dodge = {a: (i - (len(arms) - 1) / 2) * width for i, a in enumerate(arms)}
    imputed = data["imputed"].astype(bool) if "imputed" in data else pd.Series(False, data.index)
    for (arm_key, _subject), rows in data.groupby(["arm", "subject_id"], sort=False, observed=True):
        arm = str(arm_key)
        rows = rows.assign(x=rows["visit"].map(position)).sort_values("x")
        xs = rows["x"].to_numpy(float) + dodge.get(arm, 0.0)
        ax.plot(
            xs,
            rows["value"].to_numpy(float),
            color=colors.get(arm, "#000000"),
            lw=0.4,
            alpha=0.45,
            marker="o",
            ms=1.6,
            mew=0,
        )
    if imputed.any():
        rows = data[imputed]
        xs = rows["visit"].map(position).to_numpy(float) + rows["arm"].map(dodge).to_numpy(float)
        ax.scatter(
            xs,
            rows["value"].to_numpy(float),
            s=9,
            facecolors="white",
            linewidths=0.5,
            edgecolors=[colors.get(a, "#000000") for a in rows["arm"]],
            zorder=3,
        )
    means = arm_means(data if means_include_imputed else data[~imputed], arms, visits)
    for arm in arms:
        m = means[means["arm"] == arm]
        mean = m["mean"].to_numpy(float)
        xs = np.array([position[v] for v in m["visit"]], float) + dodge[arm] * 1.6
        ax.errorbar(
            xs,
            mean,
            yerr=np.vstack([mean - m["low"].to_numpy(float), m["high"].to_numpy(float) - mean]),
            color=colors[arm],
            lw=1.4,
            capsize=2,
            capthick=0.8,
            marker="o",
            ms=3.5,
            zorder=4,
        )
    ax.set_xticks(range(len(visits)), list(visits))
    ax.set_xlim(-0.5, len(visits) - 0.5)
    ax.set_xlabel("visit")
    ax.set_ylabel(ylabel)
    if len(visits) == 1:
        ax.text(
            0.02,
            0.98,
            "single visit: no change over time to show",
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=5.5,
            color="#555555",
        )
    if legend:
        handles = [
            Line2D([], [], color=colors[a], lw=1.4, marker="o", ms=3, label=f"{a} mean ±95% CI")
            for a in arms
        ]
        handles.append(Line2D([], [], color="#777777", lw=0.4, label="one subject"))
        if imputed.any():
            handles.append(
                Line2D([], [], ls="", marker="o", mfc="white", mec="#555555", label="imputed")
            )
        legend_outside(ax, handles)
    return ax
