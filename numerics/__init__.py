"""numerics -- the numba-JIT numeric layer of nfsntk.

Planned (issue 3): ``sweep`` of ||sNTK_g|| over g-grids and initial-condition
ensembles for any :class:`normalforms.NormalForm`, compiled from printed
source; an independent mpmath reference; figure 2.  Later issues add the
full student-teacher RNN.  Nothing is exported yet.
"""

__all__: list[str] = []
