"""Hostile input: no string a user passes ever runs code, anywhere it can enter.

Every payload tries to create a canary file.  Each entry point must refuse
the text with a ValueError/TypeError, and the canary must never appear.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import normalforms as nf
from normalforms._parse import as_expression, as_real_number, parse_expression
from paper_checks.cli import main

CANARY_DIR = Path(tempfile.mkdtemp(prefix="nfsntk-canary-"))
CANARY = CANARY_DIR / "pwned"

# A payload that does not touch the canary must still not run: an audit hook
# (PEP 578) records every exec/eval and process start while entry points parse.
_WATCHED = {"exec", "os.system", "subprocess.Popen", "os.posix_spawn", "os.exec", "os.spawn", "os.fork",
            "ctypes.dlopen", "builtins.input", "pdb.Pdb"}
_seen: list = []
_watching = [False]


def _code_names(code) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _code_names(const)
    return names


# Imports exec each module's code (from its file), and libraries exec code they
# generate (dataclasses, namedtuple, sympy's monomial ops); code made from a
# payload comes from text ("<string>") and names what the payload reaches for.
_SUSPECT = {"__import__", "open", "system", "exec", "eval", "getattr", "globals", "locals", "vars", "compile",
            "breakpoint", "input", "__class__", "__subclasses__", "__mro__", "__base__", "__builtins__",
            "__globals__", "sympify", "S"}


def _audit(event, args):
    if not (_watching[0] and event in _WATCHED):
        return
    if event == "exec":
        code = args[0]
        if not hasattr(code, "co_names") or not code.co_filename.startswith("<"):
            return  # a module being imported from its file
        if not _code_names(code) & _SUSPECT:
            return
    _seen.append(event)


sys.addaudithook(_audit)

PAYLOADS = [
    f"__import__('os').system('touch {CANARY}')",
    f"open('{CANARY}', 'w')",
    f"exec(\"open('{CANARY}', 'w')\")",
    f"eval(\"open('{CANARY}', 'w')\")",
    "().__class__.__base__.__subclasses__()",
    "h.__class__.__mro__",
    f"(lambda: open('{CANARY}', 'w'))()",
    f"[open('{CANARY}', 'w') for _ in (1,)]",
    f"{{open('{CANARY}', 'w'): 1}}",
    f"f\"{{open('{CANARY}', 'w')}}\"",
    f"(x := open('{CANARY}', 'w'))",
    f"getattr(h, '__class__')",
    f"sympify(\"open('{CANARY}', 'w')\")",
    f"S(\"open('{CANARY}', 'w')\")",
    f"Function('f')(h)",
    f"exp(h)[0]",
    f"exp(h).func",
    f"exp(x=h)",
    f"exp(*[h])",
    f"h if open('{CANARY}', 'w') else h",
    f"h and open('{CANARY}', 'w')",
    "globals()",
    "__builtins__",
    f"b'{CANARY}'",
]

CONTEXTS = ["{}", "g*h + {}", "exp({})", "({})**2", "g*h - h**3 + 0*({})", "sin(h) + {}", "{} + 1"]


def _entry_points(text: str):
    """Every public way a string becomes an expression."""
    return [
        lambda: nf.NormalForm(text),
        lambda: nf.NormalForm.from_expr(text),
        lambda: nf.NormalForm([text, "x"], state="x y"),
        lambda: nf.NormalForm(f"{text}, x", state="x y"),
        lambda: nf.NormalForm("g*h - a*h**3", constants={"a": text}),
        lambda: nf.NormalForm("g*h", g_star=text),
        lambda: nf.imperfect_pitchfork(text),
        lambda: nf.neimark_sacker(text, "4/5"),
        lambda: nf.UniformEnsemble(text),
        lambda: nf.PointEnsemble([text]),
        lambda: nf.pitchfork().unroll(2, h0=text),
        lambda: nf.pitchfork().unroll(2, g=text),
        lambda: nf.pitchfork().evaluate(text, 1),
        lambda: nf.pitchfork().sensitivity_series(order=1, at=text),
        lambda: nf.fold_coefficient(nf.saddle_node(), [text], 1),
        lambda: parse_expression(text, {}),
        lambda: as_expression(text),
        lambda: as_real_number(text, "x"),
    ]


@pytest.fixture(scope="module", autouse=True)
def _remove_canary_dir():
    yield
    shutil.rmtree(CANARY_DIR, ignore_errors=True)


def _watched(call):
    _seen.clear()
    _watching[0] = True
    try:
        return call()
    finally:
        _watching[0] = False


def _assert_refused(text: str) -> None:
    for call in _entry_points(text):
        with pytest.raises((ValueError, TypeError)):
            _watched(call)
        assert not _seen, f"{text!r} triggered {_seen}"
    assert not CANARY.exists(), f"{text!r} ran code"


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("context", CONTEXTS)
def test_known_payloads_are_refused_everywhere(payload, context):
    _assert_refused(context.format(payload))


# ---------------------------------------------------------------- generated payloads
_names = st.sampled_from(["h", "g", "__import__", "__class__", "__globals__", "__builtins__", "os", "open", "eval",
                          "exec", "getattr", "sys", "subprocess", "__subclasses__", "__mro__", "__base__",
                          "compile", "globals", "locals", "vars", "breakpoint", "input", "x"])
_literals = st.sampled_from(["1", "'s'", f"'{CANARY}'", "b'x'", "2j", "None", "True", "...", "[]", "{}", "()"])


def _grow(inner):
    return st.one_of(
        st.tuples(inner, _names).map(lambda t: f"{t[0]}.{t[1]}"),                      # attribute chains
        st.tuples(inner, st.lists(inner, max_size=2)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),  # calls
        st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),                      # subscripts
        inner.map(lambda e: f"(lambda: {e})()"),
        inner.map(lambda e: f"[{e} for _ in (1,)]"),
        st.tuples(inner, inner).map(lambda t: f"{t[0]}({t[1]}={t[1]})" if t[1].isidentifier() else f"({t[0]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} + {t[1]})"),
    )


hostile = st.recursive(st.one_of(_names, _literals), _grow, max_leaves=6).filter(
    lambda s: any(tok in s for tok in ("__", "(", "[", ".", "lambda", "'", "j", "None", "True", "..."))
    or s not in ("h", "g", "1", "x")
)


@given(text=hostile)
def test_generated_python_is_never_run(text):
    for call in _entry_points(text)[:6] + _entry_points(text)[-3:]:
        try:
            _watched(call)
        except (ValueError, TypeError):
            pass
        else:
            # Only plain formulas may pass: then the text used nothing outside the whitelist.
            assert not any(tok in text for tok in ("__", ".", "[", "lambda", "'", "None", "True")), text
        assert not _seen, f"{text!r} triggered {_seen}"
    assert not CANARY.exists(), f"{text!r} ran code"


# ---------------------------------------------------------------- the command line
def test_the_audit_hook_sees_code_being_run():
    """The detector itself works: sympy's own parser (eval) on a payload is caught."""
    from sympy.parsing.sympy_parser import parse_expr

    with pytest.raises(Exception):
        _watched(lambda: parse_expr("__import__('os').getcwd() + 1"))
    assert "exec" in _seen


@pytest.mark.parametrize("payload", PAYLOADS[:8])
def test_cli_maps_are_refused_with_one_line(payload, capsys):
    for argv in (["derive", "--map", payload], ["sweep", "--map", f"g*h + {payload}", "--g", "1:1:1", "--T", "2",
                                                "--samples", "2"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("nfsntk: error:") and "\n" not in err and "Traceback" not in err
    assert not CANARY.exists()


def test_a_form_name_never_reaches_generated_code(tmp_path):
    """A docstring-breaking name is only a label: the module is the same as for any other name."""
    from numerics import compile_form

    sneaky = nf.NormalForm("g*h - h**3 + h**5/11", name='x""" + open("canary") + """')
    plain = nf.NormalForm("g*h - h**3 + h**5/11")
    path = compile_form(sneaky).path
    assert path == compile_form(plain).path
    assert "canary" not in path.read_text() and '"""' not in path.read_text().split('"""', 2)[1]
    for bad in ('x"""\nimport os', "a\rb", "tab\tname", "\x1b[2J"):
        with pytest.raises(ValueError, match="control character"):
            nf.NormalForm("g*h", name=bad)


def test_nothing_runs_in_a_fresh_interpreter():
    """The same payloads in a clean process (no test fixtures, real CLI entry point)."""
    code = (
        "import sys; from paper_checks.cli import main\n"
        f"sys.exit(main(['derive', '--map', {PAYLOADS[0]!r}]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ))
    assert out.returncode == 2 and "not of" in out.stderr
    assert not CANARY.exists()
