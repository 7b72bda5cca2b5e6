"""Progress of long fits (``featlearn.learners.on_progress``) and ``featlearn fit``'s progress line.

Each long loop reports (stage, done, total) with ``done`` non-decreasing within a stage; the
numbers a fit computes are the same with and without a callback; the CLI shows the line on a
terminal's stderr only.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections import defaultdict

import jax
import numpy as np
import pytest

from featlearn.learners import make_learner, on_progress


def _data(n=240, d=4, n_val=80, seed=0):
    rng = np.random.default_rng(seed)
    X, Xv = rng.standard_normal((n, d)), rng.standard_normal((n_val, d))
    f = lambda Z: Z[:, 0] * Z[:, 1] + 0.5 * Z[:, 2] ** 2  # noqa: E731
    return X, f(X) + 0.1 * rng.standard_normal(n), Xv, f(Xv)


def _fit_recording(name, X, y, Xv, yv, **options):
    events = []
    learner = make_learner(name, **options)
    with on_progress(lambda stage, done, total: events.append((stage, done, total))):
        learner.fit(X, y, key=jax.random.key(1), X_val=Xv, y_val=yv)
    plain = make_learner(name, **options).fit(X, y, key=jax.random.key(1), X_val=Xv, y_val=yv)
    return events, learner, plain


def _by_stage(events):
    stages = defaultdict(list)
    for stage, done, total in events:
        stages[stage].append((done, total))
    for stage, steps in stages.items():
        done = [d for d, _ in steps]
        assert done == sorted(done), f"{stage}: progress went back: {done}"
        totals = {t for _, t in steps}
        assert len(totals) == 1, f"{stage}: total changed: {totals}"
        total = totals.pop()
        assert total is None or max(done) <= total, (stage, done, total)
    return stages


def _same_predictions(a, b, X):
    np.testing.assert_array_equal(np.asarray(a.predict(X)), np.asarray(b.predict(X)))


@pytest.mark.parametrize("solver", ["exact", "pcg", "nystrom"])
def test_kernel_ridge_reports_monotone_progress_and_the_same_numbers(solver):
    X, y, Xv, yv = _data()
    options = dict(kernel="ntk", solver=solver, n_lambdas=5)
    if solver == "nystrom":
        options["centers"] = 60
    events, learner, plain = _fit_recording("kernel-ridge", X, y, Xv, yv, **options)
    stages = _by_stage(events)
    if solver == "exact":  # one step per lambda of the grid, all of them
        assert [d for d, _ in stages["ridge solve: lambda"]] == [1, 2, 3, 4, 5]
        assert stages["ridge solve: lambda"][0][1] == 5
        assert stages["kernel ridge: kernel matrices"][-1] == (2, 2)
    elif solver == "pcg":  # one step per CG product, counted over all refinement rounds
        products = [d for d, _ in stages["pcg: conjugate-gradient products"]]
        assert products == list(range(1, len(products) + 1))
        assert len(products) == learner.diagnostics()["cg_iterations"]
        rounds = [d for d, _ in stages["pcg: refinement rounds"]]
        assert rounds == list(range(1, learner.diagnostics()["refinements"] + 1))
    else:
        passes = [d for d, _ in stages["Nyström: conjugate-gradient passes"]]
        assert passes == list(range(1, learner.diagnostics()["cg_iterations"] + 1))
    assert learner.lambda_ == plain.lambda_
    _same_predictions(learner, plain, Xv)


def test_full_training_reports_epochs_and_the_same_numbers():
    X, y, Xv, yv = _data()
    options = dict(width=8, max_epochs=6, eval_every=2, patience=50, batch_size=64, dtype="float64")
    events, learner, plain = _fit_recording("full-training", X, y, Xv, yv, **options)
    assert _by_stage(events)["full training: epochs"] == [(2, 6), (4, 6), (6, 6)]
    np.testing.assert_array_equal(np.asarray(learner.W_), np.asarray(plain.W_))
    _same_predictions(learner, plain, Xv)


def test_progress_is_off_outside_the_block_and_can_be_turned_off():
    X, y, Xv, yv = _data(n=60)
    events = []
    with on_progress(lambda *e: events.append(e)):
        with on_progress(None):
            make_learner("kernel-ridge", solver="exact", n_lambdas=3).fit(
                X, y, key=jax.random.key(0), X_val=Xv, y_val=yv
            )
    make_learner("kernel-ridge", solver="exact", n_lambdas=3).fit(
        X, y, key=jax.random.key(0), X_val=Xv, y_val=yv
    )
    assert events == []


FIT = ["fit", "--learner", "kernel-ridge", "--d", "4", "--n", "300", "--n-val", "100",
       "--n-test", "100", "-o", "solver=exact", "--json"]  # fmt: skip


def _fit_cli(stderr_tty: bool) -> tuple[dict, str]:
    """``featlearn fit`` in a subprocess: stdout piped; stderr on a pseudo-terminal or a pipe."""
    cmd = [sys.executable, "-m", "featlearn.cli", *FIT]
    if not stderr_tty:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout), run.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    err = b""
    while True:  # read the terminal until the child closes it
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child exited
            break
        if not chunk:
            break
        err += chunk
    out, _ = proc.communicate(timeout=300)
    os.close(master)
    assert proc.returncode == 0, err.decode(errors="replace")
    return json.loads(out), err.decode(errors="replace")


def test_fit_shows_a_progress_line_on_a_terminal_only():
    on_tty, tty_err = _fit_cli(stderr_tty=True)
    piped, pipe_err = _fit_cli(stderr_tty=False)
    assert "ridge solve: lambda 10/10" in tty_err and "\r" in tty_err
    assert "lambda" not in pipe_err and "\r" not in pipe_err
    for key in ("excess_risk", "relative_risk", "lambda"):  # stdout is clean JSON, same numbers
        assert on_tty[key] == piped[key]
