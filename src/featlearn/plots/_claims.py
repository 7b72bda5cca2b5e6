"""The claims section of ``featlearn reproduce``'s report: verdicts, exponents, transfer.

Takes the JSON-safe claims computed by ``featlearn.reproduce.evaluate_claims`` (every number in
it comes from the store) and renders them; decides nothing itself.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from featlearn.plots._separation import (
    collapse_figure,
    degree_figure,
    headline_figure,
    theory_figure,
)

__all__ = ["claims_section", "transfer_figure"]

#: Display names of the transfer experiment's methods.
METHODS = {
    "transfer": "transfer (frozen features, new head)",
    "scratch": "layer-wise network from scratch",
    "random_features": "random features",
    "kernel": "NTK kernel ridge",
}


def transfer_figure(
    rows: list[Mapping[str, Any]], names: Mapping[str, str] | None = None
) -> Figure:
    """Median relative risk vs d at each fixed n_target, one line per method, log-log axes, all
    panels on one y axis; ``names`` overrides the display names of METHODS (the kernel used)."""
    names = {**METHODS, **(names or {})}
    df = pd.DataFrame(rows)
    methods = [c for c in df.columns if c not in ("n_target", "d")]
    groups = list(df.groupby("n_target"))
    fig = Figure(figsize=(5.2 * len(groups), 4.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(groups), sharey=True))
    for ax, (n_t, g) in zip(axes, groups, strict=True):
        g = g.sort_values("d")
        for i, m in enumerate(methods):
            style = "-o" if m == "transfer" else "--s"
            ax.plot(g["d"], g[m], style, color=f"C{i}", label=names.get(m, m))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ds = g["d"].to_numpy(np.float64)
        ax.set_xticks(ds, [f"{v:g}" for v in ds])
        ax.set_xticks([], minor=True)
        ax.set(xlabel="d", ylabel="relative risk (median)", title=f"transfer at n_target = {n_t}")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    return fig


def _rows_table(
    rows: list[Mapping[str, Any]], table_id: str, table: Callable, summary: str = "Table"
) -> str:
    """The rows as a table folded under ``summary`` (the figures and verdicts stay open)."""
    if not rows:
        return ""
    return f"<details><summary>{html.escape(summary)}</summary>{table(pd.DataFrame(rows), table_id)}</details>"


def _verdicts(verdicts: list[Mapping[str, Any]]) -> str:
    body = "".join(
        f"<tr><td style='text-align:left'>{html.escape(v['claim'])}</td>"
        f"<td><b>{'shown' if v['shown'] else 'NOT shown'}</b></td>"
        f"<td style='text-align:left'>{html.escape(v['evidence'])}</td>"
        f"<td style='text-align:left'>{html.escape(v.get('rule', ''))}</td></tr>"
        for v in verdicts
    )
    return (
        '<table id="verdicts"><thead><tr><th>claim</th><th>verdict</th><th>evidence</th>'
        f"<th>rule (fixed before the run)</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _in_brief(verdicts: list[Mapping[str, Any]]) -> str:
    """One line on top: how many claims this run shows, each named (details in the table)."""
    shown = sum(bool(v["shown"]) for v in verdicts)
    each = "; ".join(f"{v['claim']}: {'shown' if v['shown'] else 'NOT shown'}" for v in verdicts)
    return (f'<p id="in-brief"><b>{shown} of {len(verdicts)} claims shown by this run.</b> '
            f"{html.escape(each)}.</p>")  # fmt: skip


def _caption(text: str) -> str:
    return f'<p class="caption">{html.escape(text)}</p>'


def _budget_parts(claims: Mapping[str, Any], add_figure: Callable, run: Mapping) -> list[str]:
    """The headline figure and the per-degree bars, each with what was run and what it shows."""
    budget = claims.get("budget", [])
    if not any(r["case"] in ("network", "kernel") for r in budget):
        return []
    share, c = run.get("share", 0.5), run.get("budget", 8)
    seeds = max(r["seeds"] for r in budget)
    what = (f"{run.get('target', 'dls-r2p3')}, Gaussian inputs, noiseless, n = {c:g}·d² samples "
            f"of which 20% hold out the ridge's lambda, width {run.get('width', '?')}, "
            f"{seeds} paired seeds per d; points are medians, bars 90% percentile-bootstrap "
            "intervals of the median (2000 draws).")  # fmt: skip
    parts = [
        add_figure(headline_figure(budget, share=share, budget_c=c), "separation", "separation"),
        _caption(f"Relative excess risk vs d at a fixed budget. {what} The theorem: the network "
                 f"needs ~d² samples, every kernel ~d³, so at n ∝ d² the network's risk should "
                 f"stay flat while the kernel's climbs towards {share:.2f}, the energy it cannot "
                 "learn below ~d³ samples. The verdicts below say whether it does."),
    ]  # fmt: skip
    if any(r.get("fractions") for r in budget):
        parts += [
            add_figure(degree_figure(budget), "degrees", "learned energy per degree"),
            _caption("Learned fraction of the target's energy in degrees 2 and 3 at the same "
                     "budget, estimated from each predictor's Hermite coefficients on fresh test "
                     "points (Monte-Carlo error about 1/sqrt(n_test) per coefficient)."),
        ]  # fmt: skip
    return parts


def claims_section(
    claims: Mapping[str, Any],
    add_figure: Callable,
    table: Callable,
    *,
    run: Mapping[str, Any] | None = None,
    thresholds_frame: pd.DataFrame | None = None,
) -> list[str]:
    """HTML parts: the separation figure and per-degree bars first, then the verdicts with their
    rules, then the evidence (theory, thresholds, collapse, transfer). ``add_figure(fig, stem,
    alt)`` embeds a figure; ``table(df, id)`` renders a table; ``run`` describes what was run
    (target, width, budget, share); ``thresholds_frame`` holds the threshold sweep's records."""
    run = run or {}
    verdicts = claims.get("verdicts", [])
    parts = [_in_brief(verdicts)] if verdicts else []
    parts += ["<h2>The separation, as measured here</h2>", *_budget_parts(claims, add_figure, run)]
    parts.append("<h2>The claims and their verdicts</h2>")
    if verdicts:
        parts.append(_verdicts(verdicts))
    else:
        parts.append("<p>No claim could be evaluated: the store lacks the records.</p>")
    if claims.get("budget"):
        parts.append(_rows_table(claims["budget"], "budget", table, "Fixed budget: median "
                                 "relative risk per case and d [90% percentile-bootstrap "
                                 "interval of the median, 2000 draws]"))  # fmt: skip
    if claims.get("theory"):
        parts.append("<h3>Kernel on the sphere: measured vs the parameter-free theory</h3>")
        parts.append(add_figure(theory_figure(claims["theory"], claims["budget"]), "theory",
                                "kernel vs theory"))  # fmt: skip
        parts.append(_rows_table(claims["theory"], "theory-table", table,
                                 "Kernel on the sphere: measured vs theory, per d"))  # fmt: skip
    parts += _threshold_parts(claims, add_figure, table, thresholds_frame)
    if claims.get("transfer"):
        parts.append("<h3>Transfer: median relative risk vs d at fixed n_target</h3>")
        parts.append(add_figure(transfer_figure(claims["transfer"]), "transfer_vs_d", "transfer"))
        parts.append(
            _caption(
                "Median relative risk over seeds of each method at a fixed "
                "number of target samples n_target, against d; the transfer "
                "reuses the first layer learned on the source head. Slopes of "
                "log risk on log d with 90% residual-bootstrap intervals below."
            )
        )
        parts.append(
            _rows_table(
                claims["transfer"],
                "transfer-risks",
                table,
                "Transfer: median relative risk per method, n_target and d",
            )
        )
        parts.append(_rows_table(claims.get("transfer_slopes", []), "transfer-slopes", table,
                                 "Transfer: slope of log risk on log d [90% residual bootstrap]"))  # fmt: skip
    if claims.get("rules"):
        rules = pd.DataFrame(sorted(claims["rules"].items()), columns=["rule", "statement"])
        parts.append(f"<details><summary>Rules, fixed in code before any run</summary>"
                     f"{table(rules, 'rules')}</details>")  # fmt: skip
    return parts


def _threshold_parts(claims, add_figure, table, frame) -> list[str]:
    parts = []
    exps = [{k: v for k, v in e.items() if k != "thresholds"} for e in claims.get("exponents", [])]
    if exps:
        eps = exps[0]["eps"]
        parts.append(f"<h3>Thresholds at one level eps = {eps:g} for every learner: n* ∝ d^k "
                     "(interval: the wider of the paired-seed and residual bootstrap)</h3>")  # fmt: skip
        parts.append(table(pd.DataFrame(exps), "headline-exponents"))
        if frame is not None and len(frame):
            parts.append(add_figure(collapse_figure(frame, eps=eps), "collapse", "collapse"))
            parts.append(_caption("The threshold sweep's median curves against n/d² and n/d³: a "
                                  "learner needing ~d^k samples has curves that collapse on the "
                                  "n/d^k axis. Dotted: eps."))  # fmt: skip
    if claims.get("exponent_table"):
        parts.append(_rows_table(claims["exponent_table"], "exponents-by-eps", table,
                                 "Exponent k at every threshold level eps (how much eps "
                                 "matters; same interval method)"))  # fmt: skip
    return parts
