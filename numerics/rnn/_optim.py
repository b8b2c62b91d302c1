r"""First-order optimisers the natural gradient is measured against: heavy-ball momentum and Adam.

Both return the parameter change for a gradient, keep their state in arrays (so a
training checkpoint stores and restores them exactly), and follow the usual
conventions a practitioner would reach for:

* momentum (PyTorch's ``SGD(momentum=mu)``, no dampening): v <- mu v + g, delta = -lr v;
* Adam (Kingma & Ba 2015, alg. 1): m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
  delta = -lr m_hat / (sqrt(v_hat) + eps) with the bias corrections m_hat = m / (1 - b1^t),
  v_hat = v / (1 - b2^t).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _check_unit(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


@dataclass
class Momentum:
    """Heavy-ball momentum: v <- mu v + g, delta = -lr v."""

    mu: float = 0.9
    velocity: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.mu = _check_unit("momentum", self.mu)

    def step(self, grad: np.ndarray, lr: float) -> np.ndarray:
        self.velocity = grad.copy() if self.velocity is None else self.mu * self.velocity + grad
        return -lr * self.velocity

    def state(self) -> dict[str, np.ndarray]:
        return {} if self.velocity is None else {"velocity": self.velocity}

    def load(self, arrays: dict, step: int) -> None:
        self.velocity = arrays.get("velocity")


@dataclass
class Adam:
    """Adam with bias correction (Kingma & Ba 2015): the defaults (0.9, 0.999, 1e-8)."""

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    m: np.ndarray | None = field(default=None, repr=False)
    v: np.ndarray | None = field(default=None, repr=False)
    t: int = 0

    def __post_init__(self) -> None:
        self.beta1 = _check_unit("beta1", self.beta1)
        self.beta2 = _check_unit("beta2", self.beta2)
        if isinstance(self.eps, bool) or not (np.isfinite(self.eps) and self.eps > 0):
            raise ValueError(f"eps must be a finite number > 0, got {self.eps!r}")

    def step(self, grad: np.ndarray, lr: float) -> np.ndarray:
        if self.m is None:
            self.m, self.v = np.zeros_like(grad), np.zeros_like(grad)
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1 - self.beta2) * grad * grad
        m_hat = self.m / (1 - self.beta1**self.t)
        v_hat = self.v / (1 - self.beta2**self.t)
        return -lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def state(self) -> dict[str, np.ndarray]:
        return {} if self.m is None else {"m": self.m, "v": self.v}

    def load(self, arrays: dict, step: int) -> None:
        self.m, self.v, self.t = arrays.get("m"), arrays.get("v"), int(step)
