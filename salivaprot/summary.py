"""What a study holds: samples, design, protein categories and missingness."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salivaprot.data import ProteinData
from salivaprot.errors import DataError
from salivaprot.qc import missing_by_group

__all__ = ["StudySummary", "protein_categories", "summarize"]

HUMAN_TAXID = 9606
#: Scientific names of organisms, to place proteins that give a species name but no taxid.
SPECIES_NAMES: dict[int, str] = {9606: "Homo sapiens"}


def protein_categories(proteins: pd.DataFrame, *, species: int | None = HUMAN_TAXID) -> pd.Series:
    """Label each protein ``decoy``, ``contaminant``, ``other_species`` or ``target``.

    Decoy wins over contaminant, contaminant over species. A protein of
    unknown species counts as a target; one with a species name but no taxid
    is placed by name (``Homo sapiens`` for 9606).

    Parameters
    ----------
    proteins : pandas.DataFrame
        A protein table (``is_decoy``, ``is_contaminant``, ``taxid``).
    species : int or None
        NCBI taxonomy ID of the organism studied; ``None`` keeps every species.

    Returns
    -------
    pandas.Series
        Indexed like ``proteins``.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"is_decoy": [False, True, False, False],
    ...                       "is_contaminant": [False, False, True, False],
    ...                       "taxid": [9606, None, 9913, 28037]}, index=list("abcd"))
    >>> protein_categories(table).tolist()
    ['target', 'decoy', 'contaminant', 'other_species']
    """
    decoy = _flag(proteins, "is_decoy")
    contaminant = _flag(proteins, "is_contaminant")
    other = np.zeros(len(proteins), dtype=bool)
    if species is not None and "taxid" in proteins.columns:
        taxid = pd.to_numeric(proteins["taxid"], errors="coerce")
        other = (taxid.notna() & (taxid != species)).to_numpy().copy()
        name = SPECIES_NAMES.get(species)
        if name is not None and "species" in proteins.columns:
            named = proteins["species"].map(lambda v: isinstance(v, str) and bool(v.strip()))
            unlike = proteins["species"].map(
                lambda v: isinstance(v, str) and not v.startswith(name)
            )
            other |= (taxid.isna() & named & unlike).to_numpy()
    labels = np.select(
        [decoy, contaminant, other], ["decoy", "contaminant", "other_species"], default="target"
    )
    return pd.Series(labels, index=proteins.index, name="category")


def _flag(table: pd.DataFrame, column: str) -> np.ndarray:
    if column not in table.columns:
        return np.zeros(len(table), dtype=bool)
    return table[column].fillna(False).astype(bool).to_numpy()


@dataclass(frozen=True)
class StudySummary:
    """A study at a glance; :meth:`to_text` renders it for the terminal.

    Attributes
    ----------
    n_samples, n_proteins, n_subjects : int
        Counts (``n_subjects`` is 0 without a design).
    arms : dict of str to int
        Subjects per arm, reference arm first.
    visits : dict of str to int
        Samples per visit, in visit order.
    categories : dict of str to int
        Proteins per category (see :func:`protein_categories`).
    missing_fraction : float
        Missing abundance cells over all.
    missing_by_group : pandas.DataFrame
        Per arm x visit: ``samples`` and ``missing_fraction``.
    missed_visits : dict of str to list of str
        Subjects lacking a sample at some visit, with the visits they lack.
    notes : tuple of str
        Decisions made while reading (aliases, visit order, quantity used...).
    """

    n_samples: int
    n_proteins: int
    n_subjects: int
    arms: dict[str, int]
    visits: dict[str, int]
    categories: dict[str, int]
    missing_fraction: float
    missing_by_group: pd.DataFrame
    missed_visits: dict[str, list[str]]
    notes: tuple[str, ...] = field(default=())

    def to_text(self) -> str:
        """Multi-line, human-readable summary."""
        out = [f"samples: {self.n_samples}"]
        if self.n_subjects:
            out.append(f"subjects: {self.n_subjects}")
            out.append(
                "arms: "
                + ", ".join(f"{arm} ({n} subjects)" for arm, n in self.arms.items())
                + f"; reference: {next(iter(self.arms))}"
            )
            out.append(
                "visits (in order): "
                + ", ".join(f"{visit} ({n} samples)" for visit, n in self.visits.items())
                + f"; baseline: {next(iter(self.visits))}"
            )
        cats = self.categories
        out.append(
            f"proteins: {self.n_proteins} ({cats.get('target', 0)} targets, "
            f"{cats.get('contaminant', 0)} contaminants, {cats.get('decoy', 0)} decoys, "
            f"{cats.get('other_species', 0)} other species)"
        )
        out.append(f"missing values: {100 * self.missing_fraction:.1f}% overall")
        if len(self.missing_by_group):
            for row in self.missing_by_group.reset_index().to_dict("records"):
                out.append(
                    f"  {row['arm']} / {row['visit']}: {100 * row['missing_fraction']:.1f}% "
                    f"({int(row['samples'])} samples)"
                )
        if self.n_subjects:
            if self.missed_visits:
                out.append(f"subjects with missed visits: {len(self.missed_visits)}")
                for subject, missed in self.missed_visits.items():
                    out.append(f"  {subject}: {', '.join(missed)}")
            else:
                out.append("subjects with missed visits: none")
        out.extend(f"note: {note}" for note in self.notes)
        return "\n".join(out)


def summarize(
    data: ProteinData, *, species: int | None = HUMAN_TAXID, notes: tuple[str, ...] = ()
) -> StudySummary:
    """Summarize a study: design, protein categories, missing values, missed visits.

    Parameters
    ----------
    data : ProteinData
        The study.
    species : int or None
        Organism studied (NCBI taxonomy ID) for the ``other_species`` count.
    notes : tuple of str
        Notes to carry into the summary.

    Returns
    -------
    StudySummary

    Examples
    --------
    >>> from salivaprot.simulate import simulate_trial
    >>> data = simulate_trial(seed=2, n_proteins=60, subjects_per_arm=3, dropout=0.0).data
    >>> summary = summarize(data)
    >>> summary.n_subjects, summary.arms, summary.missed_visits
    (6, {'placebo': 3, 'aMSC': 3}, {})
    """
    if species is not None and (isinstance(species, bool) or not isinstance(species, int)):
        raise DataError(f"species must be an NCBI taxonomy ID (e.g. 9606) or None, not {species!r}")
    categories = protein_categories(data.proteins, species=species).value_counts()
    arms: dict[str, int] = {}
    visits: dict[str, int] = {}
    missed: dict[str, list[str]] = {}
    n_subjects = 0
    by_group = pd.DataFrame(columns=["samples", "missing_fraction"])
    if data.has_design:
        samples = data.samples
        n_subjects = int(samples["subject_id"].nunique())
        per_arm = samples.groupby("arm", observed=False)["subject_id"].nunique()
        arms = {str(a): int(per_arm.get(a, 0)) for a in data.arms}
        per_visit = samples["visit"].value_counts()
        visits = {str(v): int(per_visit.get(v, 0)) for v in data.visits}
        by_group = missing_by_group(data)
        present = samples.groupby("subject_id")["visit"].apply(lambda s: set(map(str, s)))
        for subject, seen in present.items():
            lacking = [v for v in data.visits if v not in seen]
            if lacking:
                missed[str(subject)] = lacking
    return StudySummary(
        n_samples=data.n_samples,
        n_proteins=data.n_proteins,
        n_subjects=n_subjects,
        arms=arms,
        visits=visits,
        categories={str(k): int(v) for k, v in categories.items()},
        missing_fraction=data.missing_fraction,
        missing_by_group=by_group,
        missed_visits=missed,
        notes=tuple(notes),
    )
