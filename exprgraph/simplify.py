"""The old path of `exprgraph.symbolic.simplify`, kept for code that followed the README.

The README named `exprgraph.simplify.SYMBOLIC_SECONDS` before the
modules moved into layers; new code imports `exprgraph.symbolic.simplify`. This
module *is* that one (an alias in `sys.modules`), so setting an attribute here
sets it there.
"""

import sys

from .symbolic import simplify as _simplify

sys.modules[__name__] = _simplify
