"""Test-session set-up shared by the tests and the doctests of every package.

The suite never touches the user's kernel cache: ``NFSNTK_CACHE_DIR`` points
to a fresh private folder for the whole session (subprocesses and Dask
workers inherit it), so the results cannot depend on what an earlier
``nfsntk sweep`` left in ``~/.cache/nfsntk`` and nothing the tests compile
lands there.
"""

from __future__ import annotations

import os
import shutil
import tempfile

_CACHE = tempfile.mkdtemp(prefix="nfsntk-test-cache-")  # created 0700
os.environ["NFSNTK_CACHE_DIR"] = _CACHE


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_CACHE, ignore_errors=True)
