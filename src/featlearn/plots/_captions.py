"""What a section's records ran, in words, for the captions of its figures.

Every fact is read from the records (the resolved configs), never from defaults assumed here; a
field the records do not hold is left out of the sentence.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from featlearn.plots._labels import NETWORKS, format_value

__all__ = ["describe_run"]


def _values(df: pd.DataFrame, column: str) -> list[Any]:
    if column not in df:
        return []
    values = [v for v in df[column].dropna().unique() if str(v) not in ("", "nan", "<NA>")]
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _listed(values: Iterable[Any]) -> str:
    return ", ".join(format_value(v) for v in values)


def _span(df: pd.DataFrame, column: str, name: str) -> str | None:
    values = _values(df, column)
    if not values:
        return None
    if len(values) == 1:
        return f"{name} = {format_value(values[0])}"
    if len(values) <= 6:
        return f"{name} ∈ {{{_listed(values)}}}"
    return f"{name} from {format_value(values[0])} to {format_value(values[-1])}"


def _target(df: pd.DataFrame) -> str | None:
    targets = _values(df, "target")
    if not targets:
        return None
    inputs = _values(df, "inputs")
    law = f" ({', '.join(map(str, inputs))} inputs)" if inputs else ""
    return f"target {', '.join(map(str, targets))}{law}"


def _width(df: pd.DataFrame) -> str | None:
    nets = df[df["learner"].isin(NETWORKS)] if "learner" in df else df
    widths = _values(nets, "width")
    if not widths:
        return None
    scope = " (networks)" if "learner" in df else ""
    return f"width m = {_listed(widths)}{scope}"


def _seeds(df: pd.DataFrame) -> str | None:
    pairs = _values(df, "pair_seed")
    if pairs:
        return (f"{len(pairs)} paired seeds per d (one U, initialisation and test set per "
                "(d, seed), shared by every learner and n)")  # fmt: skip
    if "hash" not in df or "replicate" not in df:
        return None
    counts = df.groupby("hash")["replicate"].nunique()
    low, high = int(counts.min()), int(counts.max())
    reps = f"{low}" if low == high else f"{low}–{high}"
    return f"{reps} replicate{'s' if high > 1 else ''} per cell (seeds from each cell's hash)"


def _validation(df: pd.DataFrame) -> str | None:
    n_val = _values(df, "n_val")
    if not n_val:
        return None
    how = _values(df, "validation")
    if how and how != ["fresh"]:
        return f"λ chosen by validation ({', '.join(map(str, how))})"
    return f"λ chosen on n_val = {_listed(n_val)} fresh validation samples"


def describe_run(df: pd.DataFrame, *, n: str = "n") -> str:
    """One sentence of what the records ran: target, d, n, width, seeds, noise, validation
    ("Ran target dls-r2p3 (gaussian inputs); d ∈ {4, 6}; n ∈ {64, 1024}; ...")."""
    noise = _values(df, "noise")
    facts = [
        _target(df),
        _span(df, "d", "d"),
        _span(df, n, n),
        _width(df),
        _seeds(df),
        f"label noise σ² = {_listed(noise)}" if noise else None,
        _validation(df),
    ]
    return "Ran " + "; ".join(f for f in facts if f) + "."
