"""Write synthetic, deterministic MaxQuant and FragPipe protein tables (tests, benchmarks).

:func:`write_proteingroups` writes a label-free ``proteinGroups.txt`` with the
columns MaxQuant 2.x writes per sample (peptides, razor + unique and unique
peptides, sequence coverage, Intensity, iBAQ, LFQ intensity, MS/MS count,
identification type) and its long ID lists (peptide, evidence and MS/MS IDs),
so that most of the file is columns a reader does not need, as in real files;
rows leave out their empty last fields, as MaxQuant does.
:func:`write_combined_protein` writes a FragPipe 20+ ``combined_protein.tsv``
(nine columns per sample). Quantities are written at full precision
(``repr``), with zeros for "not detected", so that exact parsing is tested.
"""

from __future__ import annotations

import numpy as np

from salivaprot.io._files import PathLike

__all__ = ["write_combined_protein", "write_proteingroups"]


def _quantities(rng: np.random.Generator, n_rows: int, n_samples: int) -> np.ndarray:
    """Log-normal intensities, ~20% zeros (more for low-abundance rows)."""
    level = rng.normal(22, 2.5, n_rows)[:, None]
    values = np.exp2(level + rng.normal(0, 0.6, (n_rows, n_samples)))
    dropout = rng.random((n_rows, n_samples)) < 1 / (1 + np.exp(level - 19.5))
    values[dropout] = 0.0
    return values


def _cells(values: np.ndarray) -> list[str]:
    return ["0" if v == 0 else repr(v) for v in values.tolist()]


def _ids(count: int, start: int) -> str:
    return ";".join(str(start + i) for i in range(count))


def write_proteingroups(
    path: PathLike, *, n_groups: int = 2000, n_samples: int = 20, seed: int = 0
) -> None:
    """A MaxQuant ``proteinGroups.txt`` (label-free, LFQ), ``n_groups`` x ``n_samples``.

    About 1% of rows are contaminants (``CON__``, flagged ``+``), 1% reverse
    hits (``REV__``); groups have 1-4 proteins. 11 columns per sample, 18
    around them: 200 samples and 10,000 groups make about 160 MB.
    """
    rng = np.random.default_rng(seed)
    samples = [f"S{i + 1:03d}" for i in range(n_samples)]
    per_sample = [
        "Peptides {}",
        "Razor + unique peptides {}",
        "Unique peptides {}",
        "Sequence coverage {} [%]",
        "Intensity {}",
        "iBAQ {}",
        "LFQ intensity {}",
        "MS/MS count {}",
        "Identification type {}",
    ]
    header = [
        "Protein IDs", "Majority protein IDs", "Peptide counts (all)",
        "Peptide counts (razor+unique)", "Peptide counts (unique)", "Protein names",
        "Gene names", "Fasta headers", "Number of proteins", "Peptides",
        "Razor + unique peptides", "Unique peptides",
        *[name.format(s) for name in per_sample for s in samples],
        "Q-value", "Score", "Intensity", "iBAQ", "MS/MS count", "Only identified by site",
        "Reverse", "Potential contaminant", "id", "Peptide IDs", "Evidence IDs", "MS/MS IDs",
        "Best MS/MS", "Taxonomy IDs",
    ]  # fmt: skip
    evidence = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write("\t".join(header) + "\n")
        block = 500
        for first in range(0, n_groups, block):
            rows = min(block, n_groups - first)
            intensity = _quantities(rng, rows, n_samples)
            lfq = intensity * rng.uniform(0.8, 1.2, intensity.shape)
            lfq[rng.random(lfq.shape) < 0.05] = 0.0
            ibaq = intensity / rng.integers(5, 60, (rows, 1))
            peptides = np.where(intensity > 0, rng.integers(1, 30, intensity.shape), 0)
            for r in range(rows):
                g = first + r
                kind = rng.random()
                prefix = "CON__" if kind < 0.01 else "REV__" if kind < 0.02 else ""
                n_proteins = int(rng.integers(1, 5))
                proteins = [f"{prefix}P{10000 + g:05d}"] + [
                    f"{prefix}Q{20000 + g * 4 + k:05d}" for k in range(n_proteins - 1)
                ]
                gene = f"GENE{g}"
                n_pep = int(peptides[r].max()) + 1
                n_ev = n_pep * 3
                pep = peptides[r].tolist()
                cells = [
                    ";".join(proteins),
                    proteins[0],
                    ";".join([str(n_pep)] * n_proteins),
                    ";".join([str(n_pep)] * n_proteins),
                    ";".join([str(max(n_pep - 1, 0))] * n_proteins),
                    f"Protein {g}",
                    "" if prefix == "REV__" else gene,
                    f">sp|{proteins[0]}|{gene}_HUMAN Protein {g} OS=Homo sapiens OX=9606 "
                    f"GN={gene} PE=1 SV=1",
                    str(n_proteins),
                    str(n_pep),
                    str(n_pep),
                    str(max(n_pep - 1, 0)),
                    *map(str, pep),
                    *map(str, pep),
                    *(str(max(p - 1, 0)) for p in pep),
                    *(f"{min(p * 2.3, 100):.1f}" for p in pep),
                    *_cells(intensity[r]),
                    *_cells(ibaq[r]),
                    *_cells(lfq[r]),
                    *(str(p * 2) for p in pep),
                    *("By MS/MS" if p else "" for p in pep),
                    "0",
                    repr(float(rng.uniform(5, 300))),
                    repr(float(intensity[r].sum())),
                    repr(float(ibaq[r].sum())),
                    str(sum(pep) * 2),
                    "",
                    "+" if prefix == "REV__" else "",
                    "+" if prefix == "CON__" else "",
                    str(g),
                    _ids(n_pep, g * 20),
                    _ids(n_ev, evidence),
                    _ids(n_ev, evidence * 2),
                    str(evidence * 2),
                    "",
                ]
                evidence += n_ev
                while cells and cells[-1] == "":  # MaxQuant leaves out empty last fields
                    cells.pop()
                out.write("\t".join(cells) + "\n")


def write_combined_protein(
    path: PathLike, *, n_proteins: int = 2000, n_samples: int = 20, seed: int = 0
) -> None:
    """A FragPipe ``combined_protein.tsv`` (IonQuant with MaxLFQ), ``n_proteins`` x ``n_samples``.

    About 1% of rows are contaminants (``contam_``). 9 columns per sample, 14
    around them: 200 samples and 10,000 proteins make about 190 MB.
    """
    rng = np.random.default_rng(seed)
    samples = [f"S{i + 1:03d}" for i in range(n_samples)]
    per_sample = [
        "{} Spectral Count",
        "{} Unique Spectral Count",
        "{} Total Spectral Count",
        "{} Intensity",
        "{} Unique Intensity",
        "{} Total Intensity",
        "{} MaxLFQ Total Intensity",
        "{} MaxLFQ Intensity",
        "{} MaxLFQ Unique Intensity",
    ]
    header = [
        "Protein", "Protein ID", "Entry Name", "Gene", "Protein Length", "Organism",
        "Protein Existence", "Description", "Protein Probability", "Top Peptide Probability",
        "Combined Total Peptides", "Combined Spectral Count", "Combined Unique Spectral Count",
        "Combined Total Spectral Count",
        *[name.format(s) for s in samples for name in per_sample],
        "Indistinguishable Proteins",
    ]  # fmt: skip
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write("\t".join(header) + "\n")
        block = 500
        for first in range(0, n_proteins, block):
            rows = min(block, n_proteins - first)
            intensity = _quantities(rng, rows, n_samples)
            maxlfq = intensity * rng.uniform(0.8, 1.2, intensity.shape)
            spectra = np.where(intensity > 0, rng.integers(1, 80, intensity.shape), 0)
            for r in range(rows):
                g = first + r
                accession = f"P{10000 + g:05d}"
                contaminant = rng.random() < 0.01
                entry = f"GENE{g}_HUMAN"
                protein = f"{'contam_' if contaminant else ''}sp|{accession}|{entry}"
                per: list[str] = []
                counts = spectra[r].tolist()
                lfq_cells = _cells(maxlfq[r])
                intensity_cells = _cells(intensity[r])
                for s in range(n_samples):
                    per += [
                        str(counts[s]),
                        str(max(counts[s] - 1, 0)),
                        str(counts[s]),
                        intensity_cells[s],
                        intensity_cells[s],
                        intensity_cells[s],
                        lfq_cells[s],
                        lfq_cells[s],
                        lfq_cells[s],
                    ]
                cells = [
                    protein,
                    accession,
                    entry,
                    f"GENE{g}",
                    str(int(rng.integers(80, 3000))),
                    "Homo sapiens OX=9606",
                    "1:Experimental evidence at protein level",
                    f"Protein {g}",
                    f"{rng.uniform(0.9, 1):.4f}",
                    f"{rng.uniform(0.9, 1):.4f}",
                    str(int(rng.integers(1, 40))),
                    str(sum(counts)),
                    str(sum(counts)),
                    str(sum(counts)),
                    *per,
                    "",
                ]
                out.write("\t".join(cells) + "\n")
