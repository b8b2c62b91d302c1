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
    assert "unknown check" in capsys.readouterr().err


def test_train_with_the_natural_gradient_writes_the_record_the_checks_read(tmp_path, monkeypatch, capsys):
    from numerics.rnn import TrainingRecord

    monkeypatch.setenv("NFSNTK_OUT", str(tmp_path))
    assert main(["train", "--steps", "20", "--N", "6", "--record-every", "10", "--optimizer", "natural",
                 "--rank", "2"]) == 0
    rec = TrainingRecord.load(tmp_path / "runs" / "paper_natural_rank2")
    assert rec.config.optimizer == "natural" and rec.config.ng_rank == 2 and rec.steps == [0, 10, 20]
    assert main(["train", "--steps", "5", "--optimizer", "natural", "--rank", "0"]) == 2
    assert "argument --rank: must be an integer >= 1" in capsys.readouterr().err
