"""MaxQuant proteinGroups.txt: the real file in ../shared/real and crafted ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from salivaprot import InputFormatError, join, read, read_maxquant, read_samples

from .conftest import real_file, write_file, write_sheet

PROTEIN_GROUPS = "alphapeptstats/testfiles/maxquant_go/proteinGroups.txt"
DATA = Path(__file__).parent / "data"
EVIDENCE = (
    "proteobench/test/data/quant/quant_lfq_ion_DDA_QExactive/MaxQuant_2_5_1_evidence_sample.txt"
)

HEADER = (
    "Protein IDs\tMajority protein IDs\tGene names\tFasta headers\t"
    "Intensity S01_base\tIntensity S01_m4\tLFQ intensity S01_base\tLFQ intensity S01_m4\t"
    "iBAQ S01_base\tiBAQ S01_m4\tiBAQ peptides\tOnly identified by site\tReverse\t"
    "Potential contaminant"
)
ROWS = [
    "P04745;P0DTE8\tP04745\tAMY1A\tsp|P04745|AMY1_HUMAN Alpha-amylase 1 OS=Homo sapiens OX=9606"
    "\t5e9\t4e9\t4.8e9\t4.1e9\t1e8\t8e7\t40\t\t\t",
    "P61626\tP61626\tLYZ\t\t2e6\t0\t1.9e6\t0\t5e4\t0\t12\t+\t\t",
    "CON__P02769\tCON__P02769\tALB\t\t2e7\t1e7\t1.9e7\t1.1e7\t3e5\t2e5\t30\t\t\t+",
    "REV__Q9Y6R7\tREV__Q9Y6R7\t\t\t1e5\t0\t0\t0\t0\t0\t1\t\t+\t",
]


def crafted(tmp_path: Path, rows: list[str] | None = None, header: str = HEADER) -> Path:
    text = "\n".join([header, *(ROWS if rows is None else rows)]) + "\n"
    return write_file(tmp_path, text, "proteinGroups.txt")


# ---------------------------------------------------------------- the real file
# Counts read off the file with awk (tab-separated, header on line 1):
#   awk -F'\t' 'NR==1{for(i=1;i<=NF;i++){c[$i]=i; if($i~/^LFQ intensity /)s++}; next}
#     {n++; if($c["Potential contaminant"]=="+")k++; if($c["Reverse"]=="+")d++;
#      if($c["Only identified by site"]=="+")o++} END{print n,s,k,d,o}'
# gives 882 protein groups, 10 LFQ samples, 31 '+' in Potential contaminant, 12 in
# Reverse and 72 in Only identified by site. (The shared/real README says the file has no
# LFQ columns; it does: 'LFQ intensity AC381' ... 'LFQ intensity UT822'.)
# Zeros counted with pandas: (df[lfq_columns] == 0).sum().sum() = 5714 LFQ zeros,
# 4029 among the ten 'Intensity <sample>' columns, 3959 among the 'iBAQ <sample>' ones,
# which also hold 120 'NaN' cells (df[ibaq_columns].isna().sum().sum()).
# The first 40 groups of the same file travel with the repository
# (tests/data/proteinGroups.first40.txt, `head -41`), so a fresh clone reads it too; counted
# the same way: 40 groups, 25 contaminants, 12 reverse, 7 only identified by site; zeros
# 286 (LFQ), 194 (Intensity), 124 (iBAQ, plus the same 120 'NaN' cells); 24 Fasta headers
# with GN=, 27 groups whose first ID is _HUMAN or whose header says OX=9606.
COUNTS = {
    "full": {"groups": 882, "contaminants": 31, "decoys": 12, "site": 72, "lfq": 5714,
             "intensity": 4029, "ibaq": 3959, "ibaq_nan": 120, "genes": 736, "human": 869},
    "first40": {"groups": 40, "contaminants": 25, "decoys": 12, "site": 7, "lfq": 286,
                "intensity": 194, "ibaq": 124, "ibaq_nan": 120, "genes": 24, "human": 27},
}  # fmt: skip


@pytest.fixture(params=sorted(COUNTS))
def protein_groups(request: pytest.FixtureRequest) -> tuple[Path, dict[str, int]]:
    """The real proteinGroups.txt (when ../shared/real is present) and its first 40 groups."""
    if request.param == "full":
        return real_file(PROTEIN_GROUPS), COUNTS["full"]
    return DATA / "proteinGroups.first40.txt", COUNTS["first40"]


def test_real_protein_groups_counts(protein_groups: tuple[Path, dict[str, int]]) -> None:
    path, n = protein_groups
    quant = read_maxquant(path)
    assert quant.abundance.shape == (n["groups"], 10)
    proteins = quant.proteins
    assert int(proteins["is_contaminant"].sum()) == n["contaminants"]
    assert int(proteins["is_decoy"].sum()) == n["decoys"]
    assert int(proteins["only_identified_by_site"].sum()) == n["site"]
    assert int(quant.abundance.isna().sum().sum()) == n["lfq"]
    assert quant.notes[0].startswith("quantity: LFQ intensity (auto:")
    assert f"read {n['lfq']} zero values as missing" in " ".join(quant.notes)
    assert quant.columns["name"].tolist()[:3] == ["AC381", "AC384", "AC386_b"]
    assert quant.columns.at["LFQ intensity UT805", "keys"] == ("UT805", "LFQ intensity UT805")
    assert proteins.index.is_unique and proteins.index[0] == "CON__ENSEMBL:ENSBTAP00000031900"


def test_real_file_mixed_reverse_group_follows_maxquant_flag(
    protein_groups: tuple[Path, dict[str, int]],
) -> None:
    # line 27: majority IDs start with REV__ but the group also holds sp|Q14028|CNGB1_HUMAN,
    # and MaxQuant left 'Reverse' empty; its flag is followed (13 REV__-led groups, 12 decoys)
    quant = read_maxquant(protein_groups[0])
    group = quant.proteins[quant.proteins["line"] == 27]
    assert group.index[0].startswith("REV__sp|Q5PR19|") and not bool(group["is_decoy"].iloc[0])
    assert any("1 protein group(s) whose first ID has a decoy prefix" in n for n in quant.notes)
    # contaminants led by a human protein (CON__ further in the group) are MaxQuant-flagged
    assert bool(quant.proteins.loc[quant.proteins["line"] == 8, "is_contaminant"].iloc[0])


@pytest.mark.parametrize(
    ("quantity", "source"),
    [("intensity", "Intensity"), ("ibaq", "iBAQ"), ("lfq", "LFQ intensity")],
)
def test_real_file_each_quantity(
    protein_groups: tuple[Path, dict[str, int]], quantity: str, source: str
) -> None:
    path, n = protein_groups
    quant = read_maxquant(path, quantity=quantity)  # type: ignore[arg-type]
    zeros = n[quantity]
    missing = zeros + (n["ibaq_nan"] if quantity == "ibaq" else 0)
    assert quant.abundance.shape == (n["groups"], 10)
    assert int(quant.abundance.isna().sum().sum()) == missing
    assert f"read {zeros} zero values as missing" in " ".join(quant.notes)
    assert quant.source == f"MaxQuant proteinGroups.txt ({source})"
    assert quant.abundance.columns[0] == f"{source} AC381"


def test_real_file_through_read_without_sheet(protein_groups: tuple[Path, dict[str, int]]) -> None:
    path, n = protein_groups
    data = read(path)
    assert data.shape == (10, n["groups"])
    assert not data.has_design
    assert list(data.samples.index[:2]) == ["AC381", "AC384"]
    assert data.samples["run"].iloc[0] == "LFQ intensity AC381"
    assert data.steps[-1] == (
        f"read({path.name!r}, format='maxquant', quantity='auto', zero_as_missing=True)"
    )


def test_real_file_genes_and_species_from_fasta_headers(
    protein_groups: tuple[Path, dict[str, int]],
) -> None:
    # the file has no 'Gene names' column: genes come from GN= in 'Fasta headers'
    path, n = protein_groups
    proteins = read_maxquant(path).proteins
    assert int(proteins["gene"].notna().sum()) == n["genes"]
    assert int((proteins["taxid"] == 9606).sum()) == n["human"]


def test_trimmed_copy_cells_equal_the_raw_file() -> None:
    # every LFQ cell of the travelling copy, as text in the raw file, equals what is read
    path = DATA / "proteinGroups.first40.txt"
    raw = [line.split("\t") for line in path.read_text().splitlines()]
    header = raw[0]
    quant = read_maxquant(path)
    for column in quant.abundance.columns:
        j = header.index(column)
        for i, row in enumerate(raw[1:]):
            value = float(row[j])
            read_value = quant.abundance[column].iloc[i]
            assert (np.isnan(read_value) and value == 0) or read_value == value


@pytest.mark.parametrize("copy", ["full", "first20"])
def test_evidence_file_is_refused_with_what_it_is(copy: str) -> None:
    path = real_file(EVIDENCE) if copy == "full" else DATA / "evidence.first20.txt"
    with pytest.raises(InputFormatError) as info:
        read_maxquant(path)
    message = str(info.value)
    assert "MaxQuant evidence.txt or msms.txt" in message
    assert "use proteinGroups.txt" in message and "Majority protein IDs" in message


# ---------------------------------------------------------------- crafted files
def test_crafted_auto_prefers_lfq_and_flags(tmp_path: Path) -> None:
    quant = read_maxquant(crafted(tmp_path))
    assert quant.abundance.columns.tolist() == ["LFQ intensity S01_base", "LFQ intensity S01_m4"]
    assert np.isnan(quant.abundance.at["P61626", "LFQ intensity S01_m4"])
    proteins = quant.proteins
    assert proteins["is_decoy"].tolist() == [False, False, False, True]
    assert proteins["is_contaminant"].tolist() == [False, False, True, False]
    assert proteins["only_identified_by_site"].tolist() == [False, True, False, False]
    assert proteins.at["P04745", "gene"] == "AMY1A" and proteins.at["P04745", "taxid"] == 9606
    assert proteins.at["P04745", "protein_ids"] == "P04745;P0DTE8"


def test_ibaq_peptides_column_is_not_a_sample(tmp_path: Path) -> None:
    quant = read_maxquant(crafted(tmp_path), quantity="ibaq")
    assert quant.columns["name"].tolist() == ["S01_base", "S01_m4"]
    assert quant.notes[0] == "quantity: iBAQ (as asked)"


def test_without_lfq_auto_takes_intensity_and_says_so(tmp_path: Path) -> None:
    header = HEADER.replace("LFQ intensity", "Razor LFQ")  # no 'LFQ intensity <sample>' left
    quant = read_maxquant(crafted(tmp_path, header=header))
    assert quant.abundance.columns.tolist() == ["Intensity S01_base", "Intensity S01_m4"]
    assert "no 'LFQ intensity <sample>' columns" in quant.notes[0]
    with pytest.raises(InputFormatError) as info:
        read_maxquant(crafted(tmp_path, header=header), quantity="lfq")
    assert "no 'LFQ intensity <sample>' columns" in str(info.value)
    assert "Quantities in this file: Intensity, iBAQ" in str(info.value)


def test_bom_crlf_and_comma_separated_copy_read_the_same(tmp_path: Path) -> None:
    reference = read_maxquant(crafted(tmp_path))
    text = "\n".join([HEADER, *ROWS]) + "\n"
    bom_crlf = write_file(tmp_path, b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(), "a.txt")
    comma = write_file(tmp_path, text.replace(",", " ").replace("\t", ","), "b.tsv")
    for path in (bom_crlf, comma):
        quant = read_maxquant(path)
        assert quant.abundance.equals(reference.abundance)
        assert quant.proteins["is_decoy"].tolist() == [False, False, False, True]


def test_non_numeric_cell_names_line_and_column(tmp_path: Path) -> None:
    rows = list(ROWS)
    rows[1] = rows[1].replace("1.9e6", "n.d.")
    with pytest.raises(InputFormatError) as info:
        read_maxquant(crafted(tmp_path, rows))
    assert "line 3, column 'LFQ intensity S01_base': expected a number" in str(info.value)
    assert "found 'n.d.'" in str(info.value)


def test_repeated_and_empty_ids_are_listed_with_lines(tmp_path: Path) -> None:
    no_ids = "\t\t" + ROWS[1].split("\t", 2)[2]  # empty Protein IDs and Majority protein IDs
    rows = [*ROWS, ROWS[0], no_ids]
    with pytest.raises(InputFormatError) as info:
        read_maxquant(crafted(tmp_path, rows))
    message = str(info.value)
    assert "protein ID 'P04745' is repeated on lines 2, 6" in message
    assert "empty protein ID on line 7" in message


def test_missing_id_column(tmp_path: Path) -> None:
    header = HEADER.replace("Protein IDs\tMajority protein IDs", "Accession\tLeading")
    with pytest.raises(InputFormatError) as info:
        read_maxquant(crafted(tmp_path, header=header))
    assert "no 'Majority protein IDs' or 'Protein IDs' column" in str(info.value)
    assert "line 1" in str(info.value)


def test_silac_file_is_refused(tmp_path: Path) -> None:
    header = HEADER + "\tRatio H/L S01_base"
    rows = [row + "\t1.2" for row in ROWS]
    with pytest.raises(InputFormatError, match=r"a SILAC proteinGroups\.txt"):
        read_maxquant(crafted(tmp_path, rows, header))


def test_without_flag_columns_prefixes_decide(tmp_path: Path) -> None:
    header = HEADER.rsplit("\tReverse", 1)[0]
    rows = [row.rsplit("\t", 2)[0] for row in ROWS]
    quant = read_maxquant(crafted(tmp_path, rows, header))
    assert quant.proteins["is_decoy"].tolist() == [False, False, False, True]
    assert quant.proteins["is_contaminant"].tolist() == [False, False, True, False]
    assert any("recognized by accession prefix" in note for note in quant.notes)


def test_keep_zeros(tmp_path: Path) -> None:
    quant = read_maxquant(crafted(tmp_path), zero_as_missing=False)
    assert quant.abundance.at["P61626", "LFQ intensity S01_m4"] == 0
    assert not any("zero" in note for note in quant.notes)


def test_join_with_sheet_by_sample_name_or_column(tmp_path: Path) -> None:
    quant = read_maxquant(crafted(tmp_path))
    sheet = read_samples(write_sheet(tmp_path, ["S01_base", "LFQ intensity S01_m4"]))
    data = join(quant, sheet)
    assert list(data.samples.index) == ["s1", "s2"]
    assert data.samples["data_column"].tolist() == [
        "LFQ intensity S01_base",
        "LFQ intensity S01_m4",
    ]
    assert data.abundance.at["s1", "P04745"] == pytest.approx(4.8e9)


def test_auto_falls_back_to_intensity_when_lfq_is_all_zero(tmp_path: Path) -> None:
    lfq = HEADER.split("\t").index("LFQ intensity S01_base")
    rows = []
    for row in ROWS:
        fields = row.split("\t")
        fields[lfq] = fields[lfq + 1] = "0"
        rows.append("\t".join(fields))
    quant = read_maxquant(crafted(tmp_path, rows))
    assert quant.abundance.columns.tolist() == ["Intensity S01_base", "Intensity S01_m4"]
    assert "'LFQ intensity <sample>' columns hold no values" in quant.notes[0]
    assert quant.source == "MaxQuant proteinGroups.txt (Intensity)"


@pytest.mark.parametrize("keep", [50, 103, 104])
def test_a_row_cut_before_its_id_is_refused_with_its_line(tmp_path: Path, keep: int) -> None:
    # real rows leave out their empty last fields (111 to 115 of 115), but every row
    # reaches 'id' (field 105), after the LFQ columns (81-90) and the flags (102-104): a
    # row cut before it lost its quantities or its 'Potential contaminant' flag
    lines = (DATA / "proteinGroups.first40.txt").read_text().splitlines(keepends=True)
    assert lines[0].split("\t").index("id") == 104
    lines[6] = "\t".join(lines[6].split("\t")[:keep]) + "\n"
    path = write_file(tmp_path, "".join(lines), "proteinGroups.txt")
    with pytest.raises(InputFormatError, match=r"line 7: no 'id'.*cut or damaged file"):
        read_maxquant(path)
    lines[6] = lines[6].rstrip("\n") + "\t" * (105 - keep) + "\n"  # id emptied
    lines[9] = "\t".join(lines[9].split("\t")[:60]) + "\n"
    path = write_file(tmp_path, "".join(lines), "proteinGroups.txt")
    with pytest.raises(InputFormatError, match=r"lines 7, 10: no 'id'"):
        read_maxquant(path)


def test_short_real_rows_that_reach_their_id_are_read(tmp_path: Path) -> None:
    lines = (DATA / "proteinGroups.first40.txt").read_text().splitlines(keepends=True)
    full = read_maxquant(DATA / "proteinGroups.first40.txt")
    lines[1:] = ["\t".join(line.split("\t")[:105]) + "\n" for line in lines[1:]]
    quant = read_maxquant(write_file(tmp_path, "".join(lines), "proteinGroups.txt"))
    assert quant.abundance.equals(full.abundance)
    assert quant.proteins["is_contaminant"].equals(full.proteins["is_contaminant"])
