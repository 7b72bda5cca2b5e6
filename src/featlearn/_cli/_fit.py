"""`featlearn fit`, `featlearn targets` and `featlearn learners`: one fit, and what can be fitted."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import IO, Annotated

import typer

from featlearn._cli._common import NOTHING_TO_FINALISE, emit, parse_option


def fit(
    learner: Annotated[
        str, typer.Option(help="Learner name (see `featlearn learners`).")
    ] = "layerwise",
    target: Annotated[
        str, typer.Option(help="Target preset, random(...), or a .toml/.json coefficient file.")
    ] = "single-he2",
    d: Annotated[int, typer.Option(help="Input dimension.")] = 20,
    n: Annotated[int, typer.Option(help="Number of training samples.")] = 10_000,
    width: Annotated[int | None, typer.Option(help="Network width m (network learners).")] = None,
    noise: Annotated[float, typer.Option(help="Label-noise variance sigma^2.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of every random draw of this fit.")] = 0,
    kernel: Annotated[
        str | None, typer.Option(help="Kernel for kernel-ridge: ntk, nngp, poly, rbf.")
    ] = None,
    oracle: Annotated[bool, typer.Option("--oracle", help="Kernel-ridge on Ux (knows U).")] = False,
    validation: Annotated[
        str,
        typer.Option(help="fresh: choose lambda on n_val fresh samples; holdout: on part of n."),
    ] = "fresh",
    n_val: Annotated[int, typer.Option(help="Fresh validation samples.")] = 10_000,
    n_test: Annotated[int, typer.Option(help="Fresh noiseless test points for the risk.")] = 10_000,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="Learner option KEY=VALUE (repeatable), e.g. -o reinit_bias=true.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Fit one learner on one target and print excess risk, relative risk, alignment, lambda and time."""
    from featlearn.experiments import run_fit, validate_fit_config
    from featlearn.runtime import jsonable

    options = dict(parse_option(o) for o in option or [])
    if kernel is not None:
        options["kernel"] = kernel
    if oracle:
        options["oracle"] = True
    config = validate_fit_config(
        {
            "learner": learner,
            "target": target,
            "d": d,
            "n": n,
            "width": width,
            "noise": noise,
            "validation": validation,
            "n_val": n_val,
            "n_test": n_test,
            "options": options,
        },
        source="featlearn fit",
    )
    with _progress_line(sys.stderr):
        record = jsonable(run_fit(config, seed=seed))
    payload = {"config": config.model_dump(), "seed": seed, **record}
    align = record["alignment"]
    emit(
        payload,
        as_json,
        [
            f"{learner} on {target}  d={d} n={n}"
            + (f" width={width}" if width else "")
            + f" noise={noise:g} seed={seed}",
            f"  excess risk     {record['excess_risk']:.4g}  (+/- {record['risk_stderr']:.2g})",
            f"  relative risk   {record['relative_risk']:.4g}",
            f"  alignment       {'n/a' if align is None else f'{align:.4f}'}",
            f"  lambda          {'n/a' if record['lambda'] is None else format(record['lambda'], '.3g')}",
            f"  wall time       {record['seconds']:.2f} s",
            *(f"  warning: {w}" for w in record["warnings"]),
        ],
    )
    NOTHING_TO_FINALISE["set"] = True


@contextlib.contextmanager
def _progress_line(stream: IO[str], every: float = 0.1) -> Iterator[None]:
    """On a terminal, show the fit's progress (``on_progress``) as one line of ``stream``
    rewritten in place at most every ``every`` seconds, erased at the end; elsewhere nothing."""
    if not stream.isatty():
        yield
        return
    from featlearn.learners import on_progress

    start, shown = time.perf_counter(), {"at": -float("inf"), "stage": None}

    def show(stage: str, done: int, total: int | None) -> None:
        now = time.perf_counter()
        last = total is not None and done >= total  # always shown: a stage's end
        if now - shown["at"] < every and stage == shown["stage"] and not last:
            return
        shown.update(at=now, stage=stage)
        count = f"{done}/{total}" if total is not None else str(done)
        stream.write(f"\r\x1b[K{stage} {count}  [{now - start:.0f} s]")
        stream.flush()

    try:
        with on_progress(show):
            yield
    finally:
        if shown["stage"] is not None:
            stream.write("\r\x1b[K")
            stream.flush()


def targets(
    name: Annotated[str | None, typer.Argument(help="Show this target's exact moments.")] = None,
    d: Annotated[int, typer.Option(help="Dimension for the shown target.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of U.")] = 0,
    inputs: Annotated[
        str, typer.Option(help="gaussian, or sphere (energies per spherical-harmonic degree).")
    ] = "gaussian",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List target presets, or show one target's exact moments (energy per degree, rank of H...)
    and learning exponents (information exponents, leap complexity)."""
    import jax

    from featlearn.targets import PRESETS, make_target

    if name is None:
        emit(PRESETS, as_json, [f"{k:38s} {v}" for k, v in PRESETS.items()])
        return
    t = make_target(name, d, key=jax.random.key(seed), inputs=inputs)
    info = t.describe()
    info["terms"] = t.head.to_dict()["terms"]
    info["satisfies_rank_assumption"] = t.satisfies_rank_assumption
    energy = ", ".join(f"deg {k}: {e:.4g}" for k, e in enumerate(info["energy_per_degree"]))
    flag = "" if t.satisfies_rank_assumption else "  (violates the theory's rank(H) = r assumption)"
    emit(
        info,
        as_json,
        [
            f"{name}  r={t.r} p={t.p} d={t.d}",
            f"  mean {info['mean']:.4g}   variance {info['variance']:.4g}   E f*^2 {info['second_moment']:.4g}",
            f"  energy per degree   {energy}",
            f"  |E grad f*|         {info['mean_gradient_norm']:.4g}",
            f"  H = E grad^2 f*     rank {t.moments.hessian_rank}, condition {t.moments.hessian_condition:.4g}{flag}",
            _exponents_line(t.exponents),
        ],
    )


def _exponents_line(e) -> str:
    axes = ", ".join(f"{v:g}" for v in e.information_exponent_axes)
    return (
        f"  exponents           information {e.information_exponent_min:g} (per axis: {axes}); "
        f"leap {e.leap_complexity} (basis {e.basis_leap}); ranks of E grad^k f* "
        f"{list(e.tensor_ranks)}"
    )


def learners(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List registered learners with their options and defaults."""
    import dataclasses

    from featlearn.learners import LEARNERS

    info = {
        name: {f.name: f.default for f in dataclasses.fields(cls.Config)}
        for name, cls in LEARNERS.items()
    }
    emit(
        info,
        as_json,
        [f"{k:16s} " + ", ".join(f"{o}={v}" for o, v in opts.items()) for k, opts in info.items()],
    )
