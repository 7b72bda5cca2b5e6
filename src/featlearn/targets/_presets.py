"""Named targets (their names are public interface) and coefficient tables from files.

``single-he2``     r=1, g = h_2.
``dls-r2p3``       r=2, p=3: g = (h_2(z1) + h_2(z2))/2 + (h_3(z1) + h_1(z1) h_2(z2))/2;
                   H = U^T diag(1/sqrt2, 1/sqrt2) U has rank 2, condition 1; half the energy in degree 3.
``transfer-pair``  the source head is dls-r2p3's g; ``transfer-pair/target`` is a second head on the
                   same U with the same degree energies and different coefficients.
``random(r=.., p=.., energies=[..], kappa=.., seed=..)``  random coefficients with the given energy
                   per degree and a rank-r H with condition number kappa.
"""

from __future__ import annotations

import ast
import json
import math
import tomllib
from pathlib import Path
from typing import Any

import jax
import numpy as np

from featlearn._errors import ConfigError, check_int, check_real
from featlearn.targets._hermite import multi_indices
from featlearn.targets._target import Head, Target, random_orthonormal_rows

__all__ = ["PRESETS", "load_head", "make_target", "make_transfer_pair", "random_head"]

_HALF = 0.5
_HEADS: dict[str, dict[tuple[int, ...], float]] = {
    "single-he2": {(2,): 1.0},
    "dls-r2p3": {(2, 0): _HALF, (0, 2): _HALF, (3, 0): _HALF, (1, 2): _HALF},
    "transfer-pair": {(2, 0): _HALF, (0, 2): _HALF, (3, 0): _HALF, (1, 2): _HALF},
    # Dandi et al. (2023): (g(z1) + g(z2))/2, g = He_1 + He_2/2 + He_4/24 = h_1 + h_2/sqrt2 + h_4/sqrt24
    "dandi-he124": {
        (1, 0): 0.5,
        (0, 1): 0.5,
        (2, 0): 0.5 / math.sqrt(2),
        (0, 2): 0.5 / math.sqrt(2),
        (4, 0): 0.5 / math.sqrt(24),
        (0, 4): 0.5 / math.sqrt(24),
    },  # fmt: skip
    "transfer-pair/target": {(1, 1): _HALF, (2, 0): -_HALF, (0, 3): _HALF, (2, 1): _HALF},
}

PRESETS: dict[str, str] = {
    "single-he2": "r=1, g = h_2 (= He_2/sqrt 2): the smallest case",
    "dls-r2p3": "r=2, p=3, rank-2 H, half of the energy in degree 3 (the headline target)",
    "transfer-pair": "source head of the transfer pair (same g as dls-r2p3)",
    "transfer-pair/target": "target head of the transfer pair: same U and degrees, other coefficients",
    "dandi-he124": "(He_1 + He_2/2 + He_4/24)(z1) + the same of z2, halved: Dandi et al. 2023",
    "random(r, p, energies, kappa, seed)": "random coefficients, given energy per degree, cond(H) = kappa",
}


def random_head(
    r: int, p: int, energies: list[float], kappa: float = 1.0, *, seed: int = 0
) -> Head:
    """A head with energy ``energies[k]`` in degree k (k = 0..p) and H of rank r, condition kappa.

    The degree-2 part is M/sqrt2 on the diagonal and M off it, with M = Q diag(lam) Q^T, lam
    geometric from 1 down to 1/kappa, scaled so ||M||_F^2 / 2 = energies[2]; other degrees get
    Gaussian coefficients scaled to their energy.
    """
    r = check_int("r", r, minimum=1)
    p = check_int("p", p, minimum=0)
    kappa = check_real("kappa", kappa, minimum=1.0)
    if len(energies) != p + 1:
        raise ConfigError(
            f"energies must list p + 1 = {p + 1} values (degrees 0..p); got {energies}"
        )
    energies = [check_real(f"energies[{k}]", e, minimum=0.0) for k, e in enumerate(energies)]
    if p < 2 or energies[2] <= 0:
        raise ConfigError(
            f"energies[2] must be > 0 for a rank-r Hessian (random targets need p >= 2); got {energies}"
        )
    rng = np.random.default_rng(seed)
    terms: dict[tuple[int, ...], float] = {}
    for k in range(p + 1):
        alphas = multi_indices(r, p, degree=k)
        if k == 2:
            q, _ = np.linalg.qr(rng.standard_normal((r, r)))
            lam = np.geomspace(1.0, 1.0 / kappa, r) if r > 1 else np.ones(1)
            M = (q * lam) @ q.T
            M *= math.sqrt(2 * energies[2]) / np.linalg.norm(M)
            for a in alphas:
                idx = np.flatnonzero(a)
                c = M[idx[0], idx[0]] / math.sqrt(2) if len(idx) == 1 else M[idx[0], idx[1]]
                terms[tuple(int(v) for v in a)] = float(c)
        elif energies[k] > 0:
            c = rng.standard_normal(len(alphas))
            c *= math.sqrt(energies[k]) / np.linalg.norm(c)
            terms.update(
                {tuple(int(v) for v in a): float(v) for a, v in zip(alphas, c, strict=True)}
            )
    return Head.from_terms(r, terms)


def _parse_random(spec: str) -> Head:
    inner = spec.strip()[len("random") :].strip()
    if not (inner.startswith("(") and inner.endswith(")")):
        raise ConfigError(
            f"target must look like random(r=2, p=3, energies=[...], kappa=1); got {spec!r}"
        )
    try:
        call = ast.parse(f"f{inner}", mode="eval").body
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}  # type: ignore[attr-defined]
        args = [ast.literal_eval(a) for a in call.args]  # type: ignore[attr-defined]
    except (SyntaxError, ValueError) as exc:
        raise ConfigError(f"target {spec!r} could not be parsed: {exc}") from None
    names = ["r", "p", "energies", "kappa"]
    kwargs.update(dict(zip(names, args, strict=False)))
    unknown = set(kwargs) - {*names, "seed"}
    if unknown:
        raise ConfigError(
            f"random target got unknown parameter(s) {sorted(unknown)}; known: {names + ['seed']}"
        )
    missing = {"r", "p", "energies"} - set(kwargs)
    if missing:
        raise ConfigError(f"random target needs parameter(s) {sorted(missing)}; got {spec!r}")
    seed = kwargs.pop("seed", 0)
    return random_head(**kwargs, seed=seed)


def load_head(path: str | Path) -> Head:
    """Read a coefficient table from TOML or JSON: ``r = 2`` and ``terms = [{alpha=[2,0], coef=0.5}, ...]``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"coefficient file {str(path)!r} does not exist")
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"coefficient file {str(path)!r} is malformed: {exc}") from None
    if not isinstance(data, dict) or "terms" not in data or "r" not in data:
        raise ConfigError(f"coefficient file {str(path)!r} must define 'r' and a list 'terms'")
    r = check_int(f"r in {path.name}", data["r"], minimum=1)
    terms: dict[tuple[int, ...], float] = {}
    for i, term in enumerate(data["terms"] if isinstance(data["terms"], list) else [None]):
        if not isinstance(term, dict) or set(term) != {"alpha", "coef"}:
            raise ConfigError(
                f"coefficient file {str(path)!r}: terms[{i}] must have exactly the keys 'alpha' and 'coef'; got {term!r}"
            )
        alpha = term["alpha"]
        if not isinstance(alpha, list) or not all(isinstance(a, int) and a >= 0 for a in alpha):
            raise ConfigError(
                f"coefficient file {str(path)!r}: terms[{i}].alpha must be a list of integers >= 0; got {alpha!r}"
            )
        terms[tuple(alpha)] = check_real(f"terms[{i}].coef in {path.name}", term["coef"])
    return Head.from_terms(r, terms)


def _resolve_head(name: str) -> Head:
    if name in _HEADS:
        h = _HEADS[name]
        return Head.from_terms(len(next(iter(h))), h)
    if name.startswith("random"):
        return _parse_random(name)
    if name.endswith((".toml", ".json")):
        return load_head(name)
    known = ", ".join(sorted(_HEADS)) + ", random(...), or a .toml/.json coefficient file"
    raise ConfigError(f"target must be one of {known}; got {name!r}")


def make_target(name: str, d: int, *, key: jax.Array, inputs: str = "gaussian") -> Target:
    """The target named ``name`` in dimension d, with U drawn from ``key``.

    Targets sharing ``key`` and d share U (that is how ``transfer-pair`` and
    ``transfer-pair/target`` describe one representation). ``inputs``: "gaussian" (x ~ N(0, I_d),
    the default) or "sphere" (x uniform on the sphere of radius sqrt(d)); see ``Target``.
    """
    head = _resolve_head(name)
    d = check_int("d", d, minimum=head.r, bound=f"r (= {head.r})")
    return Target(head, random_orthonormal_rows(head.r, d, key=key), name=name, inputs=inputs)


def make_transfer_pair(
    d: int, *, key: jax.Array, inputs: str = "gaussian"
) -> tuple[Target, Target]:
    """(source, target) heads of ``transfer-pair`` on one U (and one input law)."""
    return (
        make_target("transfer-pair", d, key=key, inputs=inputs),
        make_target("transfer-pair/target", d, key=key, inputs=inputs),
    )


def target_from_callable(
    g: Any, r: int, p: int, d: int, *, key: jax.Array, name: str = "callable"
) -> Target:
    """Project a Python callable g: (n, r) -> (n,) onto the Hermite basis up to degree p.

    The coefficients come from tensor Gauss-Hermite quadrature with the number of nodes doubled
    until they converge (``featlearn.targets._projection.project``, which also reports the energy
    the degree-p truncation leaves out): exact for polynomials, the converged degree-p truncation
    (what the learners see) for any other g.
    """
    from featlearn.targets._projection import project

    r = check_int("r", r, minimum=1)
    p = check_int("p", p, minimum=0)
    head = project(g, r, p).head
    d = check_int("d", d, minimum=r, bound=f"r (= {r})")
    return Target(head, random_orthonormal_rows(r, d, key=key), name=name)
