"""numerics.rnn -- the paper's student-teacher tanh RNN, its exact derivatives and sNTK operators.

h_t = tanh(W h_{t-1} + b) with neurons 0, 1 as read-in/readout (sec. 2, appendix B).
"""

from ._derivatives import gradient, jvp, vjp
from ._model import READOUT, RNN, embed, forward, loss, loss_cotangent
from ._operators import SntkOperator, TraceEstimate, entropy_rank, participation_ratio, stable_rank

__all__ = [
    "RNN", "READOUT", "embed", "forward", "loss", "loss_cotangent",
    "jvp", "vjp", "gradient",
    "SntkOperator", "TraceEstimate", "stable_rank", "participation_ratio", "entropy_rank",
]
