"""The old path of `exprgraph.symbolic.calculus`, kept for code that followed the README.

The README named `exprgraph.calculus.derivative` and `gradient` before the
modules moved into layers; new code imports `exprgraph.symbolic.calculus`. This
module *is* that one (an alias in `sys.modules`), so setting an attribute here
sets it there.
"""

import sys

from .symbolic import calculus as _calculus

sys.modules[__name__] = _calculus
