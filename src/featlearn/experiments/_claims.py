"""The claims of ``featlearn reproduce``, read off its records by rules fixed before any run
(DESIGN section 7).

Every rule below was written, with its numbers, before the first full run of the shipped specs;
each can fail, and a claim that the measurements do not show is reported as not shown, with the
numbers. ``RULES`` is printed in the report.

Separation at a fixed budget (sweep ``reproduce-separation``, noiseless, Gaussian inputs):

- S1 the kernel's median relative risk at n = 8 d^2 rises by at least ``RISE`` from the smallest
  to the largest d, and at the largest d lies within [``APPROACH``] times the target's energy
  share above degree 2 (0.5 on dls-r2p3);
- S2 the network's risk at n = 8 d^2 does not grow with d: the slope of log(risk) on log d over
  every seed is at most ``FLAT`` (one-sided: a falling risk passes); and its median is below the
  kernel's at every d;
- S3 per degree, the kernel's learned fraction of the degree-3 energy falls by at least ``DROP``
  from the smallest to the largest d, while the network's stays at least ``KEEP`` at every d;
- S4 at n = d^3 the kernel's risk does not grow with d (slope at most ``FLAT``, one-sided);
- S5 on the sphere, the kernel's median risk at n = 8 d^2 is within ``THEORY_TOL`` (relative) of
  the parameter-free learning-curve theory (``featlearn.metrics.kernel_theory_risk``) at every d;
- S6 with label noise (sigma^2 > 0) the network's median risk is below the kernel's at every d.

Thresholds (sweep ``reproduce-thresholds``): one level ``EPS`` for every learner; the layer-wise
exponent within ``NEAR`` of 2, the kernel's within ``NEAR`` of 3, and their intervals disjoint. The
theory's own local slope over the kernel's d range is reported beside the kernel's exponent.

Transfer (sweep ``reproduce-transfer``): the transfer slope of log risk on log d within ``FLAT`` of
0 while the kernel's is larger by more than ``FLAT``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from featlearn.experiments._analysis import fit_exponent, fit_exponent_from_runs, thresholds
from featlearn.experiments._separation import budget_column, budget_table, risk_trend

__all__ = [
    "BUDGET",
    "EPS",
    "EPS_TABLE",
    "RULES",
    "separation_claims",
    "threshold_claims",
    "transfer_claims",
]

BUDGET = 8.0  # n = BUDGET d^2
BUDGET_D3 = 1.0  # n = BUDGET_D3 d^3
RISE = 0.1
APPROACH = (0.75, 1.25)
FLAT = 0.25
DROP = 0.2
KEEP = 0.5
THEORY_TOL = 0.25
EPS = 0.2
EPS_TABLE: tuple[float, ...] = (0.3, 0.2, 0.1, 0.05)
NEAR = 0.5
N_BOOT = 1000
#: Names of the sweeps whose records the separation and threshold claims read.
SEPARATION, THRESHOLDS = "reproduce-separation", "reproduce-thresholds"

RULES = {
    "budget": f"n = {BUDGET:g} d^2 (and n = {BUDGET_D3:g} d^3 for the kernel)",
    "S1": f"kernel risk at n = {BUDGET:g} d^2 rises by >= {RISE} from smallest to largest d and "
    f"ends within {APPROACH[0]}-{APPROACH[1]} x the energy share above degree 2",
    "S2": f"network risk at n = {BUDGET:g} d^2 does not grow (slope of log risk on log d <= {FLAT}) and "
    "below the kernel's at every d",
    "S3": f"kernel's learned degree-3 fraction falls by >= {DROP} from smallest to largest d; the "
    f"network's stays >= {KEEP} at every d",
    "S4": f"kernel risk at n = {BUDGET_D3:g} d^3 does not grow (slope <= {FLAT})",
    "S5": f"kernel risk on the sphere within {THEORY_TOL:.0%} of the parameter-free theory at every d",
    "S6": "with label noise, network risk below the kernel's at every d",
    "thresholds": f"one level eps = {EPS} for every learner; exponent near (within {NEAR}) 2 for "
    "the network and 3 for the kernel; 90% intervals disjoint",
    "transfer": f"transfer slope of log risk on log d within {FLAT} of 0 and the kernel's larger "
    f"by more than {FLAT}",
    "intervals": "medians over seeds with 90% percentile-bootstrap intervals of the median; "
    "slopes with 90% residual-bootstrap intervals; exponents with the wider of the replicate "
    "(paired seeds resampled) and residual bootstrap intervals",
}


def _clean(value: Any) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _verdict(claim: str, shown: bool, evidence: str, rule: str) -> dict[str, Any]:
    return {"claim": claim, "shown": bool(shown), "evidence": evidence, "rule": rule}


_DEFAULTS = {"inputs": "gaussian", "noise": 0.0}  # what a record without the column ran with


def _is(df: pd.DataFrame, **values: Any) -> pd.Series:
    mask = pd.Series(True, index=df.index)
    for column, value in values.items():
        col = df[column] if column in df else pd.Series(None, index=df.index, dtype=object)
        default = _DEFAULTS.get(column)
        mask &= col.map(lambda v, d=default: d if v is None or v != v else v) == value
    return mask


def _budget_rows(df: pd.DataFrame, learner: str, power: int, c: float, **where) -> pd.DataFrame:
    sel = df[_is(df, learner=learner, **where)]
    return sel[budget_column(sel, power) == c] if len(sel) else sel


def _table(rows: pd.DataFrame, name: str) -> list[dict[str, Any]]:
    if not len(rows):
        return []
    out = budget_table(rows, by=("learner",)).assign(case=name)
    return out.drop(columns="learner").to_dict("records")


def _degree3(row: dict[str, Any]) -> float | None:
    frac = row.get("fractions") or []
    return frac[3] if len(frac) > 3 else None


def _rise_claim(ker: list[dict], share: float) -> dict[str, Any]:
    first, last = ker[0], ker[-1]
    rise = last["median"] - first["median"]
    lo, hi = APPROACH[0] * share, APPROACH[1] * share
    shown = rise >= RISE and lo <= last["median"] <= hi
    return _verdict(
        f"kernel risk at n = {BUDGET:g} d^2 climbs towards the degree-3 share {share:.2f}",
        shown,
        f"median {first['median']:.3f} at d = {first['d']} -> {last['median']:.3f} at d = "
        f"{last['d']} (rise {rise:+.3f}; needed >= {RISE} and an end in [{lo:.2f}, {hi:.2f}])",
        RULES["S1"],
    )


def _flat_claim(net_rows: pd.DataFrame, net: list[dict], ker: list[dict]) -> dict[str, Any]:
    trend = risk_trend(net_rows, n_boot=N_BOOT)
    kmed = {r["d"]: r["median"] for r in ker}
    below = all(r["median"] < kmed[r["d"]] for r in net if r["d"] in kmed)
    shown = trend.k <= FLAT and below and bool(kmed)
    return _verdict(
        f"network risk at n = {BUDGET:g} d^2 does not grow with d, and stays below the kernel's",
        shown,
        f"slope of log risk on log d {trend.k:.2f} [{_fmt(_clean(trend.ci_low))}, "
        f"{_fmt(_clean(trend.ci_high))}] (does not grow: <= {FLAT}); network below kernel at every "
        f"common d: {below}",
        RULES["S2"],
    )


def _degree_claim(net: list[dict], ker: list[dict]) -> dict[str, Any]:
    k3 = [_degree3(r) for r in ker]
    n3 = [_degree3(r) for r in net]
    ok = None not in k3 and None not in n3 and k3 and n3
    shown = bool(ok) and (k3[0] - k3[-1] >= DROP) and min(n3) >= KEEP
    fmt = lambda rows, vals: ", ".join(  # noqa: E731
        f"d={r['d']}: {_fmt(v)}" for r, v in zip(rows, vals, strict=True)
    )
    return _verdict(
        "kernel learns a falling share of the degree-3 energy; the network keeps it",
        shown,
        f"degree-3 learned fraction, kernel {fmt(ker, k3)}; network {fmt(net, n3)}",
        RULES["S3"],
    )


def _trend_claim(rows: pd.DataFrame, table: list[dict]) -> dict[str, Any]:
    trend = risk_trend(rows, n_boot=N_BOOT)
    meds = ", ".join(f"d={r['d']}: {r['median']:.3f}" for r in table)
    return _verdict(
        f"kernel risk at n = {BUDGET_D3:g} d^3 does not grow with d",
        trend.k <= FLAT,
        f"slope {trend.k:.2f} [{_fmt(_clean(trend.ci_low))}, {_fmt(_clean(trend.ci_high))}] "
        f"(does not grow: <= {FLAT}); medians {meds}",
        RULES["S4"],
    )


def _noisy_claim(net: list[dict], ker: list[dict]) -> dict[str, Any]:
    kmed = {r["d"]: r["median"] for r in ker}
    pairs = [(r["d"], r["median"], kmed[r["d"]]) for r in net if r["d"] in kmed]
    shown = bool(pairs) and all(a < b for _, a, b in pairs)
    text = ", ".join(f"d={d}: {a:.3f} vs {b:.3f}" for d, a, b in pairs)
    return _verdict(
        "with label noise the network still beats the kernel at every d",
        shown,
        f"median relative risk, network vs kernel: {text}",
        RULES["S6"],
    )


def separation_claims(fits: pd.DataFrame, report: Any) -> None:
    """Fill ``report`` (a ClaimReport) with the fixed-budget tables and verdicts S1-S6."""
    from featlearn.experiments._theory import theory_rows

    df = fits[fits["sweep"] == SEPARATION] if "sweep" in fits else fits
    if not len(df):
        return
    gauss = {"inputs": "gaussian", "noise": 0.0}
    cases = {
        "network": _budget_rows(df, "layerwise", 2, BUDGET, **gauss),
        "kernel": _budget_rows(df, "kernel-ridge", 2, BUDGET, **gauss),
        "random-features": _budget_rows(df, "random-features", 2, BUDGET, **gauss),
        "kernel-d3": _budget_rows(df, "kernel-ridge", 3, BUDGET_D3, **gauss),
        "kernel-sphere": _budget_rows(df, "kernel-ridge", 2, BUDGET, inputs="sphere", noise=0.0),
    }
    noisy = df[pd.to_numeric(df.get("noise"), errors="coerce").fillna(0.0) > 0]
    cases["network-noisy"] = _budget_rows(noisy, "layerwise", 2, BUDGET)
    cases["kernel-noisy"] = _budget_rows(noisy, "kernel-ridge", 2, BUDGET)
    tables = {name: _table(rows, name) for name, rows in cases.items()}
    report.budget = [row for rows in tables.values() for row in rows]
    net, ker = tables["network"], tables["kernel"]
    if net and ker:
        share = _share_above(cases["kernel"], 2)
        report.verdicts += [
            _rise_claim(ker, share),
            _flat_claim(cases["network"], net, ker),
            _degree_claim(net, ker),
        ]
    if len({r["d"] for r in tables["kernel-d3"]}) >= 2:
        report.verdicts.append(_trend_claim(cases["kernel-d3"], tables["kernel-d3"]))
    if tables["kernel-sphere"]:
        report.theory, verdict = theory_rows(cases["kernel-sphere"], tables["kernel-sphere"])
        report.verdicts.append(verdict)
    if tables["network-noisy"] and tables["kernel-noisy"]:
        report.verdicts.append(_noisy_claim(tables["network-noisy"], tables["kernel-noisy"]))


def _share_above(rows: pd.DataFrame, k: int) -> float:
    """The target's relative energy above degree k, from the records' ``energy_per_degree``."""
    energy = np.asarray(rows["energy_per_degree"].iloc[0], np.float64)
    return float(energy[k + 1 :].sum() / energy[1:].sum())


def _exponent(df: pd.DataFrame, learner: str, eps: float) -> dict[str, Any]:
    """k with the wider of the replicate-bootstrap (paired seeds) and residual-bootstrap
    intervals (the first sees seed noise only, the second scatter about the line only)."""
    sub = df[df["learner"] == learner]
    runs = fit_exponent_from_runs(sub, eps, by=("learner",), n_boot=N_BOOT, pair="pair_seed")
    runs = runs.iloc[0]
    th = thresholds(sub, eps, by=("learner", "d"))
    lo, hi = runs["ci_low"], runs["ci_high"]
    crossed = th[th["censored"] == ""]
    if crossed["d"].nunique() >= 3:
        resid = fit_exponent(crossed["d"], crossed["n_star"], n_boot=N_BOOT)
        lo, hi = np.nanmin([lo, resid.ci_low]), np.nanmax([hi, resid.ci_high])
    return {
        "learner": learner,
        "eps": eps,
        "k": _clean(runs["k"]),
        "ci_low": _clean(lo),
        "ci_high": _clean(hi),
        "n_points": int(runs["n_points"]),
        "d_range": [int(th["d"].min()), int(th["d"].max())],
        "censored_d": [int(v) for v in th.loc[th["censored"] != "", "d"]],
        "thresholds": {int(r.d): _clean(r.n_star) for r in th.itertuples()},
    }


def _near(claim: str, row: dict[str, Any], target: float, extra: str = "") -> dict[str, Any]:
    k = row["k"]
    shown = k is not None and abs(k - target) <= NEAR
    cens = f"; censored at d = {row['censored_d']}" if row["censored_d"] else ""
    return _verdict(
        claim,
        shown,
        f"k = {_fmt(k)} [{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}] at eps = "
        f"{row['eps']:g} from {row['n_points']} values of d{cens} (near: within {NEAR}){extra}",
        RULES["thresholds"],
    )


def threshold_claims(fits: pd.DataFrame, report: Any) -> None:
    """Fill ``report`` with the exponents at every level of EPS_TABLE and the verdicts at EPS."""
    from featlearn.experiments._theory import theory_slope

    df = fits[fits["sweep"] == THRESHOLDS] if "sweep" in fits else fits
    df = df[df["target"] == "dls-r2p3"] if "target" in df else df
    for name in [n for n in ("layerwise", "kernel-ridge") if n in set(df["learner"])]:
        rows = {eps: _exponent(df, name, eps) for eps in {*EPS_TABLE, EPS}}
        report.exponents.append(rows[EPS])
        for eps in EPS_TABLE:
            row = rows[eps]
            keys = ("learner", "eps", "k", "ci_low", "ci_high", "n_points")
            report.exponent_table.append({k: row[k] for k in keys})
    by_name = {e["learner"]: e for e in report.exponents}
    net, ker = by_name.get("layerwise"), by_name.get("kernel-ridge")
    if net:
        report.verdicts.append(_near("layer-wise exponent near 2", net, 2.0))
    if ker:
        slope = theory_slope(df[df["learner"] == "kernel-ridge"], EPS)
        extra = "" if slope is None else f"; the theory's own slope over this d range: {slope:.2f}"
        report.verdicts.append(_near("kernel exponent near p = 3", ker, 3.0, extra))
    if net and ker:
        ok = None not in (net["ci_high"], ker["ci_low"]) and net["ci_high"] < ker["ci_low"]
        report.verdicts.append(
            _verdict(
                "layer-wise and kernel intervals do not overlap",
                ok,
                f"layer-wise [{_fmt(net['ci_low'])}, {_fmt(net['ci_high'])}] vs "
                f"kernel [{_fmt(ker['ci_low'])}, {_fmt(ker['ci_high'])}]",
                RULES["thresholds"],
            )
        )


_TRANSFER_COLUMNS = {
    "transfer": "transfer_relative_risk",
    "layer-wise from scratch": "scratch_relative_risk",
    "random-features": "random_features_relative_risk",
    "kernel-ridge": "kernel_relative_risk",
}


def _transfer_slopes(group: pd.DataFrame, n_t: int, columns: dict[str, str]) -> list[dict]:
    out = []
    for label, col in columns.items():
        pts = group[["d", col]].dropna()
        if pts["d"].nunique() < 2 or (pts[col] <= 0).any():
            continue
        fit = fit_exponent(pts["d"], pts[col], n_boot=N_BOOT)
        out.append({"n_target": n_t, "method": label, "slope": fit.k,
                    "ci_low": _clean(fit.ci_low), "ci_high": _clean(fit.ci_high)})  # fmt: skip
    return out


def transfer_claims(df: pd.DataFrame, report: Any) -> None:
    """Fill ``report`` with the transfer table, the slopes of log risk on log d and the verdict."""
    columns = {k: v for k, v in _TRANSFER_COLUMNS.items() if v in df.columns}
    for n_t, group in df.groupby("n_target"):
        med = group.groupby("d")[list(columns.values())].median()
        for d, row in med.iterrows():
            values = {k: _clean(row[v]) for k, v in columns.items()}
            report.transfer.append({"n_target": int(n_t), "d": int(d), **values})
        report.transfer_slopes += _transfer_slopes(group, int(n_t), columns)
    for n_t in sorted({s["n_target"] for s in report.transfer_slopes}):
        slopes = {s["method"]: s for s in report.transfer_slopes if s["n_target"] == n_t}
        tr, ker = slopes.get("transfer"), slopes.get("kernel-ridge")
        if tr is None or ker is None:
            continue
        report.verdicts.append(
            _verdict(
                f"transfer risk flat across d at n_target = {n_t} while the kernel's grows",
                abs(tr["slope"]) <= FLAT and ker["slope"] > tr["slope"] + FLAT,
                f"slope of log risk on log d: transfer {tr['slope']:.2f} "
                f"[{_fmt(tr['ci_low'])}, {_fmt(tr['ci_high'])}], kernel {ker['slope']:.2f} "
                f"[{_fmt(ker['ci_low'])}, {_fmt(ker['ci_high'])}] (flat: |slope| <= {FLAT})",
                RULES["transfer"],
            )
        )
