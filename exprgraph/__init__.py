"""exprgraph: expressions to computational graphs, values and derivatives.

    >>> import exprgraph
    >>> f = exprgraph.compile("(x+y)*z")
    >>> f.evaluate(x=1, y=3, z=-3).gradient
    {'x': -3.0, 'y': -3.0, 'z': 4.0}

See `exprgraph.api` for the API and the README for the language.
"""

# The README's paths from before the layers (exprgraph.calculus.derivative,
# exprgraph.simplify.SYMBOLIC_SECONDS) work as attributes after `import exprgraph`.
from . import calculus, simplify  # noqa: F401 - aliases of the moved modules
from .api import Evaluation, Program, compile  # noqa: A004 - exprgraph.compile, like re.compile
from .core.errors import (
    ExpressionTooLargeError,
    ExprGraphError,
    MathError,
    ParseError,
    ProgramError,
    ShapeError,
    ValueInputError,
)

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
