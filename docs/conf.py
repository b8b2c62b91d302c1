"""Sphinx configuration of the nfsntk documentation.

Build (warnings are errors, as in CI)::

    .venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html

The four notebooks are copied from ``notebooks/`` at build time and executed
by myst-nb in their quick setting (the paper-scale records are absent on a
fresh clone), so every rendered output was produced by this build.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

project = "nfsntk"
author = "the nfsntk developers"
copyright = "2026, the nfsntk developers"
release = "0.1.0"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
html_theme = "furo"
html_title = "nfsntk"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# Notebooks: executed on every build (quick setting on a fresh clone), errors fail the build.
nb_execution_mode = "force"
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True

# API reference from the numpydoc docstrings; only what the packages export.
autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_typehints = "none"  # the numpydoc "Parameters" sections say it, with shapes
numpydoc_show_class_members = False
numpydoc_validation_checks: set = set()
suppress_warnings = ["myst.header"]

NOTEBOOKS = ROOT / "notebooks"
HERE = Path(__file__).resolve().parent
TARGET = HERE / "notebooks"
API = {  # page -> (package, one line on what it holds)
    "normalforms": ("normalforms", "The symbolic layer (sympy, mpmath): forms, derivations, fixed points, "
                                   "bifurcations, the whitelist parser."),
    "normalforms_strategies": ("normalforms.strategies", "Hypothesis strategies: parameters inside a regime, "
                                                         "catalogue forms, random maps with a given bifurcation."),
    "numerics": ("numerics", "The numeric layer (numba): sweeps, trajectories, the mpmath reference, plots, the "
                             "kernel cache."),
    "numerics_rnn": ("numerics.rnn", "The recurrent models: the tanh RNN, sNTK/Fisher operators, fixed points, "
                                     "tracking, cross-check, training and records, natural gradient."),
    "paper_checks": ("paper_checks", "One module per claim of the paper; the main job's plan and verdicts."),
}


def _copy_notebooks() -> None:
    TARGET.mkdir(exist_ok=True)
    for nb in sorted(NOTEBOOKS.glob("*.ipynb")):
        shutil.copy2(nb, TARGET / nb.name)


def _api_pages() -> None:
    """One page per package listing exactly its ``__all__`` (so the reference cannot drift from the code)."""
    import importlib

    (HERE / "api").mkdir(exist_ok=True)
    for page, (package, blurb) in API.items():
        names = sorted(importlib.import_module(package).__all__, key=str.lower)
        title = f"``{package}``"
        lines = [title, "=" * len(title), "", blurb, "", f".. currentmodule:: {package}", "",
                 ".. autosummary::", "   :toctree: generated", ""]
        lines += [f"   {name}" for name in names]
        (HERE / "api" / f"{page}.rst").write_text("\n".join(lines) + "\n")


# Written when this file is read -- before Sphinx lists the source files -- so that a fresh clone
# (where both folders are absent: they are generated, and ignored by git) builds the same as a warm tree.
os.environ.setdefault("NFSNTK_OUT", str(ROOT / "out" / "paper_checks"))  # the notebooks' records
_copy_notebooks()
_api_pages()
