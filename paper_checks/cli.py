"""Command line: ``nfsntk derive FORM [--order N] [--latex] [--map EXPR]``.

Bad arguments print a one-line error and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys

import normalforms as nf

from .derivations import catalog_report, derive


def _form_from_args(args: argparse.Namespace) -> nf.NormalForm:
    if args.map:
        return nf.NormalForm(args.map, state=args.state, param=args.param, name="user map")
    forms = nf.catalog()
    if args.form not in forms:
        raise ValueError(f"unknown form {args.form!r}; choose one of {', '.join(forms)} or pass --map EXPR")
    return forms[args.form]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nfsntk", description="state-space NTK near bifurcations")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("derive", help="print the symbolic derivations for a form")
    d.add_argument("form", nargs="?", default=None, help="catalogue name (e.g. pitchfork); omit with --map")
    d.add_argument("--order", type=int, default=3, help="highest power of h0 in the series (default 3)")
    d.add_argument("--latex", action="store_true", help="print expressions as LaTeX")
    d.add_argument("--map", help='a user map, e.g. "g*h - h**3"')
    d.add_argument("--state", default="h", help="state names for --map (default h)")
    d.add_argument("--param", default="g", help="parameter name for --map (default g)")
    d.add_argument("--all", action="store_true", help="derive every catalogue form")
    args = parser.parse_args(argv)
    try:
        if args.command == "derive":
            if args.all:
                print(catalog_report(order=args.order))
                return 0
            if args.form is None and not args.map:
                raise ValueError("give a catalogue form name, --map EXPR, or --all")
            if args.order < 1:
                raise ValueError(f"--order must be >= 1; got {args.order}")
            print(derive(_form_from_args(args), order=args.order, latex=args.latex))
    except ValueError as exc:
        print(f"nfsntk: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
