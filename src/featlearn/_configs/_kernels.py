"""Options of the kernel learners, kernel ridge and RFM, and the problems they refuse: a memory
budget too small for the solver, more Nyström centres than samples (DESIGN section 4). Without JAX.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from featlearn._configs._base import (
    LearnerConfig,
    check_activation,
    check_common,
    fit_sizes,
    register_config,
)
from featlearn._errors import ConfigError, check_int, check_real
from featlearn._memory import exact_memory, nystrom_memory, pcg_memory, pcg_rank

__all__ = ["KERNEL_NAMES", "PCG_MIN_N", "KernelRidgeConfig", "RFMConfig"]

#: Kernels of ``featlearn.kernels.make_kernel`` (a test keeps the two equal).
KERNEL_NAMES = ("nngp", "ntk", "poly", "rbf")
_SOLVERS = ("auto", "exact", "pcg", "nystrom")
PCG_MIN_N = 3000  # auto: pcg from this n on (measured crossover, benchmarks/RESULTS.md)
NYSTROM_CENTERS = 2048  # Nyström's default number of centres, min(n, this)


def _lambdas(cfg, mean_diag: float, n: int) -> np.ndarray:
    """The lam grid in the ridge core's convention: n lam I is compared with K's diagonal."""
    grid = np.geomspace(cfg.lambda_min, cfg.lambda_max, cfg.n_lambdas)
    return grid * (mean_diag if mean_diag > 0 else 1.0) / n


@dataclass(frozen=True)
class KernelRidgeConfig(LearnerConfig):
    """Options of kernel ridge.

    kernel : ``ntk``, ``nngp`` (of the network with ``activation`` at its initialisation), ``poly``
        ((1 + x.x'/d)^q) or ``rbf`` (exp(-|x - x'|^2 / (2 bandwidth^2 d)))
    activation, q, bandwidth : parameters of those kernels
    oracle : apply the kernel to Ux (needs ``fit_stream(..., projection=U)``; ``run_fit`` gives it)
    solver : ``auto``, ``exact``, ``pcg`` or ``nystrom``
    centers : Nyström centres M (<= n); None = min(n, 2048)
    rank : pcg's RPCholesky preconditioner rank (>= 1); None = adaptive, at most min(n, 2048)
    max_bytes : memory budget in bytes for the solver's matrices and kernel blocks
    lambda_min, lambda_max, n_lambdas : lam grid, times mean_i k(x_i, x_i) / n (n lam I is compared
        with K's diagonal); the low end matters for noiseless targets, where near-interpolation wins
    val_fraction : held-out fraction of n used to choose lam when no validation set is given
    cg_tol, cg_max_iter : Nyström's conjugate-gradient stopping rule
    dtype : ``float64`` (default) or ``float32`` for kernel evaluations; solves run in float64
    """

    kernel: Literal["ntk", "nngp", "poly", "rbf"] = "ntk"
    activation: str = "relu"
    q: int = 2
    bandwidth: float = 1.0
    oracle: bool = False
    solver: Literal["auto", "exact", "pcg", "nystrom"] = "auto"
    centers: int | None = None
    rank: int | None = None
    max_bytes: int = 4 * 2**30
    lambda_min: float = 1e-8
    lambda_max: float = 10.0
    n_lambdas: int = 10
    val_fraction: float = 0.2
    cg_tol: float = 1e-7
    cg_max_iter: int = 50
    dtype: Literal["float32", "float64"] = "float64"

    def __post_init__(self) -> None:
        # make_kernel's checks, in its order: activation, q, bandwidth, then the kernel's name
        check_activation(self.activation)
        check_int("q", self.q, minimum=1)
        check_real("bandwidth", self.bandwidth, minimum=0.0, strict=True)
        if self.kernel not in KERNEL_NAMES:
            raise ConfigError(f"kernel must be one of {list(KERNEL_NAMES)}; got {self.kernel!r}")
        if not isinstance(self.oracle, bool):
            raise ConfigError(f"oracle must be true or false; got {self.oracle!r}")
        if self.solver not in _SOLVERS:
            raise ConfigError(f"solver must be one of {list(_SOLVERS)}; got {self.solver!r}")
        if self.centers is not None:
            check_int("centers", self.centers, minimum=1)
        if self.rank is not None:
            check_int("rank", self.rank, minimum=1)
        check_int("max_bytes", self.max_bytes, minimum=1)
        check_common(self)
        check_real("cg_tol", self.cg_tol, minimum=0.0, strict=True)
        check_int("cg_max_iter", self.cg_max_iter, minimum=1)

    def lambdas(self, mean_diag: float, n: int) -> np.ndarray:
        """The lam grid in the ridge core's convention: nlam I is compared with K's diagonal."""
        return _lambdas(self, mean_diag, n)

    def check_problem(self, n: int, n_val: int | None = None) -> None:
        """The solver's memory budget and Nyström's centres (<= n) for n samples and n_val fresh
        validation samples (None: a held-out ``val_fraction`` of n)."""
        self.solver_for(*fit_sizes(self, n, n_val))

    def solver_for(self, n: int, n_val: int) -> str:
        """The solver that fits n training and n_val validation samples: ``solver``, or for
        ``auto`` exact below PCG_MIN_N and pcg from there, whichever fits ``max_bytes``, else
        Nyström. Raises ConfigError when the chosen solver cannot fit in ``max_bytes`` or
        Nyström would have more centres than samples: the one place these are checked."""
        fits = exact_memory(n, n_val) <= self.max_bytes
        pcg_fits = self.pcg_memory(n, n_val, store=False) <= self.max_bytes
        solver = self.solver
        if solver == "auto":
            solver = "pcg" if pcg_fits and (n >= PCG_MIN_N or not fits) else None
            solver = solver or ("exact" if fits else "nystrom")
        if solver == "exact" and not fits:
            raise ConfigError(
                f"max_bytes must be >= {exact_memory(n, n_val)} bytes for the exact solve at "
                f"n = {n}; got {self.max_bytes} (solver='pcg' or 'nystrom' need far less)"
            )
        if solver == "pcg" and not pcg_fits:
            raise ConfigError(
                f"max_bytes must be >= {self.pcg_memory(n, n_val, store=False)} bytes for the pcg "
                f"solve at n = {n}; got {self.max_bytes} (solver='nystrom' needs less)"
            )
        if solver == "nystrom":
            self._check_nystrom(n)
        return solver

    def nystrom_centers(self, n: int) -> int:
        """Nyström's number of centres M for n training samples."""
        return self.centers if self.centers is not None else min(n, NYSTROM_CENTERS)

    def _check_nystrom(self, n: int) -> None:
        M = self.nystrom_centers(n)
        if M > n:
            raise ConfigError(f"centers must be <= n (= {n}); got {M}")
        need = nystrom_memory(M, self.n_lambdas, 4 if self.dtype == "float32" else 8)
        if self.max_bytes < need:
            raise ConfigError(
                f"max_bytes must be >= {need} bytes for Nyström with centers = {M}; "
                f"got {self.max_bytes}"
            )

    def pcg_memory(self, n: int, n_val: int, *, store: bool) -> int:
        """pcg_ridge's peak plus the validation predictions (n_val, L)."""
        rank = self.rank if self.rank is not None else pcg_rank(n)
        L = self.n_lambdas
        return pcg_memory(n, rank, L, store=store) + 8 * n_val * L


@dataclass(frozen=True)
class RFMConfig(LearnerConfig):
    """Options of the Recursive Feature Machine.

    kernel : base kernel in the M-norm, ``laplace`` (default), ``gaussian`` or ``ntk``
    bandwidth : L of the Laplace and Gaussian kernels (in units of |x - z|_M)
    activation : the network activation of the ``ntk`` kernel
    iterations : T, the number of AGOP updates of M (0 = kernel ridge with M = I)
    rescale : ``none`` (M = AGOP, the paper's) or ``trace`` (M = d AGOP / tr AGOP)
    lambda_min, lambda_max, n_lambdas : lam grid, times mean_i k(x_i, x_i) / n, as kernel-ridge's
    val_fraction : held-out fraction of n used to choose lam when no validation set is given
    max_bytes : memory budget for the n x n solve and the kernel blocks
    dtype : ``float64`` (default) or ``float32`` for kernel evaluations; solves run in float64
    """

    kernel: Literal["laplace", "gaussian", "ntk"] = "laplace"
    bandwidth: float = 10.0
    activation: str = "relu"
    iterations: int = 3
    rescale: Literal["none", "trace"] = "none"
    lambda_min: float = 1e-8
    lambda_max: float = 10.0
    n_lambdas: int = 10
    val_fraction: float = 0.2
    max_bytes: int = 4 * 2**30
    dtype: Literal["float32", "float64"] = "float64"

    def __post_init__(self) -> None:
        if self.kernel not in ("laplace", "gaussian", "ntk"):
            raise ConfigError(
                f"kernel must be one of ['laplace', 'gaussian', 'ntk']; got {self.kernel!r}"
            )
        if self.rescale not in ("none", "trace"):
            raise ConfigError(f"rescale must be one of ['none', 'trace']; got {self.rescale!r}")
        check_real("bandwidth", self.bandwidth, minimum=0.0, strict=True)
        check_int("iterations", self.iterations, minimum=0)
        check_int("max_bytes", self.max_bytes, minimum=1)
        check_common(self)

    def lambdas(self, mean_diag: float, n: int) -> np.ndarray:
        return _lambdas(self, mean_diag, n)

    def check_problem(self, n: int, n_val: int | None = None) -> None:
        """The exact solve's memory budget for n samples and n_val fresh validation samples
        (None: a held-out ``val_fraction`` of n)."""
        n, n_val = fit_sizes(self, n, n_val)
        need = exact_memory(n, n_val)
        if need > self.max_bytes:
            raise ConfigError(
                f"max_bytes must be >= {need} bytes for RFM's exact solve at n = {n}; "
                f"got {self.max_bytes}"
            )


register_config("kernel-ridge", KernelRidgeConfig, is_network=False)
register_config("rfm", RFMConfig, is_network=False)
