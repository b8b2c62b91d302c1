"""Speed of numerics.sweep against a plain vectorised NumPy implementation.

    python benchmarks/bench_sweep.py [--G 2000] [--B 10000] [--T 30] [--rounds 3]

Prints a table: pitchfork sweep (G x B x T state updates) timed side by side
with NumPy in the same process, alternating, best of ``rounds`` each (the
machines here are shared and noisy, so only same-run ratios mean much); the
first call in a fresh process (interpreter start and imports included) with
a warm disk cache; and the compile time of a new user-defined form.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import normalforms as nf
import numerics
from numerics._inputs import check_threads


def numpy_pitchfork(g: np.ndarray, h0: np.ndarray, T: int, block: int = 100) -> np.ndarray:
    """The obvious NumPy code: vectorised over (g, sample), looping over t.

    g is processed in blocks of ``block`` values so arrays stay ~8 MB; one
    (G, B) array at a time is slower (memory-bound), which would flatter the kernel.
    """
    out = np.empty(g.size)
    for start in range(0, g.size, block):
        gg = g[start:start + block, None]
        h = np.repeat(h0[None, :], gg.shape[0], axis=0)
        s = np.zeros_like(h)
        acc = np.zeros(gg.shape[0])
        for _ in range(T):
            h2 = h * h
            s = (gg - 3.0 * h2) * s + h
            h = h * (gg - h2)
            acc += np.einsum("ij,ij->i", s, s)
        out[start:start + block] = acc
    return out


COLD = """
import numpy as np, normalforms as nf, numerics
g = np.linspace(0.5, 1.5, {G}); h0 = numerics.uniform_ics(0.1, {B}, seed=0)
numerics.sweep(nf.pitchfork(), g, {T}, h0, progress=False)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--G", type=int, default=2000)
    ap.add_argument("--B", type=int, default=10_000)
    ap.add_argument("--T", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    form = nf.pitchfork()
    g = np.linspace(0.5, 1.5, a.G)
    h0 = numerics.uniform_ics(0.1, a.B, seed=0)
    updates = a.G * a.B * a.T
    numerics.sweep(form, g[:2], a.T, h0[:10], progress=False)  # compile / load

    t_kernel, t_numpy = [], []
    for _ in range(a.rounds):
        start = time.perf_counter()
        res = numerics.sweep(form, g, a.T, h0, progress=False)
        t_kernel.append(time.perf_counter() - start)
        start = time.perf_counter()
        ref = numpy_pitchfork(g, h0, a.T)
        t_numpy.append(time.perf_counter() - start)
    agree = float(np.max(np.abs(res.norm - ref) / ref))

    cold = []
    for _ in range(2):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", COLD.format(G=a.G, B=a.B, T=a.T)], check=True)
        cold.append(time.perf_counter() - start)

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["NFSNTK_CACHE_DIR"] = tmp  # nothing cached: a genuinely new form
        user = nf.NormalForm(f"g*h - h**3 + {time.time_ns() % 997}/1000*h**2*g", name="new user form")
        start = time.perf_counter()
        numerics.sweep(user, [1.0], 5, [0.1], progress=False)
        compile_s = time.perf_counter() - start

    kb, nb = min(t_kernel), min(t_numpy)
    rows = [
        ("pitchfork sweep, wall time (best)", f"{kb:.3f} s", f"G={a.G}, B={a.B}, T={a.T}"),
        ("  state updates per second", f"{updates / kb:.3g}", "target >= 5e9"),
        ("NumPy baseline, wall time (best)", f"{nb:.3f} s", f"{updates / nb:.3g} updates/s"),
        ("  speed-up over NumPy", f"{nb / kb:.1f}x", "target >= 60x"),
        ("  max relative difference", f"{agree:.1e}", ""),
        ("first call, fresh process, warm cache", f"{min(cold):.2f} s", "import + sweep; target <= 1 s"),
        ("compile a new user form", f"{compile_s:.2f} s", "print + numba; target <= 5 s"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"threads: {check_threads(None)}  (all rounds: kernel "
          f"{', '.join(f'{t:.3f}' for t in t_kernel)} s; NumPy {', '.join(f'{t:.2f}' for t in t_numpy)} s)")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>10}  {note}")


if __name__ == "__main__":
    main()
