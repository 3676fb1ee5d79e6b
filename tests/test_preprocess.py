"""Preprocessing: each method's defining property, seeds, and bad input."""

from __future__ import annotations

import builtins
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from salivaprot import DataError, DesignError, ProteinData, simulate_trial
from salivaprot.preprocess import (
    MEDIAN_BEFORE_COLUMN,
    NORMALIZATION_COLUMN,
    check_saliva,
    filter_proteins,
    filter_reasons,
    impute,
    log2,
    normalize,
    output_scale,
    preprocess,
)
from salivaprot.preprocess.imputation import ImputeMethod
from salivaprot.simulate import SimulatedTrial


@pytest.fixture(scope="module")
def trial() -> SimulatedTrial:
    return simulate_trial(seed=21, n_proteins=300, subjects_per_arm=8, dropout=0.2)


@pytest.fixture(scope="module")
def logged(trial: SimulatedTrial) -> ProteinData:
    return log2(filter_proteins(trial.data))


# ------------------------------------------------------------------------ filters
def test_filter_removes_flagged_proteins_and_reports_counts(trial: SimulatedTrial) -> None:
    data = trial.data
    reasons = filter_reasons(data, min_fraction=None)
    assert (reasons == "decoy").sum() == data.proteins["is_decoy"].sum() == 6
    assert (reasons == "contaminant").sum() == 9
    assert (reasons == "other_species").sum() == 45
    kept = filter_proteins(data, min_fraction=None)
    assert kept.n_proteins == 240
    assert (
        kept.steps[-1]
        == "filter_proteins(decoy=6, contaminant=9, other_species=45; kept 240 of 300)"
    )
    assert not kept.proteins["is_decoy"].any() and not kept.proteins["is_contaminant"].any()


def test_species_all_and_flags_off_keep_everything(trial: SimulatedTrial) -> None:
    reasons = filter_reasons(
        trial.data, contaminants=False, decoys=False, species=None, min_fraction=None
    )
    assert (reasons == "").all()


def test_patterns_are_case_insensitive_regexes(trial: SimulatedTrial) -> None:
    reasons = filter_reasons(trial.data, patterns=["^simh0002[4-8]$"], min_fraction=None)
    assert sorted(reasons[reasons == "pattern"].index) == [f"SIMH000{i}" for i in range(24, 29)]
    with pytest.raises(DataError, match="invalid accession pattern"):
        filter_reasons(trial.data, patterns=["(unclosed"])


def test_valid_value_rule_any_versus_all(trial: SimulatedTrial) -> None:
    data = trial.data
    observed = data.abundance.notna()
    fractions = observed.groupby([data.samples["arm"], data.samples["visit"]], observed=True).mean()
    any_reasons = filter_reasons(
        data, contaminants=False, decoys=False, species=None, min_fraction=0.6
    )
    all_reasons = filter_reasons(
        data, contaminants=False, decoys=False, species=None, min_fraction=0.6, groups="all"
    )
    expected_any = fractions.max() < 0.6
    expected_all = fractions.min() < 0.6
    assert ((any_reasons == "min_fraction") == expected_any).all()
    assert ((all_reasons == "min_fraction") == expected_all).all()
    assert expected_all.sum() > expected_any.sum() > 0


def test_imputed_cells_do_not_count_as_observed(logged: ProteinData) -> None:
    filled = impute(logged, method="minprob", seed=1)
    assert (
        filter_reasons(filled, min_fraction=0.9) == filter_reasons(logged, min_fraction=0.9)
    ).all()


def test_valid_value_rule_does_not_count_what_log2_makes_missing(trial: SimulatedTrial) -> None:
    # raw zeros kept (--keep-zeros) and negatives become missing in log2: the rule judges
    # the values the model will see, so keeping zeros changes nothing downstream
    data = trial.data
    zero, negative = "SIMH00100", "SIMH00101"
    abundance = data.abundance.copy()
    assert abundance[[zero, negative]].notna().all().all()
    abundance[zero], abundance[negative] = 0.0, -5.0
    abundance.loc[abundance.index[:3], [zero, negative]] = 1e7  # 3 real values each
    zeros = replace(data, abundance=abundance)
    blank = replace(data, abundance=abundance.where(abundance > 0))
    reasons = filter_reasons(zeros)
    assert reasons[zero] == reasons[negative] == "min_fraction"
    assert reasons.equals(filter_reasons(blank))
    ready = preprocess(zeros)
    assert zero not in ready.proteins.index and negative not in ready.proteins.index
    pd.testing.assert_frame_equal(ready.abundance, preprocess(blank).abundance, check_exact=True)
    # on the log2 scale a zero or negative value is a value
    logged = log2(trial.data)
    values = logged.abundance.copy()
    values[zero], values[negative] = 0.0, -1.5
    assert filter_reasons(replace(logged, abundance=values))[[zero, negative]].eq("").all()


def test_filter_without_design_uses_all_samples(trial: SimulatedTrial) -> None:
    data = trial.data
    bare = ProteinData(data.abundance, data.samples[["run"]], data.proteins)
    reasons = filter_reasons(bare, contaminants=False, decoys=False, species=None, min_fraction=0.7)
    expected = data.abundance.notna().mean() < 0.7
    assert ((reasons == "min_fraction") == expected).all()


def test_filtering_everything_is_an_error(trial: SimulatedTrial) -> None:
    with pytest.raises(DataError, match="every one of the 300 proteins would be removed"):
        filter_proteins(trial.data, patterns=[".*"])
    with pytest.raises(DataError, match="min_fraction must be between 0 and 1"):
        filter_proteins(trial.data, min_fraction=1.5)


# --------------------------------------------------------------------------- log2
def test_log2_turns_zero_and_negative_into_missing_never_inf() -> None:
    index, columns = ["a", "b"], ["P1", "P2", "P3"]
    raw = ProteinData(
        pd.DataFrame([[8.0, 0.0, -3.0], [np.inf, 1.0, np.nan]], index=index, columns=columns),
        pd.DataFrame(index=index),
        pd.DataFrame(index=columns),
    )
    out = log2(raw)
    assert out.scale == "log2"
    assert not np.isinf(out.abundance.to_numpy()).any()
    assert out.abundance.iloc[0, 0] == 3.0 and out.abundance.iloc[1, 1] == 0.0
    assert out.abundance.isna().to_numpy().sum() == 4
    assert "3 non-positive or infinite values set missing" in out.steps[-1]
    with pytest.raises(DataError, match="needs raw-scale abundances"):
        log2(out)


# ---------------------------------------------------------------------- normalize
def test_median_normalization_equalizes_medians_and_keeps_factors(logged: ProteinData) -> None:
    normed = normalize(logged)
    medians = normed.abundance.median(axis=1)
    assert np.ptp(medians.to_numpy()) < 1e-12
    before = logged.abundance.median(axis=1)
    np.testing.assert_allclose(
        normed.samples[NORMALIZATION_COLUMN], before - before.mean(), atol=1e-12
    )
    np.testing.assert_allclose(normed.samples[MEDIAN_BEFORE_COLUMN], before, atol=1e-12)
    assert medians.iloc[0] == pytest.approx(before.mean())  # overall level is kept
    assert logged.abundance.median(axis=1).equals(before)  # input untouched


def test_median_normalization_recovers_simulated_dilution(
    trial: SimulatedTrial, logged: ProteinData
) -> None:
    normed = normalize(logged)
    correlation = np.corrcoef(
        normed.samples[NORMALIZATION_COLUMN], trial.dilution[normed.samples.index]
    )[0, 1]
    assert correlation > 0.95


def test_exclude_top_leaves_dominant_proteins_out(logged: ProteinData) -> None:
    normed = normalize(logged, exclude_top=10)
    top = logged.abundance.mean().sort_values(ascending=False).index[:10]
    rest = normed.abundance.drop(columns=top).median(axis=1)
    assert np.ptp(rest.to_numpy()) < 1e-12
    assert np.ptp(normed.abundance.median(axis=1).to_numpy()) > 1e-6
    assert "exclude_top=10" in normed.steps[-1]
    with pytest.raises(DataError, match="leaves no protein"):
        normalize(logged, exclude_top=logged.n_proteins)


def test_quantile_without_missing_gives_identical_sorted_samples() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(20, 2, size=(6, 50)) + rng.normal(0, 1, size=(6, 1))
    index, columns = [f"s{i}" for i in range(6)], [f"P{j}" for j in range(50)]
    data = ProteinData(
        pd.DataFrame(values, index=index, columns=columns),
        pd.DataFrame(index=index),
        pd.DataFrame(index=columns),
        scale="log2",
    )
    normed = normalize(data, method="quantile").abundance.to_numpy()
    sorted_rows = np.sort(normed, axis=1)
    np.testing.assert_allclose(sorted_rows, sorted_rows[[0]].repeat(6, axis=0), atol=1e-12)
    np.testing.assert_array_equal(
        np.argsort(normed, axis=1), np.argsort(values, axis=1)
    )  # ranks kept


def test_quantile_with_missing_keeps_order_and_missingness(logged: ProteinData) -> None:
    normed = normalize(logged, method="quantile")
    assert (normed.abundance.isna() == logged.abundance.isna()).all().all()
    row = logged.abundance.iloc[3].dropna()
    after = normed.abundance.iloc[3][row.index]
    assert (
        np.argsort(row.to_numpy(), kind="stable") == np.argsort(after.to_numpy(), kind="stable")
    ).all()
    assert np.ptp(normed.abundance.median(axis=1).to_numpy()) < 0.2


def test_total_intensity_normalization_equalizes_totals(logged: ProteinData) -> None:
    normed = normalize(logged, method="total")
    totals = np.log2((2.0**normed.abundance).sum(axis=1))
    assert np.ptp(totals.to_numpy()) < 1e-9


def test_reference_set_normalization(logged: ProteinData) -> None:
    reference = list(logged.proteins.index[30:40])
    normed = normalize(logged, method="reference", reference_proteins=reference)
    assert np.ptp(normed.abundance[reference].median(axis=1).to_numpy()) < 1e-12
    with pytest.raises(DataError, match="reference protein\\(s\\) not in the data: NOPE1, NOPE2"):
        normalize(logged, method="reference", reference_proteins=["NOPE1", reference[0], "NOPE2"])
    with pytest.raises(DataError, match="needs reference_proteins"):
        normalize(logged, method="reference")


def test_none_and_wrong_scale(logged: ProteinData, trial: SimulatedTrial) -> None:
    same = normalize(logged, method="none")
    pd.testing.assert_frame_equal(same.abundance, logged.abundance)
    assert (same.samples[NORMALIZATION_COLUMN] == 0).all()
    with pytest.raises(DataError, match="needs log2-scale abundances"):
        normalize(trial.data)
    with pytest.raises(DataError, match="unknown normalization 'mean'"):
        normalize(logged, method="mean")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "quantile", "exclude_top": 10},
         "exclude_top=10 has no effect with method='quantile'"),
        ({"method": "none", "exclude_top": 3}, "exclude_top=3 has no effect with method='none'"),
        ({"method": "reference", "exclude_top": 3, "reference_proteins": ["P04745"]},
         "exclude_top=3 has no effect with method='reference'"),
        ({"method": "median", "reference_proteins": ["P04745"]},
         "reference_proteins has no effect with method='median'"),
    ],
)  # fmt: skip
def test_normalize_refuses_arguments_its_method_ignores(
    logged: ProteinData, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(DataError, match=re.escape(message)):
        normalize(logged, **kwargs)


def test_preprocess_refuses_filter_rules_without_the_filter(trial: SimulatedTrial) -> None:
    with pytest.raises(DataError, match=r"min_fraction=0\.9, groups='all' have no effect with "
                       "filter=False"):  # fmt: skip
        preprocess(trial.data, filter=False, min_fraction=0.9, groups="all")
    with pytest.raises(DataError, match=r"patterns=\['\^CON'\] has no effect with filter=False"):
        preprocess(trial.data, filter=False, patterns=["^CON"])
    # the defaults, given or not, are no rule
    kept = preprocess(trial.data, filter=False, min_fraction=0.5, species=9606, patterns=[])
    assert kept.n_proteins == trial.data.n_proteins


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "none", "seed": 3}, "seed=3 has no effect with method='none'"),
        ({"method": "min", "shift": 2.0, "width": 0.5},
         "shift=2.0, width=0.5 have no effect with method='min'"),
        ({"method": "minprob", "neighbors": 3}, "neighbors=3 has no effect with method='minprob'"),
    ],
)  # fmt: skip
def test_impute_refuses_arguments_its_method_ignores(
    logged: ProteinData, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(DataError, match=re.escape(message)):
        impute(logged, **kwargs)


# ------------------------------------------------------------------------- impute
def test_minprob_is_seeded_low_and_remembered(logged: ProteinData) -> None:
    a = impute(logged, method="minprob", seed=7)
    b = impute(logged, method="minprob", seed=7)
    c = impute(logged, method="minprob", seed=8)
    pd.testing.assert_frame_equal(a.abundance, b.abundance)
    assert not a.abundance.equals(c.abundance)
    missing = logged.abundance.isna()
    assert a.imputed is not None and a.imputed.equals(missing)
    assert not a.abundance.isna().to_numpy().any()
    observed = logged.abundance.mean(axis=1)
    filled = a.abundance.where(missing).mean(axis=1)
    assert (filled < observed - 1.0).all()  # drawn well below each sample's mean
    pd.testing.assert_frame_equal(a.abundance.where(~missing), logged.abundance.where(~missing))


@pytest.mark.parametrize("method", ["minprob", "knn", "min"])
def test_imputed_values_do_not_depend_on_input_order(
    trial: SimulatedTrial, tmp_path: Path, method: ImputeMethod
) -> None:
    # the sheet's rows, the matrix's rows (proteins) and columns (samples) shuffled: minprob
    # drew in the input's order, so the same seed gave values up to 4 log2 apart
    import salivaprot

    matrix = trial.data.abundance.T.rename_axis("protein_id")
    sheet = trial.data.samples.reset_index().assign(run=lambda t: t["sample_id"])
    rng = np.random.default_rng(0)
    shuffled = matrix.iloc[rng.permutation(len(matrix)), rng.permutation(matrix.shape[1])]
    matrix.to_csv(tmp_path / "matrix.tsv", sep="\t")
    sheet.to_csv(tmp_path / "samples.csv", index=False)
    shuffled.to_csv(tmp_path / "shuffled.tsv", sep="\t")
    sheet.iloc[rng.permutation(len(sheet))].to_csv(tmp_path / "shuffled.csv", index=False)
    ready = {}
    for name in ("matrix", "shuffled"):
        sheet_name = "samples.csv" if name == "matrix" else "shuffled.csv"
        data = salivaprot.read(tmp_path / f"{name}.tsv", tmp_path / sheet_name)
        # (no normalization: its mean offset is a floating-point sum in sample order, equal
        # across orders to ~1e-14, not bit for bit; filter and log2 are exact)
        ready[name] = preprocess(
            data,
            normalize_method="none",
            impute_method=method,
            seed=5 if method == "minprob" else 0,
        )
    a, b = ready["matrix"], ready["shuffled"]
    assert not a.abundance.index.equals(b.abundance.index)
    assert not a.abundance.columns.equals(b.abundance.columns)
    same = b.abundance.loc[a.abundance.index, a.abundance.columns]
    pd.testing.assert_frame_equal(a.abundance, same, check_exact=True)
    assert a.imputed is not None and b.imputed is not None
    assert a.imputed.equals(b.imputed.loc[a.imputed.index, a.imputed.columns])


def test_minprob_draws_of_a_sample_do_not_depend_on_the_other_samples(
    logged: ProteinData,
) -> None:
    # each sample draws from a stream of its own (the seed and its ID): leaving samples out
    # (a failed run dropped) changes no other sample's imputed values
    full = impute(logged, method="minprob", seed=5)
    half = logged.subset(samples=logged.abundance.index[::2])
    fewer = impute(half, method="minprob", seed=5)
    pd.testing.assert_frame_equal(fewer.abundance, full.abundance.loc[half.abundance.index])


def test_min_imputation_uses_each_proteins_minimum(logged: ProteinData) -> None:
    filled = impute(logged, method="min")
    minima = logged.abundance.min()
    missing = logged.abundance.isna()
    for protein in logged.abundance.columns[missing.any()][:20]:
        assert (filled.abundance.loc[missing[protein], protein] == minima[protein]).all()


def test_knn_imputation_fills_and_marks(logged: ProteinData) -> None:
    filled = impute(logged, method="knn", neighbors=3)
    assert not filled.abundance.isna().to_numpy().any()
    assert filled.imputed is not None and int(filled.imputed.to_numpy().sum()) == int(
        logged.abundance.isna().to_numpy().sum()
    )


def test_knn_without_scikit_learn_says_how_to_install(
    logged: ProteinData, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_sklearn(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("sklearn"):
            raise ImportError("no sklearn")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(DataError, match=r"pip install 'salivaprot\[knn\]'"):
        impute(logged, method="knn")


def test_impute_none_changes_nothing(logged: ProteinData) -> None:
    same = impute(logged)
    assert same.imputed is None and same.abundance.equals(logged.abundance)


# ----------------------------------------------------------------- output scale
def test_output_scale_adds_exactly_log2_flow_and_total_protein(logged: ProteinData) -> None:
    normed = normalize(logged)
    flow_only = output_scale(normed, total_protein=False)
    difference = (flow_only.abundance - normed.abundance).to_numpy()
    expected_shift = np.log2(normed.samples["flow_ml_min"].to_numpy())[:, None]
    observed = ~np.isnan(normed.abundance.to_numpy())
    assert (np.isnan(difference) == ~observed).all()
    np.testing.assert_allclose(
        difference[observed], np.broadcast_to(expected_shift, normed.shape)[observed], atol=1e-12
    )
    both = output_scale(normed)
    expected = np.log2(normed.samples["flow_ml_min"] * normed.samples["total_protein_mg_ml"])
    shift = (both.abundance - normed.abundance).max(axis=1)
    np.testing.assert_allclose(shift, expected, atol=1e-12)
    assert both.steps[-1] == "output_scale(+ log2(flow_ml_min) + log2(total_protein_mg_ml))"


def test_steps_in_an_order_that_destroys_results_are_refused(logged: ProteinData) -> None:
    normed = normalize(logged)
    scaled = output_scale(normed)
    # output_scale twice doubled the flow term
    with pytest.raises(DataError, match=r"on the output scale already \(output_scale\(\+ "
                       r"log2\(flow_ml_min\).*add the flow term twice"):  # fmt: skip
        output_scale(scaled)
    # normalize after output_scale shifted every sample back: the flow term was erased
    with pytest.raises(DataError, match="the order is normalize, then output_scale"):
        normalize(output_scale(logged))
    with pytest.raises(DataError, match="the order is normalize, then output_scale"):
        normalize(scaled, method="quantile")
    assert normalize(scaled, method="none").abundance.equals(scaled.abundance)
    # normalize twice: refused when it changes values, naming the step that ran
    with pytest.raises(DataError, match=r"normalized already \(normalize\(method='median'\) is "
                       r"in data\.steps\); normalize\(method='quantile'\) again would change "
                       r"values by up to"):  # fmt: skip
        normalize(normed, method="quantile")
    with pytest.raises(DataError, match=r"normalized already \(normalize\(method='quantile'\)"):
        normalize(normalize(logged, method="quantile"), method="quantile")
    # ...and a no-op otherwise (median twice), keeping the first offsets
    again = normalize(normed)
    assert again.abundance.equals(normed.abundance)
    assert again.samples[NORMALIZATION_COLUMN].equals(normed.samples[NORMALIZATION_COLUMN])
    assert again.steps[-1] == (
        "normalize(method='median') [no change: after normalize(method='median')]"
    )
    # the first 'none' is no normalization
    assert normalize(normalize(logged, method="none"), method="quantile").steps[-1] == (
        "normalize(method='quantile')"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"flow_ml_min": "drop"}, "needs a 'flow_ml_min' column"),
        ({"flow_ml_min": "0.1 ml"}, "'flow_ml_min' must be numeric; found '0.1 ml'"),
        ({"flow_ml_min": 0.0}, "'flow_ml_min' must be positive"),
        ({"flow_ml_min": -0.2}, "'flow_ml_min' must be positive"),
        ({"total_protein_mg_ml": np.nan}, "'total_protein_mg_ml' is missing for sample"),
    ],
)
def test_output_scale_refuses_bad_covariates(
    logged: ProteinData, change: dict[str, object], message: str
) -> None:
    samples = logged.samples.copy()
    for column, value in change.items():
        if value == "drop":
            samples = samples.drop(columns=column)
        else:
            samples[column] = samples[column].astype(object)
            samples.iloc[2, samples.columns.get_loc(column)] = value
    broken = replace(logged, samples=samples)
    with pytest.raises(DesignError, match=message):
        output_scale(broken)


def test_mixed_saliva_is_refused_unless_allowed(logged: ProteinData) -> None:
    samples = logged.samples.copy()
    samples.iloc[:5, samples.columns.get_loc("saliva")] = "stimulated"
    mixed = replace(logged, samples=samples)
    with pytest.raises(DesignError, match="mix saliva types: stimulated \\(5 samples\\)"):
        check_saliva(mixed)
    check_saliva(mixed, allow_mixed=True)
    with pytest.raises(DesignError):
        preprocess(mixed, input_scale="log2")


# --------------------------------------------------------------------- the chain
def test_preprocess_chain_order_and_log2_input(trial: SimulatedTrial) -> None:
    ready = preprocess(trial.data, impute_method="minprob", seed=3, scale="output")
    names = [step.split("(")[0] for step in ready.steps]
    assert names[1:] == ["filter_proteins", "log2", "normalize", "impute", "output_scale"]
    already = log2(trial.data)
    again = preprocess(already, filter=False, normalize_method="none")
    pd.testing.assert_frame_equal(again.abundance, already.abundance)
    assert "log2" not in [s.split("(")[0] for s in again.steps[2:]]
    same = preprocess(trial.data, impute_method="minprob", seed=3, scale="output")
    pd.testing.assert_frame_equal(same.abundance, ready.abundance)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"impute_method": "minprob", "seed": 3, "scale": "output"},
        {"normalize_method": "quantile", "min_fraction": 0.8},
        {"normalize_method": "irs", "species": None, "min_fraction": None},
    ],
    ids=["default", "imputed-output-scale", "quantile", "tmt-irs-references"],
)
def test_stages_give_the_figure_matrices_of_a_second_preprocessing(
    trial: SimulatedTrial, kwargs: dict[str, Any]
) -> None:
    # diff writes matrix_before_normalization.tsv from the data preprocessing normalized
    # instead of preprocessing a second time: the same tables, bit for bit
    from salivaprot.io.results_folder import figure_matrices

    from .test_tmt import tmt_data

    data = tmt_data(effect=1.0, n_proteins=40, seed=5) if "irs" in str(kwargs) else trial.data
    given: dict[str, ProteinData] = {}
    ready = preprocess(data, **kwargs, on_step=given.__setitem__)
    before = given["normalize"]
    pd.testing.assert_frame_equal(ready.abundance, preprocess(data, **kwargs).abundance)
    kept = figure_matrices(ready, before)
    unnormalized = {
        "normalize_method": "none",
        "impute_method": "none",
        "seed": 0,  # (a seed without minprob is refused)
        "scale": "concentration",
    }
    again = figure_matrices(ready, preprocess(data, **(kwargs | unnormalized)))
    assert list(kept) == list(again)
    for name, table in kept.items():
        pd.testing.assert_frame_equal(table, again[name], check_exact=True)
    references = 3 if "irs" in str(kwargs) else 0  # one pooled reference per plex
    assert before.abundance.shape[0] == ready.abundance.shape[0] + references
    assert kept["matrix_before_normalization.tsv"].notna().to_numpy().sum() > 0


def _emptied(
    data: ProteinData, sample: str, keep: pd.Index, value: float | None = None
) -> ProteinData:
    """``data`` with ``sample``'s values outside ``keep`` missing (or ``value`` everywhere)."""
    abundance = data.abundance.copy()
    abundance.loc[sample, ~abundance.columns.isin(keep)] = np.nan
    if value is not None:
        abundance.loc[sample, abundance.loc[sample].notna()] = value
    return replace(data, abundance=abundance)


@pytest.mark.parametrize(
    ("normalize_method", "impute_method"),
    [
        ("none", "knn"),
        ("none", "min"),
        ("none", "none"),
        ("none", "minprob"),
        ("median", "knn"),
        ("quantile", "none"),
        ("total", "min"),
    ],
)
def test_a_sample_the_filters_leave_empty_is_refused_saying_why(
    trial: SimulatedTrial, normalize_method: str, impute_method: str
) -> None:
    # every value of the sample is in contaminants: knn imputed it as 0.0 everywhere, min
    # as each protein's minimum, and --normalize none passed it on; each path refuses now
    data = trial.data
    sample = data.samples.index[4]
    contaminants = data.proteins.index[data.proteins["is_contaminant"]]
    assert data.abundance.loc[sample, contaminants].notna().sum() > 0
    only_contaminants = _emptied(data, sample, contaminants)
    with pytest.raises(DataError) as raised:
        preprocess(
            only_contaminants,
            normalize_method=normalize_method,  # type: ignore[arg-type]
            impute_method=impute_method,  # type: ignore[arg-type]
        )
    assert str(raised.value) == (
        f"1 sample(s) have no value left to analyse ({sample}): every value they hold is in "
        "proteins the filters removed (contaminant); a failed or blank run? Leave them out of "
        "the sample sheet and use --drop-unlisted (drop_unlisted=True in Python); if the "
        "removed proteins belong in the analysis, relax the filter that removed them"
    )


def test_a_sample_of_zeros_that_log2_empties_is_refused(trial: SimulatedTrial) -> None:
    # zeros kept (--keep-zeros) in a failed run: log2 makes every one missing
    zeros = _emptied(trial.data, trial.data.samples.index[2], trial.data.proteins.index, 0.0)
    with pytest.raises(DataError, match=r"\(P\d+_\w+\): every value they hold is zero, negative"):
        preprocess(zeros, filter=False, normalize_method="none", impute_method="knn")


def test_irs_leaving_a_sample_empty_is_refused() -> None:
    from .test_tmt import tmt_data

    data = tmt_data(n_proteins=20)
    samples = data.samples
    reference = samples.index[samples["reference_channel"] & samples["plex"].eq("Plex1")][0]
    sample = samples.index[~samples["reference_channel"] & samples["plex"].eq("Plex1")][0]
    abundance = data.abundance.copy()
    abundance.loc[sample, abundance.columns[3:]] = np.nan  # holds P00000-P00002 only
    abundance.loc[reference, abundance.columns[:3]] = np.nan  # which its reference misses
    with pytest.raises(DataError, match=rf"after normalize\(method='irs'\) \({sample}\)"):
        preprocess(replace(data, abundance=abundance), filter=False, normalize_method="irs")


@pytest.mark.parametrize("method", ["median", "quantile", "total", "reference", "none"])
def test_normalize_refuses_a_sample_without_values(logged: ProteinData, method: str) -> None:
    empty = _emptied(logged, logged.samples.index[1], pd.Index([]))
    reference = list(logged.proteins.index[:10])
    with pytest.raises(DataError, match=rf"cannot normalize sample\(s\) \S+ \(method '{method}'\)"):
        normalize(
            empty,
            method=method,  # type: ignore[arg-type]
            reference_proteins=reference if method == "reference" else None,
        )


@pytest.mark.parametrize("method", ["minprob", "min", "knn"])
def test_impute_refuses_a_sample_without_values(logged: ProteinData, method: str) -> None:
    sample = logged.samples.index[1]
    empty = _emptied(logged, sample, pd.Index([]))
    with pytest.raises(
        DataError, match=rf"cannot impute sample\(s\) {sample} \(method '{method}'\): "
    ):
        impute(empty, method=method)  # type: ignore[arg-type]
    assert impute(empty).abundance.loc[sample].isna().all()  # none fills nothing


def test_on_step_must_be_callable(trial: SimulatedTrial) -> None:
    with pytest.raises(TypeError, match="on_step must be a function"):
        preprocess(trial.data, on_step={})  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["minprob", "min", "knn"])
def test_a_protein_without_any_value_stays_missing(logged: ProteinData, method: str) -> None:
    # knn and minprob gave a protein no sample measured a value in every sample
    abundance = logged.abundance.copy()
    unmeasured = abundance.columns[4]
    abundance[unmeasured] = np.nan
    data = replace(logged, abundance=abundance)
    filled = impute(data, method=method)  # type: ignore[arg-type]
    assert filled.abundance[unmeasured].isna().all()
    assert filled.imputed is not None and not filled.imputed[unmeasured].any()
    assert filled.abundance.drop(columns=unmeasured).notna().all().all()
    assert filled.steps[-1].endswith("[1 protein(s) without any value left missing]")
    if method == "minprob":  # the other proteins' draws are those of the study without it
        kept = abundance.columns != unmeasured
        fewer = replace(data, abundance=abundance.loc[:, kept], proteins=data.proteins.loc[kept])
        alone = impute(fewer, method=method)
        pd.testing.assert_frame_equal(
            filled.abundance.drop(columns=unmeasured), alone.abundance, check_exact=True
        )
