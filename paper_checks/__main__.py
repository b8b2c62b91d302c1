"""``python -m paper_checks [--out DIR] [--quick]``: run every paper check and print the table."""

import sys

from .cli import main

raise SystemExit(main(["check", *sys.argv[1:]]))
