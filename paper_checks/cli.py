"""The ``nfsntk`` command line.

    nfsntk derive FORM [--order N] [--latex]        symbolic derivations (or --map EXPR, --all, --range LO:HI)
    nfsntk diagram FORM --range LO:HI --png F        bifurcation diagram (or --map EXPR)
    nfsntk verify FORM --law L --regime R            check a claimed large-T law (exit 0 holds, 1 not)
    nfsntk sweep FORM --g 0.5:1.5:201 --T 30 --ic-range 0.1 --samples 10000 [--csv F] [--png F]
    nfsntk figure2 --out DIR                        the paper's figure 2
    nfsntk train [--config paper|symmetric]         the student-teacher RNN, paper scale, saved record
    nfsntk check [--out DIR] [--quick]              every paper check, as a table

Every failure is one line on stderr, never a traceback: status 2 for bad
input (arguments, maps, paths), 1 for a numerical failure (a map undefined
at a state, an overflow), 130 when interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
import warnings
from pathlib import Path

import normalforms as nf

from .derivations import catalog_report, derive

EXIT_BAD_INPUT, EXIT_NUMERICAL, EXIT_INTERRUPTED = 2, 1, 130


class _Parser(argparse.ArgumentParser):
    """argparse with its errors as one line (argparse prints the usage too)."""

    def error(self, message: str) -> None:
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


# argparse prefixes these messages with "argument --FLAG:", so they name the flag.
def _rank_flag(text: str) -> int | str:
    """A natural-gradient rank: 'auto' or an integer >= 1."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 or 'auto', got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 or 'auto', got {text!r}")
    return value


def _int_flag(minimum: int, maximum: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
            raise argparse.ArgumentTypeError(f"must be an integer {bound}, got {text!r}")
        return value

    return parse


def _positive_float_flag():
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
        return value

    return parse


def _writable_file(flag: str, path: str) -> Path:
    """Check before any work that ``path`` can be written, so a long run does not end in a failed write."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise ValueError(f"{flag} {path}: is a directory; give a file name")
    if not parent.is_dir():
        raise ValueError(f"{flag} {path}: the folder {parent} does not exist; create it or choose another path")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"{flag} {path}: the folder {parent} is not writable; choose another path")
    return target


def _writable_dir(flag: str, path: str | None) -> Path | None:
    if path is None:
        return None
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{flag} {path}: cannot create the folder ({exc.strerror or exc}); choose another path") from None
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{flag} {path}: the folder is not writable; choose another path")
    return folder


def _constants(items: list[str] | None) -> dict[str, float]:
    """--const NAME=VALUE flags: numbers only (parsed with float, never evaluated)."""
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not name.strip() or not math.isfinite(number):
            raise ValueError(f"--const must be NAME=NUMBER with a finite number (e.g. --const eps=0.01), got {item!r}")
        out[name.strip()] = number
    return out


def _form_from_args(args: argparse.Namespace) -> nf.NormalForm:
    const = _constants(getattr(args, "const", None))
    if args.map:
        return nf.NormalForm(args.map, state=args.state, param=args.param, name="user map", constants=const or None)
    forms = nf.catalog()
    if args.form is None:
        raise ValueError("give a catalogue form name or --map EXPR")
    if args.form not in forms:
        raise ValueError(f"unknown form {args.form!r}; choose one of {', '.join(forms)} or pass --map EXPR")
    form = forms[args.form]
    if const:
        unknown = sorted(set(const) - set(form.constants))
        if unknown:
            raise ValueError(f"--const {unknown[0]}: {args.form} has the constants {sorted(form.constants) or 'none'}")
        form = nf.NormalForm(list(form.structure), state=[s.name for s in form.state], param=form.param.name,
                             constants={**form.constants, **const}, g_star=form.g_star, name=form.name.split(" (")[0],
                             description=form.description)
    return form


_MAX_GRID = 10**7


def _grid(text: str):
    import numpy as np

    parts = text.split(":")
    try:
        start, stop, n = float(parts[0]), float(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        raise ValueError(f"--g must be START:STOP:N (e.g. 0.5:1.5:201), got {text!r}") from None
    if len(parts) != 3 or not 1 <= n <= _MAX_GRID:
        raise ValueError(f"--g must be START:STOP:N with 1 <= N <= {_MAX_GRID}, got {text!r}")
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise ValueError(f"--g must be START:STOP:N with finite START and STOP, got {text!r}")
    return np.linspace(start, stop, n)


def _add_form_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("form", nargs="?", default=None, help="catalogue name (e.g. pitchfork); omit with --map")
    p.add_argument("--map", help='a user map, e.g. "g*h - h**3"')
    p.add_argument("--state", default="h", help="state names for --map (e.g. 'x y')")
    p.add_argument("--param", default="g", help="parameter name for --map")
    p.add_argument("--const", action="append", metavar="NAME=VALUE",
                   help="a constant of the map and its value (repeatable), e.g. --const eps=0.01")


def _add_ensemble_args(p: argparse.ArgumentParser) -> None:
    """The horizon and the uniform IC ensemble of a sweep (read back by :func:`_ensemble`)."""
    p.add_argument("--T", type=_int_flag(1, 10**12), default=30, help="horizon")
    p.add_argument("--ic-range", type=_positive_float_flag(), default=0.1, help="ICs uniform on [-A, A]")
    p.add_argument("--samples", type=_int_flag(1), default=10_000, help="ensemble size B")
    p.add_argument("--seed", type=_int_flag(0), default=0, help="seed of the ensemble, >= 0")
    p.add_argument("--escape-radius", type=_positive_float_flag(), default=None,
                   help="None: numerics.DEFAULT_ESCAPE_RADIUS")


def _ensemble(args: argparse.Namespace, form: nf.NormalForm):
    """(h0, keyword arguments) of a sweep from :func:`_add_ensemble_args`' flags."""
    import numerics

    h0 = numerics.uniform_ics(args.ic_range, args.samples, seed=args.seed, dim=form.dim)
    return h0, ({} if args.escape_radius is None else {"escape_radius": args.escape_radius})


_HELP = argparse.ArgumentDefaultsHelpFormatter


def _parser() -> argparse.ArgumentParser:
    from . import CHECKS

    parser = _Parser(prog="nfsntk", description="state-space NTK near bifurcations (Hazelden & Shea-Brown, "
                                                "arXiv:2605.12763)")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("derive", help="print the symbolic derivations for a form", formatter_class=_HELP)
    _add_form_args(d)
    d.add_argument("--order", type=_int_flag(1, 9), default=3, help="highest power of h0 in the series, 1..9")
    d.add_argument("--latex", action="store_true", help="print expressions as LaTeX")
    d.add_argument("--all", action="store_true", help="derive every catalogue form")
    d.add_argument("--range", default=None, help="parameter interval LO:HI for branches found numerically (a negative LO: --range=-2:4) "
                                                 "(None: g* +- 2, or -3:3)")
    d.add_argument("--box", type=_positive_float_flag(), default=None,
                   help="states followed while max |x_i| <= BOX (None: 10)")
    v = sub.add_parser("verify", help="check a claimed large-T law of a form over a parameter regime",
                       formatter_class=_HELP, description="Exit status 0 when the law holds at every value tried, "
                                                          "1 when it does not (usable in CI scripts).")
    _add_form_args(v)
    v.add_argument("--law", required=True, help='the claimed law in T and the parameter, e.g. "T**3/3"')
    v.add_argument("--regime", required=True, help='parameter values, e.g. "abs(g) < 1", "g = 1", "1 < g < 2"')
    v.add_argument("--quantity", choices=["norm", "dg_h", "h"], default="norm",
                   help="||sNTK_g|| per sample (h0 = 1), or D_g h_T / h_T at h0 = 1")
    v.add_argument("--draws", type=_int_flag(1, 10_000), default=None,
                   help="draw this many parameter values with hypothesis (None: five fixed values)")
    v.add_argument("--seed", type=_int_flag(0), default=0, help="seed of the draws")
    dg = sub.add_parser("diagram", help="bifurcation diagram of a form: branches, stability, bifurcations",
                        formatter_class=_HELP)
    _add_form_args(dg)
    dg.add_argument("--range", default=None, help="parameter interval LO:HI, e.g. --range=-2:4 (None: g* +- 2, or -3:3)")
    dg.add_argument("--box", type=_positive_float_flag(), default=None, help="state box half-width (None: 10)")
    dg.add_argument("--component", type=_int_flag(0), default=0, help="state variable drawn (vector maps)")
    dg.add_argument("--png", default="diagram.png", help="output file")
    s = sub.add_parser("sweep", help="||sNTK_g|| over a g-grid and a uniform IC ensemble", formatter_class=_HELP)
    _add_form_args(s)
    s.add_argument("--g", required=True, help="grid START:STOP:N")
    _add_ensemble_args(s)
    s.add_argument("--csv", help="write g, norm, log_norm, mean, escaped to this CSV")
    s.add_argument("--png", help="write the amplification curve to this PNG")
    s2 = sub.add_parser("sweep2d", help="||sNTK_g|| over a grid of two parameters (g and a constant, or two "
                                        "constants), with the bifurcation curves drawn", formatter_class=_HELP)
    _add_form_args(s2)
    s2.add_argument("--x", required=True, help="first axis NAME=START:STOP:N, e.g. g=0.5:1.5:200")
    s2.add_argument("--y", required=True, help="second axis NAME=START:STOP:N, e.g. eps=-0.1:0.1:200 (a negative "
                                               "START: --y=eps=-0.1:0.1:200)")
    _add_ensemble_args(s2)
    s2.add_argument("--csv", help="write every grid point (x, y, norm, log_norm, mean, escaped) to this CSV")
    s2.add_argument("--png", default="amplification_map.png", help="write the map to this PNG")
    f = sub.add_parser("figure2", help="reproduce the paper's figure 2", formatter_class=_HELP)
    f.add_argument("--out", default="figs", help="output folder")
    f.add_argument("--samples", type=_int_flag(1), default=10_000, help="ensemble size")
    f.add_argument("--points", type=_int_flag(2, _MAX_GRID), default=401, help="g-grid points on [0.5, 1.5]")
    tr = sub.add_parser("train", help="train the student-teacher RNN (paper scale by default) and save the record",
                        formatter_class=_HELP)
    tr.add_argument("--model", choices=["rnn", "tanh", "leaky", "gru"], default="rnn",
                    help="rnn: the paper's autonomous tanh network (its SGD and records); tanh (with inputs), "
                         "leaky (alpha 0.2) or gru: any task, Adam, checkpoints as PyTorch-named .npz")
    tr.add_argument("--task", choices=["student-teacher", "flipflop"], default="student-teacher",
                    help="the paper's task, or the 3-bit flip-flop (Sussillo & Barak 2013; needs a model with "
                         "inputs: tanh, leaky or gru)")
    tr.add_argument("--config", choices=["paper", "symmetric"], default="paper",
                    help="paper: W and b trained, Xavier biases; symmetric: b = 0, mirrored batches")
    tr.add_argument("--steps", type=_int_flag(1), default=35_000, help="SGD steps")
    tr.add_argument("--N", type=_int_flag(2, 4096), default=64, help="neurons")
    tr.add_argument("--B", type=_int_flag(2), default=256, help="batch size")
    tr.add_argument("--T", type=_int_flag(1, 10_000), default=25, help="unrolled time steps")
    tr.add_argument("--lr", type=_positive_float_flag(), default=None,
                    help="learning rate (None: 5e-3 for the paper's SGD, 1e-2 for Adam on the other models)")
    tr.add_argument("--seed", type=_int_flag(0), default=0, help="seed of the teacher, student and batches")
    tr.add_argument("--record-every", type=_int_flag(1), default=100, help="steps between records")
    tr.add_argument("--optimizer", choices=["sgd", "natural", "adam", "momentum"], default=None,
                    help="plain SGD, the low-rank natural gradient (app. C.1), Adam, or heavy-ball momentum 0.9 "
                         "(the paper's rnn only); None: sgd for the paper's rnn, adam for the other models")
    tr.add_argument("--rank", type=_rank_flag, default=1,
                    help="natural-gradient rank k, or 'auto' to choose it online (modes with lr lambda >= 1)")
    tr.add_argument("--refresh", type=_int_flag(1), default=10, help="natural-gradient refresh period in steps")
    tr.add_argument("--out", default=None, help="output folder; the record goes to OUT/runs/<name by its settings> "
                                                "(None: $NFSNTK_OUT or out/paper_checks)")
    tr.add_argument("--retrain", action="store_true", help="train again even if the record exists (overwrites it)")
    k = sub.add_parser("track", help="fixed points and located, classified bifurcations through a checkpoint "
                                     "series (.npz of PyTorch-named arrays, in training order)", formatter_class=_HELP)
    k.add_argument("checkpoints", nargs="+", help="two or more .npz files (e.g. from `nfsntk train --model gru`)")
    k.add_argument("--input", default=None,
                   help="the constant input at which to track, comma-separated (default: zeros)")
    k.add_argument("--seeds", type=_int_flag(1, 100_000), default=50, help="random Newton starts per checkpoint")
    k.add_argument("--seed", type=_int_flag(0), default=0, help="seed of the Newton starts")
    x = sub.add_parser("crosscheck", help="figure 1E vs 2B: the restricted sNTK along the learned critical "
                                          "direction vs the matched normal form, from saved training records",
                       formatter_class=_HELP)
    x.add_argument("--out", default=None, help="folder whose runs/ holds the records, and for the outputs "
                                               "(None: $NFSNTK_OUT or out/paper_checks)")
    x.add_argument("--quick", action="store_true", help="use the reduced (N = 16) records")
    x.add_argument("--train", action="store_true", help="train missing records first (paper scale: ~6 min each)")
    c = sub.add_parser("check", help="run the paper checks and print the table", formatter_class=_HELP,
                       description="Prints the plan (records present, to train, estimated times), trains what is "
                                   "missing in parallel worker processes (resuming checkpoints), runs the checks and "
                                   f"prints the table. Checks: {', '.join(CHECKS)}.")
    c.add_argument("--out", default=None, help="output folder (None: $NFSNTK_OUT or out/paper_checks)")
    c.add_argument("--quick", action="store_true", help="reduced-scale smoke test (N = 16 networks, small ensembles)")
    c.add_argument("--only", nargs="+", choices=CHECKS, metavar="CHECK", help=f"run only these: {', '.join(CHECKS)}")
    c.add_argument("--workers", type=_int_flag(1, 256), default=None,
                   help="worker processes (None: one per CPU available)")
    c.add_argument("--no-train", action="store_true", help="train nothing; checks whose records are missing say "
                                                         "'not run' and name the command that makes them")
    c.add_argument("--seeds", type=_int_flag(1, 100), default=None,
                   help="independent training runs behind every claim about a trained network, reported as median "
                        "and range with the count of seeds for which it holds (None: 5; with --quick 2)")
    c.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    return parser


def _range(text: str | None):
    if text is None:
        return None
    parts = text.split(":")
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except (IndexError, ValueError):
        raise ValueError(f"--range must be LO:HI (e.g. 0:3), got {text!r}") from None
    if len(parts) != 2 or not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"--range must be LO:HI with finite LO < HI, got {text!r}")
    return lo, hi


def _derive(args: argparse.Namespace) -> None:
    if args.all:
        print(catalog_report(order=args.order, latex=args.latex))
        return
    print(derive(_form_from_args(args), order=args.order, latex=args.latex, interval=_range(args.range),
                 box=args.box))


class _LawFails(Exception):
    """The law does not hold: exit status 1 after the verdict was printed."""


def _verify(args: argparse.Namespace) -> None:
    form = _form_from_args(args)
    strategy = None
    if args.draws is not None:
        from normalforms import strategies

        strategy = strategies.parameters(args.regime, form.param.name)
    verdict = nf.verify_law(form, args.law, args.regime, quantity=args.quantity, strategy=strategy,
                            draws=args.draws or 50, seed=args.seed)
    print(verdict)
    if not verdict:
        raise _LawFails


def _diagram(args: argparse.Namespace) -> None:
    import numerics

    form = _form_from_args(args)
    png = _writable_file("--png", args.png)
    if args.component >= form.dim:
        raise ValueError(f"--component must be below the state dimension {form.dim}")
    fig = numerics.plot_bifurcation_diagram(form, _range(args.range), args.box, component=args.component)
    fig.savefig(png, dpi=150)
    print(f"wrote {png}")


def _sweep(args: argparse.Namespace) -> None:
    import numerics

    form = _form_from_args(args)
    g = _grid(args.g)
    csv_path = _writable_file("--csv", args.csv) if args.csv else None
    png_path = _writable_file("--png", args.png) if args.png else None
    h0, kwargs = _ensemble(args, form)
    res = numerics.sweep(form, g, args.T, h0, **kwargs)
    print(res)
    if csv_path:
        print(f"wrote {res.to_csv(csv_path)}")
    if png_path:
        fig = numerics.plot_amplification(res)
        fig.savefig(png_path, dpi=150)
        print(f"wrote {png_path}")
    if not args.csv and not args.png:
        print("g, norm/B, escaped")
        step = max(1, g.size // 20)
        for i in range(0, g.size, step):
            print(f"{g[i]:.6g}, {res.mean[i]:.6g}, {res.escaped[i]}")


def _axis(flag: str, text: str):
    name, sep, grid = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"{flag} must be NAME=START:STOP:N (e.g. {flag} g=0.5:1.5:200), got {text!r}")
    try:
        return name.strip(), _grid(grid)
    except ValueError as err:
        raise ValueError(f"{flag} {name.strip()}: {str(err).replace('--g must be', 'the grid must be')}") from None


def _sweep2d(args: argparse.Namespace) -> None:
    import numerics

    form = _form_from_args(args)
    (xn, x), (yn, y) = _axis("--x", args.x), _axis("--y", args.y)
    if xn == yn:
        raise ValueError(f"--x and --y name the same parameter {xn!r}; give two different ones")
    if x.size * y.size > _MAX_GRID:
        raise ValueError(f"the grid has {x.size * y.size} points, above {_MAX_GRID}; use fewer points per axis")
    csv_path = _writable_file("--csv", args.csv) if args.csv else None
    png_path = _writable_file("--png", args.png) if args.png else None
    h0, kwargs = _ensemble(args, form)
    axes = {xn: x, yn: y}
    if form.param.name not in axes:
        raise ValueError(f"one axis must be the form's parameter {form.param.name!r}; the other a constant "
                         f"({', '.join(form.constants) or 'this form has none: declare one with --const'})")
    res = numerics.sweep_grid(form, axes, args.T, h0, **kwargs)
    print(res)
    print(f"{x.size * y.size} grid points x {args.samples} samples x T = {args.T} in {res.seconds:.2f} s "
          f"({x.size * y.size * args.samples * args.T * form.dim / max(res.seconds, 1e-9):.3g} updates/s)")
    if csv_path:
        print(f"wrote {res.to_csv(csv_path)}")
    if png_path:
        fig = numerics.plot_amplification_map(res)
        fig.savefig(png_path, dpi=150)
        print(f"wrote {png_path}")


def _figure2(args: argparse.Namespace) -> None:
    import numpy as np

    import numerics

    out = _writable_dir("--out", args.out)
    fig2 = numerics.figure2(g=np.linspace(0.5, 1.5, args.points), samples=args.samples)
    path = out / "figure2.png"
    fig2.figure.savefig(path, dpi=150)
    print(f"wrote {path}")


def _train_cell(args: argparse.Namespace) -> None:
    """Any cell on any task: Adam by BPTT, checkpoints as PyTorch-named .npz (what `nfsntk track` reads)."""
    import numpy as np

    from numerics.rnn import (FlipFlop, LowRankNaturalGradient, ModelSpec, StudentTeacher, build_teacher, fit,
                              to_state_dict)

    from ._verdict import output_dir

    if args.task == "flipflop" and args.model == "rnn":
        raise ValueError("the paper's rnn has no inputs; the flip-flop needs --model tanh, leaky or gru")
    if args.task == "student-teacher" and args.model == "gru" and args.N < 3:
        raise ValueError("the student-teacher task needs --N >= 3")
    task = FlipFlop(T=args.T) if args.task == "flipflop" else StudentTeacher(build_teacher(args.N, args.seed).net, T=args.T)
    N = args.N
    model = ModelSpec(args.model, N, task.n_in, task.n_out)(args.seed)
    lr = 1e-2 if args.lr is None else args.lr
    optimizer = args.optimizer or "adam"
    if optimizer == "momentum":
        raise ValueError("momentum is an optimizer of the paper's rnn (nfsntk train --model rnn); the other models "
                         "train with adam, sgd or natural")
    natural = (LowRankNaturalGradient(rank=args.rank, refresh=args.refresh, rng=args.seed)
               if optimizer == "natural" else None)
    trained, rec = fit(model, task, steps=args.steps, lr=lr, batch=args.B, seed=args.seed + 1,
                       every=args.record_every, optimizer=optimizer, natural=natural)
    folder = output_dir(args.out) / "runs" / f"{args.model}-{args.task}-N{N}-T{args.T}-seed{args.seed}"
    folder.mkdir(parents=True, exist_ok=True)
    for i, step in enumerate(rec.steps):
        np.savez(folder / f"step_{step:07d}.npz", **to_state_dict(rec.model(i)))
    print(f"wrote {len(rec.steps)} checkpoints to {folder}; loss {rec.loss[0]:.4g} -> {rec.loss[-1]:.4g}")
    print(f"next: nfsntk track {folder}/step_*.npz")


def _track(args: argparse.Namespace) -> None:
    import numpy as np

    from numerics.rnn import load_checkpoints, track_fixed_points

    paths = [Path(p) for p in args.checkpoints]
    if len(paths) < 2:
        raise ValueError("pass two or more checkpoints, in training order")
    models = load_checkpoints(paths)
    cell = models[0].cell
    x = None
    if args.input is not None:
        try:
            x = np.array([float(v) for v in args.input.split(",")])
        except ValueError:
            raise ValueError(f"--input must be {cell.n_in} comma-separated numbers, got {args.input!r}") from None
        if x.shape != (cell.n_in,) or not np.all(np.isfinite(x)):
            raise ValueError(f"--input must be {cell.n_in} finite comma-separated numbers, got {args.input!r}")
    # the step is the last number in a file's name (step_0000100.npz, gru-N12-100.npz)
    numbers = [re.findall(r"\d+", p.stem) for p in paths]
    steps = [int(found[-1]) if found else i for i, found in enumerate(numbers)]
    if len(set(steps)) != len(steps) or steps != sorted(steps):
        steps = list(range(len(paths)))  # names without increasing step numbers: their order is the history
    tracks = track_fixed_points([m.cell for m in models], steps, seeds=args.seeds, rng=args.seed, x=x, progress=True)
    last = [br.last for br in tracks.segments[-1] if br.end == "alpha=1"]
    print(f"{type(cell).__name__} N = {cell.N}, {len(paths)} checkpoints (steps {steps[0]}..{steps[-1]}), "
          f"input {'0' if x is None else args.input}")
    print(f"fixed points at the last checkpoint: {len(last)} ({sum(p.stable for p in last)} stable)")
    if not tracks.bifurcations:
        print("no bifurcation between the checkpoints")
    for b in tracks.bifurcations:
        coef = "" if b.coefficients is None else ", ".join(f"{k} = {v:.4g}" for k, v in b.coefficients.values.items())
        print(f"  step {b.step:.6g}: {b.classification} (multiplier {abs(b.multiplier):.6f}"
              f"{', attractor' if b.attractor else ''}{'; ' + coef if coef else ''})")


def _train(args: argparse.Namespace) -> None:
    if args.model != "rnn" or args.task != "student-teacher":
        return _train_cell(args)
    import signal

    from numerics.rnn import TrainConfig, TrainingInterrupted, record_name, train

    from ._runs import checkpoint_path
    from ._verdict import output_dir, output_path

    cfg = TrainConfig(config=args.config, steps=args.steps, N=args.N, B=args.B, T=args.T,
                      lr=TrainConfig.lr if args.lr is None else args.lr, seed=args.seed,
                      record_every=args.record_every, optimizer=args.optimizer or "sgd", ng_rank=args.rank,
                      ng_refresh=args.refresh)
    runs = output_path(args.out) / "runs"
    name = record_name(cfg)
    path = runs / name
    if (runs / f"{name}.npz").exists() and not args.retrain:
        print(f"the record {runs / name}.npz exists (same settings); nothing to do - pass --retrain to train it again")
        return
    runs = output_dir(args.out) / "runs"
    stop = []
    # Ctrl-C asks the loop to stop at the next step with a checkpoint (a second one stops at once)
    previous = signal.signal(signal.SIGINT, lambda *_: (stop.append(1), signal.signal(signal.SIGINT, previous)))
    try:
        rec = train(cfg, progress=True, checkpoint=checkpoint_path(runs.parent, name), should_stop=lambda: bool(stop))
    except TrainingInterrupted as exc:
        raise KeyboardInterrupt(f"{exc}; checkpoint kept in {runs} - rerun the same command to continue") from None
    finally:
        signal.signal(signal.SIGINT, previous)
    print(f"wrote {rec.save(path)}; final loss {rec.loss[-1]:.4g}, stable rank {rec.stable_rank[-1]:.3g}")


def _crosscheck(args: argparse.Namespace) -> None:
    from . import fig1e_crosscheck, fig1_rnn_collapse, table, write_json
    from ._runs import status
    from ._verdict import output_dir, output_path

    folder = output_path(args.out)
    specs = fig1_rnn_collapse.runs(args.quick)
    missing = [f"{s.label} ({s.name})" for s in specs.values() if status(folder, s)[0] != "done"]
    if missing and not args.train:
        raise ValueError(f"no saved record for {'; '.join(missing)} in {folder / 'runs'}; make them with "
                         f"`nfsntk check --only fig1_rnn_collapse{' --quick' if args.quick else ''}`, or pass --train")
    folder = output_dir(folder)
    verdicts = fig1e_crosscheck.run(folder, quick=args.quick)
    for v in verdicts:
        v.quick = args.quick
    write_json(verdicts, folder / "crosscheck.json")
    print(table(verdicts))
    print(f"\nJSON and figure in {folder}")


def _check(args: argparse.Namespace) -> None:
    from . import plan, table, write_json
    from ._verdict import output_dir

    the_plan = plan(args.out, quick=args.quick, only=args.only, workers=args.workers, train_missing=not args.no_train,
                    seeds=args.seeds)
    print(the_plan.describe(), flush=True)
    if args.dry_run:
        return
    start = time.perf_counter()
    verdicts = the_plan.execute(progress=True)
    folder = output_dir(args.out)
    write_json(verdicts, folder / "verdicts.json")
    (folder / "verdicts.txt").write_text(table(verdicts) + "\n")
    print()
    print(table(verdicts))
    print(f"\nJSON and figures in {folder}; took {(time.perf_counter() - start) / 60:.1f} min")


def _one_line_warnings(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"nfsntk: warning: {message}", file=sys.stderr)


def _failure(exc: BaseException) -> tuple[int, str]:
    """Exit status and the one line to print for an exception the commands let through."""
    import numpy as np

    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted" + (f": {exc}" if str(exc) else "")
    if isinstance(exc, (ArithmeticError, np.linalg.LinAlgError)):
        return EXIT_NUMERICAL, f"numerical failure: {exc}"
    if isinstance(exc, MemoryError):
        return EXIT_NUMERICAL, "out of memory; reduce the grid, the ensemble or T"
    if isinstance(exc, OSError) and exc.filename is not None:
        return EXIT_BAD_INPUT, f"error: {exc.filename}: {exc.strerror or exc}"
    return EXIT_BAD_INPUT, f"error: {exc}"


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as done:  # --help, or a usage error already printed as one line
        return int(done.code or 0)
    command = {"derive": _derive, "sweep": _sweep, "sweep2d": _sweep2d, "figure2": _figure2, "train": _train, "check": _check,
               "crosscheck": _crosscheck, "diagram": _diagram, "verify": _verify, "track": _track}[args.command]
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warnings
        try:
            command(args)
        except _LawFails:
            return 1
        except (ValueError, TypeError, OSError, ArithmeticError, MemoryError, KeyboardInterrupt) as exc:
            code, line = _failure(exc)
            # Ctrl-C can land while a progress bar is half drawn: start the message on its own line
            print(("\n" if code == EXIT_INTERRUPTED else "") + f"nfsntk: {line}", file=sys.stderr)
            return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
