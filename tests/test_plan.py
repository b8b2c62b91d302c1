"""The main job's plan: what it says before work starts, its schedule, --no-train, and Ctrl-C + resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import paper_checks
from numerics.rnn import TrainingRecord
from paper_checks._plan import Plan, Task
from paper_checks._runs import QUICK_SEEDS
from paper_checks.cli import main


def test_the_plan_names_every_check_record_and_estimate_without_training(tmp_path, capsys):
    assert main(["check", "--quick", "--dry-run", "--out", str(tmp_path), "--workers", "2"]) == 0
    out = capsys.readouterr().out
    for name in paper_checks.CHECKS:
        assert name in out
    assert "[missing]" in out and "estimated:" in out and "2 worker" in out
    # figure 4's rank-k run, one per seed, each decided by its own seed's SGD spectrum
    assert out.count("decided after the spectrum") == QUICK_SEEDS
    assert "rank k of the next run [seed 1]" in out and "edge of stability [seed 1]" in out
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def _plan(tasks: list[Task], workers: int = 2) -> Plan:
    return Plan(out_dir=None, checks=[], quick=True, workers=workers, tasks={t.key: t for t in tasks})


def test_the_critical_path_starts_first_and_the_simulated_wall_time_follows_it():
    # SGD (3) -> spectrum (1) -> rank-k (8) is the longest chain; rank-1 (7) and symmetric (4) are independent.
    tasks = [Task("sgd", "train", "sgd", 3), Task("spec", "spectrum", "spec", 1, deps={"sgd"}),
             Task("rank-k", "train", "rank-k", 8, deps={"spec"}), Task("rank-1", "train", "rank-1", 7),
             Task("sym", "train", "sym", 4), Task("check", "check", "c", 1, deps={"sgd", "rank-1", "rank-k"})]
    plan = _plan(tasks)
    paths = plan._critical_paths()
    assert paths["sgd"] == 3 + 1 + 8 + 1 and max(paths, key=paths.get) == "sgd"
    # sgd + spectrum + rank-k on one worker (12), rank-1 + symmetric on the other (11), then the check
    assert plan.wall_seconds() == pytest.approx(13)
    # one worker: everything in sequence
    assert _plan(tasks, workers=1).wall_seconds() == pytest.approx(24)


def test_missing_records_with_no_train_are_not_run_and_name_the_command(tmp_path, capsys):
    assert main(["check", "--quick", "--no-train", "--only", "fig3_two_modes", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "[quick | not run] fig3" in out and "nfsntk check --only fig3_two_modes" in out
    assert "[quick | does not hold]" not in out
    data = json.loads((tmp_path / "verdicts.json").read_text())
    assert [d["verdict"] for d in data] == ["not run"]


def test_ctrl_c_keeps_checkpoints_and_a_rerun_finishes_with_identical_records(tmp_path, sigint_default):
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "paper_checks.cli", "check", "--quick", "--only", "fig1_rnn_collapse", "--workers", "1",
           "--out", str(tmp_path / "a")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=sigint_default)
    runs = tmp_path / "a" / "runs"
    # interrupt once a training checkpoint exists (the reduced runs checkpoint every 1000 of 4000 steps)
    for _ in range(1200):
        if runs.exists() and any(p.name.endswith(".partial.json") for p in runs.iterdir()):
            break
        if proc.poll() is not None:
            break
        import time

        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()[-2000:]
    lines = [l for l in err.decode().replace("\r", "\n").splitlines() if l.startswith("nfsntk:")]
    assert len(lines) == 1 and "checkpoints are kept" in lines[0] and b"Traceback" not in err
    assert any(p.name.endswith(".partial.npz") for p in runs.iterdir())
    # rerun: resumes, finishes; the records equal those of an uninterrupted run
    assert subprocess.run(cmd, capture_output=True, env=env, timeout=600).returncode == 0
    assert main(["check", "--quick", "--only", "fig1_rnn_collapse", "--workers", "1",
                 "--out", str(tmp_path / "b")]) == 0
    names = sorted(p.name for p in runs.glob("*.npz"))
    assert names == sorted(p.name for p in (tmp_path / "b" / "runs").glob("*.npz")) and len(names) == 2 * QUICK_SEEDS
    for name in names:
        a, b = TrainingRecord.load(runs / name), TrainingRecord.load(tmp_path / "b" / "runs" / name)
        assert a.steps == b.steps and np.array_equal(np.array(a.W), np.array(b.W))
        assert np.array_equal(a.loss, b.loss) and np.array_equal(a.stable_rank, b.stable_rank)



def test_analysis_processes_leave_ctrl_c_to_the_main_job_and_die_with_their_parent():
    # Linux (PR_SET_PDEATHSIG), as this project's machines are
    code = (
        "import ctypes, signal\n"
        "from paper_checks._runs import _init_analysis_process\n"
        "_init_analysis_process()\n"
        "sig = ctypes.c_int(0)\n"
        "ctypes.CDLL('libc.so.6').prctl(2, ctypes.byref(sig))\n"  # PR_GET_PDEATHSIG
        "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN, sig.value == signal.SIGTERM)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True"]
