"""Cost of verifying the kernel cache: first call in a fresh process, this tree vs a baseline tree.

Every new process regenerates a form's module text and compares it with the
cached file before running it (numerics/_codegen.py).  This measures what that
costs where it matters -- import + the first sweep of a cached form in a fresh
interpreter -- side by side with a checkout of another commit (the baseline),
alternating A/B runs so that machine noise hits both alike::

    git worktree add /tmp/nfsntk-base 665b18f        # the landed main before the change
    .venv/bin/python benchmarks/bench_cache.py --baseline /tmp/nfsntk-base --rounds 7

Each tree gets its own warm cache directory (one untimed run first).  Also
printed: the verification step alone (generate + compare) for the catalogue.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

FIRST_CALL = (
    "import normalforms as nf, numerics\n"
    "numerics.sweep(nf.pitchfork(), [0.9, 1.1], 30, numerics.uniform_ics(0.1, 1000, seed=0), progress=False)\n"
)

VERIFY = (
    "import time, normalforms as nf\n"
    "from numerics._codegen import form_source\n"
    "forms = list(nf.catalog().values())\n"
    "t = time.perf_counter(); [form_source(f) for f in forms[:1]]; first = time.perf_counter() - t\n"
    "t = time.perf_counter(); [form_source(f) for f in forms[1:]]; rest = (time.perf_counter() - t) / (len(forms) - 1)\n"
    "print(f'{first:.4f} {rest:.4f}')\n"
)


def timed(tree: Path, cache: str) -> float:
    env = dict(os.environ, NFSNTK_CACHE_DIR=cache, PYTHONPATH=str(tree))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", FIRST_CALL], cwd=tree, env=env, check=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=Path, required=True, help="a checkout of the commit to compare with")
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    trees = {"this tree": HERE, "baseline": a.baseline.resolve()}
    with tempfile.TemporaryDirectory() as tmp:
        caches = {}
        for name in trees:
            caches[name] = os.path.join(tmp, name.replace(" ", "_"))
            os.makedirs(caches[name], mode=0o700)
            timed(trees[name], caches[name])  # compile: warm cache from here on
        times = {name: [] for name in trees}
        for _ in range(a.rounds):
            for name, tree in trees.items():
                times[name].append(timed(tree, caches[name]))
        env = dict(os.environ, NFSNTK_CACHE_DIR=caches["this tree"], PYTHONPATH=str(HERE))
        first, rest = subprocess.run([sys.executable, "-c", VERIFY], cwd=HERE, env=env, check=True,
                                     capture_output=True, text=True).stdout.split()
    mine, base = statistics.median(times["this tree"]), statistics.median(times["baseline"])
    print(f"first call, fresh process, warm cache (median of {a.rounds}, alternating):")
    for name in trees:
        print(f"  {name:<10} median {statistics.median(times[name]):.3f} s, best {min(times[name]):.3f} s  "
              f"({', '.join(f'{t:.2f}' for t in times[name])})")
    print(f"  ratio this/baseline: {mine / base:.3f} (median), {min(times['this tree']) / min(times['baseline']):.3f} (best)")
    print(f"verification (generate + compare) in a fresh process: first form {float(first) * 1e3:.0f} ms, "
          f"each further form {float(rest) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
