"""A self-contained HTML report of a results folder.

One HTML file, nothing fetched from the network: figures are embedded as SVG
data URIs, styles and the small table-sorting script are inline. The methods
paragraph is generated from ``run.json`` (software versions, parameters,
proteins tested, estimands, consensus correlation, prior degrees of freedom),
so the report says exactly what was run. The output is deterministic: the
same folder gives the same bytes.

When the page has loaded, its script sets ``data-status="ready"`` on
``<body>`` and counts the images that failed to decode in
``data-broken-images`` (what the browser test reads).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salivaprot.io.results_folder import ResultsFolder

__all__ = ["build_report", "methods_text"]

TOP_N = 20
FDR = 0.05

_CAPTIONS: dict[str, str] = {
    "pca": "Principal components of the samples before and after normalization "
    "(colour: arm; marker: visit; proteins measured in every sample).",
    "sample_correlation": "Pearson correlation between samples, grouped by arm and visit.",
    "heatmap_significant": "Z-scored log2 abundances of the significant proteins of the "
    "primary contrast, rows clustered (average linkage); dots mark imputed values.",
    "trajectories_top": "Top proteins of the primary contrast: one thin line per subject, "
    "arm means with 95% confidence intervals (descriptive; of the values the model used, so "
    "without imputed values unless --use-imputed); open circles are imputed values.",
    "forest_top": "Estimates with 95% confidence intervals (t quantile with the model's df) "
    "for the top proteins of the primary contrast.",
    "forest_top_protein": "Every contrast of the top protein, with 95% confidence intervals.",
    "qc": "Quality control: intensity distributions before and after normalization, proteins "
    "measured per sample, missing values by arm and visit, and the sample flow.",
    "run_qc": "Run-level QC from the raw files: total ion current and MS2 spectra per run.",
}

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
figure{margin:1.5em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#555}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0 1.5em}
th,td{padding:.2em .6em;border-bottom:1px solid #e4e4e4;text-align:right}
th{background:#f4f4f4;cursor:pointer;user-select:none;position:sticky;top:0}
th.text,td.text{text-align:left}th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}
tr.sig td{font-weight:600}.note{color:#666;font-size:.9em}
code{background:#f4f4f4;padding:0 .2em}nav a{margin-right:1em}
"""

_SCRIPT = """
(function () {
  function value(cell) {
    var text = cell.getAttribute("data-value");
    if (text === null) { text = cell.textContent; }
    var number = parseFloat(text);
    return isNaN(number) ? text.toLowerCase() : number;
  }
  function sortBy(table, column, header) {
    var body = table.tBodies[0];
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a.cells[column]), y = value(b.cells[column]);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, column) {
      header.addEventListener("click", function () { sortBy(table, column, header); });
    });
  });
  window.addEventListener("load", function () {
    var broken = 0;
    document.querySelectorAll("img").forEach(function (img) {
      if (!img.complete || img.naturalWidth === 0) { broken += 1; }
    });
    document.body.setAttribute("data-broken-images", String(broken));
    document.body.setAttribute("data-images", String(document.images.length));
    document.body.setAttribute("data-status", "ready");
  });
})();
"""


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "NA"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def methods_text(run: Mapping[str, Any], folder: ResultsFolder | None = None) -> str:
    """A methods paragraph (plain text) generated from ``run.json``."""
    parameters = run.get("parameters", {}) or {}
    model = run.get("model", {}) or {}
    versions = run.get("versions", {}) or {}
    design = model.get("design", {}) or {}
    method = str(model.get("method", parameters.get("method", "unknown")))
    parts = []
    software = ", ".join(
        f"{k} {v}" for k, v in versions.items() if k not in ("salivaprot", "python")
    )
    parts.append(
        f"Differential abundance was analysed with salivaprot {versions.get('salivaprot', '?')} "
        f"(Python {versions.get('python', '?')}; {software})."
    )
    steps = run.get("steps", []) or []
    if steps:
        parts.append("Preprocessing, in order: " + "; ".join(str(s) for s in steps) + ".")
    n_samples, n_subjects = design.get("n_samples"), design.get("n_subjects")
    arms, visits = design.get("arms", []), design.get("visits", [])
    if arms and visits:
        parts.append(
            f"The design had {len(arms)} arms ({', '.join(map(str, arms))}; reference "
            f"{arms[0]}) and {len(visits)} visits in trial order ({', '.join(map(str, visits))}; "
            f"the first is the baseline)"
            + (
                f", with {n_samples} samples from {n_subjects} subjects"
                if n_samples is not None
                else ""
            )
            + "."
        )
    covariates = parameters.get("covariates") or []
    model_text = {
        "limma": "limma-equivalent linear models with the within-subject correlation "
        "(duplicate correlation) and empirical Bayes moderated statistics",
        "mixed": "linear mixed models with a random intercept per subject (REML)",
        "ancova": "ANCOVA of each follow-up visit on the baseline value, with moderated statistics",
    }.get(method, f"method {method}")
    extras = []
    if parameters.get("trend"):
        extras.append("an abundance-dependent prior variance (trend)")
    if parameters.get("robust"):
        extras.append("robust empirical Bayes")
    if covariates:
        extras.append("adjustment for " + ", ".join(map(str, covariates)))
    parts.append(
        f"Proteins were tested with {model_text}"
        + (" and " + ", ".join(extras) if extras else "")
        + "."
    )
    if "n_tested" in model:
        parts.append(f"{model['n_tested']} of {model.get('n_proteins', '?')} proteins were tested.")
    figures = []
    if model.get("consensus_correlation") is not None:
        figures.append(
            f"consensus within-subject correlation {_fmt(model['consensus_correlation'])}"
            + (" (fixed by the user)" if model.get("correlation_given") else "")
        )
    if model.get("df_prior") is not None:
        figures.append(f"prior degrees of freedom {_fmt(model['df_prior'])}")
    if model.get("s2_prior") is not None:
        figures.append(f"prior variance {_fmt(model['s2_prior'])}")
    if figures:
        parts.append("Model-wide estimates: " + "; ".join(figures) + ".")
    contrasts = model.get("contrasts") or (folder.contrasts if folder is not None else [])
    if contrasts:
        parts.append(
            "Estimands (contrasts): " + ", ".join(map(str, contrasts)) + ". P-values were "
            "adjusted by Benjamini-Hochberg within each contrast; significance is padj < "
            f"{FDR:g}. Confidence intervals are estimate ± t(0.975, df) × se."
        )
    inputs = run.get("inputs", {}) or {}
    if inputs:
        parts.append(
            "Inputs: "
            + "; ".join(
                f"{role} {entry.get('path', '?')} (SHA-256 {str(entry.get('sha256', '?'))[:12]}…)"
                for role, entry in inputs.items()
                if isinstance(entry, Mapping)
            )
            + "."
        )
    return " ".join(parts)


def _image(name: str, svg: bytes) -> str:
    data = base64.b64encode(svg).decode("ascii")
    caption = _CAPTIONS.get(name, "")
    if name.startswith("volcano_"):
        caption = (
            f"Volcano plot of {name.removeprefix('volcano_')}: coloured points have "
            f"padj < {FDR:g}; the dashed line is the FDR threshold."
        )
    return (
        f'<figure id="fig-{html.escape(name)}"><img alt="{html.escape(name)}" '
        f'src="data:image/svg+xml;base64,{data}"><figcaption><b>{html.escape(name)}</b>. '
        f"{html.escape(caption)}</figcaption></figure>"
    )


def _table(
    frame: pd.DataFrame,
    *,
    text_columns: Sequence[str] = (),
    sortable: bool = True,
    significant: pd.Series | None = None,
) -> str:
    head = "".join(
        f'<th class="{"text" if c in text_columns else "num"}" scope="col">'
        f"{html.escape(str(c))}</th>"
        for c in frame.columns
    )
    rows = []
    for i, (_, row) in enumerate(frame.iterrows()):
        cells = []
        for c in frame.columns:
            v = row[c]
            if c in text_columns:
                cells.append(f'<td class="text">{html.escape(_fmt(v))}</td>')
            else:
                raw = "" if v is None or (isinstance(v, float) and not np.isfinite(v)) else repr(v)
                cells.append(f'<td data-value="{html.escape(raw)}">{html.escape(_fmt(v))}</td>')
        cls = ' class="sig"' if significant is not None and bool(significant.iloc[i]) else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    cls = ' class="sortable"' if sortable else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _top_table(folder: ResultsFolder, contrast: str) -> str:
    from salivaprot.plot.forest import confidence_interval

    rows = folder.results[folder.results["contrast"] == contrast].dropna(subset=["pvalue"])
    n_significant = int((rows["padj"] < FDR).sum())
    rows = rows.sort_values(["pvalue", "protein_id"], kind="stable").head(TOP_N)
    if rows.empty:
        return '<p class="note">No estimate in this contrast.</p>'
    table = pd.DataFrame({"protein": rows["protein_id"], "gene": rows["gene"]})
    if rows["log2fc"].notna().any():
        ci = confidence_interval(rows)
        table["log2fc"] = rows["log2fc"]
        table["CI low"] = ci["low"]
        table["CI high"] = ci["high"]
    else:
        table["F"] = rows.get("stat", np.nan)
    table["pvalue"] = rows["pvalue"]
    table["padj"] = rows["padj"]
    note = (
        f'<p class="note">{n_significant} protein(s) with padj &lt; {FDR:g}; the '
        f"{len(rows)} smallest p-values are shown (click a header to sort).</p>"
    )
    return note + _table(
        table.reset_index(drop=True),
        text_columns=("protein", "gene"),
        significant=(rows["padj"] < FDR).reset_index(drop=True),
    )


def build_report(folder: ResultsFolder, figures: Mapping[str, bytes]) -> str:
    """The report's HTML.

    Parameters
    ----------
    folder : ResultsFolder
        The results folder.
    figures : mapping of str to bytes
        Figure name -> SVG bytes (from :func:`salivaprot.plot.to_bytes`), in order.
    """
    from salivaprot.figures import primary_contrast

    run = folder.run
    title = f"salivaprot report: {folder.path.name}"
    primary = primary_contrast(folder)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        '<nav><a href="#methods">Methods</a><a href="#results">Results</a>'
        '<a href="#figures">Figures</a><a href="#qc">QC</a></nav>',
    ]
    out.append('<h2 id="methods">Methods</h2>')
    out.append(f"<p>{html.escape(methods_text(run, folder))}</p>")
    argv = run.get("argv")
    if argv:
        out.append(
            f'<p class="note">Command: <code>{html.escape(" ".join(map(str, argv)))}</code></p>'
        )
    out.append('<h2 id="results">Top results per contrast</h2>')
    if primary:
        out.append(f'<p class="note">Primary contrast: <b>{html.escape(primary)}</b>.</p>')
    for contrast in folder.contrasts:
        out.append(f"<h3>{html.escape(contrast)}</h3>")
        out.append(_top_table(folder, contrast))
    out.append('<h2 id="figures">Figures</h2>')
    for name, svg in figures.items():
        if name not in ("qc", "run_qc"):
            out.append(_image(name, svg))
    out.append('<h2 id="qc">Quality control</h2>')
    for name in ("qc", "run_qc"):
        if name in figures:
            out.append(_image(name, figures[name]))
    if folder.qc is None:
        out.append(
            '<p class="note">No run QC table (qc.tsv): TIC and MS2 panels are not shown.</p>'
        )
    if folder.flow is not None:
        out.append("<h3>Sample flow</h3>")
        out.append(_table(folder.flow, text_columns=("step",), sortable=False))
    notes = [*map(str, run.get("notes", []) or []), *folder.notes]
    if notes:
        out.append(
            "<h3>Notes</h3><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"
        )
    out.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(out) + "\n"
