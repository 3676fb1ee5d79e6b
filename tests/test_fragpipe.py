"""FragPipe combined_protein.tsv: the real (older layout) file and crafted current-layout files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from salivaprot import InputFormatError, read, read_fragpipe

from .conftest import real_file, write_file, write_sheet

COMBINED = "alphapeptstats/testfiles/fragpipe/combined_proteins.tsv"
DATA = Path(__file__).parent / "data"

# Current layout (as FragPipe with IonQuant MaxLFQ writes it; trailing spaces after a
# header name have been seen in real files and are tolerated).
HEADER = "\t".join(
    [
        "Protein", "Protein ID", "Entry Name", "Gene", "Protein Length", "Organism",
        "Description", "Protein Probability", "Combined Total Peptides",
        "Combined Spectral Count", "S01_base Spectral Count  ", "S01_m4 Spectral Count",
        "S01_base Intensity", "S01_m4 Intensity", "S01_base Unique Intensity",
        "S01_m4 Unique Intensity", "S01_base Total Intensity", "S01_m4 Total Intensity",
        "S01_base MaxLFQ Intensity", "S01_m4 MaxLFQ Intensity",
        "S01_base MaxLFQ Unique Intensity", "S01_m4 MaxLFQ Unique Intensity",
        "Indistinguishable Proteins",
    ]
)  # fmt: skip
ROWS = [
    "sp|P04745|AMY1_HUMAN\tP04745\tAMY1_HUMAN\tAMY1A\t511\tHomo sapiens\tAlpha-amylase 1\t1\t"
    "40\t900\t450\t450\t5e9\t4e9\t5e9\t4e9\t5.1e9\t4.1e9\t4.9e9\t4.2e9\t4.9e9\t4.2e9\t",
    'sp|P61626|LYSC_HUMAN\tP61626\tLYSC_HUMAN\tLYZ\t148\tHomo sapiens\t"Lysozyme C, human"\t1\t'
    "8\t30\t30\t0\t2e6\t0\t2e6\t0\t2e6\t0\t1.9e6\t0\t1.9e6\t0\t",
    "contam_sp|P00761|TRYP_PIG\tP00761\tTRYP_PIG\t\t231\tSus scrofa\tTrypsin\t1\t"
    "12\t60\t30\t30\t1e8\t9e7\t1e8\t9e7\t1e8\t9e7\t1e8\t9e7\t1e8\t9e7\t",
    "rev_sp|Q9Y6R7|FCGBP_HUMAN\tQ9Y6R7\tFCGBP_HUMAN\tFCGBP\t5405\tHomo sapiens\tdecoy\t0.5\t"
    "1\t1\t1\t0\t1e5\t0\t1e5\t0\t1e5\t0\t0\t0\t0\t0\t",
]


def crafted(tmp_path: Path, rows: list[str] | None = None, header: str = HEADER) -> Path:
    text = "\n".join([header, *(ROWS if rows is None else rows)]) + "\n"
    return write_file(tmp_path, text, "combined_protein.tsv")


# ---------------------------------------------------------------- the real file
# Counts read off the file with awk (tab-separated, header on line 1):
#   awk -F'\t' 'NR==1{for(i=1;i<=NF;i++){c[$i]=i; if($i ~ / Razor Intensity$/) s++}; next}
#     {n++; if(tolower($c["Protein"]) ~ /^contam_/) k++; if(tolower($c["Protein"]) ~ /^rev_/) d++}
#     END{print n, s, k+0, d+0}'
# gives 10 proteins, 20 samples (S1..S20 Razor Intensity), 0 contaminants, 0 decoys; it
# has no MaxLFQ or plain '<sample> Intensity' columns (older layout). Zeros counted with
# pandas: (df[razor_columns] == 0).sum().sum() == 110.
def test_real_combined_protein_counts() -> None:
    quant = read_fragpipe(real_file(COMBINED))
    assert quant.abundance.shape == (10, 20)
    assert int(quant.proteins["is_contaminant"].sum()) == 0
    assert int(quant.proteins["is_decoy"].sum()) == 0
    assert int(quant.abundance.isna().sum().sum()) == 110
    assert quant.source == "FragPipe combined_protein.tsv (Razor Intensity)"
    assert quant.notes[0].startswith("quantity: Razor Intensity (auto: no '<sample> MaxLFQ")
    assert quant.notes[1] == "older (Philosopher) layout: 10 proteins x 20 samples"
    assert quant.columns["name"].tolist() == [f"S{i}" for i in range(1, 21)]
    proteins = quant.proteins
    assert proteins.index[0] == "sp|P02790|HEMO_HUMAN"
    assert proteins.at["sp|P02790|HEMO_HUMAN", "gene"] == "HPX"  # from 'Gene Names'
    assert proteins["taxid"].eq(9606).all()  # 'Homo sapiens OX=9606', or the HUMAN mnemonic
    assert proteins["species"].eq("Homo sapiens").all()
    assert proteins.at["sp|P02790|HEMO_HUMAN", "protein_group"] == "679"


def test_real_file_without_maxlfq_refuses_lfq() -> None:
    with pytest.raises(InputFormatError) as info:
        read_fragpipe(real_file(COMBINED), quantity="lfq")
    assert "no '<sample> MaxLFQ Intensity' columns" in str(info.value)
    assert "Intensity columns in this file: Razor Intensity" in str(info.value)


def test_real_file_through_read_with_sheet(tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path, [f"S{i}" for i in range(1, 21)])
    data = read(real_file(COMBINED), sheet)
    assert data.shape == (20, 10)
    assert data.samples.at["s20", "data_column"] == "S20 Razor Intensity"


# ---------------------------------------------------------------- crafted files
def test_current_layout_auto_takes_maxlfq(tmp_path: Path) -> None:
    quant = read_fragpipe(crafted(tmp_path))
    assert quant.abundance.columns.tolist() == [
        "S01_base MaxLFQ Intensity",
        "S01_m4 MaxLFQ Intensity",
    ]
    assert quant.notes[1] == "current layout: 4 proteins x 2 samples"
    assert quant.abundance.at["sp|P04745|AMY1_HUMAN", "S01_m4 MaxLFQ Intensity"] == 4.2e9
    proteins = quant.proteins
    assert proteins["is_contaminant"].tolist() == [False, False, True, False]
    assert proteins["is_decoy"].tolist() == [False, False, False, True]
    assert proteins.at["contam_sp|P00761|TRYP_PIG", "taxid"] == 9823  # TRYP_PIG mnemonic
    assert proteins.at["sp|P61626|LYSC_HUMAN", "description"] == "Lysozyme C, human"


def test_intensity_means_razor_intensity_not_unique_or_total(tmp_path: Path) -> None:
    quant = read_fragpipe(crafted(tmp_path), quantity="intensity")
    assert quant.abundance.columns.tolist() == ["S01_base Intensity", "S01_m4 Intensity"]
    assert quant.abundance.at["sp|P04745|AMY1_HUMAN", "S01_base Intensity"] == 5e9
    assert quant.columns["name"].tolist() == ["S01_base", "S01_m4"]


def test_ibaq_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="no iBAQ"):
        read_fragpipe(crafted(tmp_path), quantity="ibaq")


def test_bom_crlf_comma_and_windows_sample_names(tmp_path: Path) -> None:
    rows = [row.replace("Lysozyme C, human", "Lysozyme C") for row in ROWS]
    text = "\r\n".join([HEADER, *rows]).replace("\t", ",") + "\r\n"
    path = write_file(tmp_path, b"\xef\xbb\xbf" + text.encode(), "combined_protein.tsv")
    quant = read_fragpipe(path)
    assert quant.abundance.shape == (4, 2)
    assert np.isnan(quant.abundance.iloc[1, 1])  # a zero, read as missing


def test_non_numeric_intensity(tmp_path: Path) -> None:
    fields = ROWS[2].split("\t")
    fields[HEADER.split("\t").index("S01_base MaxLFQ Intensity")] = "x"
    rows = [ROWS[0], ROWS[1], "\t".join(fields), ROWS[3]]
    with pytest.raises(InputFormatError) as info:
        read_fragpipe(crafted(tmp_path, rows))
    assert "line 4, column 'S01_base MaxLFQ Intensity': expected a number" in str(info.value)


def test_repeated_protein_with_other_numbers_is_refused(tmp_path: Path) -> None:
    other = ROWS[0].replace("4.9e9\t4.2e9", "4.8e9\t4.2e9", 1)
    with pytest.raises(InputFormatError) as info:
        read_fragpipe(crafted(tmp_path, [*ROWS, other]))
    message = str(info.value)
    assert "'sp|P04745|AMY1_HUMAN' is repeated on lines 2, 6" in message
    assert "same MaxLFQ Intensity values; these differ" in message


def test_protein_in_two_philosopher_groups_is_read_once(tmp_path: Path) -> None:
    # older FragPipe (Philosopher) lists a protein in every group it belongs to: the real
    # fixture with its first protein repeated as member 'b' of another group, same numbers
    lines = (DATA / "combined_protein.tsv").read_text().splitlines()
    fields = lines[1].split("\t")
    fields[0], fields[1] = "700", "b"
    repeat = "\t".join(fields)
    path = write_file(tmp_path, "\n".join([lines[0], repeat, *lines[1:]]) + "\n", "c.tsv")
    quant = read_fragpipe(path)
    original = read_fragpipe(DATA / "combined_protein.tsv")
    assert quant.abundance.shape == (10, 20)
    assert quant.abundance.equals(original.abundance)
    assert quant.notes[1] == "older (Philosopher) layout: 10 proteins x 20 samples"
    hemo = quant.proteins.loc["sp|P02790|HEMO_HUMAN"]
    assert hemo["protein_group"] == "679"  # the group it leads (SubGroup a), not the first row
    assert hemo["other_protein_groups"] == "700"
    assert any(
        n.startswith("1 repeated row(s) of 1 protein(s) listed in more than one protein group")
        for n in quant.notes
    )


def test_single_experiment_protein_tsv_is_refused(tmp_path: Path) -> None:
    path = write_file(
        tmp_path,
        "Protein\tProtein ID\tGene\tTotal Intensity\tUnique Intensity\tRazor Intensity\n"
        "sp|P04745|AMY1_HUMAN\tP04745\tAMY1A\t5e9\t4e9\t5e9\n",
        "protein.tsv",
    )
    with pytest.raises(InputFormatError, match=r"protein\.tsv of a single experiment"):
        read_fragpipe(path)


def test_missing_protein_column(tmp_path: Path) -> None:
    header = HEADER.replace("Protein\tProtein ID", "Accession\tProtein ID", 1)
    with pytest.raises(InputFormatError, match="no 'Protein' column"):
        read_fragpipe(crafted(tmp_path, header=header))


# ---------------------------------------------------------------- no silently empty study
def _zero_maxlfq(rows: list[str]) -> list[str]:
    """ROWS with every MaxLFQ cell set to 0 (IonQuant ran without MaxLFQ)."""
    names = HEADER.split("\t")
    maxlfq = {i for i, name in enumerate(names) if "MaxLFQ" in name}
    out = []
    for row in rows:
        fields = row.split("\t")
        out.append("\t".join("0" if i in maxlfq else f for i, f in enumerate(fields)))
    return out


def test_auto_falls_back_to_intensity_when_maxlfq_is_all_zero(tmp_path: Path) -> None:
    quant = read_fragpipe(crafted(tmp_path, _zero_maxlfq(ROWS)))
    assert quant.abundance.columns.tolist() == ["S01_base Intensity", "S01_m4 Intensity"]
    assert quant.abundance.at["sp|P04745|AMY1_HUMAN", "S01_base Intensity"] == 5e9
    assert quant.notes[0].startswith(
        "quantity: Intensity (auto: the '<sample> MaxLFQ Intensity' columns hold no values"
    )
    assert quant.source == "FragPipe combined_protein.tsv (Intensity)"
    assert quant.columns["name"].tolist() == ["S01_base", "S01_m4"]


def test_asking_for_an_empty_maxlfq_is_refused_by_read(tmp_path: Path) -> None:
    path = crafted(tmp_path, _zero_maxlfq(ROWS))
    assert read_fragpipe(path, quantity="lfq").abundance.isna().all(axis=None)
    with pytest.raises(InputFormatError, match=r"holds no value.*--quantity"):
        read(path, quantity="lfq")


def test_a_sample_without_any_value_is_refused(tmp_path: Path) -> None:
    names = HEADER.split("\t")
    m4 = {i for i, name in enumerate(names) if name.startswith("S01_m4") and "Intensity" in name}
    rows = ["\t".join("0" if i in m4 else f for i, f in enumerate(r.split("\t"))) for r in ROWS]
    with pytest.raises(InputFormatError, match=r"1 sample\(s\) have no observed value.*S01_m4"):
        read(crafted(tmp_path, rows))
