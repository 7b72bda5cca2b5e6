"""The sweep's ETA weighs cells by their declared cost; ``largest_first`` orders cells by it.

The toy experiment (``runtime_cost``) sleeps d^3 units (times noise in [0.8, 1.25]) and declares
d^3: the ETA after 20 % of the cells is compared with the time the rest of the sweep really took.
"""

from __future__ import annotations

import json
import time

import pytest
import runtime_cost
from runtime_cost import COSTLY

from featlearn import ConfigError
from featlearn.cli import main
from featlearn.experiments import Experiment
from featlearn.runtime import InProcess, Store, execute_cell, parse_spec, run_sweep
from featlearn.runtime import _sweep as sweep_module
from featlearn.runtime._cells import CellResult
from featlearn.runtime._progress import Progress, expected_costs

REGISTRY = {"costly": COSTLY}
DS = list(range(12, 32))  # 20 cells; costs 1728 ... 29791, grid order = increasing cost
UNIT = 1.2e-5  # seconds per unit of cost: about 2.9 s for the whole sweep, 21 ms the least cell


def _spec(ds=DS, unit=UNIT, experiment="costly"):
    return parse_spec({"experiment": experiment, "base": {"unit": unit}, "grid": {"d": ds}})


class Recorder:
    """Wraps the sweep's Progress: after each cell, the time, the weighted ETA and the ETA a
    cell-counting Progress (no costs) gives on the same results."""

    def __init__(self, progress: Progress):
        self.progress, self.counting = progress, Progress(progress.total)
        self.log: list[tuple[float, float | None, float | None]] = []

    def update(self, result: CellResult) -> None:
        self.progress.update(result)
        self.counting.update(result)
        self.log.append((time.perf_counter(), self.progress.eta(), self.counting.eta()))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


@pytest.mark.parametrize("largest_first", [False, True])
def test_weighted_eta_is_within_a_factor_2_after_20_percent_of_cells(
    tmp_path, monkeypatch, largest_first
):
    recorders = []
    real = sweep_module.make_progress

    def recording(*args, **kwargs):
        recorders.append(Recorder(real(*args, **kwargs)))
        return recorders[-1]

    monkeypatch.setattr(sweep_module, "make_progress", recording)
    summary = run_sweep(
        _spec(), tmp_path / "s.db", registry=REGISTRY, progress="quiet",
        shuffle=False, largest_first=largest_first,
    )  # fmt: skip
    assert summary.ok == len(DS)
    log = recorders[0].log
    k = len(DS) // 5  # 20 % of the cells done
    t_k, eta, counted = log[k - 1]
    actual = log[-1][0] - t_k  # what the rest of the sweep took
    assert 0.5 * actual <= eta <= 2.0 * actual, (eta, actual)
    # the same sweep's count-based ETA is off by more than 2: the test can fail
    assert not 0.5 * actual <= counted <= 2.0 * actual, (counted, actual)


def _result(cell_hash: str, seconds: float, status: str = "ok") -> CellResult:
    return CellResult(
        cell_hash, 0, "costly", 0, "{}", "{}", status, None, 0.0, seconds, seconds, "h", "{}", None
    )


def test_eta_formula_rate_times_remaining_cost_over_workers():
    costs = {("a", 0): 10.0, ("b", 0): 30.0, ("c", 0): 20.0, ("d", 0): 20.0, ("e", 0): 20.0}
    progress = Progress(5, costs=costs, slots=2)
    progress.update(_result("a", 5.0))  # 0.5 s per unit
    progress.update(_result("b", 9.0))  # rate = 14 / 40 s per unit
    rate = 14.0 / 40.0
    assert progress.eta() == pytest.approx(rate * 60.0 / 2)  # 3 cells left on 2 workers
    progress.update(_result("c", 100.0, status="failed"))  # failed: not in the rate
    assert progress.eta() == pytest.approx(rate * 40.0 / 2)
    progress.update(_result("d", 7.0))
    rate = 21.0 / 60.0
    assert progress.eta() == pytest.approx(rate * 20.0)  # one cell left: one worker
    progress.update(_result("e", 1.0))
    assert progress.eta() == 0.0


def test_eta_waits_for_the_largest_remaining_cell():
    costs = {("a", 0): 1.0, ("b", 0): 1.0, ("c", 0): 100.0, ("d", 0): 1.0}
    progress = Progress(4, costs=costs, slots=8)
    progress.update(_result("a", 2.0))
    assert progress.eta() == pytest.approx(2.0 * 100.0)  # not 2 * 102 / 3


def test_eta_without_costs_counts_cells(monkeypatch):
    progress = Progress(4)
    now = progress.start + 10.0
    monkeypatch.setattr(time, "perf_counter", lambda: now)
    progress.update(_result("a", 1.0))
    assert progress.eta() == pytest.approx(10.0 / 1 * 3)


class RecordingExecutor(InProcess):
    def __init__(self):
        super().__init__(REGISTRY)
        self.order: list[int] = []

    def map_unordered(self, cells):
        for cell in cells:
            self.order.append(cell.config["d"])
            yield execute_cell(cell, registry=self.registry)


@pytest.mark.parametrize("shuffle", [True, False])
def test_largest_first_runs_cells_in_decreasing_cost(tmp_path, shuffle):
    executor = RecordingExecutor()
    ds = [3, 9, 1, 7, 5, 2]
    run_sweep(
        _spec(ds, 0.0), tmp_path / "s.db", registry=REGISTRY, executor=executor,
        progress="quiet", largest_first=True, shuffle=shuffle,
    )  # fmt: skip
    assert executor.order == sorted(ds, reverse=True)


def test_default_order_is_unchanged(tmp_path):
    executor = RecordingExecutor()
    ds = [3, 9, 1, 7]
    run_sweep(
        _spec(ds, 0.0), tmp_path / "s.db", registry=REGISTRY, executor=executor,
        progress="quiet", shuffle=False,
    )  # fmt: skip
    assert executor.order == ds


def test_largest_first_on_the_command_line(tmp_path, capsys):
    spec = tmp_path / "c.toml"
    spec.write_text(
        'experiment = "runtime_cost:COSTLY"\n[base]\nunit = 1e-4\n[grid]\nd = [2, 6, 4, 8]\n'
    )
    store = tmp_path / "s.db"
    with pytest.raises(SystemExit) as info:
        main(["sweep", str(spec), "--allow-import", "--store", str(store), "--largest-first",
              "--json"])  # fmt: skip
        raise SystemExit(0)
    assert info.value.code == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["ok"] == 4
    with Store(store, create=False) as db:
        rows = sorted(db.rows(), key=lambda r: r["started"])
    assert [json.loads(r["config"])["d"] if isinstance(r["config"], str) else r["config"]["d"]
            for r in rows] == [8, 6, 4, 2]  # fmt: skip


def test_experiment_without_cost_counts_cells(tmp_path):
    plain = Experiment("plain", COSTLY.validate, COSTLY.run)
    cells = sweep_module.expand(_spec([2, 3], 0.0, "plain"), {"plain": plain})
    assert expected_costs(cells, {"plain": plain}) is None
    costs = expected_costs(cells, REGISTRY | {"plain": COSTLY})
    assert sorted(costs.values()) == [8.0, 27.0]


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "big", True])
def test_a_bad_cost_is_one_config_error_naming_the_cell(tmp_path, bad):
    broken = Experiment("broken", COSTLY.validate, COSTLY.run, lambda config: bad)
    with pytest.raises(
        ConfigError, match=r"'broken': cost must be a finite number > 0; got .*\(d=2\)"
    ):
        run_sweep(_spec([2], 0.0, "broken"), tmp_path / "s.db", registry={"broken": broken},
                  progress="quiet")  # fmt: skip


def test_the_toy_cost_is_the_true_cost_up_to_noise():
    factors = [runtime_cost.noise(seed) for seed in range(200)]
    assert 0.8 <= min(factors) and max(factors) <= 1.25


@pytest.mark.parametrize("mode", ["plain", "rich"])
def test_the_bars_show_the_weighted_eta(capsys, tmp_path, mode):
    run_sweep(_spec([2, 3], 0.0), tmp_path / "s.db", registry=REGISTRY, progress=mode)
    err = capsys.readouterr().err
    assert "2/2" in err and "ETA 0:00:00" in err
