"""The figures of a results folder: the standard set, or those a spec lists.

A spec (YAML) lists figures by name and kind::

    figures:
      - name: volcano_month4
        kind: volcano
        contrast: aMSC_vs_placebo_change_month4
        proteins: [AMY1A, P01876]   # a panel to label
        size: single                # single | double | [width_mm, height_mm]
      - name: cystatins
        kind: trajectory
        proteins: [CST1, CST4]

Kinds: ``volcano``, ``pca``, ``correlation``, ``heatmap``, ``trajectory``,
``forest`` (``proteins`` of one ``contrast``, or every contrast of one protein),
``qc`` and ``run_qc``. Everything is drawn from the results folder alone
(:class:`salivaprot.io.results_folder.ResultsFolder`); nothing is refitted.
A figure whose data are absent (no significant protein, a single visit, a
contrast not in the folder) is still drawn, with a message saying why it is empty.
What a spec asks for that the folder cannot give is refused before anything is
drawn (:func:`check_specs`): a protein not in the folder, a trajectory's
contrast not in the folder, a forest of a joint test (no ``log2fc``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from salivaprot.errors import InputFormatError
from salivaprot.figure_spec import DEFAULT_SIZES, KINDS, FigureSpec, read_spec
from salivaprot.io.results_folder import ResultsFolder

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "KINDS",
    "FigureSpec",
    "check_specs",
    "cluster_order",
    "draw",
    "draw_all",
    "pca_scores",
    "primary_contrast",
    "read_spec",
    "standard_specs",
]

logger = logging.getLogger(__name__)

FDR = 0.05

# ----------------------------------------------------------------------------- data helpers


def primary_contrast(folder: ResultsFolder) -> str | None:
    """The main estimand: the treated-vs-reference change at the last visit, when present.

    Otherwise the first contrast with estimates; ``None`` when there is none.
    """
    estimated = _estimated_contrasts(folder)
    arms, visits = folder.arms, folder.visits
    if len(arms) >= 2 and len(visits) >= 2:
        wanted = f"{arms[1]}_vs_{arms[0]}_change_{visits[-1]}"
        if wanted in estimated:
            return wanted
    return estimated[0] if estimated else None


def _estimated_contrasts(folder: ResultsFolder) -> list[str]:
    has = folder.results.groupby("contrast", sort=False)["log2fc"].apply(lambda s: s.notna().any())
    return [c for c in folder.contrasts if bool(has.get(c, False))]


def pca_scores(matrix: pd.DataFrame) -> tuple[pd.DataFrame, list[float], int]:
    """PCA of samples on the proteins measured in every sample (centred, not scaled).

    The sign of each component is fixed (largest loading positive), so the
    result is deterministic.

    Returns
    -------
    scores : pandas.DataFrame
        Samples x ``PC1``, ``PC2`` (empty when fewer than 3 samples or 2 proteins).
    explained : list of float
        Fraction of the variance explained by PC1 and PC2.
    n_proteins : int
        Proteins used.
    """
    complete = matrix.dropna(axis=0, how="any")
    n_samples, n_proteins = complete.shape[1], complete.shape[0]
    if n_samples < 3 or n_proteins < 2:
        return pd.DataFrame(index=matrix.columns[:0]), [], n_proteins
    x = complete.to_numpy(float).T
    x = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    k = min(2, len(s))
    for i in range(k):
        j = int(np.argmax(np.abs(vt[i])))
        if vt[i, j] < 0:
            u[:, i], vt[i] = -u[:, i], -vt[i]
    variance = s**2
    total = float(variance.sum())
    explained = [float(v / total) if total > 0 else 0.0 for v in variance[:k]]
    scores = pd.DataFrame(
        u[:, :k] * s[:k], index=complete.columns, columns=[f"PC{i + 1}" for i in range(k)]
    )
    return scores, explained, n_proteins


def cluster_order(z: pd.DataFrame) -> list[str]:
    """Row order from average-linkage clustering (Euclidean, missing z as 0), leaves optimal."""
    if len(z) < 3:
        return list(z.index)
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
    from scipy.spatial.distance import pdist

    values = z.fillna(0.0).to_numpy(float)
    distances = pdist(values, metric="euclidean")
    tree = optimal_leaf_ordering(linkage(distances, method="average"), distances)
    return [str(z.index[i]) for i in leaves_list(tree)]


def _zscore(values: pd.DataFrame) -> pd.DataFrame:
    spread = values.std(axis=1, ddof=1).replace(0, np.nan)
    return values.sub(values.mean(axis=1), axis=0).div(spread, axis=0)


def _find_proteins(
    folder: ResultsFolder, wanted: Sequence[str]
) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """Protein IDs for names given as IDs or gene names; the names not found; and the gene
    names that name several protein groups (with the groups), which are not guessed."""
    labels = folder.gene_labels()
    by_gene: dict[str, list[str]] = {}
    for pid, gene in labels.items():
        by_gene.setdefault(gene.upper(), []).append(pid)
    found, missing, ambiguous = [], [], {}
    for name in wanted:
        groups = by_gene.get(name.upper(), [])
        if name in labels:
            found.append(name)
        elif len(groups) == 1:
            found.append(groups[0])
        elif groups:
            ambiguous[name] = groups
        else:
            missing.append(name)
    return list(dict.fromkeys(found)), missing, ambiguous


def _long(folder: ResultsFolder, protein: str) -> pd.DataFrame:
    samples = folder.samples
    values = folder.matrix.loc[protein] if protein in folder.matrix.index else None
    frame = pd.DataFrame(
        {
            "subject_id": samples["subject_id"].astype(str),
            "arm": samples["arm"].astype(str),
            "visit": samples["visit"].astype(str),
            "value": np.nan if values is None else values.reindex(samples.index).to_numpy(float),
        },
        index=samples.index,
    )
    if folder.imputed is not None and protein in folder.imputed.index:
        frame["imputed"] = folder.imputed.loc[protein].reindex(samples.index).fillna(False)
    return frame


def _top_proteins(folder: ResultsFolder, contrast: str | None, n: int) -> list[str]:
    if contrast is None:
        return []
    rows = folder.results[(folder.results["contrast"] == contrast)].dropna(subset=["pvalue"])
    rows = rows.sort_values(["pvalue", "protein_id"], kind="stable")
    return [str(p) for p in rows["protein_id"].head(n)]


def _missing_table(folder: ResultsFolder) -> pd.DataFrame:
    measured = folder.matrix.notna()
    if folder.imputed is not None:
        measured &= ~folder.imputed.reindex_like(measured).fillna(False).astype(bool)
    rows = []
    for arm in folder.arms:
        for visit in folder.visits:
            keep = ((folder.samples["arm"] == arm) & (folder.samples["visit"] == visit)).to_numpy()
            block = measured.loc[:, keep]
            n = int(keep.sum())
            fraction = float(1 - block.to_numpy().mean()) if n and block.size else np.nan
            rows.append({"arm": arm, "visit": visit, "samples": n, "missing_fraction": fraction})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- the figures


def standard_specs(folder: ResultsFolder) -> list[FigureSpec]:
    """The standard set: a volcano per contrast, PCA, correlation, heatmap,
    trajectories and forests of the top proteins, QC (and run QC with ``qc.tsv``)."""
    primary = primary_contrast(folder)
    specs = [
        FigureSpec(f"volcano_{c}", "volcano", contrast=c) for c in _estimated_contrasts(folder)
    ]
    if not specs:
        specs.append(FigureSpec("volcano", "volcano", contrast=primary))
    specs += [
        FigureSpec("pca", "pca"),
        FigureSpec("sample_correlation", "correlation"),
        FigureSpec("heatmap_significant", "heatmap", contrast=primary),
        FigureSpec("trajectories_top", "trajectory", contrast=primary),
        FigureSpec("forest_top", "forest", contrast=primary),
        FigureSpec(
            "forest_top_protein", "forest", proteins=tuple(_top_proteins(folder, primary, 1))
        ),
        FigureSpec("qc", "qc"),
    ]
    if folder.qc is not None:
        specs.append(FigureSpec("run_qc", "run_qc"))
    return specs


def _spec_problems(folder: ResultsFolder, spec: FigureSpec, label: str) -> list[str]:
    """What ``spec`` asks for that ``folder`` cannot give (see :func:`check_specs`)."""
    problems = []
    if spec.proteins:
        _found, missing, ambiguous = _find_proteins(folder, spec.proteins)
        if missing:
            problems.append(
                f"{label}: not in this results folder (proteins are named by protein ID or "
                f"gene): {missing}"
            )
        problems.extend(
            f"{label}: gene '{gene}' names {len(groups)} protein groups "
            f"({', '.join(groups[:6])}{', ...' if len(groups) > 6 else ''}); name the one "
            "to draw by its protein ID"
            for gene, groups in ambiguous.items()
        )
    contrast = spec.contrast
    if contrast is None:
        return problems
    if spec.kind == "trajectory" and contrast not in folder.contrasts:
        problems.append(
            f"{label}: contrast '{contrast}' is not in this results folder; contrasts: "
            + ", ".join(folder.contrasts)
        )
    elif (
        spec.kind == "forest"
        and contrast in folder.contrasts
        and contrast not in _estimated_contrasts(folder)
    ):
        joint = contrast in folder.run.get("model", {}).get("joint_tests", {})
        what = "is a joint test of several contrasts, without" if joint else "has no"
        problems.append(
            f"{label}: contrast '{contrast}' {what} log2fc; forest plots need a single "
            "contrast with estimates: " + ", ".join(_estimated_contrasts(folder))
        )
    return problems


def check_specs(folder: ResultsFolder, specs: Sequence[FigureSpec], *, path: Any = None) -> None:
    """Refuse, every problem at once, what ``specs`` ask for that ``folder`` cannot give.

    Refused: a protein (by ID or gene) not in the folder, which would be left
    out of the figure; a gene name that names several protein groups (which
    one would be a guess); a trajectory's contrast not in the folder, whose top
    proteins or padj it would lack; a forest of a contrast without ``log2fc``
    (a joint F test), which has no estimate to draw. A volcano, heatmap or
    forest of a contrast not in the folder is drawn with a message saying so.

    Raises
    ------
    InputFormatError
        Each problem names the figure (number, name, kind), with ``path`` (the spec file).
    """
    problems = []
    for i, spec in enumerate(specs):
        problems += _spec_problems(folder, spec, f"figure {i + 1} ('{spec.name}', {spec.kind})")
    if problems:
        raise InputFormatError(problems, path=path)


def draw(folder: ResultsFolder, spec: FigureSpec) -> Figure:
    """Draw one figure of a results folder (journal style; not saved).

    Raises
    ------
    InputFormatError
        What the spec asks for is not in the folder (see :func:`check_specs`).
    """
    from salivaprot import plot

    problems = _spec_problems(folder, spec, f"figure '{spec.name}' ({spec.kind})")
    if problems:
        raise InputFormatError(problems)

    width, height = spec.size or DEFAULT_SIZES[spec.kind]
    if not np.isfinite(height):
        height = DEFAULT_SIZES[spec.kind][1]
    with plot.style():
        fig, _ = plot.new_figure(width, height, nrows=1, ncols=1)
        fig.clear()
        _DRAWERS[spec.kind](fig, folder, spec)
    return fig


def draw_all(
    folder: ResultsFolder,
    specs: Sequence[FigureSpec] | None = None,
) -> list[tuple[FigureSpec, Figure]]:
    """Draw the standard set (or ``specs``) in order."""
    return [(spec, draw(folder, spec)) for spec in (specs or standard_specs(folder))]


def _contrast_problem(folder: ResultsFolder, contrast: str | None) -> str | None:
    if contrast is None:
        return "No contrast with estimates in this results folder"
    if contrast not in folder.contrasts:
        shown = ", ".join(folder.contrasts[:6]) + (" ..." if len(folder.contrasts) > 6 else "")
        return f"Contrast '{contrast}' is not in this results folder.\nContrasts: {shown}"
    return None


def _volcano(fig: Figure, folder: ResultsFolder, spec: FigureSpec) -> None:
    from salivaprot import plot

    ax = fig.add_subplot()
    contrast = spec.contrast or primary_contrast(folder)
    problem = _contrast_problem(folder, contrast)
    if problem:
        plot.empty_state(ax, problem)
        return
    rows = folder.results[folder.results["contrast"] == contrast]
    plot.volcano(rows, ax=ax, fdr=FDR, highlight=spec.proteins, title=str(contrast))


def _pca(fig: Figure, folder: ResultsFolder, spec: FigureSpec) -> None:
    from salivaprot import plot

    axes = fig.subplots(1, 2)
    panels = [("before normalization", folder.before), ("after normalization", folder.matrix)]
    for i, (ax, (label, matrix)) in enumerate(zip(axes, panels, strict=True)):
        if matrix is None:
            plot.empty_state(
                ax, f"No matrix {label} in the results folder\n(rerun 'salivaprot diff')"
            )
            ax.set_title(label)
            continue
        scores, explained, n = pca_scores(matrix)
        plot.pca(
            scores,
            folder.samples,
            arms=folder.arms,
            visits=folder.visits,
            explained=explained,
            ax=ax,
            legend=i == 1,
            title=f"{label} ({n} proteins in every sample)",
        )


def _correlation(fig: Figure, folder: ResultsFolder, spec: FigureSpec) -> None:
    from salivaprot import plot

    plot.correlation_heatmap(
        folder.matrix,
        folder.samples,
        arms=folder.arms,
        visits=folder.visits,
        ax=fig.add_subplot(),
        title="Sample correlation (log₂, normalized)",
    )


def _heatmap(fig: Figure, folder: ResultsFolder, spec: FigureSpec) -> None:
    from salivaprot import plot

    ax = fig.add_subplot()
    if spec.proteins:
        proteins = _find_proteins(folder, spec.proteins)[0]  # (all there: checked)
        what = "the given proteins"
        message = "None of the given proteins has values in the matrix"
    else:
        contrast = spec.contrast or primary_contrast(folder)
        problem = _contrast_problem(folder, contrast)
        if problem:
            plot.empty_state(ax, problem)
            return
        rows = folder.results[
            (folder.results["contrast"] == contrast) & (folder.results["padj"] < FDR)
        ]
        rows = rows.sort_values(["padj", "pvalue", "protein_id"], kind="stable").head(50)
        proteins = [str(p) for p in rows["protein_id"]]
        what = f"padj < {FDR:g} in {contrast}" + (" (top 50)" if len(rows) == 50 else "")
        message = f"No protein with padj < {FDR:g}\nin {contrast}"
    proteins = [p for p in proteins if p in folder.matrix.index]
    values = folder.matrix.loc[proteins]
    order = cluster_order(_zscore(values)) if proteins else []
    plot.protein_heatmap(
        values,
        folder.samples,
        arms=folder.arms,
        visits=folder.visits,
        labels=folder.gene_labels(),
        row_order=order,
        imputed=folder.imputed,
        ax=ax,
        title=f"{len(proteins)} proteins: {what}",
        empty_message=message,
    )


def _trajectory(fig: Figure, folder: ResultsFolder, spec: FigureSpec) -> None:
    from salivaprot import plot
    from salivaprot.plot._common import short_label

    labels = folder.gene_labels()
    note = ""
    if spec.proteins:
        proteins = _find_proteins(folder, spec.proteins)[0]  # (all there: checked)
    else:
        contrast = spec.contrast or primary_contrast(folder)
        proteins = _top_proteins(folder, contrast, 4)
        if contrast and proteins:
            significant = folder.results[
                (folder.results["contrast"] == contrast) & (folder.results["padj"] < FDR)
            ]
            note = f"top {len(proteins)} by p-value in {contrast}" + (
                "" if len(significant) else f" (none has padj < {FDR:g})"
            )
    if not proteins:
        plot.empty_state(fig.add_subplot(), note or "No protein to show")
        return
    n = len(proteins)
    ncols = 1 if n == 1 else 2
    nrows = int(np.ceil(n / ncols))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    padj_contrast = spec.contrast or primary_contrast(folder)
    padj = _padj_lookup(folder, padj_contrast)
    if padj and spec.proteins:
        note = "; ".join(filter(None, [note, f"padj of {padj_contrast}"]))
    for i, (ax, protein) in enumerate(zip(axes, proteins, strict=False)):
        title = short_label(labels.get(protein, protein))
        if protein in padj:
            title += f"  (padj {padj[protein]:.2g})"
        plot.trajectory(
            _long(folder, protein),
            arms=folder.arms,
            visits=folder.visits,
            ax=ax,
            title=title,
            legend=i == ncols - 1,
            means_include_imputed=bool(folder.run.get("parameters", {}).get("use_imputed")),
        )
    for ax in axes[n:]:
        ax.set_visible(False)
    if note:
        fig.suptitle(note, fontsize=6, color="#555555")


def _padj_lookup(folder: ResultsFolder, contrast: str | None) -> dict[str, float]:
    rows = folder.results[folder.results["contrast"] == contrast].dropna(subset=["padj"])
    return dict(zip(rows["protein_id"].astype(str), rows["padj"].astype(float), strict=True))


def _forest(fig: Figure, folder: ResultsFolder, spec: FigureSpec) -> None:
    from salivaprot import plot
    from salivaprot.plot._common import short_label

    ax = fig.add_subplot()
    labels = folder.gene_labels()
    results = folder.results
    if len(spec.proteins) == 1 and spec.contrast is None:
        proteins = _find_proteins(folder, spec.proteins)[0]  # (all there: checked)
        rows = results[results["protein_id"] == proteins[0]].copy()
        order = {c: i for i, c in enumerate(folder.contrasts)}
        rows = rows.sort_values("contrast", key=lambda s: s.map(order), kind="stable")
        rows["label"] = rows["contrast"]
        plot.forest(
            rows,
            ax=ax,
            fdr=FDR,
            title=f"{short_label(labels.get(proteins[0], proteins[0]))}: every contrast",
        )
        return
    if not spec.proteins and spec.contrast is None and not folder.contrasts:
        plot.empty_state(ax, "No contrast in this results folder")
        return
    contrast = spec.contrast or primary_contrast(folder)
    problem = _contrast_problem(folder, contrast)
    if problem:
        plot.empty_state(ax, problem)
        return
    rows = results[results["contrast"] == contrast].copy()
    if spec.proteins:
        proteins = _find_proteins(folder, spec.proteins)[0]  # (all there: checked)
        rows = (
            rows.set_index("protein_id").reindex(proteins).reset_index().dropna(subset=["contrast"])
        )
        title = f"{contrast}: protein panel"
    else:
        rows = (
            rows.dropna(subset=["pvalue"])
            .sort_values(["pvalue", "protein_id"], kind="stable")
            .head(15)
        )
        title = f"{contrast}: top {len(rows)} by p-value"
    rows["label"] = [labels.get(str(p), str(p)) for p in rows["protein_id"]]
    plot.forest(
        rows,
        ax=ax,
        fdr=FDR,
        title=title,
        empty_message=f"No estimate for these proteins in {contrast}",
    )


def _qc(fig: Figure, folder: ResultsFolder, spec: FigureSpec) -> None:
    from salivaprot import plot

    grid = fig.add_gridspec(4, 2, height_ratios=[1, 1, 1, 1.1])
    before = fig.add_subplot(grid[0, :])
    after = fig.add_subplot(grid[1, :])
    counts_ax = fig.add_subplot(grid[2, :])
    missing_ax = fig.add_subplot(grid[3, 0])
    flow_ax = fig.add_subplot(grid[3, 1])
    common: Mapping[str, Any] = {"arms": folder.arms, "visits": folder.visits}
    plot.intensity_distributions(
        folder.before,
        folder.samples,
        ax=before,
        title="Intensities before normalization",
        empty_message="No matrix before normalization in the results "
        "folder (rerun 'salivaprot diff')",
        **common,
    )
    measured = folder.matrix.notna()
    if folder.imputed is not None:
        measured &= ~folder.imputed.reindex_like(measured).fillna(False).astype(bool)
    plot.intensity_distributions(
        folder.matrix.where(measured),
        folder.samples,
        ax=after,
        title="Intensities analysed (after normalization; measured values)",
        **common,
    )
    plot.proteins_per_sample(
        measured.sum(axis=0),
        folder.samples,
        ax=counts_ax,
        title="Proteins measured per sample",
        **common,
    )
    plot.missing_by_group(
        _missing_table(folder), ax=missing_ax, title="Missing values by arm x visit", **common
    )
    plot.sample_flow(_flow_with_qc(folder), ax=flow_ax, title="Sample flow")


def _flow_with_qc(folder: ResultsFolder) -> pd.DataFrame | None:
    """The sample flow, with "runs passing QC" before the last step when qc.tsv flags runs."""
    from salivaprot.plot.qc import FLAG_COLUMNS, flagged_runs

    flow = folder.flow
    qc = folder.qc
    if flow is None or qc is None or not any(c in qc.columns for c in FLAG_COLUMNS):
        return flow
    if "runs passing QC" in set(flow["step"]):  # diff --qc counted them already
        return flow
    passing = int((~flagged_runs(qc)).sum())
    row = pd.DataFrame({"step": ["runs passing QC"], "count": [passing]})
    return pd.concat([flow.iloc[:-1], row, flow.iloc[-1:]], ignore_index=True)


def _run_qc(fig: Figure, folder: ResultsFolder, spec: FigureSpec) -> None:
    from salivaprot import plot

    tic, ms2 = fig.subplots(2, 1)
    plot.run_qc(folder.qc, what="tic", ax=tic, title="Total ion current per run")
    plot.run_qc(folder.qc, what="ms2", ax=ms2, title="MS2 spectra per run")


_DRAWERS = {
    "volcano": _volcano,
    "pca": _pca,
    "correlation": _correlation,
    "heatmap": _heatmap,
    "trajectory": _trajectory,
    "forest": _forest,
    "qc": _qc,
    "run_qc": _run_qc,
}
