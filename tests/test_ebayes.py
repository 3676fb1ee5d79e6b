"""limma's squeezeVar against stored R outputs (tests/reference/squeeze_*.csv).

The input has positive, unequal residual df for every protein and one variance
below 1e-12 x the median: the branch of fitFDistRobustly that transforms
variances to a common df (see make_squeeze_reference.R).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from salivaprot.errors import SalivaprotWarning
from salivaprot.stats.ebayes import (
    SqueezedVariances,
    fit_f_dist,
    fit_f_dist_robustly,
    squeeze_var,
)

from .conftest import REFERENCE, read_csv

VARIANTS = {"default": (False, False), "trend": (True, False), "robust": (False, True),
            "trend_robust": (True, True)}  # fmt: skip
#: about 10x the largest relative difference measured against limma 3.54.1 and 3.63.2 with
#: legacy = TRUE (trend with robust goes through lowess, where R's and statsmodels'
#: differ in the last digits)
LEGACY_TOLERANCE = {"default": 3e-14, "trend": 2e-13, "robust": 1e-13, "trend_robust": 2e-9}


def squeeze_input() -> pd.DataFrame:
    return read_csv(REFERENCE / "squeeze_input.csv")


def squeeze(frame: pd.DataFrame, variant: str, **options: object) -> SqueezedVariances:
    trend, robust = VARIANTS[variant]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "1 very small variance", SalivaprotWarning)
        return squeeze_var(
            frame["var"].to_numpy(),
            frame["df"].to_numpy(dtype=float),
            covariate=frame["covariate"].to_numpy() if trend else None,
            robust=robust,
            **options,  # type: ignore[arg-type]
        )


def max_relative(got: np.ndarray, expected: np.ndarray) -> float:
    assert (np.isinf(got) == np.isinf(expected)).all()
    ok = np.isfinite(expected)
    return float(np.max(np.abs(got[ok] - expected[ok]) / np.abs(expected[ok])))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_squeeze_var_legacy_matches_limma_3_54(variant: str) -> None:
    frame = squeeze_input()
    expected = read_csv(REFERENCE / f"squeeze_{variant}.csv")
    result = squeeze(frame, variant, legacy=True)
    for column, values in (("var_prior", result.var_prior), ("df_prior", result.df_prior),
                           ("var_post", result.var_post)):  # fmt: skip
        assert max_relative(values, expected[column].to_numpy()) < LEGACY_TOLERANCE[variant], column


def test_fit_f_dist_functions_leave_their_inputs_unchanged() -> None:
    frame = squeeze_input()
    x = frame["var"].to_numpy().copy()
    df1 = frame["df"].to_numpy(dtype=float).copy()
    covariate = frame["covariate"].to_numpy().copy()
    x[5] = 0.0
    before = (x.copy(), df1.copy(), covariate.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SalivaprotWarning)
        fit_f_dist(x, df1, covariate)
        fit_f_dist_robustly(x, df1)
        fit_f_dist_robustly(x, df1, covariate)
        squeeze_var(x, df1, robust=True)
    for after, original in zip((x, df1, covariate), before, strict=True):
        np.testing.assert_array_equal(after, original)


#: about 10x the largest relative difference measured against limma 3.63.2
CURRENT_TOLERANCE = {"default": 3e-11, "trend": 3e-10, "robust": 1e-10, "trend_robust": 3e-10}
CURRENT = REFERENCE / "limma-3.63.2"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_squeeze_var_default_matches_limma_3_63(variant: str) -> None:
    """Unequal df: current limma's legacy = NULL uses fitFDistUnequalDF1; so does ours."""
    frame = squeeze_input()
    for suffix, legacy, tolerance in (
        ("", None, CURRENT_TOLERANCE[variant]),
        ("", False, CURRENT_TOLERANCE[variant]),
        ("_legacy", True, LEGACY_TOLERANCE[variant]),
    ):
        expected = read_csv(CURRENT / f"squeeze_{variant}{suffix}.csv")
        result = squeeze(frame, variant, legacy=legacy)
        for column, values in (("var_prior", result.var_prior), ("df_prior", result.df_prior),
                               ("var_post", result.var_post)):  # fmt: skip
            assert max_relative(values, expected[column].to_numpy()) < tolerance, (suffix, column)


@pytest.mark.parametrize("robust", [False, True])
@pytest.mark.parametrize("trend", [False, True])
def test_equal_df_uses_the_legacy_estimator_by_default(trend: bool, robust: bool) -> None:
    frame = squeeze_input()
    df = np.full(len(frame), 9.0)
    df[:3] = 0.0  # no residual df: not counted when deciding whether the df are equal
    options = {"covariate": frame["covariate"].to_numpy() if trend else None, "robust": robust}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "1 very small variance", SalivaprotWarning)
        default = squeeze_var(frame["var"].to_numpy(), df, **options)  # type: ignore[arg-type]
        legacy = squeeze_var(frame["var"].to_numpy(), df, legacy=True, **options)  # type: ignore[arg-type]
        new = squeeze_var(frame["var"].to_numpy(), df, legacy=False, **options)  # type: ignore[arg-type]
    for name in ("var_prior", "df_prior", "var_post"):
        np.testing.assert_array_equal(getattr(default, name), getattr(legacy, name))
    assert not np.allclose(new.df_prior, legacy.df_prior)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_forced_unequal_df_estimator_on_equal_df_matches_limma_3_63(variant: str) -> None:
    """legacy=False with equal df: equal weights, so the trend is plain lowess, as in R."""
    frame = squeeze_input().assign(df=9.0)
    expected = read_csv(CURRENT / f"squeeze_{variant}_equal_df_new.csv")
    result = squeeze(frame, variant, legacy=False)
    assert result.estimator == "unequal-df"
    for column, values in (("var_prior", result.var_prior), ("df_prior", result.df_prior),
                           ("var_post", result.var_post)):  # fmt: skip
        assert max_relative(values, expected[column].to_numpy()) < CURRENT_TOLERANCE[variant]


def test_fit_f_dist_without_a_usable_variance_returns_na_as_r_does() -> None:
    # every df 0 (or every variance missing): limma's fitFDist returns NA, NA; numpy's
    # median of nothing warned "Mean of empty slice"
    assert all(np.isnan(v) for v in fit_f_dist(np.zeros(4), np.zeros(4)))
    scale, df2 = fit_f_dist(np.full(4, np.nan), np.full(4, 3.0), covariate=np.arange(4.0))
    assert np.isnan(scale).all() and np.shape(scale) == (4,) and np.isnan(df2)


def test_two_variances_are_returned_unmoderated_as_current_limma_does() -> None:
    var, df = np.array([0.5, 2.0]), np.array([4.0, 4.0])
    current = squeeze_var(var, df)
    np.testing.assert_array_equal(current.var_post, var)
    np.testing.assert_array_equal(current.df_prior, [0.0, 0.0])
    legacy = squeeze_var(var, df, legacy=True)  # limma 3.54 fits the prior from two
    assert np.all(legacy.var_post != var)


def test_brent_minimizer_takes_the_steps_of_r_optimize() -> None:
    """Values from R 4.2.2: sprintf("%.17g", optimize(f, c(0.5, 0.9998))$minimum)."""
    import math

    from salivaprot.stats._unequal_df import _brent_minimize

    tol = np.finfo(float).eps ** 0.25
    rough = _brent_minimize(
        lambda x: (x - 0.71) ** 2 + 0.01 * math.sin(13 * x) + abs(x - 0.8) ** 1.5, 0.5, 0.9998, tol
    )
    smooth = _brent_minimize(lambda x: -math.log(x) + x**3, 0.5, 0.9998, tol)
    assert rough == 0.79610128549065839
    assert smooth == 0.69335849449884723
