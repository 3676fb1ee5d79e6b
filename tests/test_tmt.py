"""TMT/iTRAQ: MaxQuant reporter-ion proteinGroups.txt, single- and multi-plex, through diff."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from salivaprot import InputFormatError, read_maxquant
from salivaprot.cli import main
from salivaprot.io.study import detect_format, load_study

from .conftest import write_file


def tmt_file(
    folder: Path,
    values: np.ndarray,
    *,
    plexes: list[str] | None = None,
    corrected: bool = True,
    ids: list[str] | None = None,
) -> Path:
    """A proteinGroups.txt as MaxQuant writes a TMT run: one experiment per plex.

    ``values`` is proteins x (plexes * channels); one plex writes no experiment name and
    a plain 'Intensity' column (why such a file had no 'Intensity <sample>' column).
    """
    n_proteins, n_columns = values.shape
    plexes = plexes or [""]
    channels = n_columns // len(plexes)
    ids = ids or [f"P{i:05d}" for i in range(n_proteins)]
    header = ["Protein IDs", "Majority protein IDs", "Fasta headers", "Peptides"]
    suffixes = [f"{c} {p}".strip() for p in plexes for c in range(1, channels + 1)]
    header += ["Intensity"] if plexes == [""] else [f"Intensity {p}" for p in plexes]
    header += [f"Reporter intensity {s}" for s in suffixes]
    if corrected:
        header += [f"Reporter intensity corrected {s}" for s in suffixes]
    header += [f"Reporter intensity count {s}" for s in suffixes]
    header += ["Reverse", "Potential contaminant", "id"]
    rows = []
    for i, protein in enumerate(ids):
        sums = [
            f"{values[i, k * channels : (k + 1) * channels].sum():.6g}" for k in range(len(plexes))
        ]
        measured = [f"{v * 1.03:.6g}" for v in values[i]]
        fixed = [f"{v:.6g}" for v in values[i]] if corrected else []
        counts = ["3"] * n_columns
        rows.append(
            "\t".join(
                [
                    protein,
                    protein,
                    f">{protein}",
                    "5",
                    *sums,
                    *measured,
                    *fixed,
                    *counts,
                    "",
                    "",
                    str(i),
                ]
            )
        )
    return write_file(folder, "\n".join(["\t".join(header), *rows]) + "\n", "proteinGroups.txt")


def test_single_plex_tmt_is_recognized_and_read(tmp_path: Path) -> None:
    values = np.arange(1, 13, dtype=float).reshape(2, 6) * 1e6
    values[1, 4] = 0
    path = tmt_file(tmp_path, values)
    assert detect_format(path) == "maxquant"  # was "unrecognized input format"
    quant = read_maxquant(path)
    assert quant.abundance.columns.tolist() == [
        f"Reporter intensity corrected {c}" for c in range(1, 7)
    ]
    assert quant.columns["name"].tolist() == ["1", "2", "3", "4", "5", "6"]
    assert quant.abundance.at["P00000", "Reporter intensity corrected 3"] == 3e6  # not x1.03
    assert np.isnan(quant.abundance.at["P00001", "Reporter intensity corrected 5"])
    assert quant.source == "MaxQuant proteinGroups.txt (Reporter intensity corrected)"
    assert quant.notes[0].startswith("quantity: Reporter intensity corrected (auto: a TMT/iTRAQ")
    assert quant.notes[2].startswith("TMT/iTRAQ: 6 channels x 1 plex(es); samples are named")


def test_uncorrected_reporters_are_read_when_alone_and_said(tmp_path: Path) -> None:
    values = np.full((2, 4), 2e6)
    quant = read_maxquant(tmt_file(tmp_path, values, corrected=False))
    assert quant.abundance.columns[0] == "Reporter intensity 1"
    assert quant.abundance.iloc[0, 0] == pytest.approx(2.06e6)
    assert "not corrected for isotope impurities" in quant.notes[0]
    assert quant.source == "MaxQuant proteinGroups.txt (Reporter intensity)"


def test_multi_plex_names_channel_and_experiment(tmp_path: Path) -> None:
    values = np.arange(1, 13, dtype=float).reshape(2, 6) * 1e6
    path = tmt_file(tmp_path, values, plexes=["Plex1", "Plex2"])
    quant = read_maxquant(path)
    assert quant.columns["name"].tolist() == [
        "1 Plex1",
        "2 Plex1",
        "3 Plex1",
        "1 Plex2",
        "2 Plex2",
        "3 Plex2",
    ]
    assert "TMT/iTRAQ: 3 channels x 2 plex(es) (Plex1, Plex2)" in quant.notes[2]
    intensity = read_maxquant(path, quantity="intensity")  # the per-plex sums, when asked
    assert intensity.abundance.columns.tolist() == ["Intensity Plex1", "Intensity Plex2"]


def test_silac_is_still_refused(tmp_path: Path) -> None:
    path = write_file(
        tmp_path,
        "Protein IDs\tIntensity S1\tRatio H/L S1\nP1\t1e6\t0.5\n",
        "proteinGroups.txt",
    )
    with pytest.raises(InputFormatError, match=r"a SILAC proteinGroups\.txt"):
        read_maxquant(path)


def test_tmt_study_end_to_end_through_diff(tmp_path: Path) -> None:
    # 2 plexes x 6 channels = 6 subjects x (baseline, month4), each subject within one plex;
    # plex 2 reads 1.6x higher (a batch effect, modelled through the sheet's 'plex');
    # protein P00000 is 4x higher at month 4 in the aMSC arm
    rng = np.random.default_rng(7)
    n_proteins, channels, plexes = 40, 6, ["Plex1", "Plex2"]
    base = rng.lognormal(mean=16, sigma=1.5, size=(n_proteins, 1))
    values = base * rng.lognormal(0, 0.1, size=(n_proteins, channels * len(plexes)))
    values[:, channels:] *= 1.6
    subjects = [f"P{i // 2 + 1}" for i in range(12)]
    arms = ["placebo" if int(s[1:]) % 2 else "aMSC" for s in subjects]
    visits = ["baseline", "month4"] * 6
    effect = np.array([a == "aMSC" and v == "month4" for a, v in zip(arms, visits, strict=True)])
    values[0, effect] *= 4
    path = tmt_file(tmp_path, values, plexes=plexes)
    sheet = pd.DataFrame(
        {
            "sample_id": [f"s{i + 1}" for i in range(12)],
            "subject_id": subjects,
            "arm": arms,
            "visit": visits,
            "visit_day": [0 if v == "baseline" else 120 for v in visits],
            "run": [f"{c} {p}" for p in plexes for c in range(1, channels + 1)],
            "plex": [p for p in plexes for _ in range(channels)],
        }
    )
    sheet.to_csv(tmp_path / "samples.csv", index=False)
    study = load_study(path, tmp_path / "samples.csv")
    assert study.data.samples.at["s7", "data_column"] == "Reporter intensity corrected 1 Plex2"
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "diff", str(path), "-s", str(tmp_path / "samples.csv"), "--no-filter", "-o",
            str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output + str(result.exception)
    results = pd.read_csv(out / "results.tsv", sep="\t")
    top = results.sort_values("pvalue").iloc[0]
    assert top["protein_id"] == "P00000"
    assert abs(top["log2fc"]) == pytest.approx(2.0, abs=0.3)
    run = (out / "run.json").read_text()
    assert '"plex": "categorical"' in run  # no --covariate plex needed
    assert "added automatically" in run


# ---- the sample sheet's plex, channel and reference_channel; plex in the design


def tmt_sheet(n_plexes: int = 2, *, reference: bool = False) -> pd.DataFrame:
    """Per plex: 4 subjects x (baseline, month4), arms balanced within plex; + a pool."""
    rows = []
    for k in range(n_plexes):
        plex = f"Plex{k + 1}"
        for j in range(4):
            subject = f"P{k * 4 + j + 1}"
            for c, visit in enumerate(("baseline", "month4")):
                rows.append(
                    {
                        "sample_id": f"{subject}_{visit}",
                        "subject_id": subject,
                        "arm": "aMSC" if j % 2 else "placebo",
                        "visit": visit,
                        "plex": plex,
                        "channel": str(2 * j + c + 1),
                        "reference_channel": "no",
                    }
                )
        if reference:
            rows.append(
                {
                    "sample_id": f"pool_{plex}",
                    "subject_id": "",
                    "arm": "",
                    "visit": "",
                    "plex": plex,
                    "channel": "9",
                    "reference_channel": "yes",
                }
            )
    return pd.DataFrame(rows)


def test_sheet_reads_plex_channel_and_reference_rows_without_design() -> None:
    from salivaprot.io.sheets import sample_sheet

    sheet = sample_sheet(tmt_sheet(2, reference=True), visits=["baseline", "month4"])
    table = sheet.table
    assert table.loc["pool_Plex2", "reference_channel"]
    assert not table.loc["P1_baseline", "reference_channel"]
    assert table["plex"].tolist().count("Plex1") == 9
    assert pd.isna(table.loc["pool_Plex1", "arm"]) and pd.isna(table.loc["pool_Plex1", "visit"])
    assert table.loc["P2_month4", "channel"] == "4"


def test_sheet_refuses_two_references_in_a_plex_and_missing_plex() -> None:
    from salivaprot.errors import SampleSheetError
    from salivaprot.io.sheets import sample_sheet

    frame = tmt_sheet(2, reference=True)
    frame.loc[0, "reference_channel"] = "yes"
    frame.loc[0, ["subject_id", "arm", "visit"]] = ""
    frame.loc[3, "plex"] = ""
    with pytest.raises(SampleSheetError) as err:
        sample_sheet(frame, visits=["baseline", "month4"])
    text = str(err.value)
    assert "plex 'Plex1' has more than one reference_channel sample" in text
    assert "empty 'plex'" in text


def test_plex_becomes_a_categorical_covariate_by_itself() -> None:
    from salivaprot.design import trial_design
    from salivaprot.io.sheets import sample_sheet

    table = sample_sheet(tmt_sheet(3), visits=["baseline", "month4"]).table
    design = trial_design(table)
    assert design.covariate_kinds == {"plex": "categorical"}
    assert design.covariate_columns["plex"] == ["plex[Plex2]", "plex[Plex3]"]
    assert "added automatically" in design.describe()["notes"][0]
    named = trial_design(table, covariates=["plex"])  # naming it is allowed, and not noted
    assert named.matrix.equals(design.matrix) and named.notes == ()
    single = trial_design(table[table["plex"] == "Plex1"])
    assert single.covariate_kinds == {} and single.notes == ()


def test_plex_confounded_with_arm_or_visit_is_a_design_error() -> None:
    from salivaprot.design import trial_design
    from salivaprot.errors import DesignError
    from salivaprot.io.sheets import sample_sheet

    table = sample_sheet(tmt_sheet(2), visits=["baseline", "month4"]).table.copy()
    by_arm = table.assign(plex=["Plex1" if a == "placebo" else "Plex2" for a in table["arm"]])
    with pytest.raises(DesignError, match="plex is confounded with arm: every plex holds"):
        trial_design(by_arm)
    by_visit = table.assign(plex=[f"Plex_{v}" for v in table["visit"]])
    with pytest.raises(DesignError, match="plex is confounded with visit"):
        trial_design(by_visit)


# ---- internal reference scaling


def tmt_data(n_plexes: int = 3, n_proteins: int = 60, seed: int = 3, effect: float = 0.0):
    """A simulated TMT study: per-plex, per-protein factors; one pooled reference per plex."""
    from salivaprot.data import ProteinData
    from salivaprot.io.sheets import sample_sheet

    rng = np.random.default_rng(seed)
    samples = sample_sheet(tmt_sheet(n_plexes, reference=True), visits=["baseline", "month4"])
    table = samples.table
    proteins = [f"P{i:05d}" for i in range(n_proteins)]
    level = rng.normal(20, 2, size=n_proteins)
    subject = {s: rng.normal(0, 0.3, size=n_proteins) for s in table["subject_id"].dropna()}
    plex_effect = {p: rng.normal(0, 1.0, size=n_proteins) for p in table["plex"].unique()}
    loading = rng.normal(0, 0.2, size=len(table))
    rows = []
    for i, (_, row) in enumerate(table.iterrows()):
        y = level + plex_effect[row["plex"]] + loading[i] + rng.normal(0, 0.15, n_proteins)
        if not row["reference_channel"]:
            y = y + subject[row["subject_id"]]
            if row["arm"] == "aMSC" and row["visit"] == "month4":
                y[0] += effect
        rows.append(y)
    abundance = pd.DataFrame(np.array(rows), index=table.index, columns=proteins)
    return ProteinData(
        abundance=np.exp2(abundance),
        samples=table,
        proteins=pd.DataFrame(index=pd.Index(proteins, name="protein_id")),
    )


def test_irs_makes_reference_channels_equal_across_plexes_protein_by_protein() -> None:
    from salivaprot.preprocess import log2, normalize

    data = log2(tmt_data())
    data.abundance.iloc[2, 5] = np.nan  # a missing value in a sample: stays missing
    before = data.abundance
    normed = normalize(data, method="irs")
    refs = normed.samples.index[normed.samples["reference_channel"]]
    ref_values = normed.abundance.loc[refs]
    # the property: every protein's reference channels are equal across plexes...
    np.testing.assert_allclose(ref_values.std(axis=0, ddof=0), 0.0, atol=1e-12)
    # ... at the mean of the references after the median step
    median_only = normalize(data, method="median").abundance.loc[refs]
    np.testing.assert_allclose(ref_values.iloc[0], median_only.mean(axis=0), atol=1e-12)
    # and within a plex, differences between channels are those of the median step
    plex1 = normed.samples.index[normed.samples["plex"] == "Plex1"]
    after = normed.abundance.loc[plex1]
    median = normalize(data, method="median").abundance.loc[plex1]
    np.testing.assert_allclose(
        after.sub(after.iloc[0]).to_numpy(), median.sub(median.iloc[0]).to_numpy(), atol=1e-12
    )
    assert np.isnan(normed.abundance.iloc[2, 5])
    assert before.notna().to_numpy().sum() == normed.abundance.notna().to_numpy().sum()
    assert normed.steps[-1] == "normalize(method='irs', plexes=3)"


def test_irs_removes_the_plex_factor_that_median_leaves() -> None:
    from salivaprot.preprocess import log2, normalize

    data = log2(tmt_data(seed=5))
    samples = data.samples[~data.samples["reference_channel"]]

    def plex_spread(method: str) -> float:
        y = normalize(data, method=method).abundance.loc[samples.index]
        return float(y.groupby(samples["plex"]).mean().std(axis=0).mean())

    assert plex_spread("median") > 0.5  # the simulated per-protein plex effects (sd 1)
    assert plex_spread("irs") < 0.3  # what is left: subjects and noise


def test_irs_missing_reference_value_makes_that_plex_missing_and_says_so() -> None:
    from salivaprot.preprocess import log2, normalize

    data = log2(tmt_data(n_plexes=2))
    data.abundance.loc["pool_Plex2", "P00003"] = np.nan
    normed = normalize(data, method="irs")
    plex2 = normed.samples.index[normed.samples["plex"] == "Plex2"]
    assert normed.abundance.loc[plex2, "P00003"].isna().all()
    plex1 = normed.samples.index[normed.samples["plex"] == "Plex1"]
    assert normed.abundance.loc[plex1, "P00003"].notna().all()
    assert normed.steps[-1] == "normalize(method='irs', plexes=2, unscalable_values=8)"


def test_irs_needs_one_reference_per_plex_and_the_columns() -> None:
    from salivaprot.errors import DataError
    from salivaprot.preprocess import log2, normalize

    data = log2(tmt_data(n_plexes=2))
    samples = data.samples.copy()
    samples.loc["pool_Plex2", "reference_channel"] = False
    with pytest.raises(DataError, match="plex 'Plex2' has 0 reference_channel samples"):
        normalize(_with_samples(data, samples), method="irs")
    with pytest.raises(DataError, match="needs sample-sheet column"):
        normalize(_with_samples(data, samples.drop(columns="plex")), method="irs")


def _with_samples(data, samples):
    from dataclasses import replace

    return replace(data, samples=samples)


def test_preprocess_irs_drops_the_references_before_the_model() -> None:
    from salivaprot.diff import differential_abundance
    from salivaprot.preprocess import preprocess

    data = tmt_data(effect=2.0, n_proteins=80, seed=11)
    ready = preprocess(data, normalize_method="irs", species=None, min_fraction=None)
    assert not ready.samples["reference_channel"].any()
    assert len(ready.samples) == 24
    assert [s.split("(")[0] for s in ready.steps][-3:] == [
        "normalize",
        "drop_reference_channels",
        "impute",
    ]
    results = differential_abundance(ready, method="limma")
    change = results.table[results.table["contrast"] == "aMSC_vs_placebo_change_month4"]
    top = change.sort_values("pvalue").iloc[0]
    assert top["protein_id"] == "P00000"
    assert top["log2fc"] == pytest.approx(2.0, abs=0.5)


def test_tmt_study_with_pooled_references_through_diff_normalize_irs(tmp_path: Path) -> None:
    # 2 plexes x 9 channels: 8 samples + channel 9, the pooled reference; each plex has its
    # own protein-specific factor (what IRS removes); P00000 is 4x higher at month 4 in aMSC
    rng = np.random.default_rng(2)
    frame = tmt_sheet(2, reference=True)
    frame["run"] = [f"{c} {p}" for p, c in zip(frame["plex"], frame["channel"], strict=True)]
    frame = frame.drop(columns="channel")
    n_proteins = 50
    base = rng.lognormal(mean=16, sigma=1.5, size=(n_proteins, 1))
    values = base * rng.lognormal(0, 0.1, size=(n_proteins, len(frame)))
    for k in range(2):
        values[:, k * 9 : (k + 1) * 9] *= rng.lognormal(0, 0.7, size=(n_proteins, 1))
    effect = ((frame["arm"] == "aMSC") & (frame["visit"] == "month4")).to_numpy()
    values[0, effect] *= 4
    path = tmt_file(tmp_path, values, plexes=["Plex1", "Plex2"])
    frame.to_csv(tmp_path / "samples.csv", index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "diff", str(path), "-s", str(tmp_path / "samples.csv"), "--visits",
            "baseline,month4", "--normalize", "irs", "--no-filter", "-o", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output + str(result.exception)
    results = pd.read_csv(out / "results.tsv", sep="\t")
    change = results[results["contrast"] == "aMSC_vs_placebo_change_month4"]
    top = change.sort_values("pvalue").iloc[0]
    assert top["protein_id"] == "P00000"
    assert top["log2fc"] == pytest.approx(2.0, abs=0.3)
    assert set(results["n_samples"]) == {16}  # the two pools are not in the model
    run = (out / "run.json").read_text()
    assert "normalize(method='irs', plexes=2)" in run
    assert "drop_reference_channels(n=2)" in run


def test_validate_checks_the_design_without_the_references_and_diff_names_them(
    tmp_path: Path,
) -> None:
    from salivaprot.design import trial_design
    from salivaprot.errors import DesignError

    frame = tmt_sheet(2, reference=True)
    frame["run"] = [f"{c} {p}" for p, c in zip(frame["plex"], frame["channel"], strict=True)]
    values = np.random.default_rng(1).lognormal(16, 1, size=(20, len(frame)))
    path = tmt_file(tmp_path, values, plexes=["Plex1", "Plex2"])
    frame.to_csv(tmp_path / "samples.csv", index=False)
    args = ["-s", str(tmp_path / "samples.csv"), "--visits", "baseline,month4"]
    result = CliRunner().invoke(main, ["validate", str(path), *args])
    assert result.exit_code == 0, result.output
    assert "OK: usable study." in result.output
    assert "--normalize irs" in result.output  # the reader's TMT note says what to do
    study = load_study(path, tmp_path / "samples.csv", visits=["baseline", "month4"])
    with pytest.raises(DesignError, match="pool_Plex1, pool_Plex2 are TMT pooled references"):
        trial_design(study.data.samples)


# ---- FragPipe TMT-Integrator protein tables


def integrator_file(folder: Path, log2_values: np.ndarray, samples: list[str], name: str) -> Path:
    header = ["Index", "NumberPSM", "ProteinID", "MaxPepProb", "ReferenceIntensity", *samples]
    rows = []
    for i, row in enumerate(log2_values):
        cells = ["NA" if np.isnan(v) else f"{v:.6f}" for v in row]
        rows.append(
            "\t".join(
                [f"sp|P{i:05d}|PROT{i}_HUMAN", str(10 + i), f"P{i:05d}", "0.99", "1.5e7", *cells]
            )
        )
    return write_file(folder, "\n".join(["\t".join(header), *rows]) + "\n", name)


def test_tmt_integrator_abundance_table_is_read_as_fragpipe(tmp_path: Path) -> None:
    from salivaprot.io.fragpipe import read_fragpipe

    log2_values = np.array([[20.5, 21.0, np.nan], [15.25, 16.0, 14.0]])
    path = integrator_file(tmp_path, log2_values, ["s1", "s2", "s3"], "abundance_protein_MD.tsv")
    assert detect_format(path) == "fragpipe"  # was "unrecognized" (named, not read)
    quant = read_fragpipe(path)
    assert quant.abundance.columns.tolist() == ["s1", "s2", "s3"]
    assert quant.abundance.index.tolist() == ["sp|P00000|PROT0_HUMAN", "sp|P00001|PROT1_HUMAN"]
    assert quant.abundance.iloc[0, 1] == pytest.approx(2.0**21.0)
    assert np.isnan(quant.abundance.iloc[0, 2])
    np.testing.assert_allclose(np.log2(quant.abundance.to_numpy()), log2_values, atol=1e-12)
    assert quant.proteins["accession"].tolist() == ["P00000", "P00001"]
    assert quant.source == "FragPipe TMT-Integrator table (log2 abundances)"
    assert quant.notes[0].startswith("quantity: TMT-Integrator log2 reporter-ion abundances")
    with pytest.raises(InputFormatError, match="not in a TMT-Integrator table"):
        read_fragpipe(path, quantity="lfq")


def test_tmt_integrator_ratio_table_is_refused_with_what_to_read(tmp_path: Path) -> None:
    from salivaprot.io.fragpipe import read_fragpipe

    ratios = np.array([[0.5, -0.2, 0.1], [-1.0, 0.3, 0.0]])
    path = integrator_file(tmp_path, ratios, ["s1", "s2", "s3"], "ratio_protein_MD.tsv")
    with pytest.raises(InputFormatError, match=r"log2 ratios .* abundance_protein_\*\.tsv"):
        read_fragpipe(path)


def test_tmt_integrator_study_through_diff(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    frame = tmt_sheet(2)
    n_proteins = 40
    log2_values = rng.normal(20, 2, size=(n_proteins, 1)) + rng.normal(
        0, 0.15, size=(n_proteins, len(frame))
    )
    effect = ((frame["arm"] == "aMSC") & (frame["visit"] == "month4")).to_numpy()
    log2_values[0, effect] += 2
    path = integrator_file(tmp_path, log2_values, list(frame["sample_id"]), "abundance.tsv")
    frame.to_csv(tmp_path / "samples.csv", index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "diff", str(path), "-s", str(tmp_path / "samples.csv"), "--visits",
            "baseline,month4", "--no-filter", "-o", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output + str(result.exception)
    results = pd.read_csv(out / "results.tsv", sep="\t")
    change = results[results["contrast"] == "aMSC_vs_placebo_change_month4"]
    top = change.sort_values("pvalue").iloc[0]
    assert top["protein_id"] == "sp|P00000|PROT0_HUMAN"
    assert top["log2fc"] == pytest.approx(2.0, abs=0.3)


# ---- mzTab multiplexed assays


def test_mztab_multiplexed_assays_are_named_by_run_and_channel(tmp_path: Path) -> None:
    from salivaprot.io.mztab import read_mztab

    channels = ["126", "127N", "127C"]
    mtd = [
        "MTD\tmzTab-version\t1.0.0",
        "MTD\tmzTab-mode\tSummary",
        "MTD\tmzTab-type\tQuantification",
    ]
    mtd += [f"MTD\tms_run[{k}]-location\tfile:///data/plex{k}.raw" for k in (1, 2)]
    n = 0
    for k in (1, 2):
        for channel in channels:
            n += 1
            mtd.append(f"MTD\tassay[{n}]-ms_run_ref\tms_run[{k}]")
            mtd.append(
                f"MTD\tassay[{n}]-quantification_reagent\t[MS, MS:1002616, TMT reagent {channel}, ]"
            )
    header = [
        "PRH",
        "accession",
        "description",
        *[f"protein_abundance_assay[{i}]" for i in range(1, 7)],
    ]
    row = ["PRT", "P04745", "Alpha-amylase 1", *[f"{(i + 1)}e6" for i in range(6)]]
    text = "\n".join([*mtd, "", "\t".join(header), "\t".join(row)]) + "\n"
    path = write_file(tmp_path, text, "tmt.mzTab")
    quant = read_mztab(path).quant()
    assert quant.columns["name"].tolist() == [
        "plex1 126", "plex1 127N", "plex1 127C", "plex2 126", "plex2 127N", "plex2 127C",
    ]  # fmt: skip
    assert quant.columns.loc["assay[5]", "keys"][:2] == ("assay[5]", "plex2 127N")
    assert quant.abundance.at["P04745", "assay[5]"] == 5e6
    note = next(n for n in quant.notes if n.startswith("multiplexed (TMT/iTRAQ)"))
    assert "6 assays in 2 run(s) (plex1, plex2)" in note and "'plex' column" in note
    # a sample sheet links samples through run = '<run> <channel>'
    sheet = (
        tmt_sheet(1)
        .iloc[:6]
        .assign(
            run=[f"plex{k} {c}" for k in (1, 2) for c in channels],
            plex=[f"plex{k}" for k in (1, 2) for _ in channels],
        )
    )
    sheet.to_csv(tmp_path / "samples.csv", index=False)
    study = load_study(path, tmp_path / "samples.csv", visits=["baseline", "month4"])
    assert study.data.samples["data_column"].tolist() == [f"assay[{i}]" for i in range(1, 7)]


# --- a real TMTpro 16-plex proteinGroups.txt (tests/data/README.md) -------------------------

REAL_TMT = Path(__file__).parent / "data" / "proteinGroups.tmt16.first9.txt"


def _raw_cells(path: Path) -> pd.DataFrame:
    """The file's cells as text, split by hand (no pandas parsing): the reference."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return pd.DataFrame([line.split("\t") for line in lines[1:]], columns=header)


def test_real_tmtpro_single_plex_layout_cells_equal_the_raw_text() -> None:
    raw = _raw_cells(REAL_TMT)
    assert detect_format(REAL_TMT) == "maxquant"
    quant = read_maxquant(REAL_TMT)
    channels = [f"Reporter intensity corrected {c}" for c in range(1, 17)]
    assert quant.abundance.columns.tolist() == channels  # corrected preferred to measured
    assert quant.columns["name"].tolist() == [str(c) for c in range(1, 17)]
    assert quant.abundance.index.tolist() == raw["Majority protein IDs"].tolist()
    for column in channels:
        text = raw[column]
        expected = [np.nan if cell == "0" else float(cell) for cell in text]
        np.testing.assert_array_equal(quant.abundance[column].to_numpy(), expected)
    zeros = int((raw[channels] == "0").sum().sum())
    assert zeros == 84 and f"read {zeros} zero values as missing" in " ".join(quant.notes)
    assert quant.notes[2].startswith("TMT/iTRAQ: 16 channels x 1 plex(es)")
    assert (
        quant.proteins["is_contaminant"].tolist() == (raw["Potential contaminant"] == "+").tolist()
    )


def test_real_tmtpro_layout_joins_a_sheet_by_channel(tmp_path: Path) -> None:
    # channels 5-16 hold values in the real file; give them subjects, arms and visits
    rows = [
        f"S{c},P{(c - 5) // 2 + 1},{'placebo' if ((c - 5) // 2) % 2 else 'aMSC'},"
        f"{'baseline' if c % 2 else 'month4'},{c}"
        for c in range(5, 17)
    ]
    sheet = write_file(
        tmp_path, "sample_id,subject_id,arm,visit,run\n" + "\n".join(rows) + "\n", "s.csv"
    )
    data = load_study(REAL_TMT, sheet, drop_unlisted=True).data
    assert data.samples["data_column"].tolist() == [
        f"Reporter intensity corrected {c}" for c in range(5, 17)
    ]
    assert data.abundance.loc["S6", "CON__P00761"] == 107810.0
