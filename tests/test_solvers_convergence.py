"""solvers.convergence.loglog_slope: the order read off a power law whose exponent is known."""

import numpy as np
import pytest

from node_edu.solvers.convergence import loglog_slope


def test_the_slope_of_a_power_law_is_its_exponent():
    x = np.array([0.1, 0.2, 0.4])
    assert loglog_slope(x, 3 * x**2.5) == pytest.approx(2.5, rel=1e-12)
    assert loglog_slope([1, 10, 100], [5.0, 0.5, 0.05]) == pytest.approx(-1.0, rel=1e-12)


def test_noise_is_averaged_by_least_squares():
    # y = x^2 with one point off by a factor e: the fit of log y is off by 1 at one of three
    # equally spaced log x, so the slope moves by (x_i - mean) / sum (x_j - mean)^2 exactly.
    x = np.exp([0.0, 1.0, 2.0])
    y = x**2 * np.exp([0.0, 0.0, 1.0])
    assert loglog_slope(x, y) == pytest.approx(2.5, rel=1e-12)


def test_bad_input_names_both_sequences():
    with pytest.raises(ValueError, match=r"^x and y must be two sequences of one length >= 2"):
        loglog_slope([1.0], [2.0])
    with pytest.raises(ValueError, match="got lengths 2, 3"):
        loglog_slope([1.0, 2.0], [2.0, 3.0, 4.0])
