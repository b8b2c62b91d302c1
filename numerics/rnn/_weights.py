r"""Trained weights in, without torch: arrays named as PyTorch's ``state_dict`` names them (issue 18).

A single-layer ``nn.RNN`` (tanh) or ``nn.GRU`` and an ``nn.Linear`` readout export as

.. code-block:: python

    sd = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    numpy.savez("step_000100.npz", **sd)

and :func:`load_npz` / :func:`from_state_dict` read them back into a :class:`Model`.
Names: ``<prefix>weight_ih_l0`` (gates x N, n_in), ``weight_hh_l0``, ``bias_ih_l0``,
``bias_hh_l0``; the readout ``<prefix>weight`` (n_out, N) and ``<prefix>bias``.  The leaky
cell, which has no torch module, is stored as nn.RNN's names plus a scalar ``<prefix>alpha``.
``nn.RNN``'s two biases enter only as their sum, b = b_ih + b_hh (they are not
separately identifiable from the dynamics); writing back puts b in ``bias_ih_l0`` and
zeros in ``bias_hh_l0``.  ``.npz`` files are read with ``allow_pickle=False``: an
archive can hold arrays only, never code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from ._cells import GRUCell, TanhCell
from ._tasks import Model

__all__ = ["from_state_dict", "to_state_dict", "load_npz", "load_checkpoints"]

_RECURRENT = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def _array(value, name: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor passed directly: its documented numpy view
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} is not a numeric array ({type(value).__name__})") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or inf")
    return arr


def from_state_dict(state: Mapping[str, object], prefix: str | None = None, readout: str | None = None) -> Model:
    """A :class:`Model` from arrays named as ``nn.RNN``/``nn.GRU`` (+ ``nn.Linear``) name them.

    Parameters
    ----------
    state : mapping of str to array
        E.g. ``dict(numpy.load(path))`` or ``{k: v.numpy() for k, v in model.state_dict().items()}``.
    prefix : str, optional
        The recurrent module's prefix (``"rnn."``) when the mapping holds several.
    readout : str, optional
        The readout's prefix (``"fc."``); by default the one ``weight``/``bias`` pair not part of
        the recurrent module.  Without one, the model reads out all N states (identity).
    """
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be a mapping of names to arrays, got {type(state).__name__}")
    keys = [str(k) for k in state]
    if any("_l1" in k for k in keys) or any(k.endswith("_reverse") for k in keys):
        raise ValueError("only single-layer, unidirectional recurrent modules are supported "
                         "(found *_l1 or *_reverse entries)")
    if prefix is not None:
        names = {s: prefix + s for s in _RECURRENT}
        missing = [n for n in names.values() if n not in state]
        if missing:
            raise ValueError(f"missing entries {missing} for prefix {prefix!r}")
    else:
        names = {}
        for s in _RECURRENT:
            hit = [k for k in keys if k.split(".")[-1] == s]
            if len(hit) != 1:
                raise ValueError(f"expected exactly one '{s}' entry, found {hit or 'none'}; the mapping must hold a "
                                 f"single-layer nn.RNN or nn.GRU state_dict (pass prefix= if it holds several)")
            names[s] = hit[0]
    w_ih, w_hh = _array(state[names["weight_ih_l0"]], "weight_ih_l0"), _array(state[names["weight_hh_l0"]], "weight_hh_l0")
    b_ih, b_hh = _array(state[names["bias_ih_l0"]], "bias_ih_l0"), _array(state[names["bias_hh_l0"]], "bias_hh_l0")
    if w_hh.ndim != 2:
        raise ValueError(f"weight_hh_l0 must be a matrix, got shape {w_hh.shape}")
    N = w_hh.shape[1]
    if w_hh.shape[0] == 3 * N:
        cell = GRUCell(w_ih, w_hh, b_ih, b_hh)
    elif w_hh.shape[0] == N:
        if b_ih.shape != (N,) or b_hh.shape != (N,):
            raise ValueError(f"nn.RNN biases must have shape ({N},), got {b_ih.shape} and {b_hh.shape}")
        alpha = [k for k in keys if k.split(".")[-1] == "alpha"]
        if alpha:  # the leaky cell has no torch module: nn.RNN's names plus its time-step ratio alpha
            from ._cells import LeakyCell

            cell = LeakyCell(w_hh, b_ih + b_hh, w_ih if w_ih.size else None, alpha=float(_array(state[alpha[0]], "alpha")))
        else:
            cell = TanhCell(w_hh, b_ih + b_hh, w_ih if w_ih.size else None)
    else:
        raise ValueError(f"weight_hh_l0 has shape {w_hh.shape}: neither nn.RNN (N, N) nor nn.GRU (3N, N); "
                         f"LSTMs (4N, N) are not supported")
    recurrent = set(names.values())
    if readout is not None:
        w, b = readout + "weight", readout + "bias"
        if w not in state:
            raise ValueError(f"no readout entry {w!r}")
    else:
        ws = [k for k in keys if k.split(".")[-1] == "weight" and k not in recurrent]
        if len(ws) > 1:
            raise ValueError(f"several readout candidates ({', '.join(ws)}); pass readout='<prefix>.'")
        w = ws[0] if ws else None
        b = None if w is None else w[: -len("weight")] + "bias"
    if w is None:
        return Model(cell, np.eye(N))
    return Model(cell, _array(state[w], w), _array(state[b], b) if b in state else None)


def to_state_dict(model: Model, prefix: str = "rnn.", readout: str = "fc.") -> dict[str, np.ndarray]:
    """The PyTorch-named arrays of ``model`` (the inverse of :func:`from_state_dict`)."""
    cell = model.cell
    if isinstance(cell, GRUCell):
        p = cell.params()
        out = {prefix + k + "_l0": p[k].copy() for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    elif isinstance(cell, TanhCell):
        W_in = cell.params().get("W_in", np.zeros((cell.N, 0)))
        out = {prefix + "weight_ih_l0": W_in.copy(), prefix + "weight_hh_l0": cell.W.copy(),
               prefix + "bias_ih_l0": cell.b.copy(), prefix + "bias_hh_l0": np.zeros(cell.N)}
        if hasattr(cell, "alpha"):
            out[prefix + "alpha"] = np.array(cell.alpha)
    else:
        raise TypeError(f"{type(cell).__name__} has no PyTorch counterpart (nn.RNN or nn.GRU)")
    out[readout + "weight"] = model.weight.copy()
    out[readout + "bias"] = model.bias.copy()
    return out


def load_npz(path, prefix: str | None = None, readout: str | None = None) -> Model:
    """A :class:`Model` from an ``.npz`` of PyTorch-named arrays (read without pickle)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            state = {k: data[k] for k in data.files}
    except ValueError as exc:
        raise ValueError(f"{path} is not an archive of plain arrays ({exc})") from exc
    except OSError as exc:
        raise ValueError(f"{path} is not a readable .npz archive ({exc})") from exc
    return from_state_dict(state, prefix, readout)


def load_checkpoints(paths, prefix: str | None = None, readout: str | None = None) -> list[Model]:
    """A training history: one :class:`Model` per ``.npz`` path, in the order given; all of one kind and size."""
    models = [load_npz(p, prefix, readout) for p in paths]
    if not models:
        raise ValueError("no checkpoint paths given")
    first = models[0].cell
    for p, m in zip(paths, models):
        if type(m.cell) is not type(first) or m.cell.layout() != first.layout():
            raise ValueError(f"{p} holds a {m.cell!r}; the series started with {first!r}")
    return models
