"""Bounded work: memory is checked before allocating, long runs show an estimate, Ctrl-C stops at once,
and complex numbers are refused wherever a real one is expected."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import normalforms as nf
import numerics
import numerics._inputs as inputs
from numerics.rnn import RNN, SntkOperator, forward


@pytest.fixture()
def small_machine(monkeypatch):
    """A machine with 64 MiB to spare: every allocation check is made against this."""
    monkeypatch.setattr(inputs, "available_memory", lambda: 64 * 1024**2)


def test_ensembles_beyond_memory_are_refused_before_allocation(small_machine):
    with pytest.raises(ValueError, match=r"would need 0\.1 GiB.*draw fewer samples"):
        numerics.uniform_ics(0.1, 10_000_000, seed=0)
    with pytest.raises(ValueError, match="GiB"):
        numerics.gaussian_ics(0.1, 5_000_000, seed=0, dim=2)
    assert numerics.uniform_ics(0.1, 1000, seed=0).shape == (1000,)


def test_profiles_and_trajectories_beyond_memory_are_refused(small_machine):
    with pytest.raises(ValueError, match="drop profile=True"):
        numerics.sweep(nf.pitchfork(), np.linspace(0.5, 1.5, 2000), 1000, [0.1], profile=True)
    with pytest.raises(ValueError, match="use sweep"):
        numerics.trajectories(nf.pitchfork(), np.linspace(0.5, 1.5, 100), 1000, np.zeros(100))
    # the same sweep without the profile is small
    assert numerics.sweep(nf.pitchfork(), np.linspace(0.5, 1.5, 2000), 10, [0.1]).norm.shape == (2000,)


def test_horizon_is_bounded():
    with pytest.raises(ValueError, match="beyond the limit"):
        numerics.sweep(nf.pitchfork(), [1.0], 2**63, [0.1])


def test_long_sweeps_show_their_work_and_an_estimate(capsys):
    numerics.sweep(nf.pitchfork(), [0.9, 1.1], 2_000_000, numerics.uniform_ics(0.1, 300, seed=0), progress=True)
    err = capsys.readouterr().err
    assert "1.2e+09 updates" in err and "about" in err


def test_the_estimate_is_the_right_order_of_magnitude():
    from numerics._codegen import compile_form
    from numerics._sweep import _estimate_seconds, _warm_up

    kernel = compile_form(nf.pitchfork()).kernel("run_items_norm")
    _warm_up(kernel, 1)
    h0 = numerics.uniform_ics(0.1, 2048, seed=1)[None, :].copy()
    g = np.array([1.05])
    T = 300_000
    estimate = _estimate_seconds(kernel, g[:, None], h0, T, 1e6, False, 2048.0 * T, 1)
    start = time.perf_counter()
    numerics.sweep(nf.pitchfork(), g, T, h0[0], threads=1, progress=False)
    actual = time.perf_counter() - start
    assert actual / 5 < estimate < actual * 5, (estimate, actual)


INTERRUPT = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    import normalforms as nf, numerics
    numerics.sweep(nf.pitchfork(), [1.2], 2, [0.1])          # compile first
    threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    start = time.perf_counter()
    try:
        numerics.{call}
    except KeyboardInterrupt:
        print("stopped after", round(time.perf_counter() - start, 2))
    """
)


def test_ctrl_c_stops_a_running_kernel_at_once(sigint_default):
    # uninterrupted, this runs for about 30 s (1e10 updates of single-trajectory chunks on 2 threads)
    call = "sweep(nf.pitchfork(), [1.2, 1.3], 5 * 10**9, [0.1])"
    out = subprocess.run([sys.executable, "-c", INTERRUPT.format(call=call)], capture_output=True, text=True,
                         timeout=300, env=dict(os.environ), preexec_fn=sigint_default)
    assert "stopped after" in out.stdout, out.stderr
    assert float(out.stdout.split()[-1]) < 5.0


def test_ctrl_c_in_the_cli_is_one_line_and_status_130(sigint_default):
    # about a minute uninterrupted; interrupted once its progress bar (with the estimate) is up
    proc = subprocess.Popen([sys.executable, "-m", "paper_checks.cli", "sweep", "pitchfork", "--g", "1.2:1.2:1",
                             "--T", "20000000000", "--samples", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ), preexec_fn=sigint_default)
    seen = b""
    while b"item" not in seen:
        chunk = proc.stderr.read(1)
        assert chunk, "the command ended before showing its progress"
        seen += chunk
    start = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out, rest = proc.communicate(timeout=60)
    err = (seen + rest).decode()
    assert proc.returncode == 130, err
    assert time.perf_counter() - start < 10
    lines = [l for l in err.replace("\r", "\n").splitlines() if l.startswith("nfsntk:")]
    assert lines == ["nfsntk: interrupted"] and "Traceback" not in err


@pytest.mark.parametrize("call", [
    lambda: numerics.sweep(nf.pitchfork(), [1.0 + 0.5j], 5, [0.1]),
    lambda: numerics.sweep(nf.pitchfork(), [1.0], 5, [0.1 + 0j]),
    lambda: numerics.sweep(nf.pitchfork(), [1.0], 5, [0.1], escape_radius=1e6 + 0j),
    lambda: numerics.uniform_ics(0.1 + 0j, 5, seed=0),
    lambda: numerics.trajectories(nf.pitchfork(), np.array([1.0], complex), 5, [0.1]),
    lambda: RNN(np.eye(3) * (1 + 1j), np.zeros(3)),
    lambda: RNN(np.eye(3), np.zeros(3, complex)),
    lambda: forward(RNN(np.eye(3) * 0.5, np.zeros(3)), np.ones((2, 2)) * 1j, 3),
    lambda: SntkOperator(RNN(np.eye(3) * 0.5, np.zeros(3)), np.ones((2, 2)), 3).fisher_matvec(np.ones(12) * 1j),
    lambda: nf.NormalForm("g*h", g_star=1 + 1j),
    lambda: nf.NormalForm("g*h - a*h**3", constants={"a": 2j}),
    lambda: nf.pitchfork().unroll(2, h0=0.1j),
])
def test_complex_input_is_refused(call):
    with pytest.raises(TypeError, match="real"):
        call()
