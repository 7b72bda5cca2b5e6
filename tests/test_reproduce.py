"""featlearn reproduce: claims are computed from the stored records, in both directions.

Synthetic experiments with known exponents stand in for the real fits (which the shipped smoke
size exercises end to end), so the verdict logic is checked against known truth: a true claim is
shown, a false one is reported as not shown.
"""

import json
import math

import numpy as np
import pytest

from featlearn._reproduce import EPS, evaluate_claims, reproduce
from featlearn.experiments import Experiment

HEADLINE = """
name = "synthetic"
experiment = "fit"
replicates = 3
[base]
target = "dls-r2p3"
[cases.layerwise]
learner = "layerwise"
[cases.layerwise.grid]
d = [8, 12, 16, 24, 32]
n = {{ geomspace = [1, 1000], num = 10, times = "d^2", integer = true }}
[cases.kernel]
learner = "kernel-ridge"
[cases.kernel.grid]
d = [8, 10, 12, 14]
n = {{ geomspace = [0.01, 100], num = 10, times = "d^{kernel_k}", integer = true }}
"""
TRANSFER = """
name = "synthetic-transfer"
experiment = "transfer"
replicates = 2
[base]
n_target = 500
[grid]
d = [8, 16, 32]
"""
TRUE_K = {"layerwise": 2.0}


def _synthetic(kernel_k: float) -> dict[str, Experiment]:
    def fit(cfg, *, seed):
        k = TRUE_K.get(cfg["learner"], kernel_k)
        # relative risk = 0.05 (n*/n)^0.8 with n* = 20 d^k at eps = 0.05, jittered by the seed
        jitter = math.exp(0.03 * np.random.default_rng(seed).standard_normal())
        scale = EPS[cfg["learner"]] * (20 * cfg["d"] ** k / cfg["n"]) ** 0.8
        return {"relative_risk": min(scale * jitter, 2.0), "alignment": None}

    def transfer(cfg, *, seed):
        jitter = math.exp(0.03 * np.random.default_rng(seed).standard_normal())
        return {
            "transfer_relative_risk": 0.1 * jitter,
            "scratch_relative_risk": 0.02 * cfg["d"] * jitter,
            "kernel_relative_risk": 0.03 * cfg["d"] * jitter,
        }

    validate = lambda data, source="": dict(data)  # noqa: E731
    return {
        "fit": Experiment("fit", validate, fit),
        "transfer": Experiment("transfer", validate, transfer),
    }


def _run(tmp_path, kernel_k):
    head, tr = tmp_path / "headline.toml", tmp_path / "transfer.toml"
    head.write_text(HEADLINE.format(kernel_k=kernel_k))
    tr.write_text(TRANSFER)
    return reproduce(
        store=tmp_path / "store.db",
        out=tmp_path / "report",
        specs=(head, tr),
        registry=_synthetic(kernel_k),
        progress="quiet",
    )


def test_true_claims_are_shown_with_the_right_numbers(tmp_path):
    result = _run(tmp_path, kernel_k=3.0)
    exps = {e["learner"]: e for e in result["claims"]["exponents"]}
    assert exps["layerwise"]["k"] == pytest.approx(2.0, abs=0.1)
    assert exps["kernel-ridge"]["k"] == pytest.approx(3.0, abs=0.15)
    assert exps["layerwise"]["ci_low"] <= 2.0 <= exps["layerwise"]["ci_high"] + 0.05
    verdicts = {v["claim"]: v["shown"] for v in result["claims"]["verdicts"]}
    assert all(verdicts.values()), verdicts
    assert any("transfer risk flat" in c for c in verdicts)
    # the JSON summary equals a fresh evaluation of the store, and the page shows it
    assert evaluate_claims(tmp_path / "store.db").to_dict() == result["claims"]
    page = (tmp_path / "report" / "index.html").read_text()
    assert "The claims, as measured here" in page and "NOT shown" not in page
    assert "data:image/png;base64" in page
    json.dumps(result)  # JSON-safe


def test_false_claims_are_reported_as_not_shown(tmp_path):
    result = _run(tmp_path, kernel_k=2.0)
    verdicts = {v["claim"]: v["shown"] for v in result["claims"]["verdicts"]}
    assert verdicts["kernel exponent near p = 3"] is False
    assert verdicts["layer-wise and kernel intervals do not overlap"] is False
    assert verdicts["layer-wise exponent near 2"] is True
    assert "NOT shown" in (tmp_path / "report" / "index.html").read_text()


def test_reproduce_is_resumable(tmp_path):
    _run(tmp_path, kernel_k=3.0)
    again = _run(tmp_path, kernel_k=3.0)
    assert all(s["ran"] == 0 for s in again["sweeps"])


def test_unknown_scale_is_refused(tmp_path):
    from featlearn import ConfigError

    with pytest.raises(ConfigError, match="scale must be one of"):
        reproduce(scale="huge", store=tmp_path / "s.db", out=tmp_path / "r")


def test_shipped_smoke_size_runs_end_to_end_from_the_cli(tmp_path, capsys):
    """The real learners through `featlearn reproduce --scale smoke`: every cell stored ok, the
    report written, and the printed claims equal to a fresh evaluation of the store."""
    from featlearn.cli import main
    from featlearn.runtime import results_frame

    store, out = tmp_path / "smoke.db", tmp_path / "report"
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--scale", "smoke", "--store", str(store), "--out", str(out), "--json"])
        raise SystemExit(0)
    assert exc.value.code == 0
    printed = json.loads(capsys.readouterr().out)
    frame = results_frame(store, status=None)
    assert len(frame) == 20 + 4 and (frame["status"] == "ok").all()
    assert set(frame["learner"].dropna()) == {"layerwise", "kernel-ridge", "random-features"}
    assert printed["claims"] == evaluate_claims(store).to_dict()
    assert {v["claim"] for v in printed["claims"]["verdicts"]} >= {
        "layer-wise exponent near 2",
        "kernel exponent near p = 3",
    }
    page = (out / "index.html").read_text()
    assert "The claims, as measured here" in page and (out / "transfer_vs_d.png").is_file()
