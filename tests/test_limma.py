"""limma-style moderated statistics against stored R limma outputs (tests/reference/).

Tolerances are the issue's: estimates 1e-8 absolute; consensus correlation and
prior df 1e-6 relative; moderated t, SE and p-values 1e-6 relative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salivaprot.stats.dupcor import duplicate_correlation
from salivaprot.stats.ebayes import squeeze_var
from salivaprot.stats.limma import LimmaFit, fit_limma

from .conftest import REFERENCE_DESIGNS, load_reference_input, reference_table

VARIANTS = {"default": (False, False), "trend": (True, False), "robust": (False, True),
            "trend_robust": (True, True)}  # fmt: skip


def fit(name: str, trend: bool = False, robust: bool = False) -> tuple[pd.DataFrame, LimmaFit]:
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
    )
    return matrix, result


def long(matrix: pd.DataFrame, result: LimmaFit, values: np.ndarray, column: str) -> pd.DataFrame:
    frame = pd.DataFrame(values, index=matrix.index, columns=result.contrast_names)
    frame.index.name, frame.columns.name = "protein_id", "contrast"
    return frame.stack(future_stack=True).rename(column).reset_index()


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def assert_contrasts_match(
    matrix: pd.DataFrame, result: LimmaFit, reference: pd.DataFrame, columns: dict[str, np.ndarray]
) -> None:
    """Per protein x contrast: same missing rows, estimates to 1e-8, the rest to 1e-6 relative."""
    mine = long(matrix, result, result.estimate, "estimate_py")
    for column, values in columns.items():
        mine[f"{column}_py"] = long(matrix, result, values, column)[column]
    merged = reference.merge(mine, on=["protein_id", "contrast"], validate="one_to_one")
    assert len(merged) == len(reference) == matrix.shape[0] * len(result.contrast_names)
    for column in ("estimate", *columns):
        expected, got = merged[column].to_numpy(), merged[f"{column}_py"].to_numpy()
        assert (np.isnan(expected) == np.isnan(got)).all(), column
        ok = ~np.isnan(expected)
        if column == "estimate":
            np.testing.assert_allclose(got[ok], expected[ok], rtol=0, atol=1e-8)
        else:
            assert relative(got[ok], expected[ok]) < 1e-6, column


def assert_joint_matches(
    matrix: pd.DataFrame, result: LimmaFit, table: str, columns: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """The joint F test: same missing proteins, values to 1e-6 relative; returns the test."""
    reference = reference_table(table).set_index("protein_id").reindex(matrix.index)
    (joint_name,) = result.joint
    assert set(reference["contrast"].dropna()) == {joint_name}
    joint = result.joint[joint_name]
    for column in columns:
        expected, got = reference[column].to_numpy(), joint[column]
        assert (np.isnan(expected) == np.isnan(got)).all(), column
        ok = ~np.isnan(expected)
        assert relative(got[ok], expected[ok]) < 1e-6, column
    return joint


@pytest.mark.parametrize("name", sorted(REFERENCE_DESIGNS))
def test_consensus_correlation_matches_r(name: str) -> None:
    matrix, design = load_reference_input(name)
    y = matrix.to_numpy().T
    keep = ~np.isnan(y).all(axis=0)
    result = duplicate_correlation(y[:, keep], design.matrix.to_numpy(), design.subjects.to_numpy())
    model = reference_table(f"limma_{name}_model").set_index("key")["value"]
    expected = float(model["consensus_correlation"])
    assert result.consensus == pytest.approx(expected, rel=1e-6)
    per_protein = reference_table(f"limma_{name}_dupcor").set_index("protein_id")[
        "atanh_correlation"
    ]
    per_protein = per_protein.reindex(matrix.index[keep]).to_numpy()
    assert (np.isnan(result.atanh_correlations) == np.isnan(per_protein)).all()
    finite = ~np.isnan(per_protein)
    np.testing.assert_allclose(result.atanh_correlations[finite], per_protein[finite], atol=1e-9)
    exact = duplicate_correlation(
        y[:, keep], design.matrix.to_numpy(), design.subjects.to_numpy(), method="reml"
    )
    assert exact.consensus == pytest.approx(expected, rel=1e-4)  # the exact optimum is close


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", sorted(REFERENCE_DESIGNS))
def test_moderated_statistics_match_r(name: str, variant: str) -> None:
    trend, robust = VARIANTS[variant]
    matrix, result = fit(name, trend, robust)
    n_contrasts = len(result.contrast_names)
    assert_contrasts_match(
        matrix,
        result,
        reference_table(f"limma_{name}_{variant}"),
        {
            "se": result.se,
            "t": result.t,
            "p_value": result.p_value,
            "df": np.repeat(result.df_total[:, None], n_contrasts, axis=1),
        },
    )
    priors = reference_table(f"limma_{name}_{variant}_prior").set_index("protein_id")
    priors = priors.reindex(matrix.index)
    for column, values in (("df_prior", result.df_prior), ("s2_prior", result.s2_prior),
                           ("s2_post", result.s2_post), ("sigma", result.sigma)):  # fmt: skip
        expected = priors[column].to_numpy()
        ok = np.isfinite(expected)
        assert (np.isinf(expected) == np.isinf(values)).all()
        assert relative(values[ok], expected[ok]) < 1e-6, column


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", sorted(REFERENCE_DESIGNS))
def test_joint_f_test_matches_r(name: str, variant: str) -> None:
    trend, robust = VARIANTS[variant]
    matrix, result = fit(name, trend, robust)
    joint = assert_joint_matches(
        matrix, result, f"limma_{name}_{variant}_F", ("F", "df2", "p_value")
    )
    assert np.nanmax(joint["df1"]) == len(REFERENCE_DESIGNS[name][0]) - 1


def test_squeeze_var_matches_r_prior_directly() -> None:
    priors = reference_table("limma_unbalanced_default_prior")
    usable = priors["df_residual"].notna()
    squeezed = squeeze_var(
        priors.loc[usable, "sigma"].to_numpy() ** 2, priors.loc[usable, "df_residual"].to_numpy()
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
    )
    assert_contrasts_match(
        matrix,
        result,
        reference_table(f"limma_{name}_contrasts_fit_default"),
        {"se": result.se, "t": result.t, "p_value": result.p_value},
    )
    assert_joint_matches(
        matrix, result, f"limma_{name}_contrasts_fit_default_F", ("F", "df1", "df2", "p_value")
    )
