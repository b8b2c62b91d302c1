"""An independent arbitrary-precision path for verifying the kernels.

It shares no code with the kernels: f, f_h and f_g are turned into mpmath
callables by ``sympy.lambdify`` (not by the kernel printer) and iterated in
plain Python at ``dps`` significant digits.  mpmath numbers have unbounded
exponents, so no rescaling is needed either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from normalforms import NormalForm

from ._inputs import validated
from normalforms._repr import short_repr


@short_repr()
@dataclass(frozen=True)
class ReferenceResult:
    """Norms at ``dps`` digits.

    Attributes
    ----------
    norm : list of mpmath.mpf, length G
        sum_b sum_{t=1}^T |D_g h_t|^2 over non-escaped trajectories.
    escaped : list of int
    profile : list of list of mpmath.mpf, (G, T)
    """

    g: np.ndarray
    T: int
    dps: int
    norm: list
    escaped: list
    profile: list

    @property
    def log_norm(self) -> np.ndarray:
        return np.array([float(mpmath.log(v)) if v > 0 else -math.inf for v in self.norm])


def reference(form: NormalForm, g: Any, T: int, h0: Any, *, dps: int = 50,
              escape_radius: float = 1.0e6) -> ReferenceResult:
    r"""||sNTK_g|| by direct iteration in mpmath at ``dps`` digits.

    Same conventions and escape rule as :func:`numerics.sweep` (linear maps
    never escape); g and h0 are taken as the exact binary values of the
    float64 inputs, so the comparison with the kernel measures only the
    kernel's rounding.

    Examples
    --------
    >>> import normalforms as nf, numerics
    >>> r = numerics.reference(nf.stability_flip(), [2.0], T=3, h0=[1.0], dps=30)
    >>> r.norm[0]                     # 1 + 4 * 4 + 9 * 16
    mpf('161.0')
    """
    form, g, T, h0_k, radius = validated(form, g, T, h0, escape_radius)
    n = form.dim
    args = (*form.state, form.param)
    f = sp.lambdify(args, list(form.rhs), modules="mpmath")
    jac = sp.Matrix(form.rhs).jacobian(sp.Matrix(form.state))
    fh = sp.lambdify(args, jac.tolist(), modules="mpmath")
    fg = sp.lambdify(args, [sp.diff(e, form.param) for e in form.rhs], modules="mpmath")
    norms, escaped, profiles = [], [], []
    with mpmath.workdps(dps):
        for gv in g:
            gm = mpmath.mpf(float(gv))
            total = mpmath.mpf(0)
            per_t = [mpmath.mpf(0)] * T
            n_esc = 0
            for b in range(h0_k.shape[1]):
                h = [mpmath.mpf(float(v)) for v in h0_k[:, b]]
                s = [mpmath.mpf(0)] * n
                contrib = []
                gone = False
                for _ in range(T):
                    A = fh(*h, gm)
                    d = fg(*h, gm)
                    s = [sum(A[i][j] * s[j] for j in range(n)) + d[i] for i in range(n)]
                    h = list(f(*h, gm))
                    if any(abs(v) > radius for v in h):
                        gone = True
                        break
                    contrib.append(sum(v * v for v in s))
                if gone:
                    n_esc += 1
                    continue
                total += sum(contrib)
                per_t = [a + c for a, c in zip(per_t, contrib)]
            norms.append(total)
            escaped.append(n_esc)
            profiles.append(per_t)
    return ReferenceResult(g=g, T=T, dps=dps, norm=norms, escaped=escaped, profile=profiles)
