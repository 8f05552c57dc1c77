"""Reference answers for lesson 04, the adjoint method."""

import torch


def aug_dynamics(f, t, z, a, theta):
    """Return (dz, da, da_theta): f, -a^T df/dz, -a^T df/dtheta; shapes [n], [n], [p]."""
    fz, pullback = torch.func.vjp(lambda z, theta: f(t, z, theta), z, theta)
    a_dfdz, a_dfdtheta = pullback(a)  # ONE vector-Jacobian product gives both
    return fz, -a_dfdz, -a_dfdtheta
