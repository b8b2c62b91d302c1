"""The ``nfsntk`` command line: output of ``derive`` and exit codes."""

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
