"""Sweep specs: TOML files (or dicts) with a base config, a grid and optional cases.

The format is documented in ``featlearn.runtime``'s module docstring. Every problem is one
ConfigError naming the file and the key; every cell's config is validated by its experiment before
anything runs.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from featlearn._errors import ConfigError
from featlearn.runtime._cells import Cell, cell_hash, cell_seed, config_to_dict, resolve_experiment
from featlearn.runtime._grid import Axis, order_axes, parse_axes

__all__ = [
    "MAX_CELLS",
    "Spec",
    "apply_overrides",
    "expand",
    "iter_cells",
    "load_spec",
    "parse_spec",
]

TOP_KEYS = ("name", "description", "experiment", "replicates", "base", "grid", "cases")


@dataclass(frozen=True)
class Case:
    """A named block of ``[cases.NAME]``: fields over the base, and axes replacing the grid's."""

    name: str
    fields: dict[str, Any]
    axes: list[Axis]


@dataclass(frozen=True)
class Spec:
    """A parsed sweep spec (not yet expanded into cells).

    ``text`` is the spec file's original text as read by :func:`load_spec` (empty for a spec
    built from a dict): a sweep stores it once, beside its cells, with the command line that
    applied any overrides.
    """

    name: str
    experiment: str
    replicates: int
    base: dict[str, Any]
    axes: list[Axis]
    cases: list[Case] = field(default_factory=list)
    source: str = "<spec>"
    description: str = ""
    text: str = ""


def _parse_value(text: str) -> Any:
    """A ``--set`` value: TOML syntax (``256``, ``[8, 16]``, ``{ geomspace = [1, 2], num = 3 }``),
    or the text itself when it is not valid TOML (so ``learner=layerwise`` needs no quotes)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(
    data: dict[str, Any], sets: list[str] | None = None, **top: Any
) -> dict[str, Any]:
    """A copy of raw spec ``data`` with ``--set KEY.PATH=VALUE`` items and top-level values applied.

    ``top`` holds top-level keys given as flags (``replicates=5``); ``None`` values are ignored.
    """
    data = copy.deepcopy(data)
    for item in sets or []:
        path, sep, raw = item.partition("=")
        parts = [p.strip() for p in path.split(".")]
        if not sep or not all(parts):
            raise ConfigError(
                f"--set must look like KEY.PATH=VALUE (e.g. base.width=256); got {item!r}"
            )
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {path}: {part} is not a table")
        node[parts[-1]] = _parse_value(raw.strip())
    data.update({k: v for k, v in top.items() if v is not None})
    return data


def load_spec(path: str | Path, sets: list[str] | None = None, **top: Any) -> Spec:
    """Read and check a TOML spec; ``sets``/``top`` are CLI overrides (see :func:`apply_overrides`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"spec file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"spec must be a TOML file; {path} is a folder") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: a spec must be UTF-8 text; byte {exc.start} is not") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the spec ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    data.setdefault("name", path.stem)
    spec = parse_spec(apply_overrides(data, sets, **top), source=str(path))
    return replace(spec, text=text)


def _table(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key} must be a table; got {value!r}")
    return value


def parse_spec(data: Mapping[str, Any], *, source: str = "<spec>") -> Spec:
    """Check a spec given as a dict (the parsed TOML) and return a :class:`Spec`."""
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r} (known: {list(TOP_KEYS)})")
    experiment = data.get("experiment")
    if not isinstance(experiment, str) or not experiment:
        raise ConfigError(f'{source}: experiment must be a name (e.g. "fit"); got {experiment!r}')
    replicates = data.get("replicates", 1)
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
        raise ConfigError(f"{source}: replicates must be an integer >= 1; got {replicates!r}")
    name = data.get("name", "sweep")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{source}: name must be a non-empty string; got {name!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{source}: description must be a string; got {description!r}")
    base = _table(data, "base", source)
    axes = parse_axes(_table(data, "grid", source), f"{source}: grid")
    cases = []
    for case_name, block in _table(data, "cases", source).items():
        where = f"{source}: cases.{case_name}"
        if not isinstance(block, dict):
            raise ConfigError(f"{where} must be a table of config fields; got {block!r}")
        fields = {k: v for k, v in block.items() if k != "grid"}
        case_axes = parse_axes(block.get("grid", {}), f"{where}.grid")
        replaced = {n for a in case_axes for n in a.names}
        for axis in axes:
            clash = set(_flat_keys(fields)) & (set(axis.names) - replaced)
            if clash:
                key = sorted(clash)[0]
                raise ConfigError(
                    f"{where}.{key}: {key} is also a grid axis; give it in cases.{case_name}.grid"
                )
        cases.append(Case(case_name, fields, case_axes))
    return Spec(name, experiment, replicates, base, axes, cases, source, description)


def _flat_keys(table: Mapping[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in table.items():
        keys.append(prefix + key)
        if isinstance(value, dict):
            keys.extend(_flat_keys(value, prefix + key + "."))
    return keys


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: tables merge key by key, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _set_dotted(config: dict[str, Any], name: str, value: Any) -> None:
    *parents, last = name.split(".")
    node = config
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = copy.deepcopy(value)


def _points(axes: list[Axis], fixed: dict[str, Any], where: str):
    """Yield (assignment dict) for every point of the grid, dependent axes resolved per point."""
    ordered = order_axes(axes, fixed, where)

    def walk(i: int, assigned: dict[str, Any]):
        if i == len(ordered):
            yield dict(assigned)
            return
        axis = ordered[i]
        for row in axis.expand({**fixed, **assigned}):
            yield from walk(i + 1, {**assigned, **dict(zip(axis.names, row, strict=True))})

    yield from walk(0, {})


def _label(case: str | None, assigned: Mapping[str, Any]) -> str:
    parts = [f"case={case}"] if case else []
    return " ".join(parts + [f"{k}={v}" for k, v in assigned.items()])


MAX_CELLS = 1_000_000


def iter_cells(
    spec: Spec, registry: Mapping[str, Any] | None = None, *, max_cells: int | None = MAX_CELLS
) -> Iterator[Cell]:
    """The cells of ``spec`` one at a time (see :func:`expand`), in constant memory per cell.

    Raises ConfigError as soon as more than ``max_cells`` cells (None: no bound) are produced, so
    a huge grid fails fast instead of exhausting memory.
    """
    if max_cells is not None and (isinstance(max_cells, bool) or max_cells < 1):
        raise ConfigError(f"--max-cells must be an integer >= 1; got {max_cells!r}")
    try:
        experiment = resolve_experiment(spec.experiment, registry)
    except ConfigError as exc:
        raise ConfigError(f"{spec.source}: {exc}") from None
    # 16 bytes of each grid point's hash (collisions ~ 2^-64 at 10^9 points), not its 64 hex
    # digits: the set is most of the memory a streamed dry run needs.
    seen: set[bytes] = set()
    count = 0
    for case in list(spec.cases) or [None]:
        for label, config in _case_points(spec, case):
            resolved = config_to_dict(experiment.validate(config, source=_where(spec, label)))
            hash_ = cell_hash(spec.experiment, resolved)
            if (digest := bytes.fromhex(hash_[:32])) in seen:
                continue
            seen.add(digest)
            for r in range(spec.replicates):
                count += 1
                if max_cells is not None and count > max_cells:
                    raise ConfigError(
                        f"{spec.source}: the sweep has more than max_cells = {max_cells} cells; "
                        "shrink the grid or raise --max-cells"
                    )
                yield Cell(spec.experiment, resolved, r, hash_, cell_seed(hash_, r), label)


def _where(spec: Spec, label: str) -> str:
    return f"{spec.source} [{label}]" if label else spec.source


def _case_points(spec: Spec, case: Case | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, config) of every grid point of one case (or of the spec without cases)."""
    fixed = _merge(spec.base, case.fields) if case else copy.deepcopy(spec.base)
    axes = list(spec.axes)
    if case:
        replaced = {n for a in case.axes for n in a.names}
        axes = [a for a in axes if not set(a.names) & replaced] + case.axes
    for assigned in _points(axes, fixed, f"{spec.source}: grid"):
        config = copy.deepcopy(fixed)
        for key, value in assigned.items():
            _set_dotted(config, key, value)
        yield _label(case.name if case else None, assigned), config


def expand(
    spec: Spec, registry: Mapping[str, Any] | None = None, *, max_cells: int | None = MAX_CELLS
) -> list[Cell]:
    """All cells of ``spec`` (grid points x replicates), each config validated by the experiment.

    Cells are ordered case by case, grid point by grid point (first axis outermost), replicate
    innermost. Grid points whose resolved configs coincide (e.g. integer-rounded ranges that meet)
    are kept once. More than ``max_cells`` cells is a ConfigError (see :func:`iter_cells`).
    """
    return list(iter_cells(spec, registry, max_cells=max_cells))
