"""limma-style moderated statistics against stored R limma outputs (tests/reference/).

Two sets of references: limma 3.54.1 (tests/reference/, matched with
``legacy=True``) and limma 3.63.2 (tests/reference/limma-3.63.2/, matched by
the default ``legacy=None``; from limma 3.61 on, eBayes estimates the prior
differently when the residual df differ between proteins). Each tolerance is
about 10x the largest difference measured over the three designs: absolute for
estimates, relative for everything else.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from salivaprot.stats import dupcor
from salivaprot.stats.dupcor import duplicate_correlation
from salivaprot.stats.ebayes import squeeze_var
from salivaprot.stats.limma import LimmaFit, fit_limma

from .conftest import REFERENCE_DESIGNS, load_reference_input, reference_table

VARIANTS = {"default": (False, False), "trend": (True, False), "robust": (False, True),
            "trend_robust": (True, True)}  # fmt: skip
#: limma version of a reference set -> (folder prefix, our ``legacy`` setting)
VERSIONS: dict[str, tuple[str, bool | None]] = {"3.54.1": ("", True),
                                                "3.63.2": ("limma-3.63.2/", None)}  # fmt: skip
#: measured 2026-12-01; with trend and robust, R's lowess and statsmodels' differ in
#: the last digits, and the unequal-df estimator's Brent search amplifies last-digit
#: differences of its likelihood about 1e5 times
TOLERANCE: dict[tuple[str, str], dict[str, float]] = {
    ("3.54.1", "default"): {"estimate": 2e-13, "se": 5e-14, "t": 5e-11, "p_value": 1e-12,
        "df": 1e-13, "df_prior": 5e-14, "s2_prior": 2e-14, "s2_post": 5e-14, "sigma": 2e-13,
        "F": 2e-12, "F_df2": 5e-14, "F_p_value": 2e-12},
    ("3.54.1", "trend"): {"estimate": 2e-13, "se": 5e-14, "t": 5e-11, "p_value": 2e-12,
        "df": 5e-14, "df_prior": 5e-14, "s2_prior": 1e-13, "s2_post": 5e-14, "sigma": 2e-13,
        "F": 2e-12, "F_df2": 5e-14, "F_p_value": 2e-12},
    ("3.54.1", "robust"): {"estimate": 2e-13, "se": 1e-13, "t": 5e-11, "p_value": 2e-12,
        "df": 2e-12, "df_prior": 2e-12, "s2_prior": 2e-14, "s2_post": 2e-13, "sigma": 2e-13,
        "F": 2e-12, "F_df2": 2e-12, "F_p_value": 2e-12},
    ("3.54.1", "trend_robust"): {"estimate": 2e-13, "se": 1e-8, "t": 1e-8, "p_value": 1e-7,
        "df": 2e-8, "df_prior": 2e-8, "s2_prior": 5e-8, "s2_post": 2e-8, "sigma": 2e-13,
        "F": 2e-8, "F_df2": 2e-8, "F_p_value": 1e-7},
    ("3.63.2", "default"): {"estimate": 2e-13, "se": 2e-11, "t": 5e-11, "p_value": 2e-10,
        "df": 2e-10, "df_prior": 2e-10, "s2_prior": 1e-11, "s2_post": 5e-11, "sigma": 2e-13,
        "F": 5e-11, "F_df2": 2e-10, "F_p_value": 2e-10},
    ("3.63.2", "trend"): {"estimate": 2e-13, "se": 1e-10, "t": 1e-10, "p_value": 1e-9,
        "df": 1e-9, "df_prior": 1e-9, "s2_prior": 5e-11, "s2_post": 2e-10, "sigma": 2e-13,
        "F": 2e-10, "F_df2": 1e-9, "F_p_value": 1e-9},
    ("3.63.2", "robust"): {"estimate": 2e-13, "se": 2e-11, "t": 5e-11, "p_value": 2e-10,
        "df": 2e-10, "df_prior": 2e-10, "s2_prior": 1e-11, "s2_post": 5e-11, "sigma": 2e-13,
        "F": 5e-11, "F_df2": 2e-10, "F_p_value": 2e-10},
    ("3.63.2", "trend_robust"): {"estimate": 2e-13, "se": 2e-9, "t": 2e-9, "p_value": 5e-8,
        "df": 1e-9, "df_prior": 2e-9, "s2_prior": 2e-8, "s2_post": 5e-9, "sigma": 2e-13,
        "F": 5e-9, "F_df2": 1e-9, "F_p_value": 5e-8},
}  # fmt: skip
#: limma's contrasts.fit route (3.54.1), measured the same way
CONTRASTS_FIT_TOLERANCE = {"estimate": 2e-13, "se": 5e-14, "t": 1e-10, "p_value": 2e-12,
                           "F": 2e-12, "F_df1": 1e-15, "F_df2": 5e-15,
                           "F_p_value": 1e-12}  # fmt: skip


def fit(
    name: str, trend: bool = False, robust: bool = False, legacy: bool | None = True
) -> tuple[pd.DataFrame, LimmaFit]:
    matrix, design = load_reference_input(name)
    names = list(design.contrasts.index)
    joint = {k: [names.index(c) for c in v] for k, v in design.joint.items()}
    result = fit_limma(
        matrix.to_numpy().T,
        design.matrix.to_numpy(),
        design.subjects.to_numpy(),
        design.contrasts.to_numpy(),
        contrast_names=names,
        joint=joint,
        trend=trend,
        robust=robust,
        legacy=legacy,
    )
    return matrix, result


def long(matrix: pd.DataFrame, result: LimmaFit, values: np.ndarray, column: str) -> pd.DataFrame:
    frame = pd.DataFrame(values, index=matrix.index, columns=result.contrast_names)
    frame.index.name, frame.columns.name = "protein_id", "contrast"
    return frame.stack(future_stack=True).rename(column).reset_index()


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def assert_contrasts_match(
    matrix: pd.DataFrame,
    result: LimmaFit,
    reference: pd.DataFrame,
    columns: dict[str, np.ndarray],
    tolerance: dict[str, float],
) -> None:
    """Per protein x contrast of the reference: same missing rows, values within ``tolerance``.

    The 3.63.2 references hold only the T_vs_R_change contrasts.
    """
    mine = long(matrix, result, result.estimate, "estimate_py")
    for column, values in columns.items():
        mine[f"{column}_py"] = long(matrix, result, values, column)[column]
    merged = reference.merge(mine, on=["protein_id", "contrast"], validate="one_to_one")
    n_contrasts = reference["contrast"].nunique()
    assert len(merged) == len(reference) == matrix.shape[0] * n_contrasts
    assert set(reference["contrast"]) <= set(result.contrast_names)
    for column in ("estimate", *columns):
        expected, got = merged[column].to_numpy(), merged[f"{column}_py"].to_numpy()
        assert (np.isnan(expected) == np.isnan(got)).all(), column
        ok = ~np.isnan(expected)
        if column == "estimate":
            np.testing.assert_allclose(got[ok], expected[ok], rtol=0, atol=tolerance[column])
        else:
            assert relative(got[ok], expected[ok]) < tolerance[column], column


def assert_joint_matches(
    matrix: pd.DataFrame,
    result: LimmaFit,
    table: str,
    columns: tuple[str, ...],
    tolerance: dict[str, float],
) -> dict[str, np.ndarray]:
    """The joint F test: same missing proteins, values within ``tolerance["F_<column>"]``."""
    reference = reference_table(table).set_index("protein_id").reindex(matrix.index)
    (joint_name,) = result.joint
    assert set(reference["contrast"].dropna()) == {joint_name}
    joint = result.joint[joint_name]
    for column in columns:
        expected, got = reference[column].to_numpy(), joint[column]
        assert (np.isnan(expected) == np.isnan(got)).all(), column
        ok = ~np.isnan(expected)
        key = "F" if column == "F" else f"F_{column}"
        assert relative(got[ok], expected[ok]) < tolerance[key], column
    return joint


@pytest.mark.parametrize("spectrum", ["whole", "pooled"])
@pytest.mark.parametrize("name", sorted(REFERENCE_DESIGNS))
def test_consensus_correlation_matches_r(
    name: str, spectrum: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # both ways of decomposing Z'PZ (few subjects: whole; many: pooled by count first)
    monkeypatch.setattr(dupcor, "_direct_spectrum", lambda *_: spectrum == "whole")
    matrix, design = load_reference_input(name)
    y = matrix.to_numpy().T
    keep = ~np.isnan(y).all(axis=0)
    result = duplicate_correlation(y[:, keep], design.matrix.to_numpy(), design.subjects.to_numpy())
    model = reference_table(f"limma_{name}_model").set_index("key")["value"]
    expected = float(model["consensus_correlation"])
    assert result.consensus == pytest.approx(expected, rel=1e-14)  # measured 6.7e-16
    per_protein = reference_table(f"limma_{name}_dupcor").set_index("protein_id")[
        "atanh_correlation"
    ]
    per_protein = per_protein.reindex(matrix.index[keep]).to_numpy()
    assert (np.isnan(result.atanh_correlations) == np.isnan(per_protein)).all()
    finite = ~np.isnan(per_protein)
    # measured 1.2e-13
    np.testing.assert_allclose(result.atanh_correlations[finite], per_protein[finite], atol=2e-12)
    exact = duplicate_correlation(
        y[:, keep], design.matrix.to_numpy(), design.subjects.to_numpy(), method="reml"
    )
    assert exact.consensus == pytest.approx(expected, rel=1e-4)  # the exact optimum is close


@pytest.mark.parametrize("spectrum", ["whole", "pooled"])
def test_constant_proteins_count_in_the_consensus_as_in_r(
    spectrum: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a constant protein (reference normalization's one reference protein) leaves no
    # residual variation: limma keeps it with an atanh correlation of ~1e-16; it was left
    # out (NaN, numpy's divide warnings), moving the consensus and every t off R
    monkeypatch.setattr(dupcor, "_direct_spectrum", lambda *_: spectrum == "whole")
    matrix, design = load_reference_input("balanced")
    constant = pd.DataFrame(
        [[20.0] * matrix.shape[1], [20.1] * matrix.shape[1]],
        index=["CONSTANT_20", "CONSTANT_20_1"],
        columns=matrix.columns,
    )
    matrix = pd.concat([matrix, constant])
    y = matrix.to_numpy().T
    keep = ~np.isnan(y).all(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = duplicate_correlation(
            y[:, keep], design.matrix.to_numpy(), design.subjects.to_numpy()
        )
    model = reference_table("limma_balanced_constant_model").set_index("key")["value"]
    expected = float(model["consensus_correlation"])
    assert result.consensus == pytest.approx(expected, rel=1e-14)
    per_protein = reference_table("limma_balanced_constant_dupcor").set_index("protein_id")[
        "atanh_correlation"
    ]
    np.testing.assert_allclose(
        result.atanh_correlations, per_protein.reindex(matrix.index[keep]), atol=2e-12
    )
    assert result.atanh_correlations[-2:].tolist() == [0.0, 0.0]
    assert result.converged[-2:].all()
    # a protein the model fits exactly (not constant) gets 0 too, where R's value comes
    # from rounding noise alone (-0.26 and -0.04 for two such proteins)
    fitted = design.matrix.to_numpy() @ np.linspace(0.1, 0.6, design.matrix.shape[1]) + 23.1
    y = np.column_stack([y[:, keep], fitted])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = duplicate_correlation(y, design.matrix.to_numpy(), design.subjects.to_numpy())
    assert result.atanh_correlations[-1] == 0.0


@pytest.mark.parametrize("version", sorted(VERSIONS))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", sorted(REFERENCE_DESIGNS))
def test_moderated_statistics_match_r(name: str, variant: str, version: str) -> None:
    trend, robust = VARIANTS[variant]
    prefix, legacy = VERSIONS[version]
    tolerance = TOLERANCE[version, variant]
    matrix, result = fit(name, trend, robust, legacy)
    n_contrasts = len(result.contrast_names)
    assert_contrasts_match(
        matrix,
        result,
        reference_table(f"{prefix}limma_{name}_{variant}"),
        {
            "se": result.se,
            "t": result.t,
            "p_value": result.p_value,
            "df": np.repeat(result.df_total[:, None], n_contrasts, axis=1),
        },
        tolerance,
    )
    priors = reference_table(f"{prefix}limma_{name}_{variant}_prior").set_index("protein_id")
    priors = priors.reindex(matrix.index)
    for column, values in (("df_prior", result.df_prior), ("s2_prior", result.s2_prior),
                           ("s2_post", result.s2_post), ("sigma", result.sigma)):  # fmt: skip
        expected = priors[column].to_numpy()
        ok = np.isfinite(expected)
        assert (np.isinf(expected) == np.isinf(values)).all()
        assert relative(values[ok], expected[ok]) < tolerance[column], column
    unequal = name != "balanced" and legacy is None
    assert result.ebayes_estimator == ("unequal-df" if unequal else "legacy")


@pytest.mark.parametrize("version", sorted(VERSIONS))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", sorted(REFERENCE_DESIGNS))
def test_joint_f_test_matches_r(name: str, variant: str, version: str) -> None:
    trend, robust = VARIANTS[variant]
    prefix, legacy = VERSIONS[version]
    matrix, result = fit(name, trend, robust, legacy)
    joint = assert_joint_matches(
        matrix,
        result,
        f"{prefix}limma_{name}_{variant}_F",
        ("F", "df2", "p_value"),
        TOLERANCE[version, variant],
    )
    assert np.nanmax(joint["df1"]) == len(REFERENCE_DESIGNS[name][0]) - 1


def test_squeeze_var_matches_r_prior_directly() -> None:
    priors = reference_table("limma_unbalanced_default_prior")
    usable = priors["df_residual"].notna()
    squeezed = squeeze_var(
        priors.loc[usable, "sigma"].to_numpy() ** 2,
        priors.loc[usable, "df_residual"].to_numpy(),
        legacy=True,
    )
    assert squeezed.df_prior[0] == pytest.approx(priors["df_prior"].iloc[0], rel=1e-10)
    assert squeezed.var_prior[0] == pytest.approx(priors["s2_prior"].iloc[0], rel=1e-10)


def test_protein_order_does_not_change_results() -> None:
    matrix, design = load_reference_input("unbalanced")
    order = np.random.default_rng(3).permutation(matrix.shape[0])
    args = (design.matrix.to_numpy(), design.subjects.to_numpy(), design.contrasts.to_numpy())
    straight = fit_limma(matrix.to_numpy().T, *args)
    shuffled = fit_limma(matrix.to_numpy().T[:, order], *args)
    np.testing.assert_allclose(shuffled.t, straight.t[order], rtol=1e-10, equal_nan=True)


def test_all_missing_protein_is_kept_with_nan_statistics() -> None:
    matrix, design = load_reference_input("balanced")
    y = matrix.to_numpy().T.copy()
    y[:, 0] = np.nan
    result = fit_limma(
        y, design.matrix.to_numpy(), design.subjects.to_numpy(), design.contrasts.to_numpy()
    )
    assert not result.fitted[0] and result.fitted[1:].all()
    assert np.isnan(result.t[0]).all() and np.isfinite(result.t[1:]).all()


def test_zero_correlation_and_complete_data_give_ordinary_least_squares() -> None:
    matrix, design = load_reference_input("balanced")
    y = matrix.to_numpy().T
    x = design.matrix.to_numpy()
    result = fit_limma(
        y, x, design.subjects.to_numpy(), design.contrasts.to_numpy(), correlation=0.0
    )
    ols = np.linalg.lstsq(x, y, rcond=None)[0].T @ design.contrasts.to_numpy().T
    np.testing.assert_allclose(result.estimate, ols, atol=1e-10)


def test_bh_adjust_equals_scipy() -> None:
    from scipy.stats import false_discovery_control

    from salivaprot.stats._common import bh_adjust

    p = np.random.default_rng(5).uniform(size=500) ** 3
    np.testing.assert_allclose(bh_adjust(p), false_discovery_control(p, method="bh"), rtol=1e-12)
    with_nan = p.copy()
    with_nan[::7] = np.nan
    kept = ~np.isnan(with_nan)
    adjusted = bh_adjust(with_nan)
    assert np.isnan(adjusted[~kept]).all()
    np.testing.assert_allclose(adjusted[kept], false_discovery_control(with_nan[kept], method="bh"))


@pytest.mark.parametrize("name", sorted(REFERENCE_DESIGNS))
def test_limma_contrasts_fit_route_matches_r(name: str) -> None:
    """contrast_se="limma" on the cell-means design reproduces R's lmFit + contrasts.fit."""
    from salivaprot.design import cell_means

    matrix, design = load_reference_input(name)
    cells, contrasts = cell_means(design)
    names = list(contrasts.index)
    joint = {k: [names.index(c) for c in v] for k, v in design.joint.items()}
    result = fit_limma(
        matrix.to_numpy().T,
        cells.to_numpy(),
        design.subjects.to_numpy(),
        contrasts.to_numpy(),
        contrast_names=names,
        joint=joint,
        contrast_se="limma",
        legacy=True,
    )
    assert_contrasts_match(
        matrix,
        result,
        reference_table(f"limma_{name}_contrasts_fit_default"),
        {"se": result.se, "t": result.t, "p_value": result.p_value},
        CONTRASTS_FIT_TOLERANCE,
    )
    assert_joint_matches(
        matrix,
        result,
        f"limma_{name}_contrasts_fit_default_F",
        ("F", "df1", "df2", "p_value"),
        CONTRASTS_FIT_TOLERANCE,
    )


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_equal_residual_df_gives_identical_numbers_in_both_settings(variant: str) -> None:
    """balanced: every protein has the same residual df, so limma 3.63.2 uses the legacy method."""
    trend, robust = VARIANTS[variant]
    _, current = fit("balanced", trend, robust, legacy=None)
    _, legacy = fit("balanced", trend, robust, legacy=True)
    assert current.ebayes_estimator == legacy.ebayes_estimator == "legacy"
    for name in ("t", "p_value", "df_total", "df_prior", "s2_prior", "s2_post"):
        np.testing.assert_array_equal(getattr(current, name), getattr(legacy, name), err_msg=name)
    _, forced = fit("balanced", trend, robust, legacy=False)
    assert forced.ebayes_estimator == "unequal-df"
    assert not np.allclose(forced.df_prior, legacy.df_prior)


def test_unequal_residual_df_changes_the_prior_by_default() -> None:
    _, current = fit("unbalanced", legacy=None)
    _, legacy = fit("unbalanced", legacy=True)
    assert current.ebayes_estimator == "unequal-df" and legacy.ebayes_estimator == "legacy"
    assert abs(current.df_prior[0] / legacy.df_prior[0] - 1) > 0.1
