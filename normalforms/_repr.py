"""Short, readable reprs for the toolkit's result objects (a repr is never megabytes).

:func:`short_repr` gives a dataclass a ``__repr__`` that names each field with
a bounded summary of its value: a form by its name, an expression by its
first characters, an array by its shape (or its values when tiny), a long
list by its length.  Classes that have a better one-line summary define
``__repr__`` themselves; this is the fallback that keeps the rest short.
"""

from __future__ import annotations

import dataclasses
from typing import Any

#: Longest text of one field in a repr.
FIELD_WIDTH = 60


def summary(value: Any, width: int = FIELD_WIDTH) -> str:
    """A bounded one-line description of ``value`` for a repr."""
    from ._form import NormalForm

    if isinstance(value, NormalForm):
        return repr(value.name)
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype") and not hasattr(value, "free_symbols"):
        if getattr(value, "size", 0) <= 4:
            return _clip(repr(value.tolist() if hasattr(value, "tolist") else value), width)
        return f"array(shape={tuple(shape)}, dtype={value.dtype})"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        if len(value) > 4:
            return f"[{len(value)} items]"
        inner = ", ".join(summary(v, width // 2) for v in value)
        if isinstance(value, tuple) and len(value) == 1:
            inner += ","
        return _clip(("[{}]" if isinstance(value, list) else "({})").format(inner), width)
    if isinstance(value, dict):
        if len(value) > 4:
            return f"{{{len(value)} entries}}"
        return _clip("{" + ", ".join(f"{k!r}: {summary(v, width // 2)}" for k, v in value.items()) + "}", width)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return f"{type(value).__name__}(...)"
    text = str(value) if hasattr(value, "free_symbols") else repr(value)
    return _clip(text.replace("\n", " "), width)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def short_repr(*names: str):
    """Class decorator (put it above ``@dataclass``): ``Name(field=summary, ...)`` as the repr.

    ``names`` picks and orders the fields shown (default: every field with ``repr=True``).
    """

    def decorate(cls):
        def __repr__(self) -> str:
            shown = names or tuple(f.name for f in dataclasses.fields(self) if f.repr)
            return f"{type(self).__name__}({', '.join(f'{n}={summary(getattr(self, n))}' for n in shown)})"

        cls.__repr__ = __repr__
        return cls

    return decorate
