"""Linear algebra shared by every learner: the ridge core (DESIGN section 5)."""

from featlearn.solvers._cg import CGResult, conjugate_gradient
from featlearn.solvers._nystrom import (
    NystromSolution,
    nystrom_memory,
    nystrom_ridge,
    uniform_centers,
)
from featlearn.solvers._pcg import RANK_CAP, PCGSolution, pcg_memory, pcg_rank, pcg_ridge
from featlearn.solvers._ridge import (
    RidgePath,
    SingularSystemWarning,
    accumulate_gram,
    best_on_validation,
    dual_ridge_path,
    dual_select_lambda,
    lambda_grid,
    ridge_solve,
    ridge_solve_mixed,
    select_lambda,
)
from featlearn.solvers._rpcholesky import LowRankPreconditioner, RPCholesky, rpcholesky
from featlearn.solvers._tiles import KernelTiles, tiles_memory

__all__ = [
    "CGResult",
    "KernelTiles",
    "LowRankPreconditioner",
    "NystromSolution",
    "PCGSolution",
    "RANK_CAP",
    "RPCholesky",
    "RidgePath",
    "SingularSystemWarning",
    "accumulate_gram",
    "best_on_validation",
    "conjugate_gradient",
    "dual_ridge_path",
    "dual_select_lambda",
    "lambda_grid",
    "nystrom_memory",
    "nystrom_ridge",
    "pcg_memory",
    "pcg_rank",
    "pcg_ridge",
    "ridge_solve",
    "ridge_solve_mixed",
    "rpcholesky",
    "select_lambda",
    "tiles_memory",
    "uniform_centers",
]

from featlearn._jax import float64_inside  # noqa: E402

float64_inside(__name__)  # every function here runs in JAX's 64-bit mode, nothing else does
