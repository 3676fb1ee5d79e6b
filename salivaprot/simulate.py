"""A seeded simulator of a salivary proteomics trial (aMSC vs placebo, repeated visits).

The generative model, on the log2 scale, for protein p in sample s of subject i
at visit v:

    y = mu_p + u_ip + time_pv + effect_pv * [arm_i = treated] + e_s,p + dilution_s

* ``mu_p``: protein means with a few dominant salivary proteins (alpha-amylase
  AMY1A, secretory IgA, proline-rich proteins, cystatins, statherin...) far above
  the rest;
* ``u_ip ~ N(0, sd_subject_p)``: patient random effects (within-subject
  correlation 0.4-0.85);
* ``time_pv``: small visit effects shared by both arms;
* ``effect_pv``: the treatment effect on the change from baseline, non-zero for
  a known set of proteins (``truth``), growing linearly to the last visit;
* ``e ~ N(0, sd_residual_p)``; ``dilution_s ~ N(0, 0.6)``: per-sample dilution.

Values are then censored with a probability that falls with intensity
(logistic, threshold calibrated to the requested missing fraction) plus 2%
at random. Contaminants (``CON__``), decoys (``DECOY_``) and oral bacterial
proteins are included, and a fraction of subjects miss visits or drop out.
Unstimulated flow rate and total protein are simulated per sample; aMSC raises
flow over the follow-up.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from salivaprot._validate import check_seed, check_sequence
from salivaprot.data import ProteinData
from salivaprot.errors import DesignError
from salivaprot.io._files import PathLike, staged_folder

__all__ = ["SimulatedTrial", "demo_trial", "simulate_trial"]

logger = logging.getLogger(__name__)

# accession, gene, protein name, mean log2 intensity, treatment direction (+1 up with aMSC,
# -1 down, 0 unchanged). Directions follow the Sjogren's literature in DOMAIN.md: aMSC is
# simulated to move candidates back towards health.
_SALIVARY: tuple[tuple[str, str, str, float, int], ...] = (
    ("P04745", "AMY1A", "Alpha-amylase 1", 36.0, 0),
    ("P01876", "IGHA1", "Immunoglobulin heavy constant alpha 1", 33.5, 0),
    ("P02810", "PRH2", "Salivary acidic proline-rich phosphoprotein 1/2", 33.0, 0),
    ("P01036", "CST4", "Cystatin-S", 32.5, 0),
    ("P02808", "STATH", "Statherin", 32.0, 0),
    ("Q9HC84", "MUC5B", "Mucin-5B", 31.5, 0),
    ("P04280", "PRB1", "Basic salivary proline-rich protein 1", 31.5, 0),
    ("P15515", "HTN1", "Histatin-1", 31.0, 0),
    ("P02788", "LTF", "Lactotransferrin", 31.0, 0),
    ("P61626", "LYZ", "Lysozyme C", 30.5, 0),
    ("P02768", "ALB", "Albumin", 30.5, 0),
    ("P01037", "CST1", "Cystatin-SN", 30.5, 0),
    ("Q8TAX7", "MUC7", "Mucin-7", 30.0, 0),
    ("P01833", "PIGR", "Polymeric immunoglobulin receptor", 30.0, 0),
    ("P12273", "PIP", "Prolactin-inducible protein", 30.0, 0),
    ("P23280", "CA6", "Carbonic anhydrase 6", 29.0, 1),
    ("Q8N4F0", "BPIFB2", "BPI fold-containing family B member 2", 28.0, 1),
    ("P06702", "S100A9", "Protein S100-A9", 28.5, -1),
    ("P05109", "S100A8", "Protein S100-A8", 28.0, -1),
    ("P61769", "B2M", "Beta-2-microglobulin", 28.0, -1),
    ("P80188", "LCN2", "Neutrophil gelatinase-associated lipocalin", 27.0, -1),
    ("P22894", "MMP8", "Neutrophil collagenase", 25.0, -1),
    ("O15389", "SIGLEC5", "Sialic acid-binding Ig-like lectin 5", 24.0, -1),
    ("Q14134", "TRIM29", "Tripartite motif-containing protein 29", 24.0, -1),
)
_CONTAMINANTS: tuple[tuple[str, str, str, int, str], ...] = (
    ("CON__P04264", "KRT1", "Keratin, type II cytoskeletal 1", 9606, "Homo sapiens"),
    ("CON__P13645", "KRT10", "Keratin, type I cytoskeletal 10", 9606, "Homo sapiens"),
    ("CON__P35908", "KRT2", "Keratin, type II cytoskeletal 2 epidermal", 9606, "Homo sapiens"),
    ("CON__P00761", "TRYP", "Trypsin", 9823, "Sus scrofa"),
    ("CON__P02769", "ALB", "Serum albumin", 9913, "Bos taurus"),
)
_BACTERIA: tuple[tuple[int, str], ...] = (
    (28037, "Streptococcus mitis"),
    (29466, "Veillonella parvula"),
    (28132, "Prevotella melaninogenica"),
    (43675, "Rothia mucilaginosa"),
    (729, "Haemophilus parainfluenzae"),
)
_MCAR = 0.02
_DILUTION_SD = 0.6


@dataclass(frozen=True)
class SimulatedTrial:
    """A simulated trial and the truth behind it.

    Attributes
    ----------
    data : ProteinData
        Raw-scale abundances (NaN = not detected) with the full design:
        ``subject_id``, ``arm``, ``visit``, ``run``, ``visit_day``,
        ``flow_ml_min``, ``total_protein_mg_ml``, ``saliva``, ``batch``,
        ``injection_order``.
    truth : pandas.DataFrame
        One row per protein x follow-up visit: ``protein_id``, ``gene``,
        ``category``, ``visit``, ``log2fc`` (true treatment effect on the change
        from baseline) and ``is_changed``.
    dilution : pandas.Series
        The per-sample log2 dilution offsets, indexed by ``sample_id``.
    seed : int
        The seed used.
    """

    data: ProteinData
    truth: pd.DataFrame
    dilution: pd.Series
    seed: int

    def write(self, out: PathLike) -> dict[str, Path]:
        """Write ``study.mzTab``, ``samples.csv`` and ``truth.csv`` into a folder.

        The files are staged and moved in together, so a failure leaves the
        folder as it was; the same trial always gives byte-identical files.

        Parameters
        ----------
        out : str or path-like
            The folder (created when needed).

        Returns
        -------
        dict of str to pathlib.Path
            The files written, by role.
        """
        from salivaprot.io.mztab_writer import write_mztab

        names = {"mztab": "study.mzTab", "samples": "samples.csv", "truth": "truth.csv"}
        with staged_folder(out) as stage:
            write_mztab(
                self.data,
                stage / names["mztab"],
                title=f"salivaprot simulated trial (seed {self.seed})",
            )
            sheet = self.data.samples.reset_index()
            sheet["arm"] = sheet["arm"].astype(str)
            sheet["visit"] = sheet["visit"].astype(str)
            sheet.to_csv(
                stage / names["samples"], index=False, lineterminator="\n", float_format="%.6g"
            )
            self.truth.to_csv(
                stage / names["truth"], index=False, lineterminator="\n", float_format="%.6g"
            )
        return {role: Path(out) / name for role, name in names.items()}

    def write_pg_matrix(self, path: PathLike, *, folder: str = "D:\\raw") -> Path:
        """Write the raw abundances as a DIA-NN ``report.pg_matrix.tsv``.

        One column per run, named by a Windows raw-file path (``folder`` +
        ``run`` + ``.raw``) as DIA-NN writes them, so a sample sheet's ``run``
        column (the file stem) matches; missing values are empty cells.

        Parameters
        ----------
        path : str or path-like
            The file to write (atomically).
        folder : str
            The raw files' folder in the column names.

        Returns
        -------
        pathlib.Path

        Examples
        --------
        >>> import tempfile, pathlib
        >>> trial = simulate_trial(seed=1, n_proteins=20, subjects_per_arm=2)
        >>> out = trial.write_pg_matrix(pathlib.Path(tempfile.mkdtemp()) / "report.pg_matrix.tsv")
        >>> out.read_text().splitlines()[0].split("\\t")[4:6]
        ['First.Protein.Description', 'D:\\\\raw\\\\SJ002_P01_baseline.raw']
        """
        from salivaprot.io._files import atomic_write

        data = self.data
        proteins = data.proteins
        genes = proteins["gene"].fillna("").astype(str)
        table = pd.DataFrame(
            {
                "Protein.Group": proteins.index,
                "Protein.Ids": proteins.index,
                "Protein.Names": [f"{g}_HUMAN" if g else "" for g in genes],
                "Genes": genes.to_numpy(),
                "First.Protein.Description": proteins["description"].fillna("").to_numpy(),
            }
        )
        values = data.abundance.T.reset_index(drop=True)
        values.columns = [f"{folder}\\{run}.raw" for run in data.samples["run"]]
        table = pd.concat([table, values], axis=1)
        with atomic_write(path) as handle:
            table.to_csv(handle, sep="\t", index=False, lineterminator="\n", float_format="%.6g")
        return Path(path)


def simulate_trial(
    *,
    seed: int = 0,
    n_proteins: int = 500,
    subjects_per_arm: int = 10,
    visits: Sequence[str] = ("baseline", "month1", "month4"),
    arms: Sequence[str] = ("placebo", "aMSC"),
    dropout: float = 0.1,
    missing_fraction: float = 0.25,
    changed_fraction: float = 0.08,
) -> SimulatedTrial:
    """Simulate a seeded two-arm trial with repeated saliva samples.

    Parameters
    ----------
    seed : int
        Seed of every random draw; the same arguments give the same trial.
    n_proteins : int
        Protein entries in all, including about 3% contaminants, 2% decoys and
        15% bacterial proteins (at least 5).
    subjects_per_arm : int
        Patients randomized to each arm.
    visits : sequence of str
        Visit names in order, baseline first (at least two).
    arms : sequence of str
        Reference (placebo) arm first, then the treated arm; blinded codes such as
        ``("A", "B")`` work the same way.
    dropout : float
        Fraction of subjects who miss visits: half of them drop out after a
        visit, half miss one follow-up visit.
    missing_fraction : float
        Target fraction of undetected values among collected samples.
    changed_fraction : float
        Fraction of human, non-contaminant proteins with a treatment effect (the
        named Sjogren's candidates always have one).

    Returns
    -------
    SimulatedTrial

    Raises
    ------
    DesignError
        For impossible settings (fewer than two visits, not two arms, ...).

    Examples
    --------
    >>> trial = simulate_trial(seed=7, n_proteins=100, subjects_per_arm=4, dropout=0.0)
    >>> trial.data.shape
    (24, 100)
    >>> trial.data.visits, trial.data.arms
    (['baseline', 'month1', 'month4'], ['placebo', 'aMSC'])
    >>> bool(0.15 < trial.data.missing_fraction < 0.35)
    True
    """
    seed = check_seed(seed, DesignError)
    visits = check_sequence("visits", visits, DesignError, example="baseline") or []
    arms = check_sequence("arms", arms, DesignError, example="placebo") or []
    _check_settings(
        n_proteins, subjects_per_arm, visits, arms, dropout, missing_fraction, changed_fraction
    )
    rng = np.random.default_rng(seed)
    visits = [str(v) for v in visits]
    arms = [str(a) for a in arms]

    proteins, mu, direction = _proteins(n_proteins, rng)
    n_p = len(proteins)
    human = (proteins["taxid"] == 9606) & ~proteins["is_contaminant"] & ~proteins["is_decoy"]

    # treatment effects on the change from baseline at the last visit
    full_effect = np.zeros(n_p)
    named = direction != 0
    full_effect[named] = direction[named] * rng.uniform(0.8, 1.6, named.sum())
    candidates = np.flatnonzero(human.to_numpy() & ~named & (np.arange(n_p) >= len(_SALIVARY)))
    n_changed = round(changed_fraction * float(human.sum())) - int(named.sum())
    if n_changed > 0 and len(candidates):
        chosen = rng.choice(candidates, size=min(n_changed, len(candidates)), replace=False)
        full_effect[chosen] = rng.choice([-1.0, 1.0], len(chosen)) * rng.uniform(
            0.7, 2.0, len(chosen)
        )
    ramp = np.arange(len(visits)) / (len(visits) - 1)
    effect = np.outer(ramp, full_effect)  # visits x proteins
    time = rng.normal(0.0, 0.1, size=(len(visits), n_p))
    time[0] = 0.0

    # subjects, arms and the visits each one attended
    n_subjects = 2 * subjects_per_arm
    width = max(2, len(str(n_subjects)))
    subjects = [f"P{i + 1:0{width}d}" for i in range(n_subjects)]
    arm_of = np.repeat([0, 1], subjects_per_arm)
    rng.shuffle(arm_of)
    attended = np.ones((n_subjects, len(visits)), dtype=bool)
    n_dropout = round(dropout * n_subjects)
    if n_dropout:
        who = rng.choice(n_subjects, size=n_dropout, replace=False)
        for k, subject in enumerate(who):
            follow_up = int(rng.integers(1, len(visits)))
            if k % 2 == 0:
                attended[subject, follow_up:] = False  # dropped out
            else:
                attended[subject, follow_up] = False  # missed one visit

    sd_subject = rng.uniform(0.4, 1.0, n_p)
    sd_residual = rng.uniform(0.25, 0.6, n_p)
    subject_effect = rng.normal(0.0, 1.0, (n_subjects, n_p)) * sd_subject
    baseline_flow = rng.lognormal(np.log(0.08), 0.5, n_subjects)
    baseline_protein = rng.lognormal(np.log(1.5), 0.25, n_subjects)

    rows = []
    values = []
    for i, subject in enumerate(subjects):
        treated = arm_of[i] == 1
        for v, visit in enumerate(visits):
            noise = rng.normal(0.0, 1.0, n_p) * sd_residual
            offset = rng.normal(0.0, _DILUTION_SD)
            flow_gain = (0.35 if treated else 0.05) * ramp[v]
            flow = baseline_flow[i] * np.exp(flow_gain + rng.normal(0.0, 0.15))
            total_protein = baseline_protein[i] * np.exp(rng.normal(0.0, 0.1))
            day = _visit_day(visit, v) + (int(rng.integers(-3, 4)) if v else 0)
            if not attended[i, v]:
                continue
            y = mu + subject_effect[i] + time[v] + (effect[v] if treated else 0.0) + noise + offset
            values.append(y)
            rows.append(
                {
                    "sample_id": f"{subject}_{visit}",
                    "subject_id": subject,
                    "arm": arms[arm_of[i]],
                    "visit": visit,
                    "visit_day": float(max(day, 0)),
                    "flow_ml_min": round(float(flow), 4),
                    "total_protein_mg_ml": round(float(total_protein), 3),
                    "saliva": "unstimulated",
                    "dilution": offset,
                }
            )
    samples = pd.DataFrame(rows).set_index("sample_id")
    log2_values = np.vstack(values)

    # injection order, batches and run names
    order = rng.permutation(len(samples)) + 1
    samples["injection_order"] = order.astype(float)
    samples["batch"] = np.where(order <= (len(samples) + 1) // 2, "b1", "b2")
    samples["run"] = [f"SJ{n:03d}_{s}" for n, s in zip(order, samples.index, strict=True)]

    # intensity-dependent missingness, threshold calibrated to the target fraction
    u_mcar = rng.uniform(size=log2_values.shape)
    u_mnar = rng.uniform(size=log2_values.shape)
    threshold = _calibrate(log2_values, u_mcar, u_mnar, missing_fraction)
    missing = _censor(log2_values, u_mcar, u_mnar, threshold)
    intensity = np.where(missing, np.nan, np.exp2(log2_values))

    dilution = samples.pop("dilution").rename("dilution")
    samples = samples[
        ["subject_id", "arm", "visit", "run", "visit_day", "flow_ml_min",
         "total_protein_mg_ml", "saliva", "batch", "injection_order"]
    ]  # fmt: skip
    samples["arm"] = pd.Categorical(samples["arm"], categories=arms, ordered=True)
    samples["visit"] = pd.Categorical(samples["visit"], categories=visits, ordered=True)
    abundance = pd.DataFrame(intensity, index=samples.index, columns=proteins.index)
    data = ProteinData(abundance, samples, proteins, steps=(f"simulate_trial(seed={seed})",))

    category = np.select(
        [proteins["is_decoy"], proteins["is_contaminant"], proteins["taxid"] != 9606],
        ["decoy", "contaminant", "other_species"],
        default="target",
    )
    truth = pd.DataFrame(
        [
            {
                "protein_id": pid,
                "gene": proteins["gene"].iat[j],
                "category": category[j],
                "visit": visit,
                "log2fc": round(float(effect[v, j]), 6),
                "is_changed": bool(effect[v, j] != 0.0),
            }
            for v, visit in enumerate(visits)
            if v > 0
            for j, pid in enumerate(proteins.index)
        ]
    )
    logger.info(
        "simulated %d samples x %d proteins, %.1f%% missing",
        data.n_samples,
        data.n_proteins,
        100 * data.missing_fraction,
    )
    return SimulatedTrial(data=data, truth=truth, dilution=dilution, seed=seed)


def demo_trial() -> SimulatedTrial:
    """The study bundled in ``test_data/``.

    ``salivaprot demo`` regenerates it when the folder is absent, and a test
    checks that the bundled files are exactly what this returns. The same as
    ``salivaprot simulate --seed 2026 --proteins 300 --subjects-per-arm 8
    --dropout 0.15``.

    Returns
    -------
    SimulatedTrial
    """
    return simulate_trial(seed=2026, n_proteins=300, subjects_per_arm=8, dropout=0.15)


def _check_settings(
    n_proteins: int,
    subjects_per_arm: int,
    visits: Sequence[str],
    arms: Sequence[str],
    dropout: float,
    missing_fraction: float,
    changed_fraction: float,
) -> None:
    problems = []
    if n_proteins < 5:
        problems.append(f"n_proteins must be at least 5, not {n_proteins}")
    if subjects_per_arm < 1:
        problems.append(f"subjects_per_arm must be at least 1, not {subjects_per_arm}")
    if len(visits) < 2 or len(set(visits)) != len(visits):
        problems.append(f"visits must be at least two distinct names, not {list(visits)}")
    if len(arms) != 2 or arms[0] == arms[1]:
        problems.append(f"arms must be two distinct names (reference first), not {list(arms)}")
    for name, value, high in (
        ("dropout", dropout, 1.0),
        ("missing_fraction", missing_fraction, 0.9),
        ("changed_fraction", changed_fraction, 1.0),
    ):
        if not 0.0 <= value <= high:
            problems.append(f"{name} must be between 0 and {high}, not {value}")
    if problems:
        raise DesignError(problems)


def _proteins(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    n_contaminants = max(1, round(0.03 * n))
    n_decoys = max(1, round(0.02 * n))
    n_bacteria = round(0.15 * n)
    n_human = n - n_contaminants - n_decoys - n_bacteria
    records: list[tuple[str, str, str, float, str, bool, bool]] = []
    means = []
    directions = []
    for k in range(n_human):
        if k < len(_SALIVARY):
            accession, gene, name, mean, direction = _SALIVARY[k]
        else:
            accession, gene, name = f"SIMH{k:05d}", f"SIMG{k}", f"Simulated salivary protein {k}"
            mean, direction = float(rng.normal(24.0, 2.2)), 0
        records.append((accession, gene, name, 9606, "Homo sapiens", False, False))
        means.append(mean)
        directions.append(direction)
    for k in range(n_bacteria):
        taxid, species = _BACTERIA[k % len(_BACTERIA)]
        records.append((f"SIMB{k:05d}", f"simB{k}", f"Simulated bacterial protein {k}",
                        taxid, species, False, False))  # fmt: skip
        means.append(float(rng.normal(22.5, 2.0)))
        directions.append(0)
    for k in range(n_contaminants):
        accession, gene, name, taxid, species = _CONTAMINANTS[k % len(_CONTAMINANTS)]
        if k >= len(_CONTAMINANTS):
            accession = f"{accession}-{k // len(_CONTAMINANTS) + 1}"
        records.append((accession, gene, name, taxid, species, True, False))
        means.append(float(rng.normal(25.0, 1.5)))
        directions.append(0)
    for k in range(n_decoys):
        records.append((f"DECOY_SIMH{k:05d}", "", f"Decoy {k}", np.nan, "", False, True))
        means.append(float(rng.normal(20.0, 1.0)))
        directions.append(0)
    table = pd.DataFrame(
        records,
        columns=["protein_id", "gene", "name", "taxid", "species", "is_contaminant", "is_decoy"],
    ).set_index("protein_id")
    description = [
        f"{name} OS={species} OX={int(taxid)} GN={gene}" if species else name
        for name, species, taxid, gene in zip(
            table["name"], table["species"], table["taxid"], table["gene"], strict=True
        )
    ]
    proteins = pd.DataFrame(
        {
            "gene": table["gene"].replace("", np.nan),
            "description": description,
            "taxid": table["taxid"].astype(float),
            "species": table["species"].replace("", np.nan),
            "is_contaminant": table["is_contaminant"].astype(bool),
            "is_decoy": table["is_decoy"].astype(bool),
        },
        index=table.index,
    )
    return proteins, np.asarray(means), np.asarray(directions)


def _visit_day(name: str, index: int) -> int:
    lowered = name.lower()
    if index == 0 or lowered in {"baseline", "screening", "day0", "bl"}:
        return 0
    for unit, days in (("month", 30), ("week", 7), ("day", 1), ("m", 30), ("w", 7), ("d", 1)):
        if match := re.fullmatch(rf"{unit}[_ ]?(\d+)", lowered):
            return int(match.group(1)) * days
    return 30 * index


def _censor(y: np.ndarray, u_mcar: np.ndarray, u_mnar: np.ndarray, threshold: float) -> np.ndarray:
    p_mnar = 1.0 / (1.0 + np.exp((y - threshold) / 0.8))
    return (u_mcar < _MCAR) | (u_mnar < p_mnar)


def _calibrate(y: np.ndarray, u_mcar: np.ndarray, u_mnar: np.ndarray, target: float) -> float:
    low, high = float(y.min()) - 10.0, float(y.max()) + 10.0
    for _ in range(60):
        mid = 0.5 * (low + high)
        if _censor(y, u_mcar, u_mnar, mid).mean() < target:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)
