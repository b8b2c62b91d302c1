"""The documentation site builds with warnings as errors, executing the four notebooks.

This is the build CI runs and the README's one command runs locally.  The
notebooks read their (reduced) records from ``checks_out``, shared with the
paper checks' tests, so nothing is trained twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_docs_build_without_warnings(tmp_path, checks_out):
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernels draw inline figures
    env["NFSNTK_OUT"] = str(checks_out)
    out = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-d",
                          str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "html")],
                         capture_output=True, text=True, env=env, timeout=1500)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    html = tmp_path / "html"
    for page in ("index", "tour", "main_job", "paper", "safety", "api", "benchmarks"):
        assert (html / f"{page}.html").exists()
    for nb in ("01_derive", "02_amplification", "03_rnn_crosscheck", "04_natural_gradient"):
        assert (html / "notebooks" / f"{nb}.html").exists()
    assert len(list((html / "_images").glob("*.png"))) >= 6  # the notebooks' figures were rendered
    api = (html / "api" / "normalforms.html").read_text()
    assert "NormalForm" in api and "parse_expression" in api
    assert "holds with a correction" in (html / "paper.html").read_text()
