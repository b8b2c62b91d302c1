r"""numerics -- the numba-JIT numeric layer of nfsntk.

Evaluates ||sNTK_g|| = sum_b sum_{t=1}^T ||D_g h_t^(b)||^2 (paper, sec. 3 and
figure 2) for any :class:`normalforms.NormalForm` over g-grids and
initial-condition ensembles.  A form is printed to Python source once
(:func:`compile_form`), jitted by numba and cached on disk; sweeps run on
threads over (g, ensemble-part) work items, or on a Dask cluster with
``sweep(..., client=...)`` (:mod:`numerics._distributed`, exact recombination
of the workers' partial sums).  :func:`reference` is an independent mpmath
path used to verify the kernels.  :mod:`numerics.rnn` is the full
student-teacher RNN.

Public API
----------
sweep, SweepResult, sweep_grid, GridResult, trajectories, Trajectories, reference, ReferenceResult,
uniform_ics, gaussian_ics, compile_form, compile_count, CompiledForm, cache_dir, CacheDirectoryError, CacheIntegrityWarning,
plot_amplification, plot_amplification_map, figure2, Figure2, DEFAULT_ESCAPE_RADIUS,
NumericalOverflowWarning, blas_threads, limit_blas_threads.
"""

from ._codegen import (CacheDirectoryError, CacheIntegrityWarning, CompiledForm, cache_dir, compile_count, compile_form,
                       form_source)
from ._inputs import gaussian_ics, uniform_ics
from ._plotting import (FIGURE2_FORMS, FIGURE2_RANGES, FIGURE2_T, Figure2, figure2, plot_amplification,
                        plot_amplification_map, plot_bifurcation_diagram)
from ._reference import ReferenceResult, reference
from ._threads import blas_threads, limit_blas_threads
from ._sweep import (
    DEFAULT_ESCAPE_RADIUS,
    GridResult,
    NumericalOverflowWarning,
    SweepResult,
    Trajectories,
    sweep,
    sweep_grid,
    trajectories,
)

__all__ = [
    "sweep", "SweepResult", "sweep_grid", "GridResult", "trajectories", "Trajectories",
    "reference", "ReferenceResult",
    "uniform_ics", "gaussian_ics",
    "compile_form", "compile_count", "CompiledForm", "cache_dir", "form_source", "CacheDirectoryError", "CacheIntegrityWarning",
    "plot_amplification", "plot_amplification_map", "plot_bifurcation_diagram", "figure2", "Figure2", "FIGURE2_FORMS", "FIGURE2_RANGES", "FIGURE2_T",
    "DEFAULT_ESCAPE_RADIUS", "NumericalOverflowWarning",
    "blas_threads", "limit_blas_threads",
]
