"""exprgraph: expressions to computational graphs, values and derivatives.

    >>> import exprgraph
    >>> f = exprgraph.compile("(x+y)*z")
    >>> f.evaluate(x=1, y=3, z=-3).gradient
    {'x': -3.0, 'y': -3.0, 'z': 4.0}

See `exprgraph.api` for the API and the README for the language.
"""

from typing import TYPE_CHECKING, Any

from .core.errors import (
    ExpressionTooLargeError,
    ExprGraphError,
    MathError,
    ParseError,
    ProgramError,
    ShapeError,
    ValueInputError,
)

if TYPE_CHECKING:
    from . import calculus as calculus
    from . import simplify as simplify
    from .api import Evaluation, Program, compile  # noqa: A004 - exprgraph.compile, like re.compile

__version__ = "0.1.0"

__all__ = [
    "Evaluation",
    "ExprGraphError",
    "ExpressionTooLargeError",
    "MathError",
    "ParseError",
    "Program",
    "ProgramError",
    "ShapeError",
    "ValueInputError",
    "__version__",
    "compile",
]


# The API and the README's old module paths (exprgraph.calculus.derivative,
# exprgraph.simplify.SYMBOLIC_SECONDS) load on first use (PEP 562), not at
# `import exprgraph`: every `import exprgraph.<anything>` runs this file first,
# and a one-shot command should not pay for modules it does not run.
_LAZY_API = {"Evaluation", "Program", "compile"}
_LAZY_MODULES = {"calculus", "simplify"}


def __getattr__(name: str) -> Any:
    """`exprgraph.compile`, `.Program`, `.Evaluation`, `.calculus` and `.simplify`, imported
    when first asked for."""
    import importlib

    if name in _LAZY_API:
        value = getattr(importlib.import_module(".api", __name__), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_API, *_LAZY_MODULES})
