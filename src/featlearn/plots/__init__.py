"""Plots: figures and the HTML report of a results store (DESIGN sections 8-9).

Plots read the store (through ``featlearn.runtime.results_frame``) and nothing else:
``write_report(store, out)`` writes one self-contained HTML page and each figure as PNG and PDF;
the figure functions take the flat results table and return matplotlib figures.
"""

from featlearn.plots._figures import (
    alignment_figure,
    risk_figure,
    staircase_levels,
    threshold_figure,
)
from featlearn.plots._report import write_report

__all__ = [
    "alignment_figure",
    "risk_figure",
    "staircase_levels",
    "threshold_figure",
    "write_report",
]
