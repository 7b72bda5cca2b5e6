"""featlearn reproduce: claims are computed from the stored records, in both directions.

The shipped specs run with synthetic experiments whose risks follow known laws (network: flat at
n = 8 d^2 and a threshold ∝ d^2; kernel: climbing towards 0.5 at n = 8 d^2 and a threshold ∝ d^3;
on the sphere: the theory itself, jittered), so the verdict logic is checked against known truth:
a true claim is shown, a false one is reported as not shown. The real learners run end to end in
the smoke-size test.
"""

import json
import math

import numpy as np
import pytest

from featlearn.experiments import Experiment, spec_path
from featlearn.experiments._theory import theory_relative_risk
from featlearn.reproduce import evaluate_claims, reproduce

SPECS = ("reproduce-separation", "reproduce-thresholds", "reproduce-transfer")


def _jitter(seed) -> float:
    return math.exp(0.03 * np.random.default_rng(seed).standard_normal())


def _kernel_risk(cfg, true: bool) -> float:
    d, n = cfg["d"], cfg["n"]
    if true:  # plateau 0.5 until n ~ d^3
        return 0.5 / (1 + n / d**3)
    return 0.5 / (1 + n / (0.5 * d**2))  # a kernel that learns from ~d^2 samples (false claims)


def _fit(true: bool):
    def fit(cfg, *, seed):
        seed = cfg.get("pair_seed", seed)
        learner, noise = cfg["learner"], cfg.get("noise", 0.0)
        record = {"lambda": 1e-5, "n_fit": round(0.8 * cfg["n"]), "alignment": None,
                  "energy_per_degree": [0.0, 0.0, 0.5, 0.5]}  # fmt: skip
        if learner == "layerwise":
            risk = 0.2 * (4 * cfg["d"] ** 2 / cfg["n"]) ** 0.8 + 0.05 * (noise > 0)
            frac3 = 0.95
        elif cfg.get("inputs") == "sphere":
            risk = theory_relative_risk({**cfg, **record}) * (1.0 if true else 2.0)
            frac3 = None
        else:
            risk = _kernel_risk(cfg, true) + 0.2 * (noise > 0)
            frac3 = 1 - risk / 0.5
        record["relative_risk"] = min(risk * _jitter(seed), 2.0)
        record["learned_fraction"] = [None, None, 1.0, frac3]
        return record

    return fit


def _transfer(cfg, *, seed):
    return {
        "transfer_relative_risk": 0.1 * _jitter(seed),
        "scratch_relative_risk": 0.02 * cfg["d"] * _jitter(seed),
        "kernel_relative_risk": 0.03 * cfg["d"] * _jitter(seed),
    }


def _run(tmp_path, true: bool):
    validate = lambda data, source="": dict(data)  # noqa: E731
    registry = {
        "fit": Experiment("fit", validate, _fit(true)),
        "transfer": Experiment("transfer", validate, _transfer),
    }
    return reproduce(
        store=tmp_path / "store.db",
        out=tmp_path / "report",
        specs=tuple(spec_path(name) for name in SPECS),
        registry=registry,
        progress="quiet",
    )


def test_true_claims_are_shown_with_the_right_numbers(tmp_path):
    result = _run(tmp_path, true=True)
    claims = result["claims"]
    verdicts = {v["claim"]: v["shown"] for v in claims["verdicts"]}
    assert len(verdicts) == 10 and all(verdicts.values()), verdicts
    exps = {e["learner"]: e for e in claims["exponents"]}
    assert exps["layerwise"]["k"] == pytest.approx(2.0, abs=0.1)
    assert exps["kernel-ridge"]["k"] == pytest.approx(3.0, abs=0.15)
    kernel = [r for r in claims["budget"] if r["case"] == "kernel"]
    assert [r["d"] for r in kernel] == [8, 16, 32, 48]
    assert kernel[-1]["median"] == pytest.approx(0.5 / (1 + 8 / 48), rel=0.05)
    assert all(abs(t["ratio"] - 1) < 0.1 for t in claims["theory"])
    # the JSON summary equals a fresh evaluation of the store, and the page shows it
    assert evaluate_claims(tmp_path / "store.db").to_dict() == claims
    page = (tmp_path / "report" / "index.html").read_text()
    assert page.index("The separation, as measured here") < page.index("Stores and versions")
    assert "NOT shown" not in page and "data:image/png;base64" in page
    for stem in ("separation", "degrees", "theory", "collapse", "transfer_vs_d"):
        assert (tmp_path / "report" / f"{stem}.png").is_file()
    json.dumps(result)  # JSON-safe


def test_false_claims_are_reported_as_not_shown(tmp_path):
    result = _run(tmp_path, true=False)
    verdicts = {v["claim"]: v["shown"] for v in result["claims"]["verdicts"]}
    assert verdicts["kernel risk at n = 8 d^2 climbs towards the degree-3 share 0.50"] is False
    assert verdicts[
        "kernel learns a falling share of the degree-3 energy; the network keeps it"
    ] is (False)
    assert verdicts["kernel risk on the sphere matches the parameter-free theory"] is False
    assert verdicts["kernel exponent near p = 3"] is False
    assert verdicts["layer-wise and kernel intervals do not overlap"] is False
    assert verdicts["layer-wise exponent near 2"] is True
    assert "NOT shown" in (tmp_path / "report" / "index.html").read_text()


def test_reproduce_is_resumable(tmp_path):
    _run(tmp_path, true=True)
    again = _run(tmp_path, true=True)
    assert all(s["ran"] == 0 for s in again["sweeps"])


def test_unknown_scale_is_refused(tmp_path):
    from featlearn import ConfigError

    with pytest.raises(ConfigError, match="scale must be one of"):
        reproduce(scale="huge", store=tmp_path / "s.db", out=tmp_path / "r")


def test_shipped_smoke_size_runs_end_to_end_from_the_cli(tmp_path, capsys):
    """The real learners through `featlearn reproduce --scale smoke`: every cell stored ok, the
    report written with its smoke banner, and the printed claims equal to a fresh evaluation."""
    from featlearn.cli import main
    from featlearn.runtime import results_frame

    store, out = tmp_path / "smoke.db", tmp_path / "report"
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--scale", "smoke", "--store", str(store), "--out", str(out), "--json"])
        raise SystemExit(0)
    assert exc.value.code == 0
    printed = json.loads(capsys.readouterr().out)
    frame = results_frame(store, status=None)
    assert (frame["status"] == "ok").all(), frame["error"].dropna().tolist()
    assert set(frame["learner"].dropna()) == {"layerwise", "kernel-ridge", "random-features"}
    assert printed["claims"] == evaluate_claims(store).to_dict()
    claims = {v["claim"] for v in printed["claims"]["verdicts"]}
    assert "layer-wise exponent near 2" in claims
    assert "kernel risk on the sphere matches the parameter-free theory" in claims
    fractions = frame.loc[frame["sweep"] == "reproduce-separation", "learned_fraction"]
    assert fractions.map(lambda v: isinstance(v, list) and len(v) == 4).all()
    page = (out / "index.html").read_text()
    assert "Smoke size." in page and (out / "separation.png").is_file()


def test_claims_do_not_depend_on_the_order_the_store_returns_rows(tmp_path, monkeypatch):
    """The store returns cells in completion order, which changes between runs; the bootstrap
    intervals must not (they once differed in the second digit for bit-identical records)."""
    import featlearn.runtime as runtime

    _run(tmp_path, true=True)
    store = tmp_path / "store.db"
    want = evaluate_claims(store).to_dict()
    original = runtime.results_frame
    monkeypatch.setattr(
        runtime, "results_frame", lambda *a, **k: original(*a, **k).sample(frac=1, random_state=3)
    )
    assert evaluate_claims(store).to_dict() == want
