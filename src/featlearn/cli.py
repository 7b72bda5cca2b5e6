"""The ``featlearn`` command line: a thin layer over the library (DESIGN section 9).

Every error featlearn raises on purpose (bad parameter, malformed file, numerical trouble) and
every usage error prints one line to stderr and exits with status 2; a failure of the machine
(disk full, ...) prints one line and exits with status 1; never a traceback (see ``main``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import sqlite3
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from featlearn._errors import ConfigError, FeatlearnError, RuntimeFailure

app = typer.Typer(
    name="featlearn",
    rich_markup_mode=None,  # plain help: boolean flags read "--json", not "--json <bool>"
    help=(
        "Two-layer networks learn the few directions a multi-index target depends on; kernels "
        "cannot. Fit learners, run sweeps, and reproduce the sample-complexity claims."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _parse_option(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"--option must look like KEY=VALUE; got {item!r}")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def _emit(payload: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(payload, default=float))
    else:
        for line in lines:
            typer.echo(line)


@app.command()
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
    from featlearn.experiments import run_fit, summarize, validate_fit_config

    options = dict(_parse_option(o) for o in option or [])
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
    record = summarize(run_fit(config, seed=seed))
    payload = {"config": config.model_dump(), "seed": seed, **record}
    align = record["alignment"]
    _emit(
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
        ],
    )


@app.command()
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
        _emit(PRESETS, as_json, [f"{k:38s} {v}" for k, v in PRESETS.items()])
        return
    t = make_target(name, d, key=jax.random.key(seed), inputs=inputs)
    info = t.describe()
    info["terms"] = t.head.to_dict()["terms"]
    info["satisfies_rank_assumption"] = t.satisfies_rank_assumption
    energy = ", ".join(f"deg {k}: {e:.4g}" for k, e in enumerate(info["energy_per_degree"]))
    flag = "" if t.satisfies_rank_assumption else "  (violates the theory's rank(H) = r assumption)"
    _emit(
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


@app.command()
def learners(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List registered learners with their options and defaults."""
    import dataclasses

    from featlearn.learners import LEARNERS

    info = {
        name: {f.name: f.default for f in dataclasses.fields(cls.Config)}
        for name, cls in LEARNERS.items()
    }
    _emit(
        info,
        as_json,
        [f"{k:16s} " + ", ".join(f"{o}={v}" for o, v in opts.items()) for k, opts in info.items()],
    )


def _default_store(name: str) -> str:
    """``NAME.db`` in the current folder, whatever the spec's name holds (``../``, ``/``...)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).lstrip(".")
    return f"{safe or 'sweep'}.db"


def _dry_run(
    spec: Any, store: str, only: str | None, retry: bool, max_cells: int, as_json: bool
) -> None:
    """Stream one line (or one JSON row) per cell and the counts: memory stays flat in the
    number of cells. The store, if any, is only read."""
    from featlearn.runtime import iter_plan

    out, total, todo = sys.stdout, 0, 0
    out.write('{"cells": [' if as_json else "")
    for cell, status in iter_plan(spec, store, only=only, max_cells=max_cells):
        row = {"hash": cell.hash, "replicate": cell.replicate, "status": status, "cell": cell.label}
        if as_json:
            out.write(("," if total else "") + json.dumps(row))
        else:
            out.write(f"{cell.short}  {status or 'to run':7s} {cell.label}\n")
        total += 1
        todo += status is None or (retry and status == "failed")
    if as_json:
        out.write(f'], "total": {total}, "to_run": {todo}}}\n')
    else:
        out.write(f"{total} cells, {todo} to run\n")
    out.flush()


@app.command()
def sweep(
    spec: Annotated[str, typer.Argument(help="Sweep spec (TOML); see `featlearn.runtime`.")],
    store: Annotated[
        str | None, typer.Option("--store", "-s", help="Results store (SQLite); default NAME.db.")
    ] = None,
    workers: Annotated[
        int, typer.Option(help="0: in-process; N: N local worker processes (or Dask workers).")
    ] = 0,
    dask: Annotated[
        str | None,
        typer.Option(help="Dask: tcp://HOST:PORT, 'local' (LocalCluster), 'slurm' or 'pbs'."),
    ] = None,
    jobs: Annotated[int, typer.Option(help="Batch jobs to request (slurm/pbs).")] = 1,
    cores: Annotated[int | None, typer.Option(help="Cores per job (slurm/pbs).")] = None,
    processes: Annotated[int | None, typer.Option(help="Worker processes per job.")] = None,
    memory: Annotated[str | None, typer.Option(help="Memory per job, e.g. 16GB.")] = None,
    walltime: Annotated[str | None, typer.Option(help="Job walltime, e.g. 02:00:00.")] = None,
    queue: Annotated[str | None, typer.Option(help="Queue / partition.")] = None,
    account: Annotated[str | None, typer.Option(help="Account / project to charge.")] = None,
    job_extra: Annotated[
        list[str] | None, typer.Option("--job-extra", help="Extra scheduler directive (repeat).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a spec value, e.g. --set base.width=256 (repeat)."),
    ] = None,
    replicates: Annotated[int | None, typer.Option(help="Override the spec's replicates.")] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Re-run cells stored as failed.")
    ] = False,
    only: Annotated[
        str | None, typer.Option(help="Run only the cell whose hash starts with this.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the cells and their status; run nothing.")
    ] = False,
    allow_import: Annotated[
        bool,
        typer.Option(
            "--allow-import",
            help="Allow experiment = 'module:attr' (imports that module, running its code).",
        ),
    ] = False,
    max_cells: Annotated[
        int, typer.Option(help="Refuse specs with more cells than this (memory guard).")
    ] = 1_000_000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Run every cell of SPEC not yet in the store; resumable, exit status 1 if any cell failed.

    SIGINT, SIGTERM or SIGHUP stop the workers and keep every cell already stored (one line says
    how many; exit status 128 + the signal's number)."""
    from featlearn.runtime import check_experiment_ref, load_spec, run_sweep

    parsed = load_spec(spec, set_, replicates=replicates)
    check_experiment_ref(parsed.experiment, allow_import)
    store = store or _default_store(parsed.name)
    if dry_run:
        _dry_run(parsed, store, only, retry_failed, max_cells, as_json)
        return
    options = {"cores": cores, "processes": processes, "memory": memory, "walltime": walltime}
    options |= {"queue": queue, "account": account, "job_extra_directives": job_extra}
    summary = run_sweep(
        parsed,
        store,
        workers=workers,
        dask=dask,
        jobs=jobs,
        cluster_options=options,
        retry_failed=retry_failed,
        only=only,
        progress="quiet" if quiet or as_json else "auto",
        max_cells=max_cells,
    )
    s = summary
    _emit(
        s.to_dict(),
        as_json,
        [
            f"{s.name}: {s.total} cells, {s.skipped} already stored, ran {s.ran} "
            f"({s.ok} ok, {s.failed} failed) on {s.executor} in {s.seconds:.1f} s -> {s.store}",
            *(f"  failed {c['hash'][:12]}/{c['replicate']}: {c['error']}" for c in s.failed_cells),
            *([f"  {s.failed_earlier} cells stored as failed earlier: --retry-failed reruns them"]
              if s.failed_earlier else []),
        ],
    )  # fmt: skip
    if s.failed or s.failed_earlier:
        raise SystemExit(1)  # not a usage error: the cells' errors are stored and listed above


# errnos that say the machine failed, not the path given: exit status 1, not 2
_MACHINE = {errno.ENOSPC, errno.EFBIG, errno.EIO, errno.EDQUOT, errno.ENOMEM}


@contextlib.contextmanager
def _writing(target: str) -> Iterator[None]:
    """Turn an OSError while writing ``target`` into one line: a bad output path (missing,
    read-only, not a folder) is bad input (exit 2); a full disk is a runtime failure (exit 1)."""
    try:
        yield
    except OSError as exc:
        where = exc.filename or target
        why = exc.strerror or str(exc)
        if exc.errno in _MACHINE:
            raise RuntimeFailure(f"cannot write {where}: {why}") from None
        raise ConfigError(f"cannot write {where}: {why}") from None


@app.command()
def report(
    store: Annotated[str, typer.Argument(help="Results store written by `featlearn sweep`.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Output folder.")] = "report",
    eps: Annotated[
        float, typer.Option(help="Relative-risk level defining the threshold n*.")
    ] = 0.1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Write one self-contained HTML page (figures, tables) and each figure as PNG and PDF."""
    from featlearn.plots import write_report

    with _writing(out):
        result = write_report(store, out, eps=eps)
    _emit(result, as_json, [f"report: {result['html']} ({len(result['figures'])} figures)"])


@app.command()
def export(
    store: Annotated[str, typer.Argument(help="Results store written by `featlearn sweep`.")],
    format: Annotated[str, typer.Option("--format", "-f", help="csv or parquet.")] = "csv",
    out: Annotated[str | None, typer.Option("--out", "-o", help="Output file.")] = None,
) -> None:
    """Export every stored cell (flattened config and metrics columns) to CSV or Parquet."""
    from featlearn.runtime import export as export_store

    with _writing(out or "the export file"):
        typer.echo(str(export_store(store, format, out)))


def _version(value: bool) -> None:
    if value:
        from featlearn import __version__

        typer.echo(f"featlearn {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    cache_dir: Annotated[
        str | None,
        typer.Option(
            "--cache-dir",
            help="JAX compilation cache folder ('off' disables it); default: $FEATLEARN_CACHE_DIR "
            "or ~/.cache/featlearn/jax. Cached programs make later runs start in seconds.",
        ),
    ] = None,
) -> None:
    from featlearn._cache import ENV, configure_compilation_cache

    if cache_dir is not None:
        os.environ[ENV] = cache_dir  # sweep workers started from here inherit it
    configure_compilation_cache()


store_app = typer.Typer(
    help="Check a results store, or copy every readable cell of a damaged one into a new store.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")


@store_app.command("check")
def store_check(
    store: Annotated[str, typer.Argument(help="Results store to check (only read).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Full SQLite integrity check of STORE; exit status 2 if it is damaged."""
    from featlearn.runtime import check_store
    from featlearn.runtime._open import one_line

    result = check_store(store)
    if as_json:
        _emit(result, True, [])
    if not result["ok"]:
        raise ConfigError(
            f"{store}: the store is damaged ({one_line(result['problems'])}); copy out every readable "
            f"cell with: featlearn store repair {store} NEW.db"
        )
    line = f"{store}: ok, {result['cells']} cells ({result['ok_cells']} ok, {result['failed_cells']} failed)"
    _emit(result, as_json, [] if as_json else [line])


@store_app.command("repair")
def store_repair(
    store: Annotated[str, typer.Argument(help="Damaged results store (only read).")],
    out: Annotated[str, typer.Argument(help="New store to write the readable cells into.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Copy every readable cell of STORE into the new store OUT; then sweep with --store OUT
    re-runs only the cells that were lost."""
    from featlearn.runtime import repair_store

    s = repair_store(store, out)
    lost = len(s.unreadable) + s.invalid
    _emit(
        s.to_dict(),
        as_json,
        [f"{store}: copied {s.recovered} cells to {out}; {lost} rows could not be read"],
    )


@app.command()
def reproduce(
    scale: Annotated[
        str,
        typer.Option(
            help="small (about 10 min on 2 cores), large (far longer, not timed here; use --dask), or smoke (about a minute: checks the pipeline, shows no claim)."
        ),
    ] = "small",
    store: Annotated[
        str, typer.Option("--store", "-s", help="Results store (SQLite); resumable.")
    ] = "featlearn-results/reproduce.db",
    out: Annotated[
        str, typer.Option("--out", "-o", help="Report folder (index.html, PNG and PDF figures).")
    ] = "featlearn-results/report",
    workers: Annotated[
        int, typer.Option(help="0: in-process; N: N local worker processes (or Dask workers).")
    ] = 0,
    dask: Annotated[
        str | None, typer.Option(help="Dask: tcp://HOST:PORT, 'local', 'slurm' or 'pbs'.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Reproduce the paper's claims on dls-r2p3: the separation at a fixed budget n = 8 d^2
    (layer-wise vs NTK kernel ridge vs random features, per-degree energy, kernel theory),
    threshold exponents at one eps, and transfer across d, ending in an HTML report."""
    from featlearn.reproduce import reproduce as run

    result = run(
        scale=scale,
        store=store,
        out=out,
        workers=workers,
        dask=dask,
        progress="quiet" if quiet or as_json else "auto",
    )
    lines = [f"report: {result['report']['html']}", "claims, as measured:"]
    if scale == "smoke":
        lines.insert(0, "smoke size: this checks the pipeline end to end; at this size no claim "
                        "can be shown, so 'NOT shown' below is expected")  # fmt: skip
    for v in result["claims"]["verdicts"]:
        lines.append(f"  [{'shown' if v['shown'] else 'NOT shown'}] {v['claim']}: {v['evidence']}")
    if not result["claims"]["verdicts"]:
        lines.append("  none could be evaluated (see the report)")
    _emit(result, as_json, lines)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"featlearn: error: {message}", err=True)
    raise SystemExit(code)


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text.strip() else type(exc).__name__


def main(argv: list[str] | None = None) -> None:
    """Console entry point: every failure ends in one line on stderr, never a traceback.

    Exit status 2: bad input (ConfigError, usage errors, numerical trouble in the user's setup);
    1: the machine failed (disk full, a store that cannot be written) or an unexpected error
    (``FEATLEARN_TRACEBACK=1`` shows its traceback); 128 + N: stopped by signal N (SIGINT,
    SIGTERM, SIGHUP), after keeping every cell already stored.
    """
    from featlearn.runtime import Interrupted, SweepInterrupted, handle_signals

    try:
        with handle_signals():
            code = app(args=argv, standalone_mode=False)
    except SweepInterrupted as exc:
        _fail(str(exc), 128 + exc.signum)
    except Interrupted as exc:
        _fail(str(exc), 128 + exc.signum)
    except KeyboardInterrupt:
        _fail("interrupted by SIGINT", 130)
    except RuntimeFailure as exc:
        _fail(_first_line(exc), 1)
    except FeatlearnError as exc:
        _fail(_first_line(exc))
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        _fail("interrupted", 130)
    except Exception as exc:
        _unexpected(exc)
    if isinstance(code, int) and code:  # typer.Exit(n) returns n when not standalone
        raise SystemExit(code)


def _unexpected(exc: Exception) -> None:
    # click's usage errors (typer may vendor its own click): they carry format_message()
    if hasattr(exc, "format_message"):
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.format_message())
            raise SystemExit(0) from None
        _fail(exc.format_message().splitlines()[0])
    if os.environ.get("FEATLEARN_TRACEBACK"):
        raise exc
    if isinstance(exc, OSError | sqlite3.Error | MemoryError):
        _fail(f"{type(exc).__name__}: {_first_line(exc)}", 1)
    _fail(
        f"unexpected {type(exc).__name__}: {_first_line(exc)} "
        "(FEATLEARN_TRACEBACK=1 shows the traceback; please report it)",
        1,
    )


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
