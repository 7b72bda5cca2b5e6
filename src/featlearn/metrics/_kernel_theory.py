"""Learning curves of dot-product kernel ridge on the sphere, from the kernel's spectrum (DESIGN 6).

Inputs x lie on the sphere sqrt(d) S^{d-1} and k(x, x') = kappa(x.x'/d). By Funk-Hecke, every
spherical harmonic of degree k is an eigenfunction of the kernel's integral operator with eigenvalue

    lambda_k = E_tau[kappa(tau) Q_k(tau)],    tau with density prop. to (1 - tau^2)^((d-3)/2),

Q_k the Gegenbauer polynomial of S^{d-1} normalised Q_k(1) = 1 (so E_tau[Q_k Q_l] = delta_kl / N_k),
and degree k holds N(d, k) = C(d+k-1, k) - C(d+k-3, k-2) harmonics: kappa(tau) = sum_k lambda_k N_k
Q_k(tau) (Mercer), and in particular kappa(1) = sum_k N_k lambda_k (the trace).

Eigenlearning (Bordelon, Canatar and Pehlevan 2020; Simon, Dickens, Karkada and DeWeese 2021):
kernel ridge f_hat = k(x, X)(K + delta I)^{-1} y on n samples has excess risk close to

    E_0 (sum_k (1 - L_k)^2 E_k + sigma^2) - sigma^2,   L_k = lambda_k / (lambda_k + kappa_e),
    E_0 = n / (n - sum_k N_k L_k^2),   kappa_e > 0 solving sum_k N_k L_k + delta / kappa_e = n,

E_k the target's energy in harmonic degree k. featlearn's ridge solves (K + n lam I), so delta = n lam.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax.numpy as jnp
import numpy as np

from featlearn._errors import ConfigError, NumericalError, check_int, check_real
from featlearn.kernels import Kernel, Oracle

__all__ = [
    "effective_ridge",
    "eigenlearning_risk",
    "gegenbauer",
    "gegenbauer_eigenvalues",
    "harmonic_multiplicity",
    "kernel_profile",
    "kernel_theory_risk",
]


def harmonic_multiplicity(d: int, k: int) -> int:
    """N(d, k) = C(d+k-1, k) - C(d+k-3, k-2): the number of degree-k spherical harmonics on
    S^{d-1} (C(., j) = 0 for j < 0). Exact integer; N(d, 0) = 1, N(d, 1) = d, N(3, k) = 2k + 1."""
    d = check_int("d", d, minimum=2)
    k = check_int("k", k, minimum=0)
    return math.comb(d + k - 1, k) - (math.comb(d + k - 3, k - 2) if k >= 2 else 0)


def gegenbauer(d: int, k_max: int, tau: np.ndarray) -> np.ndarray:
    """Q_0..Q_{k_max} at tau (any shape S); returns S + (k_max + 1,), Q_k(1) = 1, |Q_k| <= 1 on
    [-1, 1]. Three-term recurrence of the normalised polynomials (stable: no growing factors):
    Q_{k+1} = ((2k + d - 2) tau Q_k - k Q_{k-1}) / (k + d - 2)."""
    tau = np.asarray(tau, dtype=np.float64)
    Q = [np.ones_like(tau), tau]
    for k in range(1, k_max):
        Q.append(((2 * k + d - 2) * tau * Q[k] - k * Q[k - 1]) / (k + d - 2))
    return np.stack(Q[: k_max + 1], axis=-1)


def gegenbauer_eigenvalues(
    kappa: Callable[[np.ndarray], np.ndarray], d: int, k_max: int, *, nodes: int | None = None
) -> np.ndarray:
    """lambda_k = E_tau[kappa(tau) Q_k(tau)] for k = 0..k_max, shape (k_max + 1,).

    Gauss-Jacobi quadrature with alpha = beta = (d - 3)/2 (the law of tau = x.x'/d for x, x'
    uniform on the sphere), ``nodes`` points (default max(256, 8 k_max)): exact for polynomial
    kappa of degree < 2 nodes - k_max, and for smooth kappa limited by round-off only: the sum
    cancels down to lambda_k from terms of size |kappa Q_k| ~ kappa(1)/sqrt(N_k) (E Q_k^2 = 1/N_k),
    so the absolute error is about 1e-16 kappa(1)/sqrt(N_k) for every d and k (Q_k comes from a
    stable recurrence). The spectrum is then exact to round-off wherever lambda_k sqrt(N_k) is
    well above 1e-16 kappa(1): degrees the data can learn at any feasible n (checked up to d = 128,
    k = 12 against the Bessel closed form of exp(beta tau)).
    """
    d = check_int("d", d, minimum=2)
    k_max = check_int("k_max", k_max, minimum=0)
    nodes = check_int("nodes", nodes if nodes is not None else max(256, 8 * k_max), minimum=1)
    from scipy import special  # here: importing scipy.special costs 0.35 s at start-up

    a = (d - 3) / 2
    tau, w = special.roots_jacobi(nodes, a, a)
    w = w / w.sum()
    values = np.asarray(kappa(tau), dtype=np.float64)
    if values.shape != tau.shape or not np.isfinite(values).all():
        raise NumericalError(
            f"gegenbauer_eigenvalues: kappa(tau) gave shape {values.shape} or non-finite values"
        )
    return (w * values) @ gegenbauer(d, k_max, tau)


def kernel_profile(kernel: Kernel, d: int) -> Callable[[np.ndarray], np.ndarray]:
    """kappa(tau) = k(x, x') for |x|^2 = |x'|^2 = d and x.x' = d tau, as a float64 numpy function.

    Works for every dot-product featlearn kernel (NTK, NNGP, poly, rbf); an oracle kernel k(Ux, Ux')
    is not a function of x.x' on the sphere and is refused.
    """
    if not isinstance(kernel, Kernel) or isinstance(kernel, Oracle):
        raise ConfigError(
            f"kernel must be a dot-product featlearn Kernel (ntk, nngp, poly, rbf); got {kernel!r}"
        )
    d = check_int("d", d, minimum=2)

    def kappa(tau):
        g = d * jnp.asarray(tau, dtype=jnp.float64)
        return np.asarray(kernel._from_gram(g, float(d), float(d), d), dtype=np.float64)

    return kappa


def _lhs(kappa_e, lam, N, delta):
    """sum_k N_k lambda_k / (lambda_k + kappa_e) + delta / kappa_e, broadcast over kappa_e."""
    ke = kappa_e[..., None]
    return (N * lam / (lam + ke)).sum(-1) + delta / kappa_e


def effective_ridge(eigenvalues, multiplicities, n, delta) -> np.ndarray:
    """kappa_e > 0 solving sum_k N_k lambda_k/(lambda_k + kappa_e) + delta/kappa_e = n.

    The left side decreases strictly in kappa_e, so the root is unique and bracketed by
    [delta/n, (sum_k N_k lambda_k + delta)/n]; it is found by bisection on log kappa_e (robust for
    any spread of eigenvalues), vectorised over broadcast ``n`` and ``delta``. delta = 0 needs
    n < sum of N_k over lambda_k > 0 (interpolation of a finite-rank kernel otherwise fails).
    """
    lam, N = _spectrum(eigenvalues, multiplicities)
    n, delta = np.broadcast_arrays(np.asarray(n, np.float64), np.asarray(delta, np.float64))
    if (n <= 0).any() or (delta < 0).any() or not np.isfinite(n + delta).all():
        raise ConfigError(f"n must be > 0 and delta >= 0; got n = {n}, delta = {delta}")
    rank = N[lam > 0].sum()
    if ((delta == 0) & (n >= rank)).any():
        raise ConfigError(
            f"n must be < the kernel's rank (= {rank:g} listed modes) when delta = 0; got n = {n.max():g}"
        )
    top = (N * lam).sum()
    lo = np.log(np.where(delta > 0, delta / n, lam[lam > 0].min() * 1e-30))
    hi = np.log((top + delta) / n)
    for _ in range(200):  # interval shrinks 2^-200: far below float64 resolution of log kappa_e
        mid = 0.5 * (lo + hi)
        above = _lhs(np.exp(mid), lam, N, delta) > n
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return np.exp(0.5 * (lo + hi))


def _spectrum(eigenvalues, multiplicities) -> tuple[np.ndarray, np.ndarray]:
    lam = np.asarray(eigenvalues, dtype=np.float64)
    N = np.asarray(multiplicities, dtype=np.float64)
    if lam.ndim != 1 or N.shape != lam.shape:
        raise ConfigError(
            f"eigenvalues and multiplicities must be 1-D of one length; got {lam.shape} and {N.shape}"
        )
    if (lam < 0).any() or (N < 0).any() or not np.isfinite(lam).all() or (lam * N).sum() <= 0:
        raise ConfigError(f"eigenvalues and multiplicities must be >= 0, not all zero; got {lam}")
    return lam, N


def eigenlearning_risk(
    eigenvalues: Sequence[float],
    multiplicities: Sequence[float],
    energies: Sequence[float],
    n,
    delta,
    noise: float = 0.0,
    *,
    tail_trace: float = 0.0,
) -> np.ndarray:
    """Predicted excess risk E(f_hat - f*)^2 of kernel ridge (K + delta I) on n samples.

    Parameters
    ----------
    eigenvalues, multiplicities : (K,), lambda_k and N_k of degrees k = 0..K-1
    energies : (<= K,), E_k of the target per degree (missing degrees count as 0; a target with
        energy beyond the listed degrees is refused)
    n, delta : broadcastable arrays, sample size and ridge
    noise : sigma^2, the label-noise variance
    tail_trace : sum_{k >= K} N_k lambda_k of the degrees not listed. Those modes are far below
        kappa_e (lambda_k << kappa_e), so N_k lambda_k/(lambda_k + kappa_e) ~ N_k lambda_k/kappa_e:
        they act as extra ridge, delta -> delta + tail_trace, and their L_k^2 terms are dropped.

    Returns the risk with the broadcast shape of (n, delta).
    """
    lam, N = _spectrum(eigenvalues, multiplicities)
    E = np.zeros_like(lam)
    energies = np.asarray(energies, dtype=np.float64)
    if energies.ndim != 1 or len(energies) > len(lam) or (energies < 0).any():
        raise ConfigError(
            f"energies must be >= 0 and list at most {len(lam)} degrees; got {energies.tolist()}"
        )
    E[: len(energies)] = energies
    noise = check_real("noise", noise, minimum=0.0)
    tail_trace = check_real("tail_trace", tail_trace, minimum=0.0)
    n = np.asarray(n, dtype=np.float64)
    ke = effective_ridge(lam, N, n, np.asarray(delta, np.float64) + tail_trace)
    L = lam / (lam + ke[..., None])
    e0 = n / (n - (N * L**2).sum(-1))
    return e0 * (((1 - L) ** 2 * E).sum(-1) + noise) - noise


def _default_k_max(d: int, p: int, n_max: float) -> int:
    """Smallest k >= p + 1 with N(d, k + 1) >= 20 n_max (capped at 40): every degree beyond it has
    far more harmonics than samples, so its learnability is negligible and it is tail ridge."""
    k = p + 1
    while k < 40 and harmonic_multiplicity(d, k + 1) < 20 * n_max:
        k += 1
    return k


def kernel_theory_risk(
    kernel: Kernel,
    d: int,
    energies: Sequence[float],
    n,
    lam,
    noise: float = 0.0,
    k_max: int | None = None,
) -> np.ndarray:
    """Eigenlearning prediction of featlearn's kernel ridge risk on sphere inputs sqrt(d) S^{d-1}.

    ``energies`` are the target's E_k per harmonic degree (``Target(..., inputs="sphere").moments``);
    featlearn's ridge (K + n lam I) has delta = n lam; n and lam broadcast. Degrees 0..k_max are
    summed (default: see ``_default_k_max``), the rest enters as tail_trace = kappa(1) -
    sum_{k <= k_max} N_k lambda_k (Mercer at tau = 1). Returns the risk, broadcast shape of (n, lam).
    """
    d = check_int("d", d, minimum=2)
    n = np.asarray(n, dtype=np.float64)
    lam = np.asarray(lam, dtype=np.float64)
    p = len(energies) - 1
    if k_max is None:
        k_max = _default_k_max(d, p, float(n.max()))
    k_max = check_int("k_max", k_max, minimum=max(p, 0), bound=f"the target's degree (= {p})")
    kappa = kernel_profile(kernel, d)
    eig = gegenbauer_eigenvalues(kappa, d, k_max)
    if eig.min() < -1e-12 * abs(eig[0]) - 1e-300:
        raise NumericalError(
            f"kernel_theory_risk: the {kernel.name} kernel has eigenvalue {eig.min():.3g} < 0 at d = {d}"
        )
    eig = np.maximum(eig, 0.0)  # round-off below zero
    N = np.array([harmonic_multiplicity(d, k) for k in range(k_max + 1)], dtype=np.float64)
    tail = max(float(kappa(np.ones(1))[0]) - float(N @ eig), 0.0)
    return eigenlearning_risk(eig, N, energies, n, n * lam, noise, tail_trace=tail)
