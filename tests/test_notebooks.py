"""Every notebook runs top to bottom, headless, in its reduced setting.

The cell tagged ``parameters`` is replaced by the reduced values (the papermill
convention); the notebooks share the reduced training records with the paper
checks (``checks_out``), so nothing is trained twice.  The notebooks are
stored without outputs: a stored output would be a result nobody re-ran.
"""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def reduced(out: Path) -> dict[str, str]:
    records = f"from pathlib import Path\nOUT = Path({str(out)!r})\nQUICK = True"
    return {
        "01_derive.ipynb": "ORDER = 2",
        "02_amplification.ipynb": "SAMPLES = 400\nPOINTS = 61\nT_VALUES = (10, 30, 100)",
        "03_rnn_crosscheck.ipynb": records,
        "04_natural_gradient.ipynb": records,
    }


def test_every_notebook_is_listed_and_stored_without_outputs(checks_out):
    found = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert found == sorted(reduced(checks_out))
    for name in found:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), f"{name} holds outputs"
        assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1, f"{name}: one parameters cell"
        # no logic of their own: no function or class definitions
        assert not any(line.lstrip().startswith(("def ", "class ")) for c in code for line in c.source.splitlines())


@pytest.mark.parametrize("name", ["01_derive.ipynb", "02_amplification.ipynb", "03_rnn_crosscheck.ipynb",
                                  "04_natural_gradient.ipynb"])
def test_notebook_runs_top_to_bottom(name, checks_out, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = reduced(checks_out)[name]
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError naming the cell on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
