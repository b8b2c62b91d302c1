"""Every Python snippet of the README and the docs runs as written.

Each file's ```python blocks are executed in order in one namespace (as a
reader pasting them into a REPL would), in a temporary folder.  A block whose
info string is ``python no-run`` is shown but not executed -- kept for what
needs a machine the tests do not have (a SLURM cluster); the test checks such
blocks still parse.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^(?P<indent>[ ]*)```(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=indent)```\s*$", re.S | re.M)


def blocks(path: Path) -> list[tuple[int, str, str]]:
    text = path.read_text()
    out = []
    for m in FENCE.finditer(text):
        info = m.group("info").strip()
        if info.split(" ")[0] == "python":
            body = textwrap.dedent(m.group("body"))  # a block inside a list item is indented
            out.append((text[: m.start()].count("\n") + 2, info, body))
    return out


def test_snippets_are_found():
    assert len(blocks(ROOT / "README.md")) >= 2
    assert len(blocks(ROOT / "docs" / "tour.md")) >= 6
    assert len(blocks(ROOT / "docs" / "laws.md")) >= 5


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_python_snippet_runs(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NFSNTK_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__snippet__"}
    for line, info, body in blocks(path):
        code = compile(body, f"{path.name}:{line}", "exec")  # no-run blocks must still be valid Python
        if "no-run" in info.split():
            continue
        exec(code, namespace)  # noqa: S102 - the repository's own documentation
    import matplotlib.pyplot as plt

    plt.close("all")
