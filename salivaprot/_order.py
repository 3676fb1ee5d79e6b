"""How the reference arm and the visit order are decided: one rule for sheets and designs.

Both :func:`salivaprot.io.sheets.sample_sheet` and
:func:`salivaprot.design.trial_design` call these functions, so a sample sheet
read from a file and a plain DataFrame given to the API are ordered the same
way. Nothing is ever ordered alphabetically as a guess:

* the **reference arm** is the one the user names; else the arm called
  placebo in any case or common spelling (``Placebo``, ``PLACEBO``, ``Pbo``,
  ``PLC``); else, when every arm is a blinded code (``A``/``B``, ``1``/``2``,
  ``arm1``/``arm2``), the first code; otherwise the user must name it;
* the **visit order** is the one the user gives; else the median of a numeric
  ``visit_day``; else the time the visit names spell (``baseline``, ``day 14``,
  ``week6``, ``month4``...); otherwise the user must give it. A visit called
  baseline (any case) must come first unless the user orders the visits
  explicitly: a ``visit_day`` that says otherwise is an error, not a reordering.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "is_baseline_name",
    "is_blinded_code",
    "is_placebo_name",
    "natural_key",
    "reference_arm_order",
    "visit_order",
]

_PLACEBO = re.compile(r"(?:placebo|pbo|plc|plac|placebo[ _-]?control)", re.IGNORECASE)
_BASELINE = re.compile(r"(?:baseline|base|bl|(?:day|week|month)[ _-]?0|[dwm]0)", re.IGNORECASE)
_BLINDED = re.compile(
    r"(?:[a-z]|\d{1,3}|(?:arm|group|grp|treatment|trt|code)[ _-]?[a-z0-9]{1,3})", re.IGNORECASE
)
_UNIT_DAYS = {
    "d": 1.0,
    "day": 1.0,
    "days": 1.0,
    "w": 7.0,
    "wk": 7.0,
    "week": 7.0,
    "weeks": 7.0,
    "m": 30.4375,
    "mo": 30.4375,
    "month": 30.4375,
    "months": 30.4375,
    "y": 365.25,
    "yr": 365.25,
    "year": 365.25,
    "years": 365.25,
}
_UNITS = "|".join(sorted(_UNIT_DAYS, key=len, reverse=True))
_TIME = re.compile(
    rf"(?:(?P<u1>{_UNITS})[ _-]?(?P<n1>\d+(?:\.\d+)?)|(?P<n2>\d+(?:\.\d+)?)[ _-]?(?P<u2>{_UNITS}))",
    re.IGNORECASE,
)


def is_placebo_name(name: str) -> bool:
    """Whether an arm name means placebo (any case, common abbreviations).

    Examples
    --------
    >>> [is_placebo_name(n) for n in ("Placebo", "PBO", "aMSC", "placebo control")]
    [True, True, False, True]
    """
    return _PLACEBO.fullmatch(name.strip()) is not None


def is_baseline_name(name: str) -> bool:
    """Whether a visit name means the baseline (``baseline``, ``BL``, ``day 0``...).

    Examples
    --------
    >>> [is_baseline_name(n) for n in ("Baseline", "BL", "day0", "month1")]
    [True, True, True, False]
    """
    return _BASELINE.fullmatch(name.strip()) is not None


def is_blinded_code(name: str) -> bool:
    """Whether an arm name is a blinded code (``A``, ``2``, ``arm1``, ``Group B``).

    Examples
    --------
    >>> [is_blinded_code(n) for n in ("A", "2", "arm1", "Group B", "Active")]
    [True, True, True, True, False]
    """
    return _BLINDED.fullmatch(name.strip()) is not None


def natural_key(name: str) -> tuple[tuple[int, object], ...]:
    """Sort key that orders ``arm2`` before ``arm10``.

    Examples
    --------
    >>> sorted(["arm10", "arm2", "arm1"], key=natural_key)
    ['arm1', 'arm2', 'arm10']
    """
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in re.split(r"(\d+)", name)
        if part
    )


def _time_in_days(name: str) -> float | None:
    if is_baseline_name(name):
        return 0.0
    match = _TIME.fullmatch(name.strip())
    if match is None:
        return None
    unit = (match.group("u1") or match.group("u2")).lower()
    number = float(match.group("n1") or match.group("n2"))
    return number * _UNIT_DAYS[unit]


def written_two_ways(labels: Sequence[str], what: str) -> list[str]:
    """Problems for labels that differ only in letter case or spaces (one group written twice?).

    Examples
    --------
    >>> written_two_ways(["placebo", "aMSC", "AMSC"], "arms")
    ["arms 'aMSC', 'AMSC' differ only in letter case or spaces: is one arm written two ways? Write it one way in the sample sheet"]
    """  # noqa: E501
    groups: dict[str, list[str]] = {}
    for label in dict.fromkeys(labels):
        groups.setdefault(" ".join(str(label).split()).casefold(), []).append(str(label))
    one = what[:-1]
    return [
        f"{what} {', '.join(repr(x) for x in same)} differ only in letter case or spaces: "
        f"is one {one} written two ways? Write it one way in the sample sheet"
        for same in groups.values()
        if len(same) > 1
    ]


def reference_arm_order(
    present: Sequence[str], reference_arm: str | None
) -> tuple[list[str] | None, str, list[str]]:
    """Order the arms, the reference (control) arm first.

    Parameters
    ----------
    present : sequence of str
        The arms in the data, in order of first appearance.
    reference_arm : str, optional
        The reference arm the user named.

    Returns
    -------
    order : list of str or None
        Reference first, then the other arms in order of appearance (None
        when the reference cannot be decided).
    note : str
        How the reference was decided.
    problems : list of str
        Why it could not be decided (empty on success).

    Examples
    --------
    >>> reference_arm_order(["Active", "Placebo"], None)[0]
    ['Placebo', 'Active']
    >>> reference_arm_order(["B", "A"], None)[:2]
    (['A', 'B'], 'reference arm: A (blinded codes: the first code; choose with --reference-arm)')
    >>> reference_arm_order(["Active", "Drug"], None)[2]
    ["cannot tell which arm is the control: none of 'Active', 'Drug' is called placebo; name it with --reference-arm (Python: reference_arm=...)"]
    """  # noqa: E501
    arms = list(dict.fromkeys(str(a) for a in present))
    if not arms:
        return None, "", ["no arm is given for any sample"]
    twice = written_two_ways(arms, "arms")
    if twice:
        return None, "", twice
    if reference_arm is not None:
        if reference_arm not in arms:
            close = [a for a in arms if a.lower() == str(reference_arm).lower()]
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            return (
                None,
                "",
                [
                    f"--reference-arm '{reference_arm}' is not an arm of the sample sheet{hint}. "
                    f"Arms: {arms}"
                ],
            )
        reference = reference_arm
        note = f"reference arm from --reference-arm: {reference}"
    else:
        placebo = [a for a in arms if is_placebo_name(a)]
        if len(placebo) > 1:
            return (
                None,
                "",
                [
                    f"arms {placebo} all look like placebo; name the reference arm with "
                    "--reference-arm (Python: reference_arm=...)"
                ],
            )
        if placebo:
            reference = placebo[0]
            note = f"reference arm: {reference} (the placebo arm)"
        elif all(is_blinded_code(a) for a in arms):
            reference = sorted(arms, key=natural_key)[0]
            arms = sorted(arms, key=natural_key)
            note = (
                f"reference arm: {reference} (blinded codes: the first code; "
                "choose with --reference-arm)"
            )
        else:
            listed = ", ".join(f"'{a}'" for a in arms)
            if len(arms) == 1:
                return [arms[0]], f"reference arm: {arms[0]} (the only arm)", []
            return (
                None,
                "",
                [
                    f"cannot tell which arm is the control: none of {listed} is called "
                    "placebo; name it with --reference-arm (Python: reference_arm=...)"
                ],
            )
    return [reference, *[a for a in arms if a != reference]], note, []


def _named_order(present: Sequence[str]) -> list[str] | None:
    """The visits ordered by the time their names say, when every name says one."""
    times = {v: _time_in_days(v) for v in present}
    if not present or any(t is None for t in times.values()):
        return None
    values = np.array([times[v] for v in present], dtype=float)
    if len(np.unique(values)) != len(values):
        return None
    return [present[i] for i in np.argsort(values, kind="stable")]


def visit_order(
    visit: pd.Series, visit_day: pd.Series | None, visits: Sequence[str] | None
) -> tuple[list[str] | None, str, list[str]]:
    """Order the visits, the baseline first.

    Parameters
    ----------
    visit : pandas.Series
        The visit of each sample (missing values ignored).
    visit_day : pandas.Series, optional
        Numeric day of each sample's visit.
    visits : sequence of str, optional
        The order the user gave.

    Returns
    -------
    order : list of str or None
        The visits in trial order, or None when it cannot be decided.
    note : str
        How the order was decided.
    problems : list of str
        Why it could not be decided (empty on success).

    Examples
    --------
    >>> v = pd.Series(["month4", "baseline", "week6"])
    >>> visit_order(v, None, None)[:2]
    (['baseline', 'week6', 'month4'], 'visit order from the visit names: baseline, week6, month4')
    >>> visit_order(v, pd.Series([120.0, 0.0, 42.0]), None)[0]
    ['baseline', 'week6', 'month4']
    >>> visit_order(v, pd.Series([0.0, 120.0, 42.0]), None)[2]
    ["visit 'baseline' is not the earliest visit by median visit_day (baseline 120, month4 0): fix visit_day, or give the order with --visits (Python: visits=[...])"]
    """  # noqa: E501
    present = list(dict.fromkeys(str(v) for v in visit.dropna()))
    if visits is not None:
        order = [str(v).strip() for v in visits if str(v).strip()]
        problems = []
        dup = sorted({v for v in order if order.count(v) > 1})
        if dup:
            problems.append(f"--visits lists {', '.join(dup)} more than once")
        unknown = [v for v in order if v not in present]
        if unknown:
            problems.append(
                f"--visits names {', '.join(repr(v) for v in unknown)}, not in the sample sheet. "
                f"Visits in the sheet: {present}"
            )
        unlisted = [v for v in present if v not in order]
        if unlisted:
            problems.append(
                f"visits {unlisted} are in the sample sheet but not in --visits "
                f"({','.join(order)}); list every visit, baseline first"
            )
        if problems:
            return None, "", problems
        return order, f"visit order from --visits: {', '.join(order)}", []
    twice = written_two_ways(present, "visits")
    if twice:
        return None, "", twice
    baselines = [v for v in present if is_baseline_name(v)]
    if len(baselines) > 1:
        return (
            None,
            "",
            [
                f"visits {baselines} all look like the baseline; give the order with --visits "
                "(Python: visits=[...])"
            ],
        )
    if visit_day is not None:
        days = pd.to_numeric(visit_day, errors="coerce").groupby(visit.astype(object)).median()
        days.index = days.index.map(str)
        days = days.reindex(present)
        if days.isna().any():
            return (
                None,
                "",
                [
                    "visit_day is missing for every sample of visit(s) "
                    f"{list(days.index[days.isna()])}; cannot order visits"
                ],
            )
        tied = days[days.duplicated(keep=False)]
        if len(tied):
            return (
                None,
                "",
                [
                    f"visits {list(tied.index)} have the same median visit_day; "
                    "give the order with --visits"
                ],
            )
        order = [str(v) for v in days.sort_values(kind="stable").index]
        if baselines and order[0] != baselines[0]:
            return (
                None,
                "",
                [
                    f"visit '{baselines[0]}' is not the earliest visit by median visit_day "
                    f"({baselines[0]} {days[baselines[0]]:g}, {order[0]} {days[order[0]]:g}): "
                    "fix visit_day, or give the order with --visits (Python: visits=[...])"
                ],
            )
        named = _named_order(present)
        if named is not None and named != order:
            return (
                None,
                "",
                [
                    f"visit_day orders the visits {', '.join(order)}, but their names say "
                    f"{', '.join(named)}: fix visit_day, or give the order with --visits "
                    "(Python: visits=[...])"
                ],
            )
        return order, f"visit order from median visit_day: {', '.join(order)}", []
    named = _named_order(present)
    if named is not None:
        return named, f"visit order from the visit names: {', '.join(named)}", []
    if len(present) == 2 and baselines:
        order = [baselines[0], *[v for v in present if v != baselines[0]]]
        return order, f"visit order: {order[0]} (the baseline), then {order[1]}", []
    example = ",".join(baselines + [v for v in present if v not in baselines][:2]) or (
        "baseline,month1,month4"
    )
    return (
        None,
        "",
        [
            f"the visit order is not known: give it with --visits (e.g. --visits {example}, "
            "baseline first; Python: visits=[...]) or add a numeric 'visit_day' column"
        ],
    )
