"""The ``nfsntk`` command line: output of ``derive`` and exit codes."""

import pytest
import sympy as sp

from paper_checks.cli import main


def test_derive_pitchfork_prints_the_cubic_coefficient(capsys):
    assert main(["derive", "pitchfork", "--order", "3"]) == 0
    out = capsys.readouterr().out
    assert "pitchfork" in out and "h0**3" in out
    # the printed D_g h_2 against differentiating f(f(h0, g), g) directly
    (line,) = [l for l in out.splitlines() if l.strip().startswith("t=2:")]
    g, h0 = sp.symbols("g h0")
    f = lambda h: g * h - h**3
    assert sp.expand(sp.sympify(line.split(":", 1)[1]) - sp.diff(f(f(h0)), g)) == 0


def test_derive_user_map(capsys):
    assert main(["derive", "--map", "g*h - h**2"]) == 0
    assert "user map" in capsys.readouterr().out


def test_unknown_form_exits_2_and_names_the_choices(capsys):
    assert main(["derive", "no_such_form"]) == 2
    err = capsys.readouterr().err
    assert "no_such_form" in err and "pitchfork" in err and "--map" in err


def test_bad_map_exits_2(capsys):
    assert main(["derive", "--map", "g*h - q*h**3"]) == 2
    assert "q" in capsys.readouterr().err


def test_bad_order_exits_2(capsys):
    assert main(["derive", "pitchfork", "--order", "0"]) == 2
    assert "--order" in capsys.readouterr().err


def test_missing_form_exits_2(capsys):
    assert main(["derive"]) == 2


def test_sweep_writes_csv_and_png(tmp_path, capsys):
    csv_path, png_path = tmp_path / "s.csv", tmp_path / "s.png"
    code = main(["sweep", "pitchfork", "--g", "0.9:1.1:5", "--T", "10", "--ic-range", "0.1", "--samples", "50",
                 "--csv", str(csv_path), "--png", str(png_path)])
    assert code == 0
    rows = csv_path.read_text().splitlines()
    assert len(rows) == 6 and rows[1].startswith("0.9,")
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_user_map_prints_table(capsys):
    assert main(["sweep", "--map", "g*h - h**3", "--g", "1:1:1", "--T", "3", "--samples", "4"]) == 0
    out = capsys.readouterr().out
    assert "user map" in out and "g, norm/B, escaped" in out


@pytest.mark.parametrize("grid", ["0.5:1.5", "a:b:c", "0.5:1.5:0"])
def test_sweep_bad_grid_exits_2(grid, capsys):
    assert main(["sweep", "pitchfork", "--g", grid]) == 2
    assert "--g must be START:STOP:N" in capsys.readouterr().err


def test_sweep_bad_numbers_exit_2(capsys):
    assert main(["sweep", "pitchfork", "--g", "0.5:1.5:3", "--T", "0"]) == 2
    assert "argument --T: must be an integer in 1.." in capsys.readouterr().err
    assert main(["sweep", "pitchfork", "--g", "0.5:1.5:3", "--ic-range", "-1"]) == 2


def test_check_rejects_unknown_names(capsys):
    assert main(["check", "--only", "no_such_check"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'no_such_check'" in err and "fig1e_crosscheck" in err


def test_train_with_the_natural_gradient_writes_the_record_the_checks_read(tmp_path, monkeypatch, capsys):
    from numerics.rnn import TrainConfig, TrainingRecord, record_name

    monkeypatch.setenv("NFSNTK_OUT", str(tmp_path))
    argv = ["train", "--steps", "20", "--N", "6", "--record-every", "10", "--optimizer", "natural", "--rank", "2"]
    assert main(argv) == 0
    cfg = TrainConfig(steps=20, N=6, record_every=10, optimizer="natural", ng_rank=2)
    rec = TrainingRecord.load(tmp_path / "runs" / record_name(cfg))
    assert main(argv) == 0 and "exists (same settings)" in capsys.readouterr().out  # never retrained unasked
    assert rec.config.optimizer == "natural" and rec.config.ng_rank == 2 and rec.steps == [0, 10, 20]
    assert main(["train", "--steps", "5", "--optimizer", "natural", "--rank", "0"]) == 2
    assert "argument --rank: must be an integer >= 1" in capsys.readouterr().err
    # the adaptive rank and the baselines from the command line
    assert main(["train", "--steps", "20", "--N", "6", "--record-every", "10", "--optimizer", "natural",
                 "--rank", "auto"]) == 0
    auto = TrainConfig(steps=20, N=6, record_every=10, optimizer="natural", ng_rank="auto")
    assert len(TrainingRecord.load(tmp_path / "runs" / record_name(auto)).ng_ranks) == 3
    assert main(["train", "--steps", "20", "--N", "6", "--record-every", "10", "--optimizer", "adam",
                 "--lr", "0.001"]) == 0
    assert TrainingRecord.load(tmp_path / "runs" / record_name(
        TrainConfig(steps=20, N=6, record_every=10, optimizer="adam", lr=1e-3))).config.optimizer == "adam"


# ---------------------------------------------------------------- every failure is one line with the right status
def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [l for l in err.replace("\r", "\n").splitlines() if l.strip() and l.startswith("nfsntk")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("argv, status, words", [
    (["sweep", "--map", "g*zeta(h+3)", "--g", "1:1:1"], 2, "'zeta' is not supported"),
    (["sweep", "--map", "g*floor(h)", "--g", "1:1:1"], 2, "'floor' is not supported"),
    (["sweep", "--map", "g*sqrt(h)", "--g", "0.5:1:2", "--samples", "20"], 1, "sample"),
    (["sweep", "pitchfork", "--g", "1:1:1", "--csv", "{FILE}/x.csv"], 2, "{FILE}/x.csv"),
    (["sweep", "pitchfork", "--g", "1:1:1", "--png", "{FILE}/x.png"], 2, "--png {FILE}/x.png"),
    (["sweep", "pitchfork", "--g", "1:1:1", "--csv", "{DIR}"], 2, "is a directory"),
    (["figure2", "--out", "/proc/nfsntk-x"], 2, "--out /proc/nfsntk-x"),
    (["sweep", "pitchfork", "--g", "1:1:1", "--samples", "10000000000000"], 2, "GiB"),
    (["sweep", "pitchfork", "--g", "inf:1:3"], 2, "finite START and STOP"),
    (["sweep", "pitchfork", "--g", "nan:1:3"], 2, "finite START and STOP"),
    (["sweep", "pitchfork", "--g", "1:1:1", "--seed", "-1"], 2, "--seed"),
    (["sweep", "pitchfork", "--g", "1:1:1", "--T", str(2**63)], 2, "--T"),
    (["sweep", "pitchfork", "--g", "1:1:1", "--ic-range", "nan"], 2, "--ic-range"),
    (["sweep", "pitchfork", "--g", "1:1:1", "--escape-radius", "-2"], 2, "--escape-radius"),
    (["derive", "--map", "g*h - h**1000001"], 2, "exceeds the limit"),
    (["derive", "--map", "g*h", "--state", "__class__"], 2, "state name '__class__'"),
    (["train", "--N", "1"], 2, "--N"),
    (["crosscheck", "--out", "{DIR}/checks"], 2, "no saved record"),
])
def test_user_errors_are_one_line_with_status(argv, status, words, capsys, tmp_path):
    # paths that cannot be created even by root: below a regular file
    (tmp_path / "file").write_text("x")
    fill = {"{FILE}": str(tmp_path / "file"), "{DIR}": str(tmp_path)}
    for key, value in fill.items():
        argv = [a.replace(key, value) for a in argv]
        words = words.replace(key, value)
    assert main(argv) == status
    line = _one_line(capsys)
    assert words in line, line
    assert line.startswith("nfsntk" + (": numerical failure:" if status == 1 else ""))


@pytest.mark.parametrize("error, status, words", [
    (OverflowError("D_g h overflowed float64"), 1, "numerical failure: D_g h overflowed"),
    (MemoryError(), 1, "out of memory"),
    (KeyboardInterrupt(), 130, "interrupted"),
    (PermissionError(13, "Permission denied", "/some/file"), 2, "/some/file: Permission denied"),
])
def test_failures_from_deep_inside_map_to_one_line(error, status, words, monkeypatch, capsys):
    import numerics

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(numerics, "sweep", fail)
    assert main(["sweep", "pitchfork", "--g", "1:1:1", "--samples", "2"]) == status
    assert words in _one_line(capsys)


def test_warnings_are_one_line_too(capsys):
    assert main(["sweep", "saddle_node", "--g", "0.5:0.5:1", "--T", "30", "--samples", "5"]) == 0
    err = capsys.readouterr().err
    assert "nfsntk: warning: every trajectory escaped" in err and "warnings.warn" not in err


def test_help_exits_0_and_lists_defaults(capsys):
    assert main(["sweep", "--help"]) == 0
    assert "--samples" in capsys.readouterr().out


def test_derive_of_a_huge_map_is_bounded(capsys):
    import time

    start = time.perf_counter()
    assert main(["derive", "--map", "g*h - h**1000"]) == 0
    out = capsys.readouterr().out
    assert time.perf_counter() - start < 60
    # no exact unrolling or fixed points at degree 1000: said so, and the branches are continued numerically
    assert "not available" in out and "[numeric" in out and "numeric branch of fixed points" in out


def test_derive_all_honours_latex(capsys):
    assert main(["derive", "--all", "--latex", "--order", "1"]) == 0
    out = capsys.readouterr().out
    unrolled = [l for l in out.splitlines() if l.strip().startswith("t=")]
    assert unrolled and all("**" not in l for l in unrolled) and any("^{" in l for l in unrolled)
    assert "h_{t+1}" in out and "$h^* =" in out


def test_check_help_lists_the_checks_and_train_help_the_defaults(capsys):
    assert main(["check", "--help"]) == 0
    out = capsys.readouterr().out
    assert "fig1e_crosscheck" in out and "--dry-run" in out
    assert main(["train", "--help"]) == 0
    assert "default: 35000" in capsys.readouterr().out


def test_train_a_gru_on_the_flipflop_then_track_its_checkpoints(tmp_path, capsys):
    import numpy as np

    from numerics.rnn import load_npz

    assert main(["train", "--model", "gru", "--task", "flipflop", "--N", "8", "--T", "20", "--B", "16",
                 "--steps", "60", "--record-every", "20", "--out", str(tmp_path)]) == 0
    folder = tmp_path / "runs" / "gru-flipflop-N8-T20-seed0"
    files = sorted(folder.glob("step_*.npz"))
    assert [f.name for f in files] == [f"step_{s:07d}.npz" for s in (0, 20, 40, 60)]
    with np.load(files[-1]) as data:  # PyTorch's names, readable by torch's load_state_dict
        assert set(data.files) == {"rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                                   "fc.weight", "fc.bias"}
        assert data["rnn.weight_hh_l0"].shape == (24, 8)
    assert load_npz(files[0]).cell.N == 8
    capsys.readouterr()
    assert main(["track", *map(str, files), "--seeds", "10"]) == 0
    out = capsys.readouterr().out
    assert "GRUCell N = 8, 4 checkpoints (steps 0..60)" in out and "fixed points at the last checkpoint" in out
    # the step is the last number of a name that holds several
    renamed = []
    for f in files:
        renamed.append(tmp_path / f"gru8-{int(f.stem.split('_')[1])}.npz")
        renamed[-1].write_bytes(f.read_bytes())
    assert main(["track", *map(str, renamed), "--seeds", "10"]) == 0
    assert "4 checkpoints (steps 0..60)" in capsys.readouterr().out
    for bad in ("1,2", "1,x,3", "1,nan,3"):
        assert main(["track", *map(str, files), "--input", bad]) == 2
        assert "--input must be 3" in capsys.readouterr().err


@pytest.mark.parametrize("argv, words", [
    (["train", "--model", "rnn", "--task", "flipflop"], "has no inputs"),
    (["train", "--model", "gru", "--task", "flipflop", "--optimizer", "momentum", "--steps", "1"],
     "momentum is an optimizer of the paper's rnn"),
    (["track", "only_one.npz"], "two or more"),
    (["track", "/nonexistent/a.npz", "/nonexistent/b.npz"], "no checkpoint file"),
])
def test_model_commands_refuse_clearly(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_train_a_leaky_model_with_the_natural_gradient_equals_fit(tmp_path):
    import numpy as np

    from numerics.rnn import FlipFlop, LowRankNaturalGradient, ModelSpec, fit, load_npz

    assert main(["train", "--model", "leaky", "--task", "flipflop", "--N", "6", "--T", "10", "--B", "8",
                 "--steps", "12", "--record-every", "6", "--optimizer", "natural", "--rank", "2", "--refresh", "3",
                 "--lr", "0.05", "--out", str(tmp_path)]) == 0
    last = load_npz(tmp_path / "runs" / "leaky-flipflop-N6-T10-seed0" / "step_0000012.npz")
    trained, _ = fit(ModelSpec("leaky", 6, 3, 3)(0), FlipFlop(T=10), steps=12, lr=0.05, batch=8, seed=1, every=6,
                     optimizer="natural", natural=LowRankNaturalGradient(rank=2, refresh=3, rng=0))
    np.testing.assert_array_equal(last.cell.flat(), trained.cell.flat())
    np.testing.assert_array_equal(last.weight, trained.weight)


def test_sweep2d_writes_the_map_and_the_grid_it_computed(tmp_path, capsys):
    import csv

    import numpy as np

    import normalforms as nf
    import numerics

    out_csv, out_png = tmp_path / "m.csv", tmp_path / "m.png"
    assert main(["sweep2d", "imperfect_pitchfork", "--x", "g=0.8:1.2:5", "--y=eps=-0.05:0.05:4", "--samples", "300",
                 "--T", "12", "--csv", str(out_csv), "--png", str(out_png)]) == 0
    assert out_png.stat().st_size > 0 and "updates/s" in capsys.readouterr().out
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 20 and list(rows[0])[:2] == ["g", "eps"]
    ref = numerics.sweep_grid(nf.imperfect_pitchfork(), {"g": np.linspace(0.8, 1.2, 5), "eps": np.linspace(-0.05, 0.05, 4)},
                              12, numerics.uniform_ics(0.1, 300, seed=0), progress=False)
    np.testing.assert_allclose([float(r["norm"]) for r in rows], ref.norm.ravel(), rtol=1e-15)
    assert [float(r["eps"]) for r in rows[:4]] == pytest.approx(np.linspace(-0.05, 0.05, 4).tolist())


@pytest.mark.parametrize("argv, match", [
    (["sweep2d", "pitchfork", "--x", "g=0.5:1.5:3", "--y", "eps=0:1:3"], "not a parameter"),
    (["sweep2d", "imperfect_pitchfork", "--x", "g=0.5:1.5:3", "--y", "eps"], "NAME=START:STOP:N"),
    (["sweep2d", "imperfect_pitchfork", "--x", "g=0:1:3", "--y", "g=0:1:3"], "same parameter"),
    (["sweep2d", "imperfect_pitchfork", "--const", "eps=__import__('os')", "--x", "g=0:1:3", "--y", "eps=0:1:3"],
     "NAME=NUMBER"),
    (["sweep2d", "imperfect_pitchfork", "--const", "delta=1", "--x", "g=0:1:3", "--y", "eps=0:1:3"],
     "has the constants"),
    (["sweep2d", "cusp", "--x", "b2=0:1:3", "--y", "eps=0:1:3"], "one axis must be the form's parameter 'b1'"),
])
def test_sweep2d_refuses_bad_axes_and_constants(argv, match, capsys):
    assert main(argv) == 2
    assert match in capsys.readouterr().err


def test_a_user_map_with_a_constant_on_an_axis(tmp_path, capsys):
    assert main(["sweep2d", "--map", "g*h - h**3 + c", "--const", "c=0.02", "--x", "g=0.5:1.5:4", "--y", "c=-0.1:0.1:3",
                 "--samples", "50", "--png", str(tmp_path / "u.png")]) == 0
    assert "c: 3 on [-0.1, 0.1]" in capsys.readouterr().out
