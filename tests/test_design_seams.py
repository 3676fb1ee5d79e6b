"""Issue 14: one trial design behind every method; each numbered finding has a test here.

(Custom contrasts of any weights and a numeric covariate are also pinned to R in
test_design_reference.py; finding 7, robust eBayes, is in test_limma.py.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import salivaprot as sp
from salivaprot import DataError, DesignError, ProteinData, SampleSheetError, simulate_trial
from salivaprot.cli import main
from salivaprot.design import trial_design
from salivaprot.diff import differential_abundance
from salivaprot.io.sheets import sample_sheet
from salivaprot.preprocess import filter_proteins, impute, log2, normalize, preprocess


@pytest.fixture(scope="module")
def ready() -> ProteinData:
    return preprocess(simulate_trial(seed=8, n_proteins=80, subjects_per_arm=5, dropout=0.0).data)


def with_samples(data: ProteinData, samples: pd.DataFrame) -> ProteinData:
    return ProteinData(data.abundance, samples, data.proteins, scale=data.scale)


def plain(samples: pd.DataFrame) -> pd.DataFrame:
    """The sample table as text columns, as read back from samples.tsv."""
    out = samples.copy()
    out["arm"] = out["arm"].astype(str)
    out["visit"] = out["visit"].astype(str)
    return out


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


# ----------------------------------------------------------- 1. custom contrasts
def test_custom_contrast_weights_are_checked(ready: ProteinData) -> None:
    with pytest.raises(DesignError, match="has only zero weights"):
        differential_abundance(ready, custom_contrasts={"z": {"aMSC:month4": 0}})
    with pytest.raises(DesignError, match="is inf, not a finite number"):
        differential_abundance(ready, custom_contrasts={"i": {"aMSC:month4": float("inf")}})
    with pytest.raises(DesignError, match="is nan, not a finite number"):
        differential_abundance(ready, custom_contrasts={"n": {"aMSC:month4": float("nan")}})
    with pytest.raises(DesignError, match="is '1', not a number"):
        differential_abundance(ready, custom_contrasts={"s": {"aMSC:month4": "1"}})  # type: ignore[dict-item]
    with pytest.raises(DesignError, match="must map cells 'ARM:VISIT' to weights"):
        differential_abundance(ready, custom_contrasts={"e": {}})


def test_a_custom_contrast_may_not_take_a_joint_test_name_or_a_cell_twice(
    ready: ProteinData,
) -> None:
    # the joint F test shares the results table: a t test of its name would share its
    # rows and its Benjamini-Hochberg family
    interaction = {"aMSC:month4": 1, "aMSC:baseline": -1, "placebo:month4": -1,
                   "placebo:baseline": 1}  # fmt: skip
    with pytest.raises(DesignError, match="'aMSC_vs_placebo_change_any' has the name of another"):
        differential_abundance(ready, custom_contrasts={"aMSC_vs_placebo_change_any": interaction})
    # the same cell twice (names are stripped): weights that cancel tested nothing
    with pytest.raises(DesignError, match="gives cell 'aMSC:month4' more than once"):
        differential_abundance(
            ready, custom_contrasts={"s": {"aMSC:month4": 1, " aMSC:month4": -1}}
        )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('m: {"aMSC:month4": 1, "aMSC:month1": -1, "aMSC:month4": 2}\n', "line 1: 'aMSC:month4'"),
        ('a: {"aMSC:month4": 1, "aMSC:month1": -1}\na: {"aMSC:month4": 1}\n', "line 2: 'a'"),
        (
            'b:\n  "aMSC:month4": 1\n  "aMSC:month1": 3\n  "aMSC:month4": 3\n',
            "line 4: 'aMSC:month4'",
        ),
    ],
    ids=["cell-on-one-line", "contrast", "cell-on-its-line"],
)
def test_a_contrasts_file_with_a_repeated_key_is_refused(
    tmp_path: Path, text: str, where: str
) -> None:
    # YAML keeps the last of repeated keys without a word
    contrasts = tmp_path / "contrasts.yaml"
    contrasts.write_text(text)
    out = tmp_path / "res"
    code, output = cli("diff", "test_data/study.mzTab", "--samples", "test_data/samples.csv",
                       "--out", str(out), "--contrasts", str(contrasts))  # fmt: skip
    assert code == 1 and where in output and "given twice" in output, output
    assert "Traceback" not in output and not out.exists()


def test_arm_names_with_a_colon_work_in_custom_contrasts(ready: ProteinData) -> None:
    samples = ready.samples.copy()
    samples["arm"] = pd.Categorical(
        samples["arm"].astype(str).replace("aMSC", "aMSC:high"), categories=["placebo", "aMSC:high"]
    )
    colon = differential_abundance(
        with_samples(ready, samples),
        custom_contrasts={"c": {"aMSC:high:month4": 1, "aMSC:high:month1": -1}},
    ).table
    plain_names = differential_abundance(
        ready, custom_contrasts={"c": {"aMSC:month4": 1, "aMSC:month1": -1}}
    ).table
    a = colon[colon["contrast"] == "c"]["log2fc"].to_numpy()
    b = plain_names[plain_names["contrast"] == "c"]["log2fc"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


# ------------------------------------------------------------- 2. covariates
def test_numeric_covariate_is_one_numeric_column(ready: ProteinData) -> None:
    samples = ready.samples.copy()
    subjects = sorted(samples["subject_id"].unique())
    ages = {s: str(40 + 3 * i) for i, s in enumerate(subjects)}  # text, as a sheet reads it
    samples["age"] = samples["subject_id"].map(ages).astype(object)
    design = trial_design(samples, covariates=["age"])
    assert design.covariate_kinds == {"age": "numeric"}
    assert design.covariate_columns == {"age": ["age"]}
    assert not any(c.startswith("age[") for c in design.matrix.columns)
    result = differential_abundance(with_samples(ready, samples), covariates=["age"])
    assert result.model["covariates"] == {"age": "numeric"}
    assert result.model["n_tested"] > 0


@pytest.mark.parametrize("method", ["limma", "ancova", "mixed"])
def test_a_numeric_covariate_gives_the_same_results_in_any_unit(
    ready: ProteinData, method: str
) -> None:
    # a TIC of ~1e10 put every protein out of limma's and ANCOVA's reach ("not estimable"),
    # and one of ~1e-8 was silently left out of the model
    rng = np.random.default_rng(0)
    tic = 10 ** rng.normal(0.0, 0.2, len(ready.samples))
    results = []
    for unit in (1.0, 1e10, 1e-8):
        data = with_samples(ready, ready.samples.assign(tic=tic * unit))
        table = differential_abundance(data, method=method, covariates={"tic": "numeric"}).table
        results.append(table.set_index(["protein_id", "contrast"]).sort_index())
    reference = results[0]
    assert reference["pvalue"].notna().mean() > 0.9  # (tested: not all left out)
    for other in results[1:]:
        assert (other["pvalue"].notna() == reference["pvalue"].notna()).all()
        for column in ("log2fc", "se", "pvalue"):
            assert np.allclose(other[column], reference[column], rtol=1e-7, atol=1e-9,
                               equal_nan=True), column  # fmt: skip
    alone = differential_abundance(ready, method=method).table.set_index(["protein_id", "contrast"])
    assert not np.allclose(alone.sort_index()["log2fc"], reference["log2fc"], equal_nan=True)


@pytest.mark.parametrize(
    ("ages", "said"),
    [(["45,5", "52,5", "61,5"], "numbers written with a decimal comma (45,5"),
     (["45", "52", "unknown"], "numbers (45, 52) and other values ('unknown')")],
    ids=["decimal-comma", "one-word-among-numbers"],
)  # fmt: skip
def test_a_column_of_numbers_is_never_taken_as_categories(
    ready: ProteinData, ages: list[str], said: str
) -> None:
    # both read as categorical, one indicator column per age, without a word
    subjects = sorted(ready.samples["subject_id"].unique())
    age = ready.samples["subject_id"].map({s: ages[i % 3] for i, s in enumerate(subjects)})
    data = with_samples(ready, ready.samples.assign(age=age.astype(object)))
    with pytest.raises(DesignError, match=re.escape(said) + ".*--covariate age:categorical"):
        differential_abundance(data, covariates=["age"])
    declared = differential_abundance(data, covariates={"age": "categorical"})
    assert declared.design.covariate_kinds == {"age": "categorical"}


def test_a_numeric_covariate_with_one_value_is_refused(ready: ProteinData) -> None:
    # centred to zeros, it was an aliased column; scaled, it would divide by zero
    data = with_samples(ready, ready.samples.assign(age=42.0))
    with pytest.raises(DesignError, match=r"covariate 'age' has a single value \(42\)"):
        differential_abundance(data, covariates=["age"])


def test_grouping_names_with_numbers_must_declare_their_kind(ready: ProteinData) -> None:
    samples = ready.samples.copy()
    codes = {s: i % 3 + 1 for i, s in enumerate(sorted(samples["subject_id"].unique()))}
    samples["batch"] = samples["subject_id"].map(codes)
    with pytest.raises(DesignError, match=r"declare its kind, --covariate batch:categorical"):
        trial_design(samples, covariates=["batch"])
    categorical = trial_design(samples, covariates=["batch:categorical"])
    assert categorical.covariate_columns == {"batch": ["batch[2]", "batch[3]"]}
    numeric = trial_design(samples, covariates={"batch": "numeric"})
    assert numeric.covariate_kinds == {"batch": "numeric"}
    samples["site"] = np.where(samples["subject_id"].str[-1].isin(list("13579")), "x", "y")
    assert trial_design(samples, covariates=["site"]).covariate_kinds == {"site": "categorical"}
    with pytest.raises(DesignError, match="declared numeric but holds"):
        trial_design(samples, covariates=["site:numeric"])


@pytest.mark.parametrize("method", ["limma", "mixed", "ancova"])
@pytest.mark.parametrize("name", ["visit", "arm", "subject_id", "saliva"])
def test_design_columns_are_not_covariates(ready: ProteinData, method: str, name: str) -> None:
    with pytest.raises(DesignError, match=f"'{name}' cannot be a covariate"):
        differential_abundance(ready, method=method, covariates=[name])  # type: ignore[arg-type]


# ------------------------------------------------------------- 3. correlation
@pytest.mark.parametrize("rho", [-0.7, -0.5, 1.0])
def test_correlation_outside_the_positive_definite_range_is_refused(
    ready: ProteinData, rho: float
) -> None:
    with pytest.raises(DesignError, match=r"outside \(-0\.5, 1\).*-1/\(3 - 1\) = -0\.5"):
        differential_abundance(ready, correlation=rho)
    assert differential_abundance(ready, correlation=-0.4).model["consensus_correlation"] == -0.4


def test_correlation_only_applies_to_limma(ready: ProteinData) -> None:
    with pytest.raises(DesignError, match="correlation applies to method 'limma', not 'mixed'"):
        differential_abundance(ready, method="mixed", correlation=0.3)


# ---------------------------------------------- 4. control arm and baseline
def sheet_text(arms: tuple[str, str], days: tuple[int, int, int] = (0, 30, 120)) -> str:
    lines = ["sample_id,subject_id,arm,visit,visit_day"]
    for i in range(4):
        arm = arms[i % 2]
        for visit, day in zip(("baseline", "month1", "month4"), days, strict=True):
            lines.append(f"S{i}_{visit},S{i},{arm},{visit},{day}")
    return "\n".join(lines) + "\n"


def test_placebo_in_any_case_is_the_reference(tmp_path: Path) -> None:
    for arms in (("Active", "Placebo"), ("ACTIVE", "PLACEBO"), ("drug", "Pbo")):
        path = tmp_path / "s.csv"
        path.write_text(sheet_text(arms))
        assert sp.read_samples(path).arms == [arms[1], arms[0]]


def test_unnamed_control_is_an_error_not_an_alphabetical_guess(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(sheet_text(("Drug", "Active")))
    with pytest.raises(SampleSheetError, match="cannot tell which arm is the control"):
        sp.read_samples(path)
    assert sp.read_samples(path, reference_arm="Active").arms == ["Active", "Drug"]


def test_baseline_that_visit_day_puts_later_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(sheet_text(("aMSC", "placebo"), days=(60, 30, 120)))
    with pytest.raises(SampleSheetError, match="'baseline' is not the earliest visit"):
        sp.read_samples(path)
    explicit = sp.read_samples(path, visits=["month1", "baseline", "month4"])
    assert explicit.baseline == "month1"  # the user's explicit order wins


def test_visit_days_that_contradict_the_visit_names_are_an_error(tmp_path: Path) -> None:
    # month1 at day 200, after month4: the visits were ordered by day with only a note
    path = tmp_path / "s.csv"
    path.write_text(sheet_text(("aMSC", "placebo"), days=(0, 200, 120)))
    with pytest.raises(SampleSheetError, match=r"visit_day orders the visits baseline, month4, "
                       r"month1, but their names say baseline, month1, month4"):  # fmt: skip
        sp.read_samples(path)
    explicit = sp.read_samples(path, visits=["baseline", "month4", "month1"])
    assert explicit.visits == ["baseline", "month4", "month1"]


def test_plain_text_design_columns_are_never_sorted_alphabetically(ready: ProteinData) -> None:
    text = plain(ready.samples)
    design = trial_design(text)  # placebo by name; visits by visit_day
    assert design.arms == ["placebo", "aMSC"]
    assert design.visits == ["baseline", "month1", "month4"]
    no_days = text.drop(columns="visit_day")
    no_days["visit"] = no_days["visit"].map({"baseline": "pre", "month1": "mid", "month4": "post"})
    with pytest.raises(DesignError, match=r"visit order is not known.*visits=\[\.\.\.\]"):
        trial_design(no_days)
    ordered = trial_design(no_days, visits=["pre", "mid", "post"])
    assert ordered.visits == ["pre", "mid", "post"]
    blinded = text.assign(arm=text["arm"].map({"placebo": "Zeta", "aMSC": "Alpha"}))
    with pytest.raises(DesignError, match="cannot tell which arm is the control"):
        trial_design(blinded)
    assert trial_design(blinded, reference_arm="Zeta").arms == ["Zeta", "Alpha"]


def test_unordered_categoricals_are_ordered_by_the_rules_not_alphabetically(
    ready: ProteinData,
) -> None:
    # pandas sorts an unordered categorical's categories: aMSC before placebo, and
    # 'Week 16' before 'Week 4' before 'baseline'; that order was taken as the trial's
    weeks = {"baseline": "baseline", "month1": "Week 4", "month4": "Week 16"}
    samples = ready.samples.copy()
    samples["arm"] = samples["arm"].astype(str).astype("category")
    samples["visit"] = samples["visit"].astype(str).map(weeks).astype("category")
    assert list(samples["arm"].cat.categories) == ["aMSC", "placebo"]
    data = with_samples(ready, samples)
    assert data.arms == ["placebo", "aMSC"]
    assert data.visits == ["baseline", "Week 4", "Week 16"]
    design = trial_design(samples)
    assert design.reference_arm == "placebo"
    assert design.visits == ["baseline", "Week 4", "Week 16"]
    contrasts = set(differential_abundance(data).table["contrast"])
    assert "aMSC_vs_placebo_change_Week 4" in contrasts
    # an ordered categorical is an order someone declared: kept
    declared = pd.Categorical(samples["arm"].astype(str), ["aMSC", "placebo"], ordered=True)
    assert trial_design(samples.assign(arm=declared)).reference_arm == "aMSC"
    # unordered, and no rule tells the control: refused, naming the option
    codes = samples["arm"].astype(str).map({"placebo": "Zeta", "aMSC": "Alpha"})
    blinded = samples.assign(arm=codes.astype("category"))
    with pytest.raises(DesignError, match="reference_arm="):
        trial_design(blinded)
    with pytest.raises(DesignError, match="reference_arm="):
        _ = with_samples(ready, blinded).arms


@pytest.mark.parametrize("column", ["arm", "visit"])
def test_a_group_written_two_ways_is_refused_not_split_in_two(
    tmp_path: Path, ready: ProteinData, column: str
) -> None:
    # 'AMSC' for three subjects and 'aMSC' for the others made a silent three-arm trial
    sheet = pd.read_csv("test_data/samples.csv")
    first = sheet[column].astype(str) == ("aMSC" if column == "arm" else "month4")
    subjects = sorted(sheet.loc[first, "subject_id"].unique())[:3]
    sheet.loc[first & sheet["subject_id"].isin(subjects), column] = (
        "AMSC" if column == "arm" else "Month4 "
    )
    sheet.to_csv(tmp_path / "samples.csv", index=False)
    code, output = cli("validate", "test_data/study.mzTab", "--samples",
                       str(tmp_path / "samples.csv"))  # fmt: skip
    assert code == 1 and "differ only in letter case or spaces" in output, output
    assert "Traceback" not in output
    text = plain(ready.samples)
    text.loc[text.index[:4], column] = text.loc[text.index[:4], column].str.upper()
    with pytest.raises(DesignError, match="written two ways"):
        trial_design(text)


def test_samples_tsv_read_back_from_a_results_folder_keeps_the_design(tmp_path: Path) -> None:
    code, output = cli("diff", "test_data/study.mzTab", "--samples", "test_data/samples.csv",
                       "--out", str(tmp_path / "res"))  # fmt: skip
    assert code == 0, output
    back = pd.read_csv(tmp_path / "res" / "samples.tsv", sep="\t", index_col=0)
    design = trial_design(back)
    assert design.arms == ["placebo", "aMSC"]
    assert design.visits == ["baseline", "month1", "month4"]


# -------------------------------------------------------------- 5. saliva types
@pytest.fixture(scope="module")
def two_salivas(ready: ProteinData) -> ProteinData:
    rng = np.random.default_rng(3)
    uws = ready.samples.assign(saliva="unstimulated")
    sws = ready.samples.assign(saliva="stimulated")
    sws.index = [f"{s}_sws" for s in sws.index]
    shifted = ready.abundance + 0.8 + rng.normal(0, 0.1, ready.abundance.shape)
    shifted.index = sws.index
    samples = pd.concat([uws, sws])
    for column in ("arm", "visit"):
        samples[column] = pd.Categorical(
            samples[column].astype(str), categories=list(ready.samples[column].cat.categories)
        )
    return ProteinData(pd.concat([ready.abundance, shifted]), samples, ready.proteins, scale="log2")


@pytest.mark.parametrize("method", ["limma", "mixed"])
def test_mixed_saliva_is_a_factor_of_the_model(two_salivas: ProteinData, method: str) -> None:
    result = differential_abundance(two_salivas, method=method)  # type: ignore[arg-type]
    assert result.design is not None
    assert result.design.saliva == ("unstimulated", "stimulated")
    assert "saliva[stimulated]" in result.design.matrix.columns
    saliva = result.model["saliva"]
    assert saliva["contrast"] == "stimulated_vs_unstimulated_saliva"
    assert saliva["median_log2fc"] == pytest.approx(0.8, abs=0.05)


def test_ancova_refuses_mixed_saliva(two_salivas: ProteinData) -> None:
    with pytest.raises(DesignError, match="ancova needs one baseline and one follow-up sample"):
        differential_abundance(two_salivas, method="ancova")


def test_two_samples_per_visit_without_a_saliva_column_are_refused(ready: ProteinData) -> None:
    samples = ready.samples.copy()
    first = samples.index[0]
    samples.loc[samples.index[1], ["subject_id", "visit"]] = samples.loc[
        first, ["subject_id", "visit"]
    ].to_list()
    with pytest.raises(DesignError, match="samples at visit"):
        trial_design(samples)


# --------------------------------------------------- 6. tiny arms, ANCOVA counts
def test_one_subject_per_arm_is_a_design_error(ready: ProteinData) -> None:
    keep = ready.samples["subject_id"].isin(
        [ready.samples.loc[ready.samples["arm"] == a, "subject_id"].iloc[0] for a in ready.arms]
    )
    small = ready.subset(samples=keep.to_numpy())
    for method in ("limma", "mixed", "ancova"):
        with pytest.raises(DesignError, match="at least two subjects per arm"):
            differential_abundance(small, method=method)  # type: ignore[arg-type]


def test_ancova_refuses_a_covariate_with_one_value_at_a_visit(ready: ProteinData) -> None:
    # a batch that differs only among baseline samples: ANCOVA tested no protein, exit 0,
    # with numpy's "Mean of empty slice" on stderr
    samples = ready.samples
    subjects = sorted(samples["subject_id"].unique())[::2]
    at_baseline = (samples["visit"].astype(str) == "baseline") & samples["subject_id"].isin(
        subjects
    )
    data = with_samples(ready, samples.assign(lcbatch=np.where(at_baseline, "b2", "b1")))
    with pytest.raises(
        DesignError, match=r"'lcbatch' \(lcbatch\[b2\]\) takes a single value .* month1"
    ):
        differential_abundance(data, method="ancova", covariates=["lcbatch"])
    tested = differential_abundance(data, method="limma", covariates=["lcbatch"]).table
    assert tested["pvalue"].notna().any()


def test_ancova_counts_subjects_without_baseline(ready: ProteinData) -> None:
    subjects = sorted(ready.samples["subject_id"].unique())[:2]
    drop = ready.samples["subject_id"].isin(subjects) & (ready.samples["visit"] == "baseline")
    result = differential_abundance(ready.subset(samples=(~drop).to_numpy()), method="ancova")
    month1 = result.model["visits"]["month1"]
    assert month1["subjects_at_this_visit_without_baseline"] == 2
    assert month1["subjects_left_out"] == subjects
    assert month1["subjects_with_both_visits"] == ready.samples["subject_id"].nunique() - 2


# ------------------------------------------- 8. arguments checked, inputs unchanged
BAD_CALLS: dict[str, Callable[[ProteinData], Any]] = {
    "dupcor_method": lambda d: differential_abundance(d, dupcor_method="foo"),  # type: ignore[arg-type]
    "method": lambda d: differential_abundance(d, method="lmm"),  # type: ignore[arg-type]
    "contrast_se": lambda d: differential_abundance(d, contrast_se="approx"),  # type: ignore[arg-type]
    "covariates string": lambda d: differential_abundance(d, covariates="batch"),
    "trend not bool": lambda d: differential_abundance(d, trend="yes"),  # type: ignore[arg-type]
    "trial_design arms string": lambda d: trial_design(d.samples, arms="placebo"),  # type: ignore[arg-type]
    "patterns string": lambda d: filter_proteins(d, patterns="CON__"),
    "reference_proteins string": lambda d: normalize(
        d, method="reference", reference_proteins="P04745"
    ),
    "impute seed": lambda d: impute(d, method="minprob", seed=-5),
    "simulate arms string": lambda d: simulate_trial(seed=1, arms="AB"),
    "simulate seed": lambda d: simulate_trial(seed=-1),
    "read_samples visits string": lambda d: sp.read_samples(
        "test_data/samples.csv", visits="baseline"
    ),
    "sample_sheet visits string": lambda d: sample_sheet(d.samples, visits="baseline"),
    "summarize species string": lambda d: sp.summarize(d, species="human"),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_public_entry_points_refuse_bad_arguments(ready: ProteinData, case: str) -> None:
    with pytest.raises(sp.SalivaprotError):
        BAD_CALLS[case](ready)


def test_public_entry_points_leave_their_inputs_unchanged(ready: ProteinData) -> None:
    raw = simulate_trial(seed=8, n_proteins=40, subjects_per_arm=4).data
    before = (raw.abundance.copy(), raw.samples.copy(), raw.proteins.copy())
    preprocess(raw, impute_method="minprob")
    normalize(log2(filter_proteins(raw)), method="quantile")
    samples = ready.samples.copy()
    abundance = ready.abundance.copy()
    for method in ("limma", "mixed", "ancova"):
        differential_abundance(ready, method=method, robust=method != "mixed")  # type: ignore[arg-type]
    trial_design(ready.samples, contrasts={"c": {"aMSC:month4": 1}})
    pd.testing.assert_frame_equal(raw.abundance, before[0])
    pd.testing.assert_frame_equal(raw.samples, before[1])
    pd.testing.assert_frame_equal(raw.proteins, before[2])
    pd.testing.assert_frame_equal(ready.samples, samples)
    pd.testing.assert_frame_equal(ready.abundance, abundance)


def test_non_log2_data_still_refused(ready: ProteinData) -> None:
    with pytest.raises(DataError, match="needs log2-scale"):
        differential_abundance(ProteinData(ready.abundance, ready.samples, ready.proteins))


def test_cli_covariate_kind_and_design_in_run_json(tmp_path: Path) -> None:
    sheet = pd.read_csv("test_data/samples.csv")
    subjects = sorted(sheet["subject_id"].unique())
    sheet["age"] = sheet["subject_id"].map({s: 30 + 2.5 * i for i, s in enumerate(subjects)})
    sheet["batch"] = np.where(sheet.index % 2 == 0, 1, 2)
    sheet.to_csv(tmp_path / "samples.csv", index=False)
    out = tmp_path / "res"
    code, output = cli("diff", "test_data/study.mzTab", "--samples", str(tmp_path / "samples.csv"),
                       "--out", str(out), "--covariate", "age", "--covariate",
                       "batch:categorical")  # fmt: skip
    assert code == 0, output
    record = json.loads((out / "run.json").read_text())
    assert record["model"]["covariates"] == {"age": "numeric", "batch": "categorical"}
    assert record["model"]["design"]["reference_arm"] == "placebo"
    code, output = cli("diff", "test_data/study.mzTab", "--samples", str(tmp_path / "samples.csv"),
                       "--out", str(tmp_path / "res2"), "--covariate", "batch")  # fmt: skip
    assert code == 1 and "declare its kind" in output and "Traceback" not in output
    code, output = cli("diff", "test_data/study.mzTab", "--samples", "test_data/samples.csv",
                       "--out", str(tmp_path / "res3"), "--correlation", "-0.6")  # fmt: skip
    assert code == 1 and "outside (-0.5, 1)" in output and "Traceback" not in output
    assert not (tmp_path / "res3").exists()


def test_validate_judges_the_design_as_diff_does(tmp_path: Path) -> None:
    sheet = pd.read_csv("test_data/samples.csv")
    only_baseline = sheet[sheet["visit"] == "baseline"]
    only_baseline.to_csv(tmp_path / "baseline.csv", index=False)
    code, output = cli("validate", "test_data/study.mzTab", "--samples",
                       str(tmp_path / "baseline.csv"), "--drop-unlisted")  # fmt: skip
    assert code == 1 and "only one visit (baseline) has samples" in output
    assert "OK: usable study" not in output
    one_arm = sheet[sheet["arm"] == "aMSC"]
    one_arm.to_csv(tmp_path / "one_arm.csv", index=False)
    code, output = cli("validate", "test_data/study.mzTab", "--samples",
                       str(tmp_path / "one_arm.csv"), "--drop-unlisted")  # fmt: skip
    assert code == 1 and "only one arm (aMSC) has samples" in output
    code, output = cli("validate", "test_data/study.mzTab", "--samples", "test_data/samples.csv",
                       "--covariate", "visit")  # fmt: skip
    assert code == 1 and "'visit' cannot be a covariate" in output
    code, output = cli("validate", "test_data/study.mzTab", "--samples", "test_data/samples.csv")
    assert code == 0 and "OK: usable study" in output


def test_wrong_kind_and_non_finite_correlation_are_named(ready: ProteinData) -> None:
    with pytest.raises(DesignError, match=r"'age:foo' is not a column .*a kind must be one of"):
        trial_design(ready.samples, covariates=["age:foo"])
    with pytest.raises(DesignError, match="correlation must be a finite number, not nan"):
        differential_abundance(ready, correlation=float("nan"))
