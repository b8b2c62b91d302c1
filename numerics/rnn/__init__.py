"""numerics.rnn -- the paper's student-teacher tanh RNN, its exact derivatives and sNTK operators.

h_t = tanh(W h_{t-1} + b) with neurons 0, 1 as read-in/readout (sec. 2, appendix B).

Work in progress (issue 4): the model, exact JVP/VJP/BPTT, the matrix-free
sNTK/Fisher operators, the fixed-point finder and the appendix-B construction
the 4-stable/5-unstable teacher and the SGD loop with its records are in
place and tested; bifurcation tracking/classification through training and
the figure-1 checks are not yet.
"""

from ._derivatives import gradient, jvp, jvp_sqnorm, vjp
from ._events import Event, bifurcation_events
from ._fixed_points import RnnFixedPoint, find_fixed_points, multipliers
from ._teacher import Teacher, build_teacher, construct_W
from ._training import CONFIGS, TrainConfig, TrainingRecord, train
from ._model import READOUT, RNN, embed, forward, loss, loss_cotangent
from ._normal_form import RnnCriticalCoefficients, critical_coefficients
from ._operators import SntkOperator, TraceEstimate, entropy_rank, participation_ratio, stable_rank

__all__ = [
    "RNN", "READOUT", "embed", "forward", "loss", "loss_cotangent",
    "jvp", "jvp_sqnorm", "vjp", "gradient",
    "SntkOperator", "TraceEstimate", "stable_rank", "participation_ratio", "entropy_rank",
    "find_fixed_points", "RnnFixedPoint", "multipliers", "construct_W", "build_teacher", "Teacher",
    "TrainConfig", "TrainingRecord", "train", "CONFIGS", "bifurcation_events", "Event",
    "critical_coefficients", "RnnCriticalCoefficients",
]
