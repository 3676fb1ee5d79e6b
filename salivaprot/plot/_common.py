"""Helpers shared by the plot modules (ordering, legends)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


#: The longest label drawn (a protein ID, gene, sample, run or contrast name); see short_label.
LABEL_MAX = 40
_HEAD = 26  # characters kept before the ellipsis; the rest of LABEL_MAX - 1 after it


def short_label(text: str) -> str:
    """``text``, or when longer than :data:`LABEL_MAX` characters its first 26 and last 13
    around an ellipsis (both ends: protein groups and isoforms differ at either end).

    A label of hundreds of characters (a protein group of many accessions) would
    otherwise be cut at the figure's edge or squeeze the axes to nothing.

    Examples
    --------
    >>> short_label("AMY1A")
    'AMY1A'
    >>> short_label("P04745;P0DTE7;P0DTE8;P04746;P19961;Q9UKV5")
    'P04745;P0DTE7;P0DTE8;P0474…P19961;Q9UKV5'
    """
    if len(text) <= LABEL_MAX:
        return text
    return text[:_HEAD] + "…" + text[-(LABEL_MAX - _HEAD - 1) :]


def axes_or_new(
    ax: Axes | None,
    width: Literal["single", "double"] | float = "single",
    height_mm: float = 70.0,
    *,
    title: str | None = None,
) -> Axes:
    """``ax``, or the axes of a new journal-style figure; titled when ``title`` is given."""
    if ax is None:
        from salivaprot.plot._style import new_figure

        _fig, new = new_figure(width, height_mm)
        ax = cast("Axes", new)
    if title:
        ax.set_title(title)
    return ax


def _figure(ax: Axes) -> Figure:
    """The root figure of ``ax``."""
    fig = ax.get_figure(root=True)
    if fig is None:  # pragma: no cover - axes always belong to a figure
        raise ValueError("the axes belong to no figure")
    return fig


def trial_order(samples: pd.DataFrame, arms: Sequence[str], visits: Sequence[str]) -> pd.Index:
    """Sample IDs ordered by arm, then visit (trial order, never alphabetical), then as given."""
    arm_rank = {a: i for i, a in enumerate(arms)}
    visit_rank = {v: i for i, v in enumerate(visits)}
    keys = pd.DataFrame(
        {
            "arm": samples["arm"].astype(str).map(arm_rank).fillna(len(arm_rank)),
            "visit": samples["visit"].astype(str).map(visit_rank).fillna(len(visit_rank)),
            "position": range(len(samples)),
        },
        index=samples.index,
    )
    return keys.sort_values(["arm", "visit", "position"], kind="stable").index


def legend_outside(ax: Axes, handles: list[Any], title: str | None = None, **kwargs: Any) -> None:
    """A compact legend to the right of the axes."""
    if handles:
        ax.legend(
            handles=handles,
            title=title,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0.0,
            handlelength=1.2,
            **kwargs,
        )
