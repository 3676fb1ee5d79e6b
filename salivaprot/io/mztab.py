"""mzTab 1.0 (proteomics) reading (writing is in :mod:`salivaprot.io.mztab_writer`).

The reader is strict about structure and lenient about the quirks real
exporters have (see DOMAIN.md section 3): it parses every section by header
name, reports problems with their line numbers, keeps text cells as text
(descriptions that start with ``[`` or contain ``|`` are not split), keeps CV
accessions, and refuses files that are not quantitative proteomics mzTab 1.0
with a message saying what the file is.

Why not ``pyteomics.mztab.MzTab``: it type-casts every cell (splitting some
descriptions into lists, dropping CV accessions), indexes proteins by a
non-unique accession, loads metabolomics and pre-1.0 files as proteomics, and
gives no line numbers for malformed rows (measured on the files in
``shared/real``; see its README). The section grammar itself is simple enough
that a direct reader is shorter than the checks needed around pyteomics.
"""

from __future__ import annotations

import csv
import logging
import re
import warnings
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np
import pandas as pd

from salivaprot.data import ProteinData
from salivaprot.errors import InputFormatError, InputFormatWarning
from salivaprot.io._files import PathLike, file_stem, read_decoded
from salivaprot.io._tables import MISSING_TOKENS as _TABLE_MISSING
from salivaprot.io._tables import duplicated_ids, finite, out_of_range, to_floats
from salivaprot.io.quant import QuantTable, annotate_proteins, join
from salivaprot.io.sheets import SampleSheet

__all__ = ["MzTab", "Param", "parse_param", "read_mztab"]

logger = logging.getLogger(__name__)

_SECTIONS: dict[str, tuple[str, str]] = {
    "PRH": ("PRT", "proteins"),
    "PEH": ("PEP", "peptides"),
    "PSH": ("PSM", "psms"),
    "SMH": ("SML", "small_molecules"),
}
_ROW_TO_HEADER = {row: header for header, (row, _) in _SECTIONS.items()}
_MZTAB_M_PREFIXES = {"SFH", "SMF", "SEH", "SME"}
#: Cell values read as missing: ``null`` (the standard), the readers' shared tokens, and
#: what older mzTab writers put (Windows NaN spellings, OpenMS' ``--dummy--``, ``-``).
MISSING_TOKENS = _TABLE_MISSING | {"1.#QNAN", "-1.#IND", "--dummy--", "-"}
_INF_TOKENS = frozenset({"INF", "-INF", "inf", "-inf", "Infinity", "-Infinity"})
_INDEXED_KEY = re.compile(r"^((?:ms_run|assay|study_variable|sample)\[\d+\])_")
_REF = re.compile(r"(ms_run|assay|study_variable|sample)\[(\d+)\]")
_ABUNDANCE = re.compile(r"^protein_abundance_(assay|study_variable)\[(\d+)\]$")
_NUMERIC_COLUMNS = re.compile(
    r"^(taxid|charge|calc_mass_to_charge|exp_mass_to_charge|mass_to_charge|retention_time"
    r"|protein_coverage|best_search_engine_score\[\d+\]|search_engine_score\[\d+\].*"
    r"|num_psms_.*|num_peptides_.*|.*_abundance_.*)$"
)
_DECOY_COLUMNS = ("opt_global_cv_PRIDE:0000303_decoy_hit", "opt_global_cv_MS:1002217_decoy_peptide")
_MAX_LISTED = 20


@dataclass(frozen=True)
class Param:
    """A controlled-vocabulary parameter ``[CV, accession, name, value]``.

    Match on ``accession``: names change between CV releases.
    """

    cv: str
    accession: str
    name: str
    value: str


def parse_param(text: str) -> Param | None:
    """Parse an mzTab parameter cell; ``None`` when the cell is not a parameter.

    Examples
    --------
    >>> parse_param('[MS, MS:1002038, "unlabeled sample, label free", ]')
    Param(cv='MS', accession='MS:1002038', name='unlabeled sample, label free', value='')
    >>> parse_param("[, , OMSSA, 2.1.4]").name
    'OMSSA'
    >>> parse_param("null") is None
    True
    """
    stripped = text.strip()
    if len(stripped) < 2 or stripped[0] != "[" or stripped[-1] != "]":
        return None
    fields = [f.strip() for f in next(csv.reader([stripped[1:-1]], skipinitialspace=True))]
    if len(fields) > 4:  # an unquoted comma inside the name
        fields = [fields[0], fields[1], ", ".join(fields[2:-1]), fields[-1]]
    fields += [""] * (4 - len(fields))
    return Param(*fields[:4])


@dataclass(frozen=True)
class _Assay:
    ms_runs: tuple[str, ...] = ()
    reagent: str = ""
    sample_ref: str = ""
    study_variable: str = ""


@dataclass(frozen=True)
class MzTab:
    """A parsed mzTab 1.0 file.

    Section tables keep the file's column names and are indexed by the line
    number each row came from; ``null`` cells are NaN, standard numeric
    columns are numbers, everything else is text as written.

    Attributes
    ----------
    path : str
        The file.
    version, mode, type : str or None
        ``mzTab-version``, ``mzTab-mode`` (Summary/Complete) and ``mzTab-type``
        (Identification/Quantification).
    metadata : dict of str to str
        Every ``MTD`` key and value (keys normalized: ``ms_run[1]_location`` is
        stored as ``ms_run[1]-location``).
    proteins, peptides, psms, small_molecules : pandas.DataFrame or None
        The sections present.
    comments : tuple of str
        ``COM`` lines.
    notes : tuple of str
        What the reader decided (e.g. the text encoding when not UTF-8).
    """

    path: str
    version: str | None
    mode: str | None
    type: str | None
    metadata: dict[str, str]
    proteins: pd.DataFrame | None = None
    peptides: pd.DataFrame | None = None
    psms: pd.DataFrame | None = None
    small_molecules: pd.DataFrame | None = None
    comments: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    # ------------------------------------------------------------- metadata
    @property
    def ms_runs(self) -> pd.DataFrame:
        """One row per ``ms_run[n]``: ``location`` and file ``stem``."""
        rows = {
            ref: {"location": location, "stem": file_stem(location) if location else ""}
            for ref, location in self._run_locations().items()
        }
        return pd.DataFrame.from_dict(rows, orient="index", columns=["location", "stem"])

    @property
    def assays(self) -> pd.DataFrame:
        """One row per ``assay[n]``.

        Columns: ``ms_runs`` (tuple), ``reagent``, ``sample_ref``, ``study_variable``.
        """
        rows = {ref: vars(info) for ref, info in self._assay_info().items()}
        return pd.DataFrame.from_dict(
            rows, orient="index", columns=["ms_runs", "reagent", "sample_ref", "study_variable"]
        )

    @property
    def study_variables(self) -> pd.DataFrame:
        """One row per ``study_variable[n]``: ``description`` and ``assays`` (tuple)."""
        rows = {
            ref: {
                "description": self.metadata.get(f"{ref}-description", ""),
                "assays": tuple(_split_refs(self.metadata.get(f"{ref}-assay_refs", ""))),
            }
            for ref in self._refs("study_variable")
        }
        return pd.DataFrame.from_dict(rows, orient="index", columns=["description", "assays"])

    def _run_locations(self) -> dict[str, str]:
        return {ref: self.metadata.get(f"{ref}-location", "") for ref in self._refs("ms_run")}

    def _assay_info(self) -> dict[str, _Assay]:
        variables: dict[str, str] = {}
        for ref in self._refs("study_variable"):
            for assay in _split_refs(self.metadata.get(f"{ref}-assay_refs", "")):
                variables.setdefault(assay, ref)
        assays = set(self._refs("assay"))
        if self.proteins is not None:
            assays |= {
                f"assay[{m.group(2)}]"
                for c in self.proteins.columns
                if (m := _ABUNDANCE.match(c)) and m.group(1) == "assay"
            }
        info = {}
        for ref in sorted(assays, key=_ref_number):
            reagent = parse_param(self.metadata.get(f"{ref}-quantification_reagent", ""))
            info[ref] = _Assay(
                ms_runs=tuple(_split_refs(self.metadata.get(f"{ref}-ms_run_ref", ""))),
                reagent=reagent.name if reagent else "",
                sample_ref=self.metadata.get(f"{ref}-sample_ref", ""),
                study_variable=variables.get(ref, ""),
            )
        return info

    @property
    def software(self) -> str:
        """Name and version of ``software[1]``, or ``""``."""
        param = parse_param(self.metadata.get("software[1]", ""))
        return " ".join(p for p in (param.name, param.value) if p) if param else ""

    def _refs(self, kind: str) -> list[str]:
        found = {
            m.group(0) for key in self.metadata if (m := _REF.match(key)) and m.group(1) == kind
        }
        return sorted(found, key=_ref_number)

    # ---------------------------------------------------------------- quant
    def quant(self, *, zero_as_missing: bool = True) -> QuantTable:
        """Protein abundances per assay (or per study variable in Summary files).

        Study-variable abundances are read when there are no assay abundances:
        no ``protein_abundance_assay[n]`` column, or every one of them null
        (the notes say which).

        OpenMS ``protein_details`` rows (per-member dummies) are dropped.

        Parameters
        ----------
        zero_as_missing : bool
            Read ``0`` as "not quantified here" (OpenMS writes 0.0 for proteins
            quantified in other runs), the default, or keep it as a value.

        Returns
        -------
        QuantTable

        Raises
        ------
        InputFormatError
            The file has no protein section, no abundance columns (an
            identification file), only missing abundances, or repeated
            protein accessions.
        """
        what = f"mzTab-type {self.type or 'unknown'}, mode {self.mode or 'unknown'}"
        if self.proteins is None:
            present = [
                n for n in ("peptides", "psms", "small_molecules") if getattr(self, n) is not None
            ]
            raise InputFormatError(
                f"no protein (PRH/PRT) section ({what}; sections present: "
                f"{', '.join(present) or 'none'}); protein quantification needs one",
                path=self.path,
            )
        table = self.proteins
        notes: list[str] = list(self.notes)
        member_flags: pd.DataFrame | None = None
        if "opt_global_result_type" in table.columns:
            details = table["opt_global_result_type"] == "protein_details"
            if details.any():
                if details.all():
                    raise InputFormatError(
                        f"all {len(table)} PRT rows are OpenMS protein_details entries "
                        "(per-member rows without quantities): there are no protein groups "
                        f"to quantify ({what})",
                        path=self.path,
                    )
                notes.append(f"dropped {int(details.sum())} OpenMS protein_details rows")
                member_flags = table[details]
                table = table[~details]
        by_level: dict[str, list[str]] = {"assay": [], "study_variable": []}
        for column in table.columns:
            if m := _ABUNDANCE.match(column):
                by_level[m.group(1)].append(column)
        level = "assay" if by_level["assay"] else "study_variable"
        columns = by_level[level]
        if not by_level["assay"] and not by_level["study_variable"]:
            kind = "an identification-only file" if self.type == "Identification" else "a file"
            raise InputFormatError(
                f"{kind} without protein abundances ({what}): no protein_abundance_assay[n] or "
                "protein_abundance_study_variable[n] column. Protein quantification needs a "
                "Quantification mzTab (e.g. from OpenMS ProteomicsLFQ) or the pipeline's own "
                "protein table",
                path=self.path,
            )
        per_sample = "(one value per study variable, not per sample)"
        abundance = table[columns].astype("float64")
        if level == "study_variable":
            notes.append(f"no assay-level abundances: using study-variable abundances {per_sample}")
        elif abundance.isna().all(axis=None) and by_level["study_variable"]:
            # a null column says nothing: read as a file without assay columns (README)
            held = table[by_level["study_variable"]].astype("float64")
            if held.notna().any(axis=None):
                notes.append(
                    f"every protein_abundance_assay[n] is null ({len(columns)} "
                    f"column{'s' if len(columns) > 1 else ''}): using the study-variable "
                    f"abundances {per_sample}"
                )
                level, columns, abundance = "study_variable", by_level["study_variable"], held
        if abundance.isna().all(axis=None):
            counted = [
                f"{n} protein_abundance_{kind}[n] column{'s' if n > 1 else ''}"
                for kind in ("assay", "study_variable")
                if (n := len(by_level[kind]))
            ]
            raise InputFormatError(
                f"every protein abundance is null ({' and '.join(counted)} x {len(table)} "
                "proteins): the file carries no quantities",
                path=self.path,
            )
        if zero_as_missing:
            zeros = int((abundance.to_numpy() == 0).sum())
            if zeros:
                notes.append(f"read {zeros} zero abundances as missing")
                abundance = abundance.mask(abundance == 0)
        accession = table["accession"]
        problems = duplicated_ids(accession.fillna("null"), what="protein accession")
        if problems:
            raise InputFormatError(problems[:_MAX_LISTED], path=self.path)
        accession = accession.astype(str)
        flags = _decoy_flags(table, member_flags)
        standard = ["accession", "description", "taxid", "species", *columns]
        extras = table.drop(columns=[c for c in standard if c in table.columns])
        extras = extras.drop(columns=[c for c in extras.columns if "abundance" in c])
        extras.insert(0, "line", extras.index.to_numpy())
        proteins = annotate_proteins(
            extras,
            accession=accession,
            description=table.get("description"),
            taxid=table.get("taxid"),
            species=table.get("species"),
            is_decoy=flags,
        )
        abundance.index = proteins.index
        ids = [_ABUNDANCE.match(c).group(0).removeprefix("protein_abundance_") for c in columns]  # type: ignore[union-attr]
        if level == "assay":
            notes.extend(self._multiplex_notes(ids))
        abundance.columns = pd.Index(ids)
        return QuantTable(
            abundance=abundance,
            proteins=proteins,
            columns=self._column_keys(ids, level),
            path=self.path,
            source=f"mzTab {self.version}" + (f" ({self.software})" if self.software else ""),
            notes=tuple(notes),
        )

    def _multiplex_notes(self, ids: list[str]) -> list[str]:
        """A note when several assays share one run (TMT/iTRAQ plexes)."""
        assays = self._assay_info()
        per_run: dict[str, list[str]] = {}
        for ref in ids:
            info = assays.get(ref, _Assay())
            if len(info.ms_runs) == 1:
                per_run.setdefault(info.ms_runs[0], []).append(ref)
        shared = {run: refs for run, refs in per_run.items() if len(refs) > 1}
        if not shared:
            return []
        reagents = sorted({assays[r].reagent for refs in shared.values() for r in refs} - {""})
        stems = self._run_locations()
        runs = ", ".join(file_stem(stems[r]) if stems.get(r) else r for r in shared)
        return [
            f"multiplexed (TMT/iTRAQ): {sum(map(len, shared.values()))} assays in "
            f"{len(shared)} run(s) ({runs}), told apart by their quantification reagent"
            f"{' (' + ', '.join(reagents[:4]) + (', ...' if len(reagents) > 4 else '') + ')' if reagents else ''}"  # noqa: E501
            "; samples are named '<run> <channel>' (or 'assay[n]'). Each run is a plex: give "
            "the sample sheet a 'plex' column (the model then adjusts for it), and mark a "
            "pooled reference per plex in 'reference_channel' for --normalize irs"
        ]

    def _column_keys(self, ids: list[str], level: str) -> pd.DataFrame:
        rows: dict[str, dict[str, object]] = {}
        if level == "study_variable":
            for ref in ids:
                description = self.metadata.get(f"{ref}-description", "")
                rows[ref] = {"name": ref, "keys": (ref, description) if description else (ref,)}
            return pd.DataFrame.from_dict(rows, orient="index", columns=["name", "keys"])
        stems = {ref: file_stem(loc) for ref, loc in self._run_locations().items() if loc}
        assays = self._assay_info()
        users: dict[str, int] = {}
        for info in assays.values():
            for run in info.ms_runs:
                users[run] = users.get(run, 0) + 1
        for ref in ids:
            info = assays.get(ref, _Assay())
            run_stems = [stems[r] for r in info.ms_runs if r in stems]
            # a stem shared by several assays (multiplexed) stays a key, so that a sheet
            # naming it is told it is ambiguous rather than that nothing matches
            keys = [ref, *run_stems]
            if info.sample_ref:
                keys.append(info.sample_ref)
                description = self.metadata.get(f"{info.sample_ref}-description", "")
                if description:
                    keys.append(description)
            own = (
                len(info.ms_runs) == 1 and info.ms_runs[0] in stems and users[info.ms_runs[0]] == 1
            )
            name = stems[info.ms_runs[0]] if own else ref
            channel = _channel(info.reagent)
            if len(info.ms_runs) == 1 and info.ms_runs[0] in stems and not own and channel:
                # multiplexed (TMT/iTRAQ): one run (plex) holds several assays, told apart
                # by their reagent; '<run stem> <channel>' names one of them
                name = f"{stems[info.ms_runs[0]]} {channel}"
                keys.insert(1, name)
            rows[ref] = {"name": name, "keys": tuple(dict.fromkeys(keys))}
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=["name", "keys"])
        repeated = frame["name"].duplicated(keep=False)
        frame.loc[repeated, "name"] = frame.index[repeated]
        return frame

    def to_protein_data(
        self,
        samples: SampleSheet | None = None,
        *,
        zero_as_missing: bool = True,
        drop_unlisted: bool = False,
    ) -> ProteinData:
        """Protein abundances joined to a sample sheet (see :func:`salivaprot.io.join`).

        Parameters
        ----------
        samples : SampleSheet, optional
            Without it, samples are named after their runs and carry no design.
        zero_as_missing : bool
            As for :meth:`quant`.
        drop_unlisted : bool
            Leave out data columns no sheet row names.

        Returns
        -------
        ProteinData
        """
        return join(
            self.quant(zero_as_missing=zero_as_missing), samples, drop_unlisted=drop_unlisted
        )


def read_mztab(path: PathLike) -> MzTab:
    """Read an mzTab 1.0 proteomics file: metadata and every section.

    Parameters
    ----------
    path : str or path-like
        The file; gzip-compressed files, a UTF-8 byte-order mark and CRLF line
        endings are handled.

    Returns
    -------
    MzTab
        Use :meth:`MzTab.to_protein_data` (or :meth:`MzTab.quant`) for
        abundances; ``peptides`` and ``psms`` are tables.

    Raises
    ------
    InputFormatError
        For a file that is not mzTab, mzTab-M 2.0 (metabolomics), a pre-1.0
        draft, a small-molecule-only file, or malformed lines (all reported,
        with line numbers).

    Warns
    -----
    InputFormatWarning
        For a pre-release version string such as ``1.0 rc5``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from salivaprot.simulate import simulate_trial
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = simulate_trial(seed=3, n_proteins=30, subjects_per_arm=2, dropout=0.0).write(folder)
    >>> mztab = read_mztab(folder / "study.mzTab")
    >>> mztab.version, mztab.type, len(mztab.assays)
    ('1.0.0', 'Quantification', 12)
    >>> mztab.to_protein_data().shape
    (12, 30)
    """
    scan, encoding = read_decoded(path, lambda handle: _scan(handle, path), what="mzTab file")
    metadata, comments, headers, rows, problems, mztab_m = scan
    quoted = [key for key, value in metadata.items() if _is_quoted(value)]
    for key in quoted:
        metadata[key] = _unquote(metadata[key])
    version = metadata.get("mzTab-version")
    if mztab_m or (version or "").startswith("2") or (version or "").endswith("-M"):
        raise InputFormatError(
            f"this is mzTab-M {version or '2.x'} (metabolomics); salivaprot reads mzTab 1.0 "
            "proteomics files",
            path=path,
        )
    if version is None:
        draft = ", ".join(k for k in list(metadata)[:3]) or "no metadata"
        raise InputFormatError(
            f"no mzTab-version in the metadata ({draft}): a pre-1.0 draft mzTab (e.g. old "
            "OpenMS ProteinQuantifier output). Re-export it as mzTab 1.0.0",
            path=path,
        )
    has_proteomics = any(headers.get(h) for h in ("PRH", "PEH", "PSH"))
    if not has_proteomics and "SMH" in headers:
        raise InputFormatError(
            f"a small-molecule (metabolomics) mzTab {version}: it has no protein, peptide or "
            "PSM section",
            path=path,
        )
    if problems:
        shown = problems[:_MAX_LISTED]
        if len(problems) > _MAX_LISTED:
            shown.append(f"... and {len(problems) - _MAX_LISTED} more problems")
        raise InputFormatError(shown, path=path)
    if version != "1.0.0":
        if not version.startswith("1."):
            raise InputFormatError(
                f"unsupported mzTab-version {version!r}; expected 1.0.0", path=path
            )
        warnings.warn(
            f"{path}: mzTab-version {version!r} is not 1.0.0; read as 1.0.0",
            InputFormatWarning,
            stacklevel=2,
        )
    sections: dict[str, pd.DataFrame | None] = {}
    for header_prefix, (_row_prefix, name) in _SECTIONS.items():
        if header_prefix not in headers:
            sections[name] = None
            continue
        sections[name] = _section_table(
            headers[header_prefix][1], rows[header_prefix], path=path, section=name
        )
    if sections["proteins"] is not None and "accession" not in sections["proteins"].columns:
        raise InputFormatError(
            f"the PRH header (line {headers['PRH'][0]}) has no 'accession' column", path=path
        )
    return MzTab(
        path=str(path),
        version=version,
        mode=metadata.get("mzTab-mode"),
        type=metadata.get("mzTab-type"),
        metadata=metadata,
        comments=tuple(comments),
        notes=tuple(
            note
            for note in (
                encoding.note,
                f"unquoted {len(quoted)} metadata value(s) written in double quotes "
                f"({', '.join(quoted[:3])}{', ...' if len(quoted) > 3 else ''})"
                if quoted
                else "",
            )
            if note
        ),
        **sections,
    )


_Scan = tuple[
    dict[str, str],
    list[str],
    dict[str, tuple[int, list[str]]],
    dict[str, list[tuple[int, list[str]]]],
    list[str],
    bool,
]


def _scan(handle: TextIO, path: PathLike) -> _Scan:
    """Read the lines of an mzTab file once, sorting them by prefix."""
    metadata: dict[str, str] = {}
    comments: list[str] = []
    headers: dict[str, tuple[int, list[str]]] = {}
    rows: dict[str, list[tuple[int, list[str]]]] = {h: [] for h in _SECTIONS}
    problems: list[str] = []
    first_content = True
    mztab_m = False

    def problem(line_no: int, message: str) -> None:
        problems.append(f"line {line_no}: {message}")

    for line_no, raw_line in enumerate(handle, start=1):
        terminated = raw_line.endswith("\n")
        line = raw_line[:-1] if terminated else raw_line
        if not line.strip():
            continue
        prefix, _, rest = line.partition("\t")
        prefix = prefix.strip()
        if first_content:
            first_content = False
            if prefix not in {"MTD", "COM", *_SECTIONS, *_ROW_TO_HEADER, *_MZTAB_M_PREFIXES}:
                raise InputFormatError(
                    f"not an mzTab file: line {line_no} starts with {prefix[:30]!r}; mzTab "
                    "lines start with MTD, COM, PRH/PRT, PEH/PEP, PSH/PSM or SMH/SML",
                    path=path,
                )
        if prefix == "MTD":
            key, _, value = rest.partition("\t")
            key = _INDEXED_KEY.sub(r"\1-", key.strip()).replace("colunit_", "colunit-")
            metadata[key] = value.rstrip("\t").strip()
        elif prefix == "COM":
            comments.append(rest)
        elif prefix in _SECTIONS:
            if prefix in headers:
                problem(
                    line_no,
                    f"second {prefix} header (first at line {headers[prefix][0]}); "
                    "each section appears once",
                )
                continue
            header = [c.strip() for c in _trim(rest.split("\t"))]
            seen: set[str] = set()
            repeated = sorted({c for c in header if c in seen or seen.add(c)})  # type: ignore[func-returns-value]
            if repeated:
                problem(line_no, f"{prefix} header repeats column(s) {', '.join(repeated)}")
            headers[prefix] = (line_no, header)
        elif prefix in _ROW_TO_HEADER:
            header_prefix = _ROW_TO_HEADER[prefix]
            if header_prefix not in headers:
                problem(line_no, f"{prefix} row before its {header_prefix} header")
                continue
            fields = rest.split("\t")
            expected = len(headers[header_prefix][1])
            if len(fields) > expected:
                fields = _trim(fields, keep=expected)
            if len(fields) != expected:
                hint = "" if terminated else " (the file seems truncated)"
                problem(
                    line_no,
                    f"{prefix} row has {len(fields) + 1} fields, its {header_prefix} "
                    f"header (line {headers[header_prefix][0]}) has {expected + 1}{hint}",
                )
                continue
            rows[header_prefix].append((line_no, [f.strip() for f in fields]))
        elif prefix in _MZTAB_M_PREFIXES:
            mztab_m = True
        else:
            problem(line_no, f"unknown line prefix {prefix[:30]!r}")
    if first_content:
        raise InputFormatError("the mzTab file is empty", path=path)
    return metadata, comments, headers, rows, problems, mztab_m


def _trim(fields: list[str], keep: int = 0) -> list[str]:
    """Drop trailing empty fields (tab padding), never below ``keep`` fields."""
    end = len(fields)
    while end > keep and fields[end - 1].strip() == "":
        end -= 1
    return fields[:end]


def _section_table(
    header: list[str], rows: list[tuple[int, list[str]]], *, path: PathLike, section: str
) -> pd.DataFrame:
    line_numbers = pd.Index([n for n, _ in rows], name="line")
    raw = pd.DataFrame(
        [fields for _, fields in rows], columns=header, index=line_numbers, dtype=object
    )
    problems: list[str] = []
    table = raw.mask(raw.isin(["null"]))
    for column in header:
        if not _NUMERIC_COLUMNS.match(column):
            continue
        cells = raw[column]
        strict = "_abundance_" in column
        missing = cells.isin(MISSING_TOKENS)
        infinite = cells.isin(_INF_TOKENS)
        values = to_floats(cells.where(~(missing | infinite)))
        bad = values.isna() & ~(missing | infinite)
        if bad.any():
            if not strict:
                continue  # leave a non-standard column as text
            for line_no, value in cells[bad].head(_MAX_LISTED).items():
                problems.append(
                    f"line {line_no}, column '{column}': expected a number or null, found {value!r}"
                )
            continue
        if strict:
            # the readers' one rule for quantities: infinite or overflowing is an error
            huge = infinite.to_numpy(bool) | ~finite(values.to_numpy(dtype="float64"))
            for line_no, value in cells[huge].head(_MAX_LISTED).items():
                problems.append(
                    f"line {line_no}, column '{column}': {out_of_range(value, missing='null')}"
                )
            if huge.sum() > 1 and problems:
                problems[-1] += f" ({int(huge.sum())} such cells in this column)"
            if huge.any():
                continue
        elif infinite.any():
            values = values.mask(infinite & cells.str.startswith("-"), -np.inf).mask(
                infinite & ~cells.str.startswith("-"), np.inf
            )
        table[column] = values.astype("float64")
    if problems:
        raise InputFormatError(problems[:_MAX_LISTED], path=path)
    return table


def _decoy_flags(table: pd.DataFrame, members: pd.DataFrame | None) -> pd.Series | None:
    """Decoy flags from the OpenMS/PRIDE opt columns.

    OpenMS writes the flag on its ``protein_details`` rows only; a group row
    without a flag of its own is a decoy when all its ambiguity members are.
    """
    columns = [c for c in _DECOY_COLUMNS if c in table.columns]
    if not columns:
        return None

    def flag_values(frame: pd.DataFrame) -> np.ndarray:
        values = np.column_stack([pd.to_numeric(frame[c], errors="coerce") for c in columns])
        flagged = np.where(np.isnan(values), -np.inf, values).max(axis=1)
        return np.where(np.isinf(flagged), np.nan, flagged)

    flags = flag_values(table)
    if members is not None and "ambiguity_members" in table.columns:
        known = {
            str(accession): bool(value > 0)
            for accession, value in zip(members["accession"], flag_values(members), strict=True)
            if not np.isnan(value)
        }
        for position, group in enumerate(table["ambiguity_members"]):
            if np.isnan(flags[position]) and isinstance(group, str):
                member_values = [known.get(m) for m in _split_refs(group)]
                if member_values and all(v is not None for v in member_values):
                    flags[position] = float(all(member_values))
    return pd.Series(np.nan_to_num(flags, nan=0.0) > 0, index=table.index)


def _is_quoted(value: str) -> bool:
    return len(value) >= 2 and value[0] == value[-1] == '"'


def _unquote(value: str) -> str:
    """A metadata value as the mzTab spec's CSV-like cells are read.

    Double quotes around the whole value are removed and doubled quotes
    inside become one (OpenMS 2.8 ProteomicsLFQ writes ``"ms_run[1],ms_run[4]"``).

    Examples
    --------
    >>> _unquote('"ms_run[1],ms_run[4]"'), _unquote('plain')
    ('ms_run[1],ms_run[4]', 'plain')
    """
    if _is_quoted(value):
        return value[1:-1].replace('""', '"').strip()
    return value


def _split_refs(text: str) -> list[str]:
    parts = (_unquote(part.strip()) for part in text.split(","))
    return [part for part in parts if part]


def _ref_number(ref: str) -> int:
    m = _REF.search(ref)
    return int(m.group(2)) if m else 0


def _channel(reagent: str) -> str:
    """The channel in a quantification reagent's name: 'TMT reagent 127N' -> '127N'."""
    words = reagent.replace(",", " ").split()
    if not words or not any(w.lower().startswith(("tmt", "itraq")) for w in words):
        return ""
    return words[-1]
