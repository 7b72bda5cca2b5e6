"""Linear algebra shared by every learner: the ridge core (DESIGN section 5)."""

from featlearn.solvers._ridge import (
    RidgePath,
    SingularSystemWarning,
    accumulate_gram,
    dual_ridge_path,
    lambda_grid,
    ridge_solve,
    select_lambda,
)

__all__ = [
    "RidgePath",
    "SingularSystemWarning",
    "accumulate_gram",
    "dual_ridge_path",
    "lambda_grid",
    "ridge_solve",
    "select_lambda",
]
