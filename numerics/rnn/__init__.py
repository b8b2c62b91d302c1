"""numerics.rnn -- recurrent models behind one cell protocol, their exact derivatives and sNTK operators.

Any cell of the protocol (``AbstractCell``: the paper's tanh RNN, tanh with inputs,
leaky/continuous-time, GRU) gets fixed points at a constant input, continuation,
tracking and classification of bifurcations; models (cell + readout) train on tasks
(student-teacher, flip-flop) and load from PyTorch-named arrays without torch.

The paper's network, h_t = tanh(W h_{t-1} + b) with neurons 0, 1 as read-in/readout
(sec. 2, appendix B), is one cell.  For it: the model, exact JVP/VJP/BPTT, the matrix-free sNTK/Fisher operators (exact and
Hutch++ traces, block-Krylov eigenpairs, effective ranks), the fixed-point finder,
the appendix-B teacher, the SGD loop with its records, pseudo-arclength
continuation between checkpoints and the location/classification of every
bifurcation met in training.
"""

from ._derivatives import gradient, jvp, jvp_sqnorm, vjp
from ._events import Event, bifurcation_events
from ._fixed_points import RnnFixedPoint, find_fixed_points, multipliers
from ._teacher import Teacher, build_teacher, build_two_mode_teacher, construct_W, stable_student
from ._training import CONFIGS, TrainConfig, TrainingInterrupted, TrainingRecord, train
from ._records import RecordError, record_name
from ._model import READOUT, RNN, embed, forward, loss, loss_cotangent
from ._normal_form import RnnCriticalCoefficients, critical_coefficients
from ._continuation import Branch, Chord, ContinuationPoint, SpecialPoint, continue_branch
from ._tracking import FixedPointTracks, LocatedBifurcation, classify, track_fixed_points
from ._crosscheck import (CriticalDirection, CuspWindow, Decomposition, NormalFormPrediction, RestrictedSntk, along,
                          critical_direction, cusp_window, decompose, fd_step_study, imperfect_pitchfork_prediction,
                          normal_form_prediction, reduced_map_prediction, restricted_sntk)
from ._reduced import ReducedMap, reduced_map
from ._natural import LowRankNaturalGradient, ModelFisher, gauss_newton_spectrum, model_fisher
from ._curves import LossDrop, loss_drops, loss_roughness, median_filter
from ._seeds import SeedRuns, fit_seeds, fit_summary, run_seeds, summarize
from ._cells import AbstractCell, GRUCell, LeakyCell, ParamCell, TanhCell
from ._tasks import Batch, FitRecord, FlipFlop, Model, ModelSpec, StudentTeacher, fit
from ._weights import from_state_dict, load_checkpoints, load_npz, to_state_dict
from ._eigen import EigenNotConverged, EigenResult, block_top_eigenpairs
from ._fixed_points import newton_batch
from ._operators import SntkOperator, TraceEstimate, entropy_rank, participation_ratio, stable_rank

__all__ = [
    "RNN", "READOUT", "embed", "forward", "loss", "loss_cotangent",
    "jvp", "jvp_sqnorm", "vjp", "gradient",
    "SntkOperator", "TraceEstimate", "block_top_eigenpairs", "EigenResult", "EigenNotConverged", "stable_rank", "participation_ratio", "entropy_rank",
    "find_fixed_points", "newton_batch", "RnnFixedPoint", "multipliers", "construct_W", "build_teacher", "Teacher",
    "build_two_mode_teacher", "stable_student",
    "TrainConfig", "TrainingRecord", "RecordError", "TrainingInterrupted", "record_name", "train", "CONFIGS", "bifurcation_events", "Event",
    "critical_coefficients", "RnnCriticalCoefficients",
    "Chord", "continue_branch", "Branch", "ContinuationPoint", "SpecialPoint",
    "track_fixed_points", "FixedPointTracks", "LocatedBifurcation", "classify",
    "critical_direction", "CriticalDirection", "decompose", "Decomposition", "along", "restricted_sntk",
    "RestrictedSntk", "fd_step_study", "normal_form_prediction", "NormalFormPrediction",
    "cusp_window", "CuspWindow", "imperfect_pitchfork_prediction", "reduced_map", "ReducedMap", "reduced_map_prediction", "LowRankNaturalGradient", "ModelFisher", "model_fisher",
    "gauss_newton_spectrum", "loss_roughness", "loss_drops", "LossDrop", "median_filter",
    "run_seeds", "SeedRuns", "summarize", "fit_seeds", "fit_summary",
    "AbstractCell", "ParamCell", "TanhCell", "LeakyCell", "GRUCell",
    "Model", "ModelSpec", "FlipFlop", "StudentTeacher", "Batch", "FitRecord", "fit",
    "from_state_dict", "to_state_dict", "load_npz", "load_checkpoints",
]
