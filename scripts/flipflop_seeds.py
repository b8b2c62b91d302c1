"""The flip-flop GRU of notebook 05 over several seeds: memories found and bifurcations tracked.

    .venv/bin/python scripts/flipflop_seeds.py [SEEDS]

Per seed (init and batches): N = 12 GRU, FlipFlop(T=40), 1000 Adam steps (lr 1e-2, B = 64), a checkpoint
every 50 steps; then the stable fixed points at zero input at the last checkpoint (by tracking) and every
bifurcation met in training.  Prints each seed and the median and range over seeds.
"""

from __future__ import annotations

import sys

import numpy as np

from numerics.rnn import FlipFlop, GRUCell, Model, fit, track_fixed_points


def one(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    model = Model(GRUCell.init(12, 3, rng), rng.uniform(-0.25, 0.25, (3, 12)))
    trained, rec = fit(model, FlipFlop(T=40), steps=1000, lr=1e-2, batch=64, seed=seed + 10, every=50)
    tracks = track_fixed_points(rec.cells(), rec.steps, seeds=30, x=np.zeros(3), progress=False)
    stable = [br.last.h for br in tracks.segments[-1] if br.end == "alpha=1" and br.last.stable]
    corners = {tuple(np.sign(trained.weight @ h + trained.bias).astype(int)) for h in stable}
    steps = [b.step for b in tracks.bifurcations]
    return {"loss": rec.loss[-1], "stable": len(stable), "corners": len(corners), "bifurcations": len(steps),
            "first": min(steps, default=np.nan), "last": max(steps, default=np.nan),
            "kinds": sorted({str(b.classification) for b in tracks.bifurcations})}


def main() -> None:
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    rows = [one(s) for s in range(seeds)]
    for s, r in enumerate(rows):
        print(f"seed {s}: final loss {r['loss']:.2e}, {r['stable']} stable fixed points at {r['corners']} corners, "
              f"{r['bifurcations']} bifurcations between steps {r['first']:.0f} and {r['last']:.0f} ({', '.join(r['kinds'])})")
    for key in ("stable", "corners", "bifurcations", "first", "last"):
        v = np.array([r[key] for r in rows], dtype=float)
        print(f"{key:13s} median {np.median(v):g}, range {v.min():g}..{v.max():g} over {seeds} seeds")


if __name__ == "__main__":
    main()
