"""`featlearn sweep`, `report`, `export` and `store check|repair`: sweeps and their stores."""

from __future__ import annotations

import json
import re
import sys
from typing import Annotated, Any

import typer

from featlearn._cli._common import emit, writing
from featlearn._errors import ConfigError


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
    largest_first: Annotated[
        bool,
        typer.Option(
            "--largest-first",
            help="Run cells in decreasing expected cost (default: random order).",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Run every cell of SPEC not yet in the store; resumable, exit status 1 if any cell failed.

    The ETA weighs cells by their expected cost (e.g. n^3 for exact kernel ridge), at the rate
    measured on the cells finished so far.

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
        largest_first=largest_first,
        max_cells=max_cells,
    )
    s = summary
    emit(
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

    with writing(out):
        result = write_report(store, out, eps=eps)
    emit(result, as_json, [f"report: {result['html']} ({len(result['figures'])} figures)"])


def export(
    store: Annotated[str, typer.Argument(help="Results store written by `featlearn sweep`.")],
    format: Annotated[str, typer.Option("--format", "-f", help="csv or parquet.")] = "csv",
    out: Annotated[str | None, typer.Option("--out", "-o", help="Output file.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite the output file if it exists.")
    ] = False,
) -> None:
    """Export every stored cell to CSV or Parquet: one column per config field, metric and list
    element, times as UTC datetimes. An existing output file is kept unless --force."""
    from featlearn.runtime import export as export_store

    with writing(out or "the export file"):
        typer.echo(str(export_store(store, format, out, force=force)))


def store_check(
    store: Annotated[str, typer.Argument(help="Results store to check (only read).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Full SQLite integrity check of STORE; exit status 2 if it is damaged."""
    from featlearn.runtime import check_store
    from featlearn.runtime._open import one_line

    result = check_store(store)
    if as_json:
        emit(result, True, [])
    if not result["ok"]:
        raise ConfigError(
            f"{store}: the store is damaged ({one_line(result['problems'])}); copy out every readable "
            f"cell with: featlearn store repair {store} NEW.db"
        )
    line = f"{store}: ok, {result['cells']} cells ({result['ok_cells']} ok, {result['failed_cells']} failed)"
    emit(result, as_json, [] if as_json else [line])


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
    emit(
        s.to_dict(),
        as_json,
        [f"{store}: copied {s.recovered} cells to {out}; {lost} rows could not be read"],
    )
