"""The claims section of ``featlearn reproduce``'s report: verdicts, exponents, transfer.

Takes the JSON-safe claims computed by ``featlearn._reproduce.evaluate_claims`` (every number in
it comes from the store) and renders them; decides nothing itself.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["claims_section", "transfer_figure"]


def transfer_figure(rows: list[Mapping[str, Any]]) -> Figure:
    """Median relative risk vs d at each fixed n_target, one line per method, log-log axes."""
    df = pd.DataFrame(rows)
    methods = [c for c in df.columns if c not in ("n_target", "d")]
    groups = list(df.groupby("n_target"))
    fig = Figure(figsize=(5.2 * len(groups), 4.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(groups)))
    for ax, (n_t, g) in zip(axes, groups, strict=True):
        g = g.sort_values("d")
        for i, m in enumerate(methods):
            style = "-o" if m == "transfer" else "--s"
            ax.plot(g["d"], g[m], style, color=f"C{i}", label=m)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ds = g["d"].to_numpy(np.float64)
        ax.set_xticks(ds, [f"{v:g}" for v in ds])
        ax.set_xticks([], minor=True)
        ax.set(xlabel="d", ylabel="relative risk (median)", title=f"transfer at n_target = {n_t}")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    return fig


def _rows_table(rows: list[Mapping[str, Any]], table_id: str, table: Callable) -> str:
    return table(pd.DataFrame(rows), table_id) if rows else ""


def claims_section(claims: Mapping[str, Any], add_figure: Callable, table: Callable) -> list[str]:
    """HTML parts: the verdicts first, then the evidence. ``add_figure(fig, stem, alt)`` embeds a
    figure; ``table(df, id)`` renders a table."""
    parts = ["<h2>The claims, as measured here</h2>"]
    verdicts = claims.get("verdicts", [])
    if verdicts:
        body = "".join(
            f"<tr><td style='text-align:left'>{html.escape(v['claim'])}</td>"
            f"<td><b>{'shown' if v['shown'] else 'NOT shown'}</b></td>"
            f"<td style='text-align:left'>{html.escape(v['evidence'])}</td></tr>"
            for v in verdicts
        )
        parts.append(
            '<table id="verdicts"><thead><tr><th>claim</th><th>verdict</th><th>evidence</th>'
            f"</tr></thead><tbody>{body}</tbody></table>"
        )
    else:
        parts.append("<p>No claim could be evaluated: the store lacks the records.</p>")
    exps = [{k: v for k, v in e.items() if k != "thresholds"} for e in claims.get("exponents", [])]
    if exps:
        parts.append(
            "<h3>Headline exponents (n* ∝ d^k; interval: the wider of replicate and residual bootstrap)</h3>"
        )
        parts.append(_rows_table(exps, "headline-exponents", table))
    if claims.get("exponent_table"):
        parts.append(
            "<h3>Exponent k at every threshold level eps (how much the choice of eps matters)</h3>"
        )
        parts.append(_rows_table(claims["exponent_table"], "exponents-by-eps", table))
    if claims.get("transfer"):
        parts.append("<h3>Transfer: median relative risk vs d at fixed n_target</h3>")
        parts.append(add_figure(transfer_figure(claims["transfer"]), "transfer_vs_d", "transfer"))
        parts.append(_rows_table(claims["transfer"], "transfer-risks", table))
        parts.append(_rows_table(claims.get("transfer_slopes", []), "transfer-slopes", table))
    return parts
