"""Symbols shared by every derivation, defined once so results compose."""

import sympy as sp

#: Discrete time t (an integer >= 0).
T_TIME = sp.Symbol("t", integer=True, nonnegative=True)
#: Horizon T (an integer >= 1): the norm sums states h_1..h_T.
T_SYMBOL = sp.Symbol("T", integer=True, positive=True)
#: Initial condition h_0 (held fixed: D_g h_0 = 0).
H0_SYMBOL = sp.Symbol("h0", real=True)

__all__ = ["T_TIME", "T_SYMBOL", "H0_SYMBOL"]
