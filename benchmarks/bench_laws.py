"""verify_law: one law over one regime with 50 hypothesis draws (issue 22 target: <= 5 s on 2 cores).

    .venv/bin/python benchmarks/bench_laws.py

Each case is timed cold (first call in this process: the closed form is derived,
and for a failing law the precise law by sympy limits) and warm (best of 3).  The
baseline beside it is the obvious way to get the same numbers -- sympy
``subs(...).evalf(60)`` of the ratio at every horizon -- for one value of the first
case, horizon by horizon until it has spent BUDGET seconds (it does not reach the
largest horizons: its cost grows ~4x per doubling of T).
"""

from __future__ import annotations

import time

import sympy as sp

import normalforms as nf
from normalforms import strategies as nfs

FLIP = nf.stability_flip()
BUDGET = 30.0
CASES = [
    ("flip, T^2 g^2T/(g^2-1), g > 1 (holds)", FLIP, "T**2*g**(2*T)/(g**2 - 1)", "g > 1"),
    ("flip, T^3/3, |g| < 1 (wrong order)", FLIP, "T**3/3", "abs(g) < 1"),
    ("pitchfork, leading order, g = 1 and |g|>1", nf.pitchfork(), "T**2*g**(2*T)/(g**2 - 1)", "abs(g) > 1"),
]


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    print(f"{'case (50 draws)':44s} {'cold':>7s} {'warm':>7s}  verdict")
    for name, form, law, regime in CASES:
        run = lambda: nf.verify_law(form, law, regime, strategy=nfs.parameters(regime, bound=3),  # noqa: E731
                                    draws=50, seed=0)
        cold = _timed(run)
        warm = min(_timed(run) for _ in range(3))
        v = run()
        print(f"{name:44s} {cold:6.2f}s {warm:6.2f}s  {v.status} ({len(v.points)} values)")

    # side by side: the same ratios by sympy evalf, at the first value of the first case, horizon by
    # horizon until it has spent BUDGET seconds (its cost grows ~4x per doubling of T)
    form, law, regime = CASES[0][1:]
    verdict = nf.verify_law(form, law, regime, strategy=nfs.parameters(regime, bound=3), draws=50, seed=0)
    g = verdict.points[0].value
    Q = nf.sntk_norm(form, order=1, ensemble=nf.PointEnsemble([1])).expr
    L = nf.parse_expression(law, {"T": nf.T_SYMBOL, "g": form.param})
    q, lw = Q.subs(form.param, g), L.subs(form.param, g)
    q = sp.piecewise_fold(q).simplify() if isinstance(q, sp.Piecewise) else q
    horizons = [8 * 2**k + s for k in range(19) for s in (0, 1)]  # the horizons verify_law uses
    done, start = 0, time.perf_counter()
    for T in horizons:
        (q.subs(nf.T_SYMBOL, T) / lw.subs(nf.T_SYMBOL, T)).evalf(60)
        done += 1
        if time.perf_counter() - start > BUDGET:
            break
    base = time.perf_counter() - start
    ours = min(_timed(lambda: nf.verify_law(form, law, regime, values=[g])) for _ in range(3))
    print(f"\none value (g = {g}): verify_law, all {len(horizons)} horizons to T = {horizons[-1]}: {ours:.3f}s; "
          f"sympy subs/evalf: {done} horizons (to T = {horizons[done - 1]}) in {base:.1f}s")


if __name__ == "__main__":
    main()
