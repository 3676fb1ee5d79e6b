"""Protein annotation: UniProt header fields (through pyteomics.fasta), species codes, flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salivaprot.io.quant import annotate_proteins

from .conftest import TEST_DATA


def _annotated(accessions: list[str], descriptions: list[object]) -> pd.DataFrame:
    acc = pd.Series(accessions)
    return annotate_proteins(
        pd.DataFrame(index=acc.index), accession=acc, description=pd.Series(descriptions)
    )


def test_fields_of_whole_headers_and_of_descriptions_alone() -> None:
    out = _annotated(
        ["P04745", "sp|P02769|ALBU_BOVIN", "Q1"],
        [
            "Alpha-amylase 1 OS=Homo sapiens OX=9606 GN=AMY1A PE=1 SV=2",
            "sp|P02769|ALBU_BOVIN Serum albumin OS=Bos taurus OX=9913 GN=ALB PE=1 SV=4",
            "Ig heavy chain V region OS=Homo sapiens (Human) OX=9606 GN=IGHV3-23",
        ],
    )
    assert out["gene"].tolist() == ["AMY1A", "ALB", "IGHV3-23"]
    assert out["taxid"].tolist() == [9606.0, 9913.0, 9606.0]
    assert out["species"].tolist() == ["Homo sapiens", "Bos taurus", "Homo sapiens (Human)"]


def test_joined_headers_take_each_field_from_the_first_header_that_has_it() -> None:
    # MaxQuant's Fasta headers: the first header has no GN=, the second has
    joined = (
        "tr|B4DRR0|B4DRR0_HUMAN cDNA FLJ53910 OS=Homo sapiens OX=9606 PE=2 SV=1;"
        "sp|P02538|K2C6A_HUMAN Keratin, type II cytoskeletal 6A OS=Homo sapiens OX=9606 "
        "GN=KRT6A PE=1 SV=3;"
    )
    out = _annotated(["B4DRR0;P02538"], [joined])
    assert out["gene"].iloc[0] == "KRT6A"
    assert out["taxid"].iloc[0] == 9606.0
    assert out["species"].iloc[0] == "Homo sapiens"


def test_text_without_uniprot_fields_gives_missing_not_a_guess() -> None:
    out = _annotated(
        ["A1", "A2", "A3", "A4", "A5"],
        ["Alpha-amylase 1", "", np.nan, "weight=3 kDa", "OX=human"],
    )
    assert out["gene"].isna().all()
    assert out["taxid"].isna().all()
    assert out["species"].isna().all()


def test_entry_name_mnemonic_gives_the_taxid_when_no_header_does() -> None:
    out = _annotated(["sp|P02769|ALBU_BOVIN", "P99999"], ["Serum albumin", "Unknown"])
    assert out["taxid"].iloc[0] == 9913.0
    assert np.isnan(out["taxid"].iloc[1])


def test_same_fields_as_the_file_states_in_the_bundled_mztab() -> None:
    # each description of the bundled study that carries GN= is read back field by field;
    # the others (decoys, contaminants named otherwise) get no gene
    from salivaprot import read_mztab

    quant = read_mztab(TEST_DATA / "study.mzTab").quant()
    desc = quant.proteins["description"].astype(str)
    stated = desc.str.contains(" GN=")
    assert 0 < stated.sum() < len(desc)
    assert quant.proteins.loc[~stated.to_numpy(), "gene"].isna().all()
    rows = quant.proteins[stated.to_numpy()]
    for text, gene, taxid, species in zip(
        rows["description"], rows["gene"], rows["taxid"], rows["species"], strict=True
    ):
        assert f"GN={gene}" in text and f"OX={int(taxid)}" in text and f"OS={species}" in text


@pytest.mark.parametrize("gene", ["AMY1A", "HLA-A", "IGKV1-5"])
def test_gene_names_are_whole_tokens(gene: str) -> None:
    out = _annotated(["X1"], [f"Some protein OS=Homo sapiens OX=9606 GN={gene} PE=1 SV=1"])
    assert out["gene"].iloc[0] == gene


def test_rows_whose_fields_the_file_gives_are_not_parsed() -> None:
    acc = pd.Series(["P1", "P2"])
    desc = pd.Series(["A OS=Homo sapiens OX=9606 GN=AAA", "B OS=Bos taurus OX=9913 GN=BBB"])
    out = annotate_proteins(
        pd.DataFrame(index=acc.index),
        accession=acc,
        description=desc,
        gene=pd.Series(["given", None]),
        taxid=pd.Series([10090.0, np.nan]),
        species=pd.Series(["Mus musculus", None]),
    )
    # the file's own values win; the second row's come from its header
    assert out["gene"].tolist() == ["given", "BBB"]
    assert out["taxid"].tolist() == [10090.0, 9913.0]
    assert out["species"].tolist() == ["Mus musculus", "Bos taurus"]
