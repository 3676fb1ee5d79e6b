"""Figures: functions that take data plus ``ax=``, return the Axes, never fit a model,
never show or save (see :mod:`salivaprot.figures` for the standard set drawn from a
results folder).

Journal style comes from :func:`style` (a context) and :func:`new_figure`
(89 mm single / 183 mm double column); :func:`save` writes PDF, SVG and 300 dpi
PNG with fixed metadata, so regenerated files are byte-identical.
"""

from salivaprot.plot._style import (
    DOUBLE_COLUMN_MM,
    OKABE_ITO,
    SINGLE_COLUMN_MM,
    arm_colors,
    empty_state,
    new_figure,
    save,
    style,
    to_bytes,
    visit_markers,
)
from salivaprot.plot.forest import confidence_interval, forest
from salivaprot.plot.heatmap import correlation_heatmap, protein_heatmap
from salivaprot.plot.pca import pca
from salivaprot.plot.qc import (
    intensity_distributions,
    missing_by_group,
    proteins_per_sample,
    run_qc,
    sample_flow,
)
from salivaprot.plot.trajectory import arm_means, trajectory
from salivaprot.plot.volcano import volcano

__all__ = [
    "DOUBLE_COLUMN_MM",
    "OKABE_ITO",
    "SINGLE_COLUMN_MM",
    "arm_colors",
    "arm_means",
    "confidence_interval",
    "correlation_heatmap",
    "empty_state",
    "forest",
    "intensity_distributions",
    "missing_by_group",
    "new_figure",
    "pca",
    "protein_heatmap",
    "proteins_per_sample",
    "run_qc",
    "sample_flow",
    "save",
    "style",
    "to_bytes",
    "trajectory",
    "visit_markers",
    "volcano",
]
