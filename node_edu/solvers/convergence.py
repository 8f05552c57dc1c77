"""The order of convergence, measured: the slope of an error against a step on log-log axes.

A method of order p has error e(h) ~ C h^p for small steps h, so log e = log C + p log h:
``loglog_slope`` fits that line and returns p. Lessons 03 (the methods' orders), 05 (the
gap between discretise-then-optimise and the exact adjoint, O(h)) and 08 (a ResNet of N
blocks against the flow it discretises, O(1/N)) measure an order this way.
"""

import numpy as np


def loglog_slope(x, y):
    """Least-squares slope of log(y) against log(x): the p in y ~ C x^p.

    x, y: sequences of positive numbers of one length (at least 2)."""
    x, y = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    if x.shape != y.shape or x.size < 2:
        raise ValueError(
            f"x and y must be two sequences of one length >= 2, got lengths {x.size}, {y.size}"
        )
    return float(np.polyfit(x, y, 1)[0])
