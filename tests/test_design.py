"""The trial design: columns, contrast vectors, covariates and designs that cannot work."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salivaprot import DesignError
from salivaprot.design import trial_design
from salivaprot.io.sheets import sample_sheet


def sheet(
    arms: list[str], visits: list[str], extra: dict[str, list[object]] | None = None
) -> pd.DataFrame:
    rows = []
    for i, arm in enumerate(arms):
        for visit in visits:
            rows.append(
                {"sample_id": f"s{i}_{visit}", "subject_id": f"P{i}", "arm": arm, "visit": visit}
            )
    frame = pd.DataFrame(rows)
    for name, values in (extra or {}).items():
        frame[name] = values
    return sample_sheet(frame, visits=visits, reference_arm=arms[0]).table


def test_contrasts_reproduce_cell_mean_differences() -> None:
    table = sheet(["placebo", "placebo", "aMSC", "aMSC"], ["baseline", "m1", "m4"])
    design = trial_design(table)
    rng = np.random.default_rng(0)
    beta = rng.normal(size=design.matrix.shape[1])
    cell = pd.Series(design.matrix.to_numpy() @ beta, index=table.index)
    mean = lambda a, v: cell[(table["arm"] == a) & (table["visit"] == v)].mean()  # noqa: E731
    c = design.contrasts.to_numpy() @ beta
    names = list(design.contrasts.index)
    expected = {
        "aMSC_vs_placebo_change_m4": (mean("aMSC", "m4") - mean("aMSC", "baseline"))
        - (mean("placebo", "m4") - mean("placebo", "baseline")),
        "aMSC_change_m1": mean("aMSC", "m1") - mean("aMSC", "baseline"),
        "placebo_change_m4": mean("placebo", "m4") - mean("placebo", "baseline"),
        "aMSC_vs_placebo_at_baseline": mean("aMSC", "baseline") - mean("placebo", "baseline"),
        "aMSC_vs_placebo_at_m1": mean("aMSC", "m1") - mean("placebo", "m1"),
    }
    for name, value in expected.items():
        assert c[names.index(name)] == pytest.approx(value)
    changes = ["aMSC_vs_placebo_change_m1", "aMSC_vs_placebo_change_m4"]
    assert design.joint == {"aMSC_vs_placebo_change_any": changes}


def test_three_arms_get_contrasts_each() -> None:
    design = trial_design(sheet(["placebo", "placebo", "low", "low", "high", "high"], ["V0", "V1"]))
    assert {"low_vs_placebo_change_V1", "high_vs_placebo_change_V1", "placebo_change_V1"} <= set(
        design.contrasts.index
    )
    assert set(design.joint) == {"low_vs_placebo_change_any", "high_vs_placebo_change_any"}


def test_covariates_numeric_and_categorical() -> None:
    table = sheet(["A", "A", "B", "B"], ["V0", "V1"],
                  {"batch": ["b1", "b1", "b2", "b2", "b2", "b2", "b1", "b1"],
                   "injection_order": [3, 1, 4, 1, 5, 9, 2, 6]})  # fmt: skip
    design = trial_design(table, covariates=["batch", "injection_order"])
    assert list(design.matrix.columns[-2:]) == ["batch[b2]", "injection_order"]
    assert (design.contrasts[["batch[b2]", "injection_order"]] == 0).all().all()


def test_designs_that_cannot_work() -> None:
    table = sheet(
        ["A", "A", "B", "B"], ["V0", "V1"], {"site": ["x"] * 8, "dose": [1.0] * 7 + [None]}
    )
    with pytest.raises(DesignError, match="covariate 'site' has a single value"):
        trial_design(table, covariates=["site"])
    table["order"] = [1.0, 2.0] * 4  # the visit in disguise
    with pytest.raises(DesignError, match="not of full rank"):
        trial_design(table, covariates=["order"])
    with pytest.raises(DesignError, match="covariate 'dose' is missing for sample"):
        trial_design(table, covariates=["dose"])
    with pytest.raises(DesignError, match="has no 'arm' column"):
        trial_design(table.drop(columns="arm"))
    one_visit = sheet(["A", "B"], ["V0"])
    with pytest.raises(DesignError, match="only one visit"):
        trial_design(one_visit)


def test_a_study_without_repeated_measures_is_refused() -> None:
    # every subject seen once (subject_id = sample_id): not the trial's design, for any method
    table = sheet(["A", "A", "B", "B"], ["V0", "V1"])
    alone = table.assign(subject_id=table.index.astype(str))
    message = (
        r"no subject has samples at two visits .*check the subject_id column.*"
        r"\(here it repeats sample_id\)$"
    )
    with pytest.raises(DesignError, match=message):
        trial_design(alone)
    renamed = table.assign(subject_id=[f"X{i}" for i in range(len(table))])
    with pytest.raises(DesignError, match=r"each of the 8 subjects is seen at one visit only"):
        trial_design(renamed)
    # one subject seen twice is a repeated-measures study (the others count as they can)
    renamed.loc[renamed.index[1], "subject_id"] = "X0"
    assert trial_design(renamed).subjects.nunique() == 7
