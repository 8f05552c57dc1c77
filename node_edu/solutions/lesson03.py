"""Reference answers for lesson 03, ODE solvers."""


def midpoint_step(f, t, z, h):
    """One explicit midpoint step: z + h f(t + h/2, z + h/2 f(t, z)). t: 0-dim, z: [n]."""
    k1 = f(t, z)
    return z + h * f(t + h / 2, z + h / 2 * k1)


def rk_step(f, t, z, h, tableau):
    """One explicit Runge-Kutta step of ``tableau`` (fields c, a, b) from (t, z).

    k_i = f(t + c_i h, z + h sum_{j<i} a_ij k_j), z_new = z + h sum_i b_i k_i.
    t: a 0-dim tensor, z: [n], h: a float. Returns z_new, [n].
    """
    ks = []
    for c_i, a_i in zip(tableau.c, tableau.a, strict=True):
        z_i = z
        for a_ij, k_j in zip(a_i, ks, strict=True):
            z_i = z_i + h * a_ij * k_j
        ks.append(f(t + c_i * h, z_i))
    z_new = z
    for b_i, k_i in zip(tableau.b, ks, strict=True):
        z_new = z_new + h * b_i * k_i
    return z_new


def error_ratio(order):
    """By what factor the error at t1 of a method of this order shrinks when h is halved."""
    return 2.0**order
