r"""Turn user text into sympy expressions without ever evaluating it as code.

Every string that becomes an expression anywhere in nfsntk (map components,
constant values, ``g_star``, points, initial conditions, CLI ``--map``)
comes through :func:`parse_expression`.  The text is parsed by Python's
``ast`` module into a syntax tree -- parsing runs nothing -- and the tree is
checked node by node against a whitelist while the sympy expression is
*built* from it directly: there is no ``eval``, ``exec`` or ``sympify`` of a
string anywhere on this path.

What a string may contain
-------------------------
* numbers: integers, decimals, scientific notation (``1e-3``); decimals are
  read exactly from their text (``0.1`` is 1/10);
* the names the caller declares (state, parameter, constants) and, where the
  caller allows free symbols, other plain ASCII identifiers (so that
  :class:`~normalforms.NormalForm` can say which constant is missing);
* the constants ``pi`` and ``E``;
* ``+ - * / **`` and parentheses; a top-level comma-separated tuple where the
  caller accepts several components;
* calls of the functions in :data:`FUNCTIONS` with positional arguments.

Everything else -- attribute access, subscripts, keyword arguments, lambdas,
comprehensions, strings, comparisons, ``^`` -- is refused with a
``ValueError`` naming the construct and what is allowed.

Limits (documented in the README): text length :data:`MAX_TEXT_LENGTH`,
nesting depth :data:`MAX_DEPTH`, integer exponents ``|n| <=``
:data:`MAX_EXPONENT`, exact numbers of at most :data:`MAX_NUMBER_BITS`
bits (checked *before* a power of numbers is computed, so ``9**9**9`` is
refused at once instead of hanging), decimal exponents within float64's
range.
"""

from __future__ import annotations

import ast
import keyword
import math
import numbers
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import sympy as sp

__all__ = [
    "FUNCTIONS", "CONSTANTS", "MAX_TEXT_LENGTH", "MAX_DEPTH", "MAX_EXPONENT", "MAX_NUMBER_BITS",
    "parse_expression", "parse_components", "as_expression", "as_real_number", "check_name", "parse_condition",
]

#: Functions a string may call, with their arity.  Exactly the ones whose
#: value and first derivatives the numeric layer prints for numba
#: (``tests/test_parse.py`` compiles each one).
FUNCTIONS: dict[str, tuple[Any, int]] = {
    "exp": (sp.exp, 1), "log": (sp.log, 1), "sqrt": (sp.sqrt, 1),
    "sin": (sp.sin, 1), "cos": (sp.cos, 1), "tan": (sp.tan, 1),
    "asin": (sp.asin, 1), "acos": (sp.acos, 1), "atan": (sp.atan, 1), "atan2": (sp.atan2, 2),
    "sinh": (sp.sinh, 1), "cosh": (sp.cosh, 1), "tanh": (sp.tanh, 1),
    "asinh": (sp.asinh, 1), "acosh": (sp.acosh, 1), "atanh": (sp.atanh, 1),
    "erf": (sp.erf, 1), "Abs": (sp.Abs, 1), "abs": (sp.Abs, 1),
}

#: Named constants a string may use (a declared name of the same spelling wins).
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}

# sympy spellings people type, refused with the reason rather than read as
# an unknown symbol (which would give a misleading "give it a value" hint).
_NON_FINITE_NAMES = frozenset({"oo", "zoo", "nan", "NaN", "inf", "Inf", "infinity", "Infinity"})
_IMAGINARY_NAMES = frozenset({"I", "j"})

#: Longest accepted text, in characters.
MAX_TEXT_LENGTH = 10_000
#: Deepest accepted nesting (parentheses, calls, powers, signs); sums and
#: products of many terms are flat and do not count.
MAX_DEPTH = 100
#: Largest accepted |n| of a numeric exponent (h**1000 is accepted, h**1001 is not).
MAX_EXPONENT = 1000
#: Largest exact number (numerator or denominator), in bits (~1233 decimal digits).
MAX_NUMBER_BITS = 4096

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_MAX_NAME_LENGTH = 64
# float64 spans 5e-324 .. 1.8e308; a decimal outside cannot be a meaningful
# coefficient of a map the kernels evaluate, and 10**(10**9) must not be
# built to find that out (the exponent is checked before the Fraction exists).
_MAX_DECIMAL_EXPONENT = 400

_ALLOWED = (
    "numbers, the declared names, pi, E, + - * / ** and parentheses, and calls of "
    + ", ".join(sorted(set(FUNCTIONS) - {"abs"}, key=str.lower))
)

_REFUSED = {
    ast.Attribute: "attribute access ('.')",
    ast.Subscript: "subscripts ('[...]')",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "'and'/'or'",
    ast.IfExp: "'if ... else'",
    ast.Dict: "dict displays",
    ast.Set: "set displays",
    ast.List: "lists",
    ast.JoinedStr: "f-strings",
    ast.NamedExpr: "':='",
    ast.Starred: "'*' unpacking",
    ast.Await: "'await'",
    ast.Yield: "'yield'",
    ast.YieldFrom: "'yield'",
    ast.Slice: "slices",
    ast.Tuple: "tuples",
}


def check_name(name: Any, what: str) -> str:
    """A user-declared symbol name: a plain ASCII identifier, not a keyword, function or constant.

    Examples
    --------
    >>> check_name("h", "state")
    'h'
    >>> check_name("__class__", "state")
    Traceback (most recent call last):
    ...
    ValueError: state name '__class__' is not allowed: use a plain name of letters, digits and '_' starting with a letter (e.g. 'h', 'x1', 'eps'), at most 64 characters
    """
    if not isinstance(name, str):
        raise TypeError(f"{what} name must be a string such as 'h'; got {type(name).__name__}")
    if not _NAME.match(name) or len(name) > _MAX_NAME_LENGTH:
        raise ValueError(
            f"{what} name {name!r} is not allowed: use a plain name of letters, digits and '_' starting with "
            f"a letter (e.g. 'h', 'x1', 'eps'), at most {_MAX_NAME_LENGTH} characters"
        )
    if keyword.iskeyword(name):
        raise ValueError(f"{what} name {name!r} is a Python keyword; choose another name (e.g. {name + '_'!r})")
    if name in FUNCTIONS:
        raise ValueError(f"{what} name {name!r} is the name of a function; choose another name")
    return name


class _Builder:
    """Builds a sympy expression from a checked syntax tree, node by node."""

    def __init__(self, text: str, names: Mapping[str, sp.Expr], free_symbols: bool, what: str) -> None:
        self.text = text
        self.names = names
        self.free_symbols = free_symbols
        self.what = what

    def fail(self, message: str) -> ValueError:
        return ValueError(f"{self.what} {_clip(self.text)!r}: {message}")

    def refuse(self, node: ast.AST) -> ValueError:
        kind = _REFUSED.get(type(node), type(node).__name__)
        return self.fail(f"{kind} not allowed; a formula may contain {_ALLOWED}")

    # -------------------------------------------------------------- the walk
    def build(self, node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep; simplify the formula")
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, (ast.Add, ast.Sub)):
                return self.chain(node, depth, (ast.Add, ast.Sub), sp.Add, lambda x: -x)
            if isinstance(node.op, (ast.Mult, ast.Div)):
                return self.chain(node, depth, (ast.Mult, ast.Div), sp.Mul, self.reciprocal)
            if isinstance(node.op, ast.Pow):
                return self.power(self.build(node.left, depth + 1), self.build(node.right, depth + 1))
            if isinstance(node.op, ast.BitXor):
                raise self.fail("'^' is not a power here; write powers as h**3")
            raise self.fail(f"the operator {type(node.op).__name__} is not allowed; use + - * / **")
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return self.checked(-self.build(node.operand, depth + 1))
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand, depth + 1)
            raise self.fail(f"the unary operator {type(node.op).__name__} is not allowed; use + or -")
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        raise self.refuse(node)

    def chain(self, node: ast.BinOp, depth: int, ops: tuple, combine, invert) -> sp.Expr:
        # a + b - c + ... is a left-leaning spine as deep as it is long; walk it
        # iteratively so long sums (polynomials) do not count as nesting.
        terms = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, ops):
            right = self.build(node.right, depth + 1)
            terms.append(invert(right) if isinstance(node.op, (ast.Sub, ast.Div)) else right)
            node = node.left
        terms.append(self.build(node, depth + 1))
        return self.checked(combine(*reversed(terms)))

    def reciprocal(self, x: sp.Expr) -> sp.Expr:
        return self.power(x, sp.S.NegativeOne)

    def power(self, base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
        if exponent.is_Number:
            if abs(exponent) > MAX_EXPONENT:
                raise self.fail(f"the exponent {exponent} exceeds the limit |n| <= {MAX_EXPONENT}")
            if base.is_Rational and exponent.is_Rational:
                bits = max(_bits(base.p), _bits(base.q)) * abs(exponent)
                if bits > MAX_NUMBER_BITS:
                    raise self.fail(
                        f"{base}**{exponent} would be a number of about {int(bits)} bits, beyond the limit of "
                        f"{MAX_NUMBER_BITS}; write it as a decimal (e.g. 1e-300) or rescale"
                    )
        return self.checked(sp.Pow(base, exponent))

    def checked(self, value: sp.Expr) -> sp.Expr:
        if value.is_Rational and max(_bits(value.p), _bits(value.q)) > MAX_NUMBER_BITS:
            raise self.fail(f"an exact number of more than {MAX_NUMBER_BITS} bits arises; write it as a decimal")
        return value

    def constant(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.fail(f"{value!r} is not a number")
        if isinstance(value, int):
            return self.checked(sp.Integer(value))
        if isinstance(value, float):
            segment = ast.get_source_segment(self.text, node) or repr(value)
            return self.decimal(segment)
        if isinstance(value, complex):
            raise self.fail(
                f"the imaginary literal {ast.get_source_segment(self.text, node)} is not allowed; the map must be "
                "real - write a complex map as two real components (state='x y')"
            )
        raise self.fail(f"{type(value).__name__} literals are not allowed; a formula may contain {_ALLOWED}")

    def decimal(self, segment: str) -> sp.Expr:
        try:
            d = Decimal(segment)
        except InvalidOperation:  # pragma: no cover - ast accepted it as a float literal
            raise self.fail(f"cannot read the number {segment!r}") from None
        if not d.is_finite() or (d != 0 and (abs(d.adjusted()) > _MAX_DECIMAL_EXPONENT or not math.isfinite(float(d))
                                            or float(d) == 0.0)):
            raise self.fail(f"the number {segment} is outside float64's range (about 1e-308 .. 1e308)")
        return self.checked(sp.Rational(Fraction(d)))

    def name(self, name: str) -> sp.Expr:
        if name in self.names:
            return self.names[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS:
            raise self.fail(f"the function {name} is used without arguments; write {name}(h)")
        if name in _NON_FINITE_NAMES:
            raise self.fail(f"the non-finite constant {name} is not allowed; pass finite numbers")
        if name in _IMAGINARY_NAMES:
            raise self.fail(f"the imaginary unit {name} is not allowed; the map must be real - write a complex map "
                            "as two real components (state='x y')")
        if self.free_symbols and _NAME.match(name) and len(name) <= _MAX_NAME_LENGTH and not keyword.iskeyword(name):
            return sp.Symbol(name, real=True)
        if not self.names:
            raise self.fail(f"unknown name {name!r}; a number is expected here (pi and E are known)")
        known = ", ".join(sorted(self.names))
        raise self.fail(f"unknown name {name!r}; the names allowed here are {known}, pi and E")

    def call(self, node: ast.Call, depth: int) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            raise self.fail(f"only calls of the functions {_function_list()} are allowed, not of "
                            f"{_clip(ast.get_source_segment(self.text, node.func) or '?', 40)!r}")
        fname = node.func.id
        if fname not in FUNCTIONS:
            raise self.fail(f"the function {fname!r} is not supported; the functions allowed are {_function_list()}")
        if node.keywords:
            raise self.fail(f"{fname}() takes no keyword arguments")
        fn, arity = FUNCTIONS[fname]
        if len(node.args) != arity:
            raise self.fail(f"{fname}() takes {arity} argument{'s' if arity > 1 else ''}, got {len(node.args)}")
        args = [self.build(a, depth + 1) for a in node.args]
        return self.checked(fn(*args))


def _bits(n: int) -> int:
    return abs(int(n)).bit_length()


def _clip(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _function_list() -> str:
    return ", ".join(sorted(set(FUNCTIONS) - {"abs"}, key=str.lower))


def _tree(text: Any, what: str) -> ast.expr:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a string, got {type(text).__name__}")
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueError(f"{what} is {len(text)} characters long, beyond the limit of {MAX_TEXT_LENGTH}")
    if not text.strip():
        raise ValueError(f"{what} is empty; write a formula such as 'g*h - h**3'")
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"{what} {_clip(text)!r} is not a formula: {exc.msg}; write it in Python syntax, "
                         f"e.g. 'g*h - h**3'") from None
    except (RecursionError, MemoryError):
        raise ValueError(f"{what} {_clip(text)!r} is too deeply nested or too long to parse") from None


def parse_components(text: str, names: Mapping[str, sp.Expr], *, free_symbols: bool = False,
                     what: str = "formula") -> list[sp.Expr]:
    """Parse ``"expr"`` or a comma-separated ``"expr1, expr2"`` into a list of expressions.

    Same rules as :func:`parse_expression`; a top-level tuple gives one entry per element.
    """
    node = _tree(text, what)
    values = {k: v if isinstance(v, sp.Basic) else _number(v, f"the value of {k!r}") for k, v in names.items()}
    builder = _Builder(text.strip(), values, free_symbols, what)
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    return [builder.build(item, 1) for item in items]


def parse_expression(text: str, names: Mapping[str, sp.Expr] | None = None, *, free_symbols: bool = False,
                     what: str = "formula") -> sp.Expr:
    """A sympy expression from ``text``, built from its checked syntax tree (nothing is evaluated).

    Parameters
    ----------
    text : str
        The formula, in Python syntax.
    names : mapping of str to sympy.Expr, optional
        What each allowed name stands for (e.g. ``{"h": h, "g": g}``).
    free_symbols : bool, default False
        Let other plain identifiers become real symbols (the caller then
        decides what to do with them); otherwise an unknown name is an error.
    what : str
        How the text is named in error messages (e.g. ``"--map"``).

    Raises
    ------
    ValueError
        Anything outside the whitelist, with the construct named; limits exceeded.

    Examples
    --------
    >>> import sympy as sp
    >>> h, g = sp.symbols("h g", real=True)
    >>> parse_expression("g*h - h**3 + 0.1", {"h": h, "g": g})
    g*h - h**3 + 1/10
    >>> parse_expression("__import__('os').system('ls')", {"h": h})
    Traceback (most recent call last):
    ...
    ValueError: formula "__import__('os').system('ls')": only calls of the functions Abs, acos, acosh, asin, asinh, atan, atan2, atanh, cos, cosh, erf, exp, log, sin, sinh, sqrt, tan, tanh are allowed, not of "__import__('os').system"
    >>> parse_expression("9**9**9")
    Traceback (most recent call last):
    ...
    ValueError: formula '9**9**9': the exponent 387420489 exceeds the limit |n| <= 1000
    """
    items = parse_components(text, names or {}, free_symbols=free_symbols, what=what)
    if len(items) != 1:
        raise ValueError(f"{what} {_clip(text)!r} holds {len(items)} comma-separated parts; give one formula")
    return items[0]


def as_expression(value: Any, names: Mapping[str, sp.Expr] | None = None, *, free_symbols: bool = False,
                  what: str = "value") -> sp.Expr:
    """A sympy expression from a string (parsed safely), a number (exactly) or a sympy expression (as is).

    Numbers: ints and Fractions exactly; floats by the decimal they print as
    (``0.1 -> 1/10``); numpy real scalars likewise.  Complex numbers, bools
    and other objects are refused.
    """
    if isinstance(value, str):
        return parse_expression(value, names, free_symbols=free_symbols, what=what)
    if isinstance(value, sp.Basic):
        if not isinstance(value, sp.Expr):
            raise TypeError(f"{what} must be an expression; got the sympy {type(value).__name__} {value}")
        return value
    return _number(value, what)


def _number(value: Any, what: str) -> sp.Expr:
    if isinstance(value, bool):
        raise TypeError(f"{what} must be a number, got the bool {value!r}")
    if isinstance(value, numbers.Integral):
        return sp.Integer(int(value))
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, numbers.Real):
        x = float(value)
        if not math.isfinite(x):
            raise ValueError(f"{what} must be finite, got {value!r}")
        return sp.Rational(Fraction(Decimal(repr(x))))
    if isinstance(value, numbers.Complex):
        raise TypeError(f"{what} must be real, got the complex number {value!r}; pass its real part if that is meant")
    raise TypeError(
        f"{what} must be a number, a sympy expression or a formula string; got {type(value).__name__}"
    )


def as_real_number(value: Any, what: str) -> sp.Expr:
    """A finite real constant (exact where possible) from a number, a sympy number or a formula string.

    Examples
    --------
    >>> as_real_number("1/3", "g_star"), as_real_number(0.1, "eps"), as_real_number("sqrt(2)", "a")
    (1/3, 1/10, sqrt(2))
    >>> as_real_number(1j, "g_star")
    Traceback (most recent call last):
    ...
    TypeError: g_star must be real, got the complex number 1j; pass its real part if that is meant
    """
    expr = as_expression(value, {}, what=what)
    if isinstance(expr, sp.Float):
        expr = sp.Rational(str(expr))
    if expr.free_symbols:
        raise ValueError(f"{what} must be a number; {value!r} contains the symbol(s) "
                         f"{', '.join(sorted(map(str, expr.free_symbols)))}")
    if expr.has(sp.S.NaN, sp.S.Infinity, sp.S.NegativeInfinity, sp.S.ComplexInfinity) or expr.is_finite is False:
        raise ValueError(f"{what} must be finite, got {value!r}")
    if expr.is_real is not True:
        raise ValueError(f"{what} must be a real number, got {value!r}")
    return expr


_RELATIONS = {ast.Lt: sp.StrictLessThan, ast.LtE: sp.LessThan, ast.Gt: sp.StrictGreaterThan, ast.GtE: sp.GreaterThan,
              ast.Eq: sp.Eq}


def parse_condition(text: str, names: Mapping[str, sp.Expr], what: str = "condition") -> sp.Basic:
    """A condition such as ``"abs(g) < 1"``, ``"g = 1"``, ``"0.5 <= g < 2"`` or ``"g > 1 and g < 3"``.

    Comparisons (chained allowed, ``=`` read as ``==``) joined by ``and``; each side is a formula
    built by the same whitelist as :func:`parse_expression` -- nothing is evaluated.

    Examples
    --------
    >>> import sympy as sp
    >>> g = sp.Symbol("g", real=True)
    >>> parse_condition("abs(g) < 1", {"g": g})
    Abs(g) < 1
    >>> parse_condition("g = 1", {"g": g})
    Eq(g, 1)
    """
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a string such as 'abs(g) < 1', got {type(text).__name__}")
    # "g = 1" is the natural way to write an equality; Python's parser wants "=="
    cleaned = re.sub(r"(?<![<>=!])=(?!=)", "==", text)
    node = _tree(cleaned, what)
    builder = _Builder(cleaned.strip(), dict(names), False, what)
    parts = node.values if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And) else [node]
    out = []
    for part in parts:
        if not isinstance(part, ast.Compare):
            raise builder.fail("write comparisons such as 'abs(g) < 1' or 'g = 1', joined by 'and'")
        left = builder.build(part.left, 1)
        for op, right_node in zip(part.ops, part.comparators):
            if type(op) not in _RELATIONS:
                raise builder.fail(f"the comparison {type(op).__name__} is not allowed; use < <= > >= =")
            right = builder.build(right_node, 1)
            out.append(_RELATIONS[type(op)](left, right))
            left = right
    return sp.And(*out) if len(out) > 1 else out[0]
