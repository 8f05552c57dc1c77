"""Textbook versions of what the solvers compute, one formula at a time.

``explicit_rk_step`` is the Runge-Kutta step exactly as a textbook writes it, a Python sum
per stage; the library's ``rk.rk_step`` computes the same numbers with fused matrix-vector
products (tests check that they agree). ``stability_function`` gives R(w), the factor by
which one step multiplies z on dz/dt = lambda z, with w = h lambda.
"""

import torch

from node_edu.solvers.validation import check_method


def explicit_rk_step(method, func, t, z, h):
    """One step of an explicit Runge-Kutta method, read off its Butcher tableau::

        k_i = func(t + c_i h, z + h sum_{j<i} a_ij k_j),   z1 = z + h sum_i b_i k_i

    method: a name of ``node_edu.solvers.TABLEAUX`` or a ``ButcherTableau``.
    func:   ``func(t, z)`` as for ``ne.odeint`` (t a 0-dim tensor, result of z's shape).
    t:      float or 0-dim tensor; z: any shape; h: float.
    Returns z1, of z's shape. (For an FSAL method such as dopri5 this spends an
    evaluation at z1 that the library reuses as the next step's first stage.)
    """
    tab = check_method(method)
    if not hasattr(tab, "a"):
        raise ValueError(f"method must be an explicit Runge-Kutta method, got {tab.name!r}")
    t = torch.as_tensor(t, dtype=z.dtype, device=z.device)
    ks = []
    for c_i, a_i in zip(tab.c, tab.a, strict=True):
        z_i = z + h * sum((a_ij * k_j for a_ij, k_j in zip(a_i, ks, strict=True)), 0.0 * z)
        ks.append(func(t + c_i * h, z_i))
    return z + h * sum(b_i * k_i for b_i, k_i in zip(tab.b, ks, strict=True))


def stability_function(method, w):
    """R(w): one step of ``method`` on dz/dt = lambda z multiplies z by R(h lambda).

    method: a method name (explicit or implicit) or a ``ButcherTableau``.
    w:      h * lambda: a number, a numpy array or a tensor, real or complex (elementwise).
    The step is stable for that eigenvalue when |R(w)| <= 1.

    Explicit Runge-Kutta: on z' = lambda z every stage is a multiple Y_i of z, with
    Y_i = 1 + w sum_{j<i} a_ij Y_j, and R(w) = 1 + w sum_i b_i Y_i (a polynomial).
    Theta method (``implicit_euler`` theta = 1, ``trapezoid`` theta = 1/2):
    z1 = z + w ((1 - theta) z + theta z1), so R(w) = (1 + (1 - theta) w) / (1 - theta w).
    """
    tab = check_method(method)
    if hasattr(tab, "theta"):
        return (1 + (1 - tab.theta) * w) / (1 - tab.theta * w)
    stages = []
    for a_i in tab.a:
        stages.append(
            1 + w * sum((a_ij * y_j for a_ij, y_j in zip(a_i, stages, strict=True)), 0 * w)
        )
    return 1 + w * sum(b_i * y_i for b_i, y_i in zip(tab.b, stages, strict=True))
