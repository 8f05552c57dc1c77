"""Reference answers for lesson 01, four ways to differentiate."""

import math

import torch


def central_best_step(g0, g3, eps):
    """The bottom of the central difference's V, predicted: (h_best, error_best)."""
    # The error model: truncation h^2 / 6 * |g'''(x)| (the h^3 / 6 * g''' terms of g(x + h)
    # and of -g(x - h) add up, then are divided by 2h) plus round-off eps |g(x)| / h (each
    # value is off by about eps |g|, the two can add up, and the sum is divided by 2h).
    # dE/dh = h g3 / 3 - eps g0 / h^2 = 0 gives h^3 = 3 eps g0 / g3.
    h = (3 * eps * g0 / g3) ** (1 / 3)
    truncation = h**2 / 6 * g3
    round_off = eps * g0 / h
    return h, truncation + round_off


def reverse_sweep(x1, x2):
    """The adjoint d f / d v of every node of f = ln x1 + x1 x2 - sin x2, as a dict."""
    a = {"v5": 1.0}  # the seed: df/df
    a["v3"], a["v4"] = a["v5"], -a["v5"]  # v5 = v3 - v4
    a["v1"], a["v2"] = a["v3"], a["v3"]  # v3 = v1 + v2
    a["x1"] = a["v1"] / x1 + a["v2"] * x2  # x1 feeds v1 = ln x1 and v2 = x1 x2
    a["x2"] = a["v2"] * x1 + a["v4"] * math.cos(x2)  # x2 feeds v2 and v4 = sin x2
    return a


def pow_rules(x, p, y_bar, x_dot, p_dot):
    """The primitive y = x ** p (x > 0, p traced) and its reverse and forward rules."""
    y = x**p
    dy_dx = p * x ** (p - 1)  # the power rule
    dy_dp = y * torch.log(x)  # x^p = exp(p ln x), so d/dp brings down ln x
    x_bar, p_bar = y_bar * dy_dx, y_bar * dy_dp  # reverse: one adjoint per input
    y_dot = dy_dx * x_dot + dy_dp * p_dot  # forward: the tangents of both inputs add up
    return y, x_bar, p_bar, y_dot
