"""Every mzTab in ../shared/real loads with the right counts or is refused with the right error."""

from __future__ import annotations

import pytest

from salivaprot import InputFormatError, read_mztab

from .conftest import has_copy, real_file, real_folder

PSI = "hupo-psi-mztab/examples/1_0-Proteomics-Release/"
TOPP = "openms/src/tests/topp/"

# file -> (mode, type, PRT, PEP and PSM rows, quant shape proteins x columns, first column name)
QUANTITATIVE = {
    PSI + "labelfree_CQI.mzTab": ("Complete", "Quantification", 5, None, 58, (5, 6), "file1"),
    PSI + "labelfree_SQI.mzTab": (
        "Summary",
        "Quantification",
        5,
        None,
        58,
        (5, 2),
        "study_variable[1]",
    ),
    PSI + "iTRAQ_CQI.mzTab": ("Complete", "Quantification", 5, None, 36, (5, 16), "file1 114"),
    PSI + "iTRAQ_SQI.mzTab": (
        "Summary",
        "Quantification",
        5,
        None,
        28,
        (5, 4),
        "study_variable[1]",
    ),
    PSI + "SILAC_CQI.mzTab": ("Complete", "Quantification", 5, None, 30, (5, 6), "assay[1]"),
    PSI + "SILAC_SQ.mzTab": (
        "Summary",
        "Quantification",
        5,
        None,
        None,
        (5, 2),
        "study_variable[1]",
    ),
    TOPP + "ProteomicsLFQ_1_out.mzTab": (
        "Summary",
        "Quantification",
        43,
        42,
        115,
        (18, 3),
        "assay[1]",
    ),
    TOPP + "ProteomicsLFQ_4_out.mzTab": (
        "Summary",
        "Quantification",
        43,
        None,
        115,
        (18, 3),
        "assay[1]",
    ),
    TOPP + "ProteomicsLFQ_6_out.mzTab": (
        "Summary",
        "Quantification",
        53,
        None,
        199,
        (23, 3),
        "assay[1]",
    ),
    TOPP + "ProteinQuantifier_9_output_mztab.mzTab": (
        "Summary",
        "Quantification",
        2,
        4,
        4,
        (1, 3),
        "sample1",
    ),
}


@pytest.mark.parametrize("relative", sorted(QUANTITATIVE))
def test_quantitative_files_load_with_counts(relative: str) -> None:
    mode, kind, n_prt, n_pep, n_psm, shape, first = QUANTITATIVE[relative]
    mztab = read_mztab(real_file(relative))
    assert (mztab.version, mztab.mode, mztab.type) == ("1.0.0", mode, kind)
    assert mztab.proteins is not None and len(mztab.proteins) == n_prt
    assert (None if mztab.peptides is None else len(mztab.peptides)) == n_pep
    assert (None if mztab.psms is None else len(mztab.psms)) == n_psm
    quant = mztab.quant()
    assert quant.abundance.shape == shape
    assert quant.columns["name"].iloc[0] == first
    assert quant.proteins.index.is_unique
    data = mztab.to_protein_data()
    assert data.shape == (shape[1], shape[0])


def test_labelfree_assays_map_to_runs_and_study_variables() -> None:
    mztab = read_mztab(real_file(PSI + "labelfree_CQI.mzTab"))
    assays = mztab.assays
    assert list(assays.index) == [f"assay[{i}]" for i in range(1, 7)]
    assert assays.at["assay[4]", "ms_runs"] == ("ms_run[4]",)
    assert assays.at["assay[4]", "study_variable"] == "study_variable[2]"
    assert assays.at["assay[1]", "reagent"] == "unlabeled sample"
    assert mztab.ms_runs.at["ms_run[6]", "stem"] == "file6"
    keys = mztab.quant().columns.at["assay[2]", "keys"]
    assert keys == ("assay[2]", "file2")


def test_itraq_assays_share_runs_so_run_and_channel_identify_them() -> None:
    # 4 runs (plexes) x 4 iTRAQ reagents: '<run> <channel>' (or assay[n]) names one assay;
    # the run stem alone stays a key, shared by 4 assays (a sheet naming it is told so)
    quant = read_mztab(real_file(PSI + "iTRAQ_CQI.mzTab")).quant()
    assert quant.columns.at["assay[5]", "keys"] == ("assay[5]", "file2 114", "file2")
    assert (quant.columns["keys"].map(lambda k: k[-1]) == "file2").sum() == 4
    assert list(quant.columns["name"]) == [
        f"file{k} {c}" for k in range(1, 5) for c in (114, 115, 116, 117)
    ]
    assert any(n.startswith("multiplexed (TMT/iTRAQ): 16 assays in 4 run(s)") for n in quant.notes)


def test_summary_file_says_it_uses_study_variables() -> None:
    quant = read_mztab(real_file(PSI + "labelfree_SQI.mzTab")).quant()
    assert any("study-variable abundances" in note for note in quant.notes)
    assert quant.columns.at["study_variable[2]", "keys"] == (
        "study_variable[2]",
        "heat shock response of treatment",
    )


def test_openms_fractions_protein_details_and_zeros() -> None:
    mztab = read_mztab(real_file(TOPP + "ProteomicsLFQ_1_out.mzTab"))
    quant = mztab.quant()
    assert any("dropped 25 OpenMS protein_details rows" in n for n in quant.notes)
    assert any("read 6 zero abundances as missing" in n for n in quant.notes)
    # assay[1] pools fractions BSA1_F1 and BSA1_F2: either stem finds it
    assert quant.columns.at["assay[1]", "keys"] == ("assay[1]", "BSA1_F1", "BSA1_F2")
    kept = mztab.quant(zero_as_missing=False)
    assert int((kept.abundance.to_numpy() == 0).sum()) == 6
    assert quant.abundance.at["P02769|ALBU_BOVIN", "assay[1]"] == pytest.approx(1.80142464e08)
    assert quant.proteins.at["sp|O46375|TTHY_BOVIN", "gene"] == "TTR"
    assert quant.proteins.at["sp|O46375|TTHY_BOVIN", "taxid"] == 9913
    assert not quant.proteins["is_decoy"].any()


def test_maxquant_identification_export_keeps_text_cells_intact() -> None:
    mztab = read_mztab(real_file("pyteomics/tests/test.mztab"))
    assert mztab.type == "Identification" and mztab.proteins is not None
    assert len(mztab.proteins) == 283 and mztab.psms is not None and len(mztab.psms) == 1037
    fake = mztab.proteins[mztab.proteins["accession"].astype(str).str.contains("FAKEPROT")]
    assert len(fake) == 1
    description = fake["description"].iloc[0]
    assert isinstance(description, str) and description.startswith("[") and "|" in description
    assert mztab.software.startswith("MaxQuant")
    with pytest.raises(
        InputFormatError, match="identification-only file without protein abundances"
    ):
        mztab.quant()


# file -> (stage that refuses: "read" or "quant", message)
REFUSED = {
    PSI + "Cytidine.mzTab": ("read", "small-molecule \\(metabolomics\\) mzTab 1.0 rc5"),
    "hupo-psi-mztab/legacy/jmztab-2.0/examples/OpenMS_PQ_example.mzTab": ("read", "pre-1.0 draft"),
    "pyteomics/tests/test_mztab2.mztab": ("read", "mzTab-M 2.0.0-M \\(metabolomics\\)"),
    "pyteomics/tests/test.mztab": ("quant", "identification-only"),
    TOPP + "MzTabExporter_2_output.mzTab": (
        "quant",
        "all 1219 PRT rows are OpenMS protein_details",
    ),
    TOPP + "MzTabExporter_4_output.mzTab": (
        "quant",
        "every protein abundance is null \\(8 protein_abundance_assay\\[n\\] columns and 8 "
        "protein_abundance_study_variable\\[n\\] columns x 9",
    ),
    TOPP + "QualityControl_1_out.mzTab": ("quant", "all 75 PRT rows are OpenMS protein_details"),
    "proteobench/test/data/denovo/results/casanovo/denovo_benchmark_test.casanovo.mztab": (
        "quant",
        "no protein \\(PRH/PRT\\) section .*sections present: psms",
    ),
}


@pytest.mark.parametrize("relative", sorted(REFUSED))
def test_unusable_files_are_refused_with_what_they_are(relative: str) -> None:
    stage, message = REFUSED[relative]
    path = real_file(relative)
    if stage == "read":
        with pytest.raises(InputFormatError, match=message):
            read_mztab(path)
    else:
        mztab = read_mztab(path)
        with pytest.raises(InputFormatError, match=message):
            mztab.quant()


def test_casanovo_psms_are_available_as_a_table() -> None:
    mztab = read_mztab(real_file(REFUSED_CASANOVO))
    assert mztab.psms is not None and len(mztab.psms) == 9000
    assert mztab.proteins is None and mztab.peptides is None
    assert mztab.psms.index.name == "line"
    assert mztab.psms["charge"].dtype == "float64"


REFUSED_CASANOVO = (
    "proteobench/test/data/denovo/results/casanovo/denovo_benchmark_test.casanovo.mztab"
)


@pytest.mark.shared_real
def test_every_real_mztab_is_covered() -> None:
    real = real_folder()
    found = {str(p.relative_to(real)) for p in real.rglob("*") if p.suffix.lower() == ".mztab"}
    assert found == set(QUANTITATIVE) | set(REFUSED)


def test_every_real_mztab_travels_with_the_repository() -> None:
    # a fresh clone reads every real mzTab through its copy in tests/data/real
    assert all(has_copy(relative) for relative in [*QUANTITATIVE, *REFUSED])
