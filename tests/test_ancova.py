"""Baseline-adjusted ANCOVA per visit against stored R outputs (lm + limma eBayes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salivaprot.stats.ancova import fit_ancova

from .conftest import REFERENCE, REFERENCE_DESIGNS, load_reference_input, reference_table


def visit_pairs(name: str, visit: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index]:
    matrix, _ = load_reference_input(name)
    visits, reference_arm, _ = REFERENCE_DESIGNS[name]
    samples = pd.read_csv(REFERENCE / f"samples_{name}.csv").set_index("sample_id")
    base = samples[samples["visit"] == visits[0]].reset_index().set_index("subject_id")
    later = samples[samples["visit"] == visit].reset_index().set_index("subject_id")
    both = [s for s in base.index if s in later.index]
    y_base = matrix[base.loc[both, "sample_id"]].to_numpy().T
    y_visit = matrix[later.loc[both, "sample_id"]].to_numpy().T
    treated = (later.loc[both, "arm"] != reference_arm).to_numpy(float)[:, None]
    return y_visit, y_base, treated, matrix.index


CASES = [(name, visit) for name, spec in REFERENCE_DESIGNS.items() for visit in spec[0][1:]]


@pytest.mark.parametrize(("name", "visit"), CASES)
def test_ancova_matches_r(name: str, visit: str) -> None:
    y_visit, y_base, treated, proteins = visit_pairs(name, visit)
    fit = fit_ancova(y_visit, y_base, treated)
    reference = reference_table(f"ancova_{name}")
    reference = reference[reference["contrast"].str.endswith(f"_change_{visit}")]
    reference = reference.set_index("protein_id").reindex(proteins)
    assert (reference["n_subjects"].to_numpy() == fit.n_subjects).all()
    for column, values in (
        ("estimate", fit.estimate[:, 0]),
        ("se", fit.se[:, 0]),
        ("t", fit.t[:, 0]),
        ("p_value", fit.p_value[:, 0]),
        ("df", fit.df_total),
        ("df_prior", fit.df_prior),
        ("s2_prior", fit.s2_prior),
    ):
        expected = reference[column].to_numpy(dtype=float)
        assert (np.isnan(expected) == np.isnan(values)).all(), column
        assert (np.isinf(expected) == np.isinf(values)).all(), column
        ok = np.isfinite(expected)
        if column == "estimate":
            np.testing.assert_allclose(values[ok], expected[ok], rtol=0, atol=1e-8)
        else:
            np.testing.assert_allclose(values[ok], expected[ok], rtol=1e-6, atol=0)
    no_result = np.isnan(fit.estimate[:, 0])
    assert (fit.note[no_result] != "").all() and (fit.note[~no_result] == "").all()
