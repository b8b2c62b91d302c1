"""The notebooks as stored: listed, without outputs, one ``parameters`` cell, no logic of their own.

They are *executed* by the documentation build (``tests/test_docs.py``),
top to bottom with their default parameters, which is what a reader runs:
on a fresh clone ``QUICK`` is True (the paper-scale records are absent) and
the reduced records are shared with the paper checks' tests.  A stored
output would be a result nobody re-ran.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


NAMES = ["01_derive.ipynb", "02_amplification.ipynb", "03_rnn_crosscheck.ipynb", "04_natural_gradient.ipynb",
         "05_your_own_model.ipynb"]


def test_notebooks_use_only_the_public_api():
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        for cell in nb.cells:
            for line in cell.source.splitlines() if cell.cell_type == "code" else []:
                if line.startswith(("from ", "import ")):
                    module = line.split()[1]
                    assert not any(part.startswith("_") for part in module.split(".")), (name, line)
                    assert module.split(".")[0] != "paper_checks" or module == "paper_checks", (name, line)


def test_every_notebook_is_listed_and_stored_without_outputs():
    found = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert found == NAMES
    for name in found:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), f"{name} holds outputs"
        assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1, f"{name}: one parameters cell"
        # no logic of their own: no function or class definitions
        assert not any(line.lstrip().startswith(("def ", "class ")) for c in code for line in c.source.splitlines())
