r"""normalforms -- the symbolic layer of nfsntk.

Closed-form sensitivities D_g h_t and norms of the rank-one kernel
sNTK_g = (D_g h)(D_g h)^T for scalar and low-dimensional maps
h_{t+1} = f(h_t, g) near codimension-one bifurcations (Hazelden &
Shea-Brown 2026, sec. 3), fixed points, bifurcations and Kuznetsov's
critical normal-form coefficients.  Pure sympy/mpmath.

Conventions
-----------
* The norm sums the states h_1..h_T; h_0 is held fixed (D_g h_0 = 0).
* ||sNTK_g|| is the operator 2-norm of the rank-one kernel, which equals
  sum_b sum_{t=1}^T ||D_g h_t^(b)||^2.
* Critical eigenvectors: ||q|| = 1, <p, q> = 1, largest-|.| component of a
  real q positive (this fixes the sign of the fold coefficient a).
"""

from ._asymptotics import AsymptoticRegimes, Regime, asymptotic_regimes
from ._bifurcations import (
    Bifurcation,
    BifurcationList,
    CriticalCoefficients,
    bifurcations,
    flip_coefficient,
    fold_coefficient,
    neimark_sacker_coefficient,
    pitchfork_coefficients,
)
from ._catalog import (
    catalog,
    imperfect_pitchfork,
    neimark_sacker,
    period_doubling,
    pitchfork,
    saddle_node,
    stability_flip,
    transcritical,
)
from ._ensembles import GaussianEnsemble, PointEnsemble, SymbolicMoments, UniformEnsemble
from ._exppoly import ExpPoly
from ._fixed_points import FixedPointBranch, fixed_points, period_two_points
from ._form import NormalForm
from ._kinds import Criticality, Kind
from ._laws import LawStatus, LawVerdict, assert_law, verify_law
from ._parse import FUNCTIONS as ALLOWED_FUNCTIONS
from ._parse import parse_expression
from ._series import SensitivitySeries, SntkSeries, sensitivity_series, sntk_norm
from ._symbols import H0_SYMBOL, T_SYMBOL, T_TIME
from ._unfolding import (BifurcationCurves, ParameterSensitivities, bifurcation_curves, cusp,
                         parameter_sensitivities)
from ._unroll import TangentRecursion, Unrolled, tangent_recursion, unroll

__all__ = [
    "NormalForm", "parse_expression", "ALLOWED_FUNCTIONS", "Kind", "Criticality",
    "verify_law", "assert_law", "LawVerdict", "LawStatus",
    "stability_flip", "pitchfork", "saddle_node", "period_doubling", "transcritical",
    "neimark_sacker", "imperfect_pitchfork", "cusp", "catalog",
    "bifurcation_curves", "BifurcationCurves", "parameter_sensitivities", "ParameterSensitivities",
    "tangent_recursion", "unroll", "TangentRecursion", "Unrolled",
    "sensitivity_series", "sntk_norm", "SensitivitySeries", "SntkSeries", "ExpPoly",
    "UniformEnsemble", "GaussianEnsemble", "PointEnsemble", "SymbolicMoments",
    "asymptotic_regimes", "AsymptoticRegimes", "Regime",
    "fixed_points", "period_two_points", "FixedPointBranch",
    "bifurcations", "Bifurcation", "BifurcationList", "CriticalCoefficients",
    "fold_coefficient", "flip_coefficient", "pitchfork_coefficients", "neimark_sacker_coefficient",
    "T_TIME", "T_SYMBOL", "H0_SYMBOL",
]
