"""Human labels for the report: learner names with their options, fields, values and axes.

One place turns stored names into the words a reader expects: ``kernel-ridge`` with
``options.kernel = ntk`` is "NTK kernel ridge", ``options.n_lambdas`` stored as 3.0 is
"n_lambdas = 3", ``relative_risk`` on an axis is "relative excess risk".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["axis_label", "format_value", "group_label", "learner_label"]

#: Display name of each registered learner (unknown names are shown as they are).
LEARNERS = {
    "layerwise": "layer-wise network",
    "giant-step": "giant-step network",
    "full-training": "fully trained network",
    "random-features": "random features",
    "kernel-ridge": "kernel ridge",
    "rfm": "RFM",
}
#: Learners whose ``width`` is part of what they are (the kernel methods have none).
NETWORKS = ("layerwise", "giant-step", "full-training", "random-features")
KERNELS = {
    "ntk": "NTK",
    "nngp": "NNGP",
    "poly": "polynomial",
    "rbf": "RBF",
    "laplace": "Laplace",
    "gaussian": "Gaussian",
}
AXES = {
    "relative_risk": "relative excess risk",
    "excess_risk": "excess risk",
    "alignment": "alignment ‖WUᵀ‖²/‖W‖²",
    "n": "samples n",
    "d": "input dimension d",
}
#: Fields a learner's label absorbs (they are part of its name, not extra settings).
ABSORBED = ("learner", "options.kernel", "options.oracle", "width")


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating) and math.isnan(value):
        return True
    return str(value) in ("", "{}", "nan", "<NA>", "None")


def format_value(value: Any) -> str:
    """A stored value as text: integral numbers without ``.0``, other floats to 4 digits, booleans
    and strings as they are (``3.0`` -> ``3``, ``0.25`` -> ``0.25``, ``1e-06`` -> ``1e-06``)."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.4g}"
    text = str(value)
    try:  # group labels arrive as text ("3.0"): the same rule
        return format_value(float(text)) if text.strip() not in ("nan", "inf", "-inf") else text
    except ValueError:
        return text


def _truthy(value: Any) -> bool:
    return not _missing(value) and str(value).lower() not in ("false", "0", "0.0")


def learner_label(name: str, options: Mapping[str, Any] | None = None, width: Any = None) -> str:
    """ "NTK kernel ridge", "oracle NTK kernel ridge", "RFM (Laplace kernel)",
    "layer-wise network (m = 256)": the learner's name with the options that define it;
    ``width`` is shown for network learners only."""
    options = {k: v for k, v in (options or {}).items() if not _missing(v)}
    label = LEARNERS.get(name, name)
    kernel = KERNELS.get(str(options.get("kernel", "")), options.get("kernel"))
    if name == "kernel-ridge":
        label = f"{kernel} kernel ridge" if kernel else label
        label = f"oracle {label}" if _truthy(options.get("oracle")) else label
    elif name == "rfm" and kernel:
        label = f"RFM ({kernel} kernel)"
    if name in NETWORKS and not _missing(width):
        label = f"{label} (m = {format_value(width)})"
    return label


def field_label(field: str, value: Any) -> str:
    """``options.n_lambdas``, 3.0 -> "n_lambdas = 3"; ``noise``, 0.25 -> "noise = 0.25"."""
    return f"{field.removeprefix('options.')} = {format_value(value)}"


def group_label(facets: Sequence[str], key: Any) -> str:
    """One facet group's label: its learner (with the options that name it) first, then the
    other fields it sets as ``name = value``; fields a group leaves unset are left out."""
    keys = key if isinstance(key, tuple) else (key,)
    given = {f: v for f, v in zip(facets, keys, strict=False) if not _missing(v)}
    parts = []
    if "learner" in given:
        options = {f.removeprefix("options."): given.get(f) for f in ABSORBED if f in given}
        parts.append(learner_label(str(given["learner"]), options, given.get("width")))
    absorbed = ABSORBED if "learner" in given else ()
    parts += [field_label(f, v) for f, v in given.items() if f not in absorbed]
    return ", ".join(parts) or "all cells"


def axis_label(column: str) -> str:
    """The words for a column on an axis (``relative_risk`` -> "relative excess risk")."""
    return AXES.get(column, column.replace("_", " "))
