"""Runtime: sweeps of experiment cells, a resumable results store, executors (DESIGN section 8).

The runtime knows nothing of feature learning: it looks an experiment up by name
(``featlearn.experiments.EXPERIMENTS``, an installed plugin's ``featlearn.experiments`` entry
point, or ``"package.module:attribute"``, which the CLI imports only with ``--allow-import``),
expands a spec into cells lazily (at most ``max_cells``, default :data:`MAX_CELLS`), runs them
somewhere, and stores whatever flat record each returns.

Spec format (TOML)
------------------
::

    name = "sample-complexity"     # optional; default: the file's stem
    description = "..."            # optional
    experiment = "fit"             # a key of EXPERIMENTS, or "package.module:attribute"
    replicates = 3                 # seeds per grid point (default 1)

    [base]                         # fields every cell shares (the experiment's config keys)
    target = "dls-r2p3"
    noise = 0.0
    width = 512

    [grid]                         # the cartesian product of these axes, first axis outermost
    d = [8, 16, 32]                                    # a list of values
    n = { geomspace = [1, 30], num = 8, times = "d^2", integer = true }
    "noise,width" = [[0.0, 256], [0.1, 512]]           # zipped axis: fields that vary together

    [cases.layerwise]              # optional: one named block per variant; the grid runs per case
    learner = "layerwise"
    options = { reinit_bias = true }                   # tables merge key by key with [base]
    [cases.kernel]
    learner = "kernel-ridge"
    [cases.kernel.grid]            # axes replacing (or adding to) the grid's, for this case only
    n = { geomspace = [1, 3], num = 6, times = "d^3", integer = true }
    options.kernel = ["ntk", "nngp"]                   # nested config field (dotted name)

Range tables take exactly one of ``values = [...]``, ``linspace = [a, b]`` or
``geomspace = [a, b]`` (both with ``num = K``), or ``range = [start, stop, step]`` (Python's
``range``), and optionally ``times`` (a number, or an expression in other fields: numbers, names,
``+ - * / ^``, ``log``, ``log2``, ``log10``, ``sqrt``, ``exp``; an axis is expanded after the axes it
names, once per their values) and ``integer = true`` (round, drop duplicates). Non-integer range
values are rounded to 12 significant digits so hashes do not depend on numpy's last bits.
Precedence: ``[base]`` < ``[cases.NAME]`` < grid axes; a case field that is also a grid axis is an
error (give it in ``[cases.NAME.grid]``). The CLI's ``--set KEY.PATH=VALUE`` (TOML value syntax,
e.g. ``--set base.width=256``, ``--set grid.d=[8,16]``) and ``--replicates`` override the file.

Unknown keys, wrong types and impossible values raise one ConfigError naming the file and key;
every cell is validated by its experiment before anything runs.

Cells, seeds, store
-------------------
A cell is (experiment, resolved config, replicate). Its hash is the sha256 of the canonical JSON of
``{"experiment": name, "config": resolved config}`` (the config after the experiment's
validation, defaults filled in); its seed is derived from the hash and the replicate index, so a
cell re-runs alone with the same result (``featlearn sweep SPEC --only HASH``, or
:func:`rerun_cell`). The store (:class:`Store`, SQLite WAL) holds one row per (hash, replicate):
config, metrics, status and error, timings, package versions, git revision and host, JAX backend
and devices, the sweep's command line and the hash of its spec text (the text itself once per
sweep, :meth:`Store.specs`), each written in one transaction; a killed sweep resumes where it
stopped, and concurrent sweeps never store a cell twice. Failed cells are re-run with
``retry_failed=True`` (``--retry-failed``). Records enter the store through :func:`jsonable`, the
one numpy/JAX -> JSON conversion (NaN and inf are kept).
"""

from featlearn.runtime._cells import (
    Cell,
    CellResult,
    canonical_json,
    cell_hash,
    cell_seed,
    check_experiment_ref,
    execute_cell,
    jsonable,
    resolve_experiment,
)
from featlearn.runtime._executors import DaskExecutor, InProcess, ProcessPool, make_executor
from featlearn.runtime._export import export, results_frame
from featlearn.runtime._progress import make_progress
from featlearn.runtime._repair import RepairSummary, check_store, repair_store
from featlearn.runtime._signals import Interrupted, handle_signals
from featlearn.runtime._spec import (
    MAX_CELLS,
    Spec,
    apply_overrides,
    expand,
    iter_cells,
    load_spec,
    parse_spec,
)
from featlearn.runtime._store import Store, StoreDamaged
from featlearn.runtime._sweep import (
    SweepInterrupted,
    SweepSummary,
    iter_plan,
    plan_sweep,
    rerun_cell,
    run_sweep,
    select_cells,
)

__all__ = [
    "MAX_CELLS",
    "Cell",
    "CellResult",
    "DaskExecutor",
    "InProcess",
    "Interrupted",
    "ProcessPool",
    "RepairSummary",
    "Spec",
    "Store",
    "StoreDamaged",
    "SweepInterrupted",
    "SweepSummary",
    "apply_overrides",
    "canonical_json",
    "cell_hash",
    "cell_seed",
    "check_experiment_ref",
    "check_store",
    "execute_cell",
    "expand",
    "export",
    "handle_signals",
    "iter_cells",
    "iter_plan",
    "jsonable",
    "load_spec",
    "make_executor",
    "make_progress",
    "parse_spec",
    "plan_sweep",
    "repair_store",
    "rerun_cell",
    "resolve_experiment",
    "results_frame",
    "run_sweep",
    "select_cells",
]
