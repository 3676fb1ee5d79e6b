"""The mixed model (REML, Satterthwaite df) against R lme4 + lmerTest, and its edge cases.

The reference tables in ``tests/reference`` are described in its README. They
come from ``lmerTest::lmer(y ~ arm * visit [+ batch] + (1 | subject))`` and
``contest(..., ddf = "Satterthwaite")``.

Tolerances are about 10x the largest difference measured, per design (issue
14): on ``unbalanced`` and ``blinded`` estimates agree to 7e-8 absolute and SE,
df, p, t, sigma to 1e-6 relative; on ``balanced`` estimates to 3.4e-13 but SE,
df, p to 9.6e-5 relative, since lme4 stops short of the REML optimum on many of
its proteins (our criterion is lower by up to 3.9e-8). Some proteins are
asserted separately, each named below with its reason:

* ``LME4_STOPPED_EARLY`` proteins miss the estimate tolerance (and
  SIMH00072 also the F tolerance). lme4's optimizer stopped short of the
  REML optimum there, since its BOBYQA uses ``ftol_abs = 1e-8`` on the
  deviance. Our REML criterion is lower than lme4's, and at lme4's ``theta``
  we reproduce R to 1e-8 (``test_at_lme4_theta_reproduces_r``). For them
  the estimate bound is 6e-5 (measured 5.8e-6), SE, df and p 1e-3 (measured
  8.9e-5) and the F bound 2e-4.
* ``NOT_IDENTIFIED`` proteins have a REML criterion that is flat in
  ``theta`` (SIMH00200) or smallest at ``sigma = 0`` (SIMH00118). R keeps
  arbitrary values for them and warns of a degenerate or singular Hessian.
  We report them not fitted, with a note.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salivaprot.design import TrialDesign, trial_design
from salivaprot.io.sheets import sample_sheet
from salivaprot.simulate import simulate_trial
from salivaprot.stats import MixedFit, fit_mixed
from salivaprot.stats._common import bh_adjust

from .conftest import read_csv

REFERENCE = Path(__file__).parent / "reference"
DESIGNS = {
    "balanced": (["baseline", "month1", "month4"], "placebo", ()),
    "unbalanced": (["baseline", "month1", "month4"], "placebo", ()),
    "blinded": (["baseline", "week2", "month1", "month4"], "A", ("batch",)),
}
LME4_STOPPED_EARLY = {
    "balanced": set(),
    "unbalanced": {"SIMH00072", "SIMH00301", "SIMH00305"},
    "blinded": {"SIMH00086"},
}
NOT_IDENTIFIED = {
    "balanced": {},
    "unbalanced": {"SIMH00118": "optimum is at sigma = 0", "SIMH00200": "does not depend"},
    "blinded": {},
}
#: estimate (absolute) and SE/df/p/t/sigma (relative) bounds per design, ~10x measured
EST_ABS = {"balanced": 5e-12, "unbalanced": 1e-6, "blinded": 1e-6}
REL = {"balanced": 1e-3, "unbalanced": 1e-5, "blinded": 1e-5}
STOPPED_EST_ABS, STOPPED_REL = 6e-5, 1e-3


@cache
def load(name: str) -> tuple[pd.Index, np.ndarray, TrialDesign]:
    """Protein IDs, samples x proteins matrix and design of a reference data set."""
    visits, reference_arm, covariates = DESIGNS[name]
    sheet = sample_sheet(
        read_csv(REFERENCE / f"samples_{name}.csv"), visits=visits, reference_arm=reference_arm
    )
    design = trial_design(sheet.table, covariates=covariates)
    values = read_csv(REFERENCE / f"input_{name}.csv", index_col="protein_id")
    y = values[list(sheet.table.index)].to_numpy().T
    return values.index, y, design


def fit(name: str, **kwargs: object) -> MixedFit:
    _, y, d = load(name)
    joint = {k: d.contrasts.loc[v].to_numpy() for k, v in d.joint.items()}
    return fit_mixed(
        y,
        d.matrix.to_numpy(),
        d.subjects.to_numpy(),
        d.contrasts.to_numpy(),
        joint,
        contrast_names=list(d.contrasts.index),
        **kwargs,  # type: ignore[arg-type]
    )


@cache
def ours(name: str) -> tuple[MixedFit, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ids = load(name)[0]
    result = fit(name)
    return result, result.to_frame(ids), result.joint_frame(ids), result.fit_frame(ids)


@cache
def reference(name: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    frames = []
    for suffix in ("", "_F", "_fit"):
        frame = read_csv(REFERENCE / f"mixed_{name}{suffix}.csv", dtype={"note": object})
        frame["note"] = frame["note"].fillna("")
        frames.append(frame)
    return frames[0], frames[1], frames[2]


def relative(a: pd.Series | np.ndarray, b: pd.Series | np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a == b, 0.0, np.abs(a - b) / np.abs(b))


def regular(table: pd.DataFrame, name: str) -> np.ndarray:
    """Rows of proteins that are asserted at the issue's tolerances."""
    special = LME4_STOPPED_EARLY[name] | set(NOT_IDENTIFIED[name])
    return ~table["protein_id"].isin(special).to_numpy()


@pytest.mark.parametrize("name", DESIGNS)
def test_contrasts_match_lmertest(name: str) -> None:
    _, table, _, _ = ours(name)
    ref = reference(name)[0]
    assert table["protein_id"].tolist() == ref["protein_id"].tolist()
    assert table["contrast"].tolist() == ref["contrast"].tolist()
    both = regular(ref, name) & ref["estimate"].notna().to_numpy()
    assert table.loc[both, "estimate"].notna().all()
    est = np.abs(table["estimate"] - ref["estimate"])[both]
    assert est.max() <= EST_ABS[name], est.max()
    for column in ("se", "df"):
        worst = relative(table[column], ref[column])[both].max()
        assert worst <= REL[name], (column, worst)
    usable = both & (ref["p_value"] > 1e-300).to_numpy()
    assert relative(table["p_value"], ref["p_value"])[usable].max() <= REL[name]
    t_diff = np.abs(table["t"] - ref["t"])[both] / np.maximum(np.abs(ref["t"][both]), 1.0)
    assert t_diff.max() <= REL[name]


@pytest.mark.parametrize("name", DESIGNS)
def test_same_missing_rows_and_notes(name: str) -> None:
    result, table, joint, info = ours(name)
    ref, ref_f, ref_fit = reference(name)
    skip = ref["protein_id"].isin(list(NOT_IDENTIFIED[name])).to_numpy()
    assert (table["estimate"].isna() == ref["estimate"].isna())[~skip].all()
    assert (table["df"].isna() == ref["df"].isna())[~skip].all()
    not_estimable = table["note"].str.contains("not estimable", regex=False)
    assert (not_estimable == ref["note"].str.contains("not estimable"))[~skip].all()
    skip_f = ref_f["protein_id"].isin(list(NOT_IDENTIFIED[name])).to_numpy()
    assert (joint["F"].isna() == ref_f["F"].isna())[~skip_f].all()
    # proteins R did not fit carry the same note here, word for word
    not_fitted = ref_fit["note"].str.startswith("not fitted").to_numpy()
    assert (info["note"][not_fitted] == ref_fit["note"][not_fitted]).all()
    assert not result.fitted[not_fitted].any()
    assert (info["n_obs"] == ref_fit["n_obs"]).all()
    assert (info["n_subjects"] == ref_fit["n_subjects"]).all()
    # the lme4 message about dropped columns is repeated
    dropped = ref_fit["note"].str.contains("rank deficient so dropping").to_numpy()
    assert info["note"].str.contains("rank deficient so dropping").to_numpy().tolist() == (
        dropped.tolist()
    )


@pytest.mark.parametrize("name", DESIGNS)
def test_singular_flags_and_their_df(name: str) -> None:
    result, _, _, info = ours(name)
    ref_fit = reference(name)[2]
    skip = ref_fit["protein_id"].isin(list(NOT_IDENTIFIED[name])).to_numpy()
    assert info["singular"][~skip].equals(ref_fit["singular"].astype("boolean")[~skip])
    singular = result.singular & result.fitted
    assert singular.sum() == {"balanced": 0, "unbalanced": 8, "blinded": 4}[name]
    # theta = 0 exactly, subject SD 0, and df = n - rank as lmerTest reports
    assert (result.theta[singular] == 0).all()
    assert (info["subject_sd"][singular] == ref_fit["subject_sd"][singular]).all()
    for i in np.flatnonzero(singular):
        df = result.df[i][np.isfinite(result.df[i])]
        assert np.allclose(df, result.n_obs[i] - result.rank[i], rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", DESIGNS)
def test_joint_f_matches_lmertest(name: str) -> None:
    _, _, joint, _ = ours(name)
    ref = reference(name)[1]
    assert joint["contrast"].tolist() == ref["contrast"].tolist()
    ok = regular(ref, name) & ref["F"].notna().to_numpy()
    assert (joint["df1"][ok] == ref["df1"][ok]).all()
    for column in ("F", "df2", "p_value"):
        worst = relative(joint[column], ref[column])[ok].max()
        assert worst <= REL[name], (column, worst)


@pytest.mark.parametrize("name", DESIGNS)
def test_variance_components_match_lme4(name: str) -> None:
    result, _, _, info = ours(name)
    ref_fit = reference(name)[2]
    unidentified = ref_fit["protein_id"].isin(list(NOT_IDENTIFIED[name])).to_numpy()
    assert (
        info["sigma"].notna().to_numpy() == ref_fit["sigma"].notna().to_numpy() & ~unidentified
    ).all()
    ok = regular(ref_fit, name) & ref_fit["sigma"].notna().to_numpy()
    assert relative(info["sigma"], ref_fit["sigma"])[ok].max() <= REL[name]
    assert np.abs(info["subject_sd"] - ref_fit["subject_sd"])[ok].max() <= REL[name]
    # the optimum here is at least as good as lme4's, and never far from it
    gap = (info["reml_criterion"] - ref_fit["reml_criterion"])[ok]
    assert gap.max() <= 1e-9
    assert gap.min() >= -1e-6
    assert result.converged[result.fitted].all()


@pytest.mark.parametrize("name", [n for n in DESIGNS if LME4_STOPPED_EARLY[n]])
def test_where_lme4_stopped_early(name: str) -> None:
    """Named proteins: looser bounds, and our REML criterion is below lme4's."""
    _, table, joint, info = ours(name)
    ref, ref_f, ref_fit = reference(name)
    for protein in LME4_STOPPED_EARLY[name]:
        rows = (ref["protein_id"] == protein).to_numpy()
        assert np.abs(table["estimate"] - ref["estimate"])[rows].max() <= STOPPED_EST_ABS
        for column in ("se", "df", "p_value"):
            assert relative(table[column], ref[column])[rows].max() <= STOPPED_REL
        row_f = (ref_f["protein_id"] == protein).to_numpy()
        assert relative(joint["F"], ref_f["F"])[row_f].max() <= 2e-4
        assert relative(joint["df2"], ref_f["df2"])[row_f].max() <= STOPPED_REL
        row_fit = (ref_fit["protein_id"] == protein).to_numpy()
        assert (info["reml_criterion"] < ref_fit["reml_criterion"])[row_fit].all()


def test_not_identified_proteins_are_kept_with_a_note() -> None:
    ids = load("unbalanced")[0]
    result, table, joint, _ = ours("unbalanced")
    ref_fit = reference("unbalanced")[2].set_index("protein_id")
    for protein, why in NOT_IDENTIFIED["unbalanced"].items():
        i = ids.get_loc(protein)
        assert not result.fitted[i]
        assert why in result.note[i]
        assert table.loc[table["protein_id"] == protein, "estimate"].isna().all()
        assert len(table[table["protein_id"] == protein]) == len(result.contrasts)
        assert joint.loc[joint["protein_id"] == protein, "F"].isna().all()
        # lme4 warned about its Hessian here
        assert "Hessian" in ref_fit.loc[protein, "note"]
    # R's point is no optimum: moving theta away from lme4's never raises the criterion
    r_theta = (ref_fit["subject_sd"] / ref_fit["sigma"]).to_numpy()

    def criterion(scale: float) -> pd.Series:
        theta = np.full(len(ids), np.nan)
        for protein in NOT_IDENTIFIED["unbalanced"]:
            theta[ids.get_loc(protein)] = scale * r_theta[ids.get_loc(protein)]
        values = fit("unbalanced", theta=theta).reml_criterion
        return pd.Series(values, index=ids)[list(NOT_IDENTIFIED["unbalanced"])]

    at_r = criterion(1.0)
    assert np.allclose(at_r, ref_fit.loc[at_r.index, "reml_criterion"], rtol=0, atol=1e-8)
    assert criterion(10.0)["SIMH00118"] < at_r["SIMH00118"] - 1e-6
    assert abs(criterion(0.1)["SIMH00200"] - at_r["SIMH00200"]) < 1e-9
    assert abs(criterion(10.0)["SIMH00200"] - at_r["SIMH00200"]) < 1e-9


@pytest.mark.parametrize("name", DESIGNS)
def test_at_lme4_theta_reproduces_r(name: str) -> None:
    """Given lme4's variance ratio, every number is R's: the Satterthwaite algebra is exact,
    and the differences above are the optimizers'. Measured: estimates 5.2e-10 absolute,
    SE/df/p 3.5e-8, F 4.4e-9, sigma and REML criterion 3.5e-12 relative."""
    ids = load(name)[0]
    ref, ref_f, ref_fit = reference(name)
    theta = (ref_fit["subject_sd"] / ref_fit["sigma"]).to_numpy()
    result = fit(name, theta=theta)
    table, joint, info = result.to_frame(ids), result.joint_frame(ids), result.fit_frame(ids)
    assert (table["estimate"].isna() == ref["estimate"].isna()).all()
    assert np.nanmax(np.abs(table["estimate"] - ref["estimate"])) <= 5e-9
    for column in ("se", "df", "p_value"):
        assert np.nanmax(relative(table[column], ref[column])) <= 4e-7, column
    for column in ("F", "df2", "p_value"):
        assert np.nanmax(relative(joint[column], ref_f[column])) <= 5e-8, column
    for column in ("sigma", "reml_criterion"):
        assert np.nanmax(relative(info[column], ref_fit[column])) <= 5e-11, column


@pytest.mark.parametrize("name", ["balanced", "blinded"])
def test_padj_matches_r(name: str) -> None:
    _, table, _, _ = ours(name)
    ref = reference(name)[0]
    both = ref["padj"].notna().to_numpy()
    assert (table["padj"].notna().to_numpy() == both).all()
    # BH mixes every protein's p, those where lme4 stopped early too: measured 5.8e-5
    assert relative(table["padj"], ref["padj"])[both].max() <= 5e-4


def test_benjamini_hochberg_is_r_p_adjust() -> None:
    ref = reference("unbalanced")[0]
    for _, group in ref.groupby("contrast", sort=False):
        assert np.allclose(
            bh_adjust(group["p_value"].to_numpy()), group["padj"], rtol=1e-12, equal_nan=True
        )


def test_balanced_estimates_are_ordinary_least_squares() -> None:
    _, y, d = load("balanced")
    result = ours("balanced")[0]
    x = d.matrix.to_numpy()
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    ols = (d.contrasts.to_numpy() @ beta).T
    assert np.abs(result.estimate - ols).max() < 1e-10


def test_protein_order_and_chunking_do_not_matter() -> None:
    _, y, d = load("unbalanced")
    args = (d.matrix.to_numpy(), d.subjects.to_numpy(), d.contrasts.to_numpy())
    joint = {k: d.contrasts.loc[v].to_numpy() for k, v in d.joint.items()}
    base = fit_mixed(y, *args, joint)
    perm = np.random.default_rng(5).permutation(y.shape[1])
    shuffled = fit_mixed(y[:, perm], *args, joint, chunk_size=7)
    for field in ("estimate", "se", "df", "p_value", "f_value", "f_df2", "sigma", "theta"):
        a, b = getattr(base, field)[perm], getattr(shuffled, field)
        assert np.allclose(a, b, rtol=1e-10, atol=1e-12, equal_nan=True), field
    assert [base.note[i] for i in perm] == list(shuffled.note)
    assert (base.singular[perm] == shuffled.singular).all()


def test_sample_order_does_not_matter() -> None:
    _, y, d = load("blinded")
    perm = np.random.default_rng(9).permutation(y.shape[0])
    joint = {k: d.contrasts.loc[v].to_numpy() for k, v in d.joint.items()}
    base = fit_mixed(y, d.matrix.to_numpy(), d.subjects.to_numpy(), d.contrasts.to_numpy(), joint)
    other = fit_mixed(
        y[perm],
        d.matrix.to_numpy()[perm],
        d.subjects.to_numpy()[perm],
        d.contrasts.to_numpy(),
        joint,
    )
    for field in ("estimate", "se", "df", "f_value", "reml_criterion"):
        assert np.allclose(getattr(base, field), getattr(other, field), rtol=1e-9, equal_nan=True)


def test_a_small_spread_around_a_large_mean_fits_like_the_unscaled_protein() -> None:
    # a protein 1e-4 times another plus 20: theta, t, df and p are the same (lmerTest
    # agrees). The sums of squares of the raw values lost five digits of the spread, and
    # the fit was flagged "did not converge" with t off by 1e-5
    _, y, d = load("blinded")
    keep = np.isfinite(y).sum(axis=0) > 20
    y = y[:, keep][:, :40]
    joint = {k: d.contrasts.loc[v].to_numpy() for k, v in d.joint.items()}
    args = (d.matrix.to_numpy(), d.subjects.to_numpy(), d.contrasts.to_numpy(), joint)
    base = fit_mixed(y, *args)
    small = fit_mixed(y * 1e-4 + 20.0, *args)
    assert (small.converged == base.converged).all() and base.converged.sum() > 30
    fitted = base.fitted & small.fitted
    assert fitted.sum() == base.fitted.sum() > 30
    for field in ("t", "df", "p_value", "f_value"):
        np.testing.assert_allclose(
            getattr(small, field)[fitted], getattr(base, field)[fitted], rtol=5e-8
        )  # measured: t 5e-9, p 2e-10, df 1e-11
    np.testing.assert_allclose(small.estimate[fitted] * 1e4, base.estimate[fitted], rtol=5e-8)


def test_all_missing_protein_gets_nan_rows_and_a_note() -> None:
    _, y, d = load("balanced")
    y = y[:, :5].copy()
    y[:, 2] = np.nan
    result = fit_mixed(
        y,
        d.matrix.to_numpy(),
        d.subjects.to_numpy(),
        d.contrasts.to_numpy(),
        {"joint": d.contrasts.to_numpy()[:2]},
        contrast_names=list(d.contrasts.index),
    )
    assert not result.fitted[2]
    assert result.note[2] == "not fitted: 0 observations < 6 fixed effects + 2"
    assert np.isnan(result.estimate[2]).all() and np.isnan(result.f_value[2]).all()
    assert np.isfinite(result.estimate[[0, 1, 3, 4]]).all()
    table = result.to_frame(["a", "b", "c", "d", "e"])
    rows = table[table["protein_id"] == "c"]
    assert len(rows) == len(d.contrasts)
    assert rows["estimate"].isna().all() and rows["padj"].isna().all()
    assert rows["singular"].isna().all()
    assert (rows["note"] == result.note[2]).all()
    info = result.fit_frame(["a", "b", "c", "d", "e"])
    assert info.loc[2, "n_obs"] == 0 and np.isnan(info.loc[2, "sigma"])


def test_values_the_design_fits_exactly_are_not_fitted() -> None:
    """A constant protein (e.g. imputed everywhere) has no residual variation: noted, NaN."""
    _, y, d = load("balanced")
    x = d.matrix.to_numpy()
    y = np.column_stack([np.full(len(x), 15.0), x @ np.arange(6.0), y[:, 0]])
    result = fit_mixed(y, x, d.subjects.to_numpy(), d.contrasts.to_numpy())
    for i in (0, 1):
        assert not result.fitted[i] and "fit the fixed effects exactly" in result.note[i]
        assert np.isnan(result.estimate[i]).all()
    assert result.fitted[2] and result.note[2] == ""


def test_simulated_trial_with_missed_visits() -> None:
    """A trial with drop-outs: every protein has rows, and fits converge."""
    data = simulate_trial(seed=8, n_proteins=120, subjects_per_arm=8, dropout=0.3).data
    d = trial_design(data.samples)
    y = np.log2(data.abundance.to_numpy())
    y -= np.nanmedian(y, axis=1, keepdims=True)
    result = fit_mixed(y, d.matrix.to_numpy(), d.subjects.to_numpy(), d.contrasts.to_numpy())
    assert result.estimate.shape == (data.n_proteins, len(d.contrasts))
    assert result.converged[result.fitted].all()
    assert all(note for note, done in zip(result.note, result.fitted, strict=True) if not done)
    assert ((result.df > 0) | np.isnan(result.df)).all()
    p = result.p_value[np.isfinite(result.p_value)]
    assert ((p >= 0) & (p <= 1)).all()
    assert len(result.to_frame()) == data.n_proteins * len(d.contrasts)


def test_zero_subject_variance_is_a_singular_fit_with_least_squares_df() -> None:
    rng = np.random.default_rng(2)
    subjects = np.repeat(np.arange(10), 3)
    visit = np.tile(np.arange(3), 10)
    arm = (subjects >= 5).astype(float)
    x = np.column_stack(
        [np.ones(30), arm, visit == 1, visit == 2, arm * (visit == 1), arm * (visit == 2)]
    ).astype(float)
    # residuals with exactly no between-subject component: subject means are zero
    e = rng.normal(size=(10, 3))
    e -= e.mean(axis=1, keepdims=True)
    y = (x @ np.arange(6.0) + e.ravel())[:, None]
    result = fit_mixed(y, x, subjects, np.eye(6))
    assert result.singular[0] and result.theta[0] == 0.0 and result.converged[0]
    assert np.allclose(result.df[0], 30 - 6)
    ols = np.linalg.lstsq(x, y[:, 0], rcond=None)[0]
    assert np.allclose(result.estimate[0], ols)


def test_fixed_theta_and_defaults() -> None:
    _, y, d = load("balanced")
    args = (d.matrix.to_numpy(), d.subjects.to_numpy(), d.contrasts.to_numpy())
    free = fit_mixed(y[:, :3], *args)
    pinned = fit_mixed(y[:, :3], *args, theta=np.array([free.theta[0], np.nan, 0.0]))
    assert np.allclose(pinned.estimate[:2], free.estimate[:2], rtol=1e-12)
    assert pinned.theta[2] == 0.0 and pinned.singular[2]
    assert free.contrasts[0] == "contrast1" and free.joint == ()
    assert free.joint_frame().empty
    assert list(free.to_frame()["protein_id"].unique()) == ["protein1", "protein2", "protein3"]
    with pytest.raises(ValueError, match="read-only"):
        free.estimate[0, 0] = 1.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"y": np.zeros((5, 2))}, "samples"),
        ({"contrasts": np.eye(3)}, "contrasts must be"),
        ({"design": np.ones((60, 2)), "contrasts": np.ones((1, 2))}, "full column rank"),
        ({"subjects": np.array([None] * 60)}, "subject label"),
        ({"theta": np.ones(3)}, "theta has"),
        ({"joint": {"j": np.ones((1, 2))}}, "joint test 'j'"),
        ({"contrast_names": ["a"]}, "contrast names"),
    ],
)
def test_bad_input_is_refused(change: dict[str, object], message: str) -> None:
    _, y, d = load("balanced")
    args: dict[str, object] = {
        "y": y[:, :1],
        "design": d.matrix.to_numpy(),
        "subjects": d.subjects.to_numpy(),
        "contrasts": d.contrasts.to_numpy(),
    }
    args.update(change)
    with pytest.raises(ValueError, match=message):
        fit_mixed(**args)  # type: ignore[arg-type]
