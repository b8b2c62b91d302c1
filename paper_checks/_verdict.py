"""Verdicts of the paper checks and where their outputs go."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HOLDS = "holds"
HOLDS_CORRECTED = "holds with a correction"
FAILS = "does not hold"
#: The check could not evaluate the claim (a record is missing, its premise is absent): never a refutation.
NOT_RUN = "not run"
VERDICTS = (HOLDS, HOLDS_CORRECTED, FAILS, NOT_RUN)

QUICK_BANNER = ("QUICK MODE: reduced-scale smoke test (N = 16 networks, small ensembles and grids). These verdicts "
                "check that the chain runs; they are not the paper-scale findings (run without --quick for those).")


@dataclass
class Verdict:
    """The outcome of checking one statement of the paper.

    Attributes
    ----------
    claim : str
        Short identifier, e.g. ``"sec3 |g|<1 law"``.
    paper : str
        The paper's statement, as written (section given).
    measured : dict
        The numbers behind the verdict (JSON-serialisable).
    verdict : str
        One of ``holds``, ``holds with a correction``, ``does not hold``, ``not run``.
    correction : str
        The precise statement, where the paper's differs; for ``not run``, why.
    tolerance : str
        What "holds" was tested against.
    summary : str
        The key numbers in one line, for the printed table.
    """

    claim: str
    paper: str
    measured: dict
    verdict: str
    correction: str = ""
    tolerance: str = ""
    summary: str = ""
    figures: list = field(default_factory=list)
    quick: bool = False

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    @classmethod
    def not_run(cls, claim: str, paper: str, reason: str) -> "Verdict":
        """The verdict of a check that could not evaluate its claim."""
        return cls(claim=claim, paper=paper, measured={"not_run": reason}, verdict=NOT_RUN, correction=reason,
                   summary="not computed")

    def __repr__(self) -> str:
        return f"Verdict({self.claim!r}: {self.verdict}{' (quick)' if self.quick else ''})"

    def to_json(self) -> dict:
        return _jsonable(asdict(self))


# ---- claims about trained networks, over seeds (issue 19) ------------------------------------------

def spread(values) -> dict:
    """Median, range and the values themselves (finite ones; ``n`` counts them) of one number over seeds."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0, "values": list(values)}
    ordered = sorted(finite)
    k = len(ordered)
    median = ordered[k // 2] if k % 2 else 0.5 * (ordered[k // 2 - 1] + ordered[k // 2])
    return {"median": median, "min": ordered[0], "max": ordered[-1], "n": k, "values": list(values)}


def fmt_spread(values, fmt: str = ".3g") -> str:
    """``median (min-max)`` of a number over seeds, for summaries; one seed prints its value."""
    s = spread(values)
    if s["n"] == 0:
        return "n/a"
    if s["n"] == 1:
        return format(s["median"], fmt)
    return f"{format(s['median'], fmt)} ({format(s['min'], fmt)}-{format(s['max'], fmt)})"


def combine(per_seed: dict[int, str]) -> tuple[str, str]:
    """One verdict from the verdicts of the seeds, and the count that says how it was reached.

    ``holds`` only if it holds as stated for every seed; ``holds with a correction`` if it holds
    (as stated or corrected) for every seed, or for a strict majority; otherwise ``does not hold``.
    Seeds whose check did not run are counted apart and never as failures.
    """
    ran = {s: v for s, v in per_seed.items() if v != NOT_RUN}
    if not ran:
        return NOT_RUN, f"not run for any of {len(per_seed)} seeds"
    exact = [s for s, v in ran.items() if v == HOLDS]
    held = [s for s, v in ran.items() if v in (HOLDS, HOLDS_CORRECTED)]
    failed = sorted(set(ran) - set(held))
    text = f"holds for {len(held)} of {len(ran)} seeds ({len(exact)} as stated)"
    if failed:
        text += f"; not for seed{'s' if len(failed) > 1 else ''} {', '.join(map(str, failed))}"
    if len(ran) < len(per_seed):
        text += f"; {len(per_seed) - len(ran)} seed(s) not run"
    if len(exact) == len(ran):
        return HOLDS, text
    if len(held) == len(ran) or 2 * len(held) > len(ran):
        return HOLDS_CORRECTED, text
    return FAILS, text


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def output_path(path: str | os.PathLike | None = None) -> Path:
    """The one folder for JSON and figures: ``path``, else ``$NFSNTK_OUT``, else ``./out/paper_checks`` (not created)."""
    return Path(path or os.environ.get("NFSNTK_OUT") or Path("out") / "paper_checks")


def output_dir(path: str | os.PathLike | None = None) -> Path:
    """:func:`output_path`, created if missing."""
    folder = output_path(path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_figure(fig, out_dir: Path, name: str) -> Path:
    """Write ``fig`` as ``out_dir/name`` (130 dpi, the gallery's resolution) and close it."""
    import matplotlib.pyplot as plt

    path = Path(out_dir) / name
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def write_json(verdicts: list[Verdict], path: Path) -> Path:
    path.write_text(json.dumps([v.to_json() for v in verdicts], indent=2))
    return path


def _short(measured: dict, width: int) -> str:
    parts = []
    for k, v in measured.items():
        if isinstance(v, float):
            v = f"{v:.4g}"
        elif isinstance(v, (list, tuple)) and len(v) > 4:
            continue
        parts.append(f"{k}={v}")
    text = "; ".join(parts)
    return text if len(text) <= width else text[: width - 3] + "..."


def table(verdicts: list[Verdict], width: int = 110) -> str:
    """Plain-text table: claim, paper's statement, measured numbers, verdict.

    Reduced-scale (quick) verdicts carry a banner and a ``quick`` label on
    every line; a check that did not run says so and why.
    """
    lines = []
    quick = any(v.quick for v in verdicts)
    if quick:
        lines += [QUICK_BANNER, ""]
    for v in verdicts:
        label = f"quick | {v.verdict}" if v.quick else v.verdict
        lines.append(f"[{label}] {v.claim}")
        lines.append(f"    paper:    {v.paper}")
        if v.verdict == NOT_RUN:
            lines.append(f"    why:      {v.correction}")
            continue
        lines.append(f"    measured: {v.summary or _short(v.measured, width)}")
        if v.correction:
            lines.append(f"    precise:  {v.correction}")
    counts = {k: sum(v.verdict == k for v in verdicts) for k in VERDICTS}
    lines.append("")
    lines.append(", ".join(f"{n} {k}" for k, n in counts.items() if n or k != NOT_RUN)
                 + (" (quick mode: smoke test)" if quick else ""))
    return "\n".join(lines)
