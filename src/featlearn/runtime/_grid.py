"""Grid axes of a spec: value lists, ranges, zipped axes and axes that scale with other axes.

An axis yields its values given the values already fixed (base, case and earlier axes), so that
``n = { geomspace = [1, 30], num = 8, times = "d^2" }`` gives a different n range for each d.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from featlearn._errors import ConfigError

__all__ = ["Axis", "parse_axes", "order_axes"]

RANGE_KEYS = ("values", "linspace", "geomspace", "range")
MODIFIER_KEYS = ("num", "integer", "times")
_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_FUNCS = {
    "log": math.log,
    "log2": math.log2,
    "log10": math.log10,
    "sqrt": math.sqrt,
    "exp": math.exp,
}


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _parse_expr(text: str, where: str) -> ast.Expression:
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except SyntaxError:
        raise ConfigError(f"{where}: cannot parse expression {text!r}") from None
    for node in ast.walk(tree):
        allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Name, ast.Load)
        if isinstance(node, allowed + tuple(_BINOPS)):
            continue
        if isinstance(node, ast.Constant) and _is_number(node.value):
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in _FUNCS and len(node.args) == 1 and not node.keywords:
                continue
        raise ConfigError(
            f"{where}: expression {text!r} may use numbers, names of config fields, + - * / ^ "
            f"and {sorted(_FUNCS)}; found {ast.unparse(node)!r}"
        )
    return tree


def _names(tree: ast.Expression) -> set[str]:
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in calls}


def _evaluate(node: ast.AST, env: Mapping[str, Any], where: str) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, env, where)
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        value = env.get(node.id)
        if not _is_number(value):
            raise ConfigError(f"{where}: {node.id} must be a number to scale by; got {value!r}")
        return float(value)
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, env, where)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Call):
        return _FUNCS[node.func.id](_evaluate(node.args[0], env, where))  # type: ignore[attr-defined]
    left, right = _evaluate(node.left, env, where), _evaluate(node.right, env, where)  # type: ignore[attr-defined]
    return _BINOPS[type(node.op)](left, right)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Axis:
    """One grid axis: ``names`` (several for a zipped axis) and how to produce its values.

    ``values`` are tuples (one entry per name) for list and zipped axes; for range axes ``kind`` is
    ``linspace``/``geomspace``/``range``/``values`` with ``args``, optionally scaled by the expression
    ``times`` and rounded to integers (duplicates dropped) when ``integer``.
    """

    names: tuple[str, ...]
    where: str
    kind: str = "list"
    values: tuple[tuple[Any, ...], ...] = ()
    args: tuple[Any, ...] = ()
    num: int | None = None
    integer: bool = False
    times: ast.Expression | None = None

    @property
    def depends_on(self) -> set[str]:
        return _names(self.times) if self.times is not None else set()

    def expand(self, env: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The axis values given the fields fixed so far (``env``: field name -> value)."""
        if self.kind == "list":
            return list(self.values)
        raw = self._raw()
        if self.times is not None:
            factor = self._factor(env)
            raw = [x * factor for x in raw]
        if self.integer:
            out: list[Any] = []
            for x in raw:
                if not math.isfinite(x):
                    raise ConfigError(f"{self.where}: value {x} is not finite")
                if int(round(x)) not in out:
                    out.append(int(round(x)))
            return [(x,) for x in out]
        return [(x if isinstance(x, int) else float(f"{x:.12g}"),) for x in raw]

    def _factor(self, env: Mapping[str, Any]) -> float:
        where = f"{self.where}.times"
        try:
            factor = _evaluate(self.times, env, where)
        except (ArithmeticError, ValueError) as exc:  # 1/0, log(0), exp(1000)
            point = {k: env[k] for k in sorted(self.depends_on) if k in env}
            raise ConfigError(
                f"{where}: {ast.unparse(self.times)!r} cannot be evaluated at {point} ({exc})"
            ) from None
        if isinstance(factor, complex) or not math.isfinite(factor):
            raise ConfigError(f"{where}: {ast.unparse(self.times)!r} is {factor} at this point")
        return factor

    def _raw(self) -> list[Any]:
        if self.kind == "values":
            return list(self.args)
        if self.kind == "range":
            return list(range(*self.args))
        space = np.linspace if self.kind == "linspace" else np.geomspace
        return [float(x) for x in space(self.args[0], self.args[1], self.num)]


def _check_pair(where: str, key: str, value: Any, positive: bool) -> tuple[float, float]:
    if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)):
        raise ConfigError(
            f"{where}.{key} must be a list of two numbers [start, stop]; got {value!r}"
        )
    if positive and min(value) <= 0:
        raise ConfigError(f"{where}.{key} must hold two numbers > 0; got {value!r}")
    return float(value[0]), float(value[1])


def _range_axis(name: str, table: dict[str, Any], where: str) -> Axis:
    unknown = sorted(set(table) - set(RANGE_KEYS) - set(MODIFIER_KEYS))
    if unknown:
        known = sorted(RANGE_KEYS + MODIFIER_KEYS)
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} in a range table (known: {known})")
    kinds = [k for k in RANGE_KEYS if k in table]
    if len(kinds) != 1:
        raise ConfigError(f"{where} needs exactly one of {list(RANGE_KEYS)}; got {kinds or 'none'}")
    kind, value = kinds[0], table[kinds[0]]
    num = table.get("num")
    if kind in ("linspace", "geomspace"):
        args: tuple[Any, ...] = _check_pair(where, kind, value, kind == "geomspace")
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise ConfigError(f"{where}.num must be an integer >= 1 for {kind}; got {num!r}")
    else:
        if num is not None:
            raise ConfigError(f"{where}.num only applies to linspace and geomspace; got {num!r}")
        ok = isinstance(value, list) and len(value) > 0
        if kind == "range":
            ok = ok and 1 <= len(value) <= 3 and all(isinstance(v, int) for v in value)
            ok = ok and len(range(*value)) > 0 if ok else ok
        if not ok:
            what = (
                "1-3 integers giving a non-empty range" if kind == "range" else "a non-empty list"
            )
            raise ConfigError(f"{where}.{kind} must be {what}; got {value!r}")
        args = tuple(value)
    integer = table.get("integer", False)
    if not isinstance(integer, bool):
        raise ConfigError(f"{where}.integer must be true or false; got {integer!r}")
    times = table.get("times")
    tree = None
    if _is_number(times):
        tree = _parse_expr(repr(float(times)), f"{where}.times")
    elif isinstance(times, str):
        tree = _parse_expr(times, f"{where}.times")
    elif times is not None:
        raise ConfigError(f"{where}.times must be a number or an expression string; got {times!r}")
    if tree is not None and not all(_is_number(v) for v in args):
        raise ConfigError(f"{where}.{kind} must hold numbers to use times; got {list(args)!r}")
    return Axis((name,), where, kind, (), args, num, integer, tree)


def _list_axis(names: tuple[str, ...], value: Any, where: str) -> Axis:
    if not isinstance(value, list) or not value:
        raise ConfigError(
            f"{where} must be a non-empty list of values or a range table; got {value!r}"
        )
    if len(names) == 1:
        return Axis(names, where, values=tuple((v,) for v in value))
    rows = []
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != len(names):
            raise ConfigError(
                f"{where}[{i}] must be a list of {len(names)} values ({', '.join(names)}); got {row!r}"
            )
        rows.append(tuple(row))
    return Axis(names, where, values=tuple(rows))


def parse_axes(grid: Any, where: str, prefix: str = "") -> list[Axis]:
    """Axes of a ``[grid]`` table, in file order; nested tables give dotted names (``options.kernel``)."""
    if not isinstance(grid, dict):
        raise ConfigError(f"{where} must be a table; got {grid!r}")
    axes: list[Axis] = []
    for key, value in grid.items():
        here = f"{where}.{key}" if "," not in key else f'{where}."{key}"'
        names = tuple(prefix + part.strip() for part in key.split(","))
        if any(not part.strip() for part in key.split(",")):
            raise ConfigError(f"{here}: empty field name in a zipped axis")
        if isinstance(value, dict) and len(names) == 1:
            if not value:
                raise ConfigError(
                    f"{here} must be a non-empty list of values or a range table; got {{}}"
                )
            if set(value) & set(RANGE_KEYS + MODIFIER_KEYS):
                axes.append(_range_axis(names[0], value, here))
            else:
                axes.extend(parse_axes(value, here, prefix=names[0] + "."))
        else:
            axes.append(_list_axis(names, value, here))
    seen: set[str] = set()
    for axis in axes:
        for name in axis.names:
            if name in seen:
                raise ConfigError(f"{axis.where}: field {name!r} is set by two grid axes")
            seen.add(name)
    return axes


def order_axes(axes: list[Axis], fixed: Mapping[str, Any], where: str) -> list[Axis]:
    """Axes in file order, except that an axis comes after the axes its ``times`` refers to."""
    produced = {name: axis for axis in axes for name in axis.names}
    done: list[Axis] = []
    visiting: set[int] = set()

    def visit(axis: Axis) -> None:
        if any(a is axis for a in done):
            return
        if id(axis) in visiting:
            raise ConfigError(f"{axis.where}.times: axes depend on each other in a cycle")
        visiting.add(id(axis))
        for name in sorted(axis.depends_on):
            if name in produced:
                visit(produced[name])
            elif name not in fixed:
                known = sorted(set(produced) | {k for k, v in fixed.items() if _is_number(v)})
                raise ConfigError(f"{axis.where}.times: unknown name {name!r} (known: {known})")
        visiting.discard(id(axis))
        done.append(axis)

    for axis in axes:
        visit(axis)
    return done
