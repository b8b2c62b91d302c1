"""Numerical continuation of user maps: time to a full bifurcation list (issue 16 targets).

    .venv/bin/python benchmarks/bench_continuation.py

Targets: a 1-D transcendental map over a unit parameter interval in <= 2 s; a
3-D polynomial map in <= 10 s.  Each case is timed cold (first call in this
process, sympy's caches empty for that form) and warm (best of 3 further calls);
the exact path of the logistic map is timed beside its numeric path for scale.
"""

from __future__ import annotations

import time

import normalforms as nf

CASES = [
    ("g sin h, g in [1.5, 2.5]", nf.NormalForm("g*sin(h)"), dict(interval=(1.5, 2.5), box=4), "numeric"),
    ("g tanh h + h^2/20, g in [0.5, 1.5]", nf.NormalForm("g*tanh(h) + 0.05*h**2"), dict(interval=(0.5, 1.5), box=5),
     "numeric"),
    ("Ricker r h exp(-h), r in [5, 9]", nf.NormalForm("r*h*exp(-h)", param="r"), dict(interval=(5, 9), box=10),
     "numeric"),
    ("3-D polynomial, g in [0.5, 1.5]",
     nf.NormalForm("g*x - x**3 + y/5, y/2 + 3*x*z/10, 2*z/5 + x**2", state="x y z"), dict(interval=(0.5, 1.5), box=3),
     "numeric"),
    ("logistic, exact path", nf.NormalForm("r*h*(1 - h)", param="r"), {}, "exact"),
    ("logistic, numeric path, r in [-2, 4]", nf.NormalForm("r*h*(1 - h)", param="r"), dict(interval=(-2, 4), box=3),
     "numeric"),
]


def main() -> None:
    print(f"{'case':40s} {'cold':>8s} {'warm':>8s}  events")
    for name, form, where, method in CASES:
        start = time.perf_counter()
        events = form.bifurcations(method=method, **where)
        cold = time.perf_counter() - start
        warm = min(_timed(lambda: form.bifurcations(method=method, **where)) for _ in range(3))
        kinds = ", ".join(f"{e.kind} at {float(e.parameter_value):.6g}" for e in events)
        print(f"{name:40s} {cold:7.2f}s {warm:7.2f}s  {kinds}")


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
