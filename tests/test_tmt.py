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
