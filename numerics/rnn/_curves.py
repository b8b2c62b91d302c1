r"""Loss-curve measures: roughness and the large drops at bifurcations (paper, fig. 1A, fig. 4).

Both work on a loss recorded on one *fixed* batch (``TrainingRecord.loss``,
the diagnostic batch), so the curve moves only because the network does:
sampling noise of the training batches -- which no preconditioner can remove
-- does not enter.

* Roughness: the sum of the upward jumps of the log-loss between consecutive
  records,

  .. math:: R = \sum_i \max(0,\ \log L_{i+1} - \log L_i),

  zero for a monotone curve, scale-free (a spike that multiplies the loss by
  e counts 1 whatever the loss level), and insensitive to the downward
  drops that the paper wants kept.
* Drops: episodes in which the running-median log-loss falls by at least a
  factor ``factor`` within ``window`` records; the step reported is that of
  the steepest one-record decrease inside the episode.  The median filter
  removes isolated spikes, whose recovery would otherwise look like a drop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _as_curve(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"{name} must be a 1-D sequence of at least 2 values, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or inf; the training diverged before this record")
    return arr


def median_filter(values, width: int = 5) -> np.ndarray:
    """Running median over ``width`` (odd) points, edges padded with the end values."""
    x = _as_curve(values, "values")
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1 or width % 2 == 0:
        raise ValueError(f"width must be an odd positive integer, got {width!r}")
    half = width // 2
    pad = np.pad(x, half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(pad, width), axis=1)


def loss_roughness(loss) -> float:
    r"""R = sum_i max(0, log L_{i+1} - log L_i), the summed upward jumps of the log-loss.

    Parameters
    ----------
    loss : array_like, shape (n,)
        Positive losses on a fixed batch, in record order.

    Examples
    --------
    Up 2x, down, up 4x: log 2 + log 4 = log 8, whatever the level.

    >>> import math
    >>> abs(loss_roughness([1.0, 2.0, 1.0, 4.0]) - math.log(8)) < 1e-15
    True
    >>> loss_roughness([0.3, 0.2, 0.1])
    0.0
    """
    x = _as_curve(loss, "loss")
    if np.any(x <= 0):
        raise ValueError("loss must be positive (the measure uses log L)")
    jumps = np.diff(np.log(x))
    return float(jumps[jumps > 0].sum())


@dataclass(frozen=True)
class LossDrop:
    """One drop episode: records ``start``..``end``, the step of the steepest decrease, the total factor."""

    step: int
    start: int
    end: int
    factor: float


def loss_drops(steps, loss, factor: float = 2.0, window: int = 5, width: int = 5) -> list[LossDrop]:
    """Episodes where the ``width``-point running median of log L falls by >= log(factor) in <= ``window`` records.

    Overlapping windows are merged into one episode; the episode's ``factor`` is
    the fall of the filtered loss from its start to its end.

    Examples
    --------
    A 10x drop between records 19 and 20 and an isolated spike at record 5:

    >>> import numpy as np
    >>> loss = np.where(np.arange(40) < 20, 1.0, 0.1)
    >>> loss[5] = 50.0
    >>> [(d.step, round(d.factor, 6)) for d in loss_drops(np.arange(40) * 100, loss)]
    [(2000, 10.0)]
    """
    s = np.asarray(steps)
    x = _as_curve(loss, "loss")
    if s.shape != x.shape:
        raise ValueError(f"steps and loss must have the same length, got {s.shape} and {x.shape}")
    if not factor > 1:
        raise ValueError(f"factor must be > 1 (a drop divides the loss by it), got {factor!r}")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be a positive integer number of records, got {window!r}")
    f = median_filter(np.log(x), width)
    n = f.size
    fall = np.array([f[i] - f[min(i + window, n - 1)] for i in range(n)])
    hot = fall >= np.log(factor)
    drops: list[LossDrop] = []
    i = 0
    while i < n:
        if not hot[i]:
            i += 1
            continue
        start = i
        while i + 1 < n and hot[i + 1]:
            i += 1
        end = min(i + window, n - 1)
        one = f[start:end] - f[start + 1:end + 1]
        k = start + int(np.argmax(one)) + 1
        drops.append(LossDrop(step=int(s[k]), start=start, end=end, factor=float(np.exp(f[start] - f[end]))))
        i = end + 1
    return drops
