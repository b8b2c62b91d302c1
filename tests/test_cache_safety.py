"""The kernel cache: only verified code is run, damage is repaired, unsafe directories are refused."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import normalforms as nf
import numerics
from numerics._codegen import CacheDirectoryError, compile_form, form_key, form_source

# A fresh process sweeping one form and reporting the norms, numba's cache hits
# and whether a canary appeared; run against a given cache directory.
SCRIPT = textwrap.dedent(
    """
    import json, os, sys, warnings
    import normalforms as nf, numerics
    warnings.simplefilter("always")
    caught = []
    warnings.showwarning = lambda m, c, *a, **k: caught.append(c.__name__ + ": " + str(m))
    form = nf.NormalForm("g*h - h**3 + h**2/13")
    r = numerics.sweep(form, [0.9, 1.1], 10, [0.1, -0.05], progress=False)
    stats = numerics.compile_form(form).module.run_items_norm.stats
    print(json.dumps({"norm": r.norm.tolist(), "hits": sum(stats.cache_hits.values()),
                      "misses": sum(stats.cache_misses.values()), "warnings": caught,
                      "canary": os.path.exists(sys.argv[1])}))
    """
)
FORM = nf.NormalForm("g*h - h**3 + h**2/13")


def _run(cache: Path, canary: Path) -> dict:
    env = dict(os.environ, NFSNTK_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(canary)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture()
def cache(tmp_path):
    folder = tmp_path / "cache"
    return folder


def test_module_name_is_the_hash_of_its_whole_text_and_holds_no_user_text():
    src = form_source(FORM)
    assert src.key == hashlib.sha256(src.source.encode()).hexdigest()[:32] == form_key(FORM)
    renamed = nf.NormalForm("gg*xx - xx**3 + xx**2/13", state="xx", param="gg", name="something else")
    assert form_source(renamed).source == src.source  # names are not in the module
    assert "user map" not in src.source and "xx" not in form_source(renamed).source


def test_an_edited_module_is_regenerated_not_run(cache, tmp_path):
    canary = tmp_path / "canary"
    first = _run(cache, canary)
    module = next(cache.glob("nfsntk_form_*.py"))
    good = module.read_text()
    # a planted payload, and a "harmless" edit that would change the numbers
    module.write_text(f"open({str(canary)!r}, 'w').close()\n" + good.replace("x0*x0*x0", "0.0"))
    second = _run(cache, canary)
    assert not second["canary"]
    assert second["norm"] == first["norm"]
    assert any("did not match" in w for w in second["warnings"])
    assert module.read_text() == good


def test_a_module_planted_before_first_use_is_not_run(cache, tmp_path):
    canary = tmp_path / "canary"
    cache.mkdir(mode=0o700)
    (cache / f"nfsntk_form_{form_key(FORM)}.py").write_text(f"open({str(canary)!r}, 'w').close()\n")
    out = _run(cache, canary)
    assert not out["canary"] and any("did not match" in w for w in out["warnings"])
    ref = numerics.reference(FORM, [0.9, 1.1], 10, [0.1, -0.05], dps=30)
    np.testing.assert_allclose(out["norm"], [float(v) for v in ref.norm], rtol=1e-12)


def test_a_planted_bytecode_file_is_never_loaded(cache, tmp_path):
    """Python would import a .pyc whose stamp matches the source; the verified text is executed instead."""
    import importlib.util
    import py_compile

    canary = tmp_path / "canary"
    first = _run(cache, canary)
    module = next(cache.glob("nfsntk_form_*.py"))
    evil = tmp_path / "evil.py"
    evil.write_text(f"open({str(canary)!r}, 'w').close()\n")
    pyc = Path(importlib.util.cache_from_source(str(module)))
    st = module.stat()
    # a pyc claiming the module's mtime and size, as the import system checks them
    py_compile.compile(str(evil), cfile=str(pyc), dfile=str(module))
    data = bytearray(pyc.read_bytes())
    data[8:12] = int(st.st_mtime).to_bytes(4, "little")
    data[12:16] = (st.st_size & 0xFFFFFFFF).to_bytes(4, "little")
    pyc.write_bytes(bytes(data))
    second = _run(cache, canary)
    assert not second["canary"] and second["norm"] == first["norm"]


def test_corrupt_numba_cache_files_are_cleared_and_recompiled(cache, tmp_path):
    canary = tmp_path / "canary"
    first = _run(cache, canary)
    assert first["misses"] >= 1
    files = list((cache / "__pycache__").glob("nfsntk_form_*.nb[ic]"))
    assert files
    for f in files:
        f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 3])  # truncated mid-write
    second = _run(cache, canary)
    assert second["norm"] == first["norm"]
    assert any("could not be loaded" in w for w in second["warnings"])
    third = _run(cache, canary)  # repaired for good: machine code loads again
    assert third["hits"] >= 1 and third["misses"] == 0 and not third["warnings"]


def test_the_suite_never_uses_the_users_cache():
    assert Path(os.environ["NFSNTK_CACHE_DIR"]).name.startswith("nfsntk-test-cache-")
    assert compile_form(nf.pitchfork()).path.parent == Path(os.environ["NFSNTK_CACHE_DIR"])


def _unique_form(tag: int) -> nf.NormalForm:
    # a form this process has not compiled yet, so the memo cannot answer
    return nf.NormalForm(f"g*h - h**3 + h**4/{1000 + tag}")


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("not a folder") and p, "not a directory"),
    (lambda p: (p.mkdir(), p.chmod(0o777), p)[2], "writable by others"),
    (lambda p: (p.mkdir(), p.chmod(0o720), p)[2], "writable by others"),
    (lambda p: Path("/proc/nfsntk-no-such-place/cache"), "cannot use the kernel cache directory"),
    (lambda p: (p.write_text("x"), p / "sub")[1], "cannot use the kernel cache directory"),
])
def test_unusable_cache_directories_get_one_error_naming_the_variable(tmp_path, monkeypatch, make, message):
    target = make(tmp_path / "c")
    monkeypatch.setenv("NFSNTK_CACHE_DIR", str(target))
    with pytest.raises(CacheDirectoryError, match=message) as info:
        compile_form(_unique_form(len(message)))
    assert "NFSNTK_CACHE_DIR" in str(info.value)


def test_a_foreign_owned_directory_is_refused(tmp_path, monkeypatch):
    target = tmp_path / "foreign"
    target.mkdir(mode=0o700)
    real_stat = Path.stat

    def foreign_stat(self, *args, **kwargs):
        st = real_stat(self, *args, **kwargs)
        if self == target:
            return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, os.geteuid() + 1) + tuple(st)[5:])
        return st

    monkeypatch.setattr(Path, "stat", foreign_stat)
    monkeypatch.setenv("NFSNTK_CACHE_DIR", str(target))
    with pytest.raises(CacheDirectoryError, match="belongs to another user"):
        compile_form(_unique_form(99))


def test_new_cache_directories_are_private(tmp_path, monkeypatch):
    target = tmp_path / "deep" / "cache"
    monkeypatch.setenv("NFSNTK_CACHE_DIR", str(target))
    path = compile_form(_unique_form(7)).path
    assert (target.stat().st_mode & 0o777) == 0o700
    assert (path.stat().st_mode & 0o077) == 0


def test_cli_reports_an_unusable_cache_in_one_line(tmp_path, monkeypatch, capsys):
    from paper_checks.cli import main

    bad = tmp_path / "file"
    bad.write_text("x")
    monkeypatch.setenv("NFSNTK_CACHE_DIR", str(bad))
    assert main(["sweep", "--map", "g*h - h**3 + h**4/977", "--g", "1:1:1", "--T", "2", "--samples", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nfsntk: error:") and "NFSNTK_CACHE_DIR" in err and "\n" not in err


RNN_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, warnings
    import numpy as np
    from numerics.rnn import GRUCell
    warnings.simplefilter("always")
    caught = []
    warnings.showwarning = lambda m, c, *a, **k: caught.append(c.__name__ + ": " + str(m))
    rng = np.random.default_rng(0)
    cell = GRUCell.init(4, 2, rng)
    H = cell.forward(rng.normal(size=(3, 4)), rng.normal(size=(5, 3, 2)))
    print(json.dumps({"H": H.tolist(), "warnings": caught, "canary": os.path.exists(sys.argv[1])}))
    """
)


def test_the_rnn_kernels_module_is_verified_like_the_forms(cache, tmp_path):
    """The GRU's fused kernels live in the same verified cache: an edited module is rewritten, not run."""
    env = dict(os.environ, NFSNTK_CACHE_DIR=str(cache))
    canary = tmp_path / "canary"

    def run():
        out = subprocess.run([sys.executable, "-c", RNN_SCRIPT, str(canary)], env=env, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    first = run()
    module = next(cache.glob("nfsntk_rnn_fused_*.py"))
    good = module.read_text()
    module.write_text(f"open({str(canary)!r}, 'w').close()\n" + good.replace("0.5 + 0.5", "0.5 + 0.4"))
    second = run()
    assert not second["canary"] and second["H"] == first["H"]
    assert any("did not match" in w for w in second["warnings"]) and module.read_text() == good


def test_the_gru_works_without_a_usable_kernel_cache(tmp_path):
    """An unusable cache directory (here a file) is refused for machine code, but the GRU still runs: its kernels
    are compiled in memory with a warning, and its states equal the protocol's generic loop."""
    blocked = tmp_path / "not_a_folder"
    blocked.write_text("x")
    code = textwrap.dedent(
        """
        import warnings
        import numpy as np
        from numerics.rnn import AbstractCell, GRUCell
        rng = np.random.default_rng(0)
        cell = GRUCell.init(4, 2, rng)
        h0, X = rng.normal(size=(3, 4)), rng.normal(size=(5, 3, 2))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            H = cell.forward(h0, X)
        print(float(np.abs(H - AbstractCell.forward(cell, h0, X)).max()), any("in memory" in str(w.message) for w in caught))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, NFSNTK_CACHE_DIR=str(blocked)),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    err, warned = out.stdout.split()
    assert float(err) < 1e-15 and warned == "True"
