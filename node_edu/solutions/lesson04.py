"""Reference answers for lesson 04, the adjoint method."""

import torch

import node_edu as ne


def aug_dynamics(f, t, z, a, theta):
    """Return (dz, da, da_theta): f, -a^T df/dz, -a^T df/dtheta; shapes [n], [n], [p].

    Not an exercise: lesson 04 shows it in section 1, and ``adjoint_rk4`` below uses it.
    """
    fz, pullback = torch.func.vjp(lambda z, theta: f(t, z, theta), z, theta)
    a_dfdz, a_dfdtheta = pullback(a)  # ONE vector-Jacobian product gives both
    return fz, -a_dfdz, -a_dfdtheta


def running_cost_dynamics(f, g, t, z, a, theta):
    """The augmented dynamics for L = integral_{t0}^{t1} g(z(t)) dt, a(t1) = 0:
    (dz, da, da_theta) = (f, -a^T df/dz - dg/dz, -a^T df/dtheta); shapes [n], [n], [p].
    """
    fz, pullback = torch.func.vjp(lambda z, theta: f(t, z, theta), z, theta)
    a_dfdz, a_dfdtheta = pullback(a)  # one VJP through f, as for a loss at t1
    dg_dz = torch.func.grad(g)(z)  # the cost keeps pulling on a at every instant
    return fz, -a_dfdz - dg_dz, -a_dfdtheta


def adjoint_rk4(f, z0, theta, t0, t1, n_steps):
    """z(t1) of dz/dt = f(t, z, theta) by n_steps RK4 steps, differentiable by the adjoint.

    A torch.autograd.Function: forward solves without a graph and keeps only z(t1);
    backward integrates s = [z | a | a_theta] from t1 back to t0 with the same RK4 grid.
    z0: [n]; theta: [p]; t0 < t1 floats. Returns z(t1), [n].
    """
    h = (t1 - t0) / n_steps

    class Adjoint(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z0, theta):
            t = torch.tensor([t0, t1], dtype=z0.dtype, device=z0.device)
            z1 = ne.odeint(lambda t, z: f(t, z, theta), z0, t, method="rk4", step_size=h)[-1]
            ctx.save_for_backward(z1, theta)
            return z1

        @staticmethod
        def backward(ctx, a1):
            z1, theta = ctx.saved_tensors
            n = z1.numel()

            def g(t, s):  # the augmented dynamics on the flat state
                return torch.cat(
                    ne.solutions.lesson04.aug_dynamics(f, t, s[:n], s[n : 2 * n], theta)
                )

            s1 = torch.cat([z1, a1, torch.zeros_like(theta)])
            t = torch.tensor([t1, t0], dtype=z1.dtype, device=z1.device)  # backwards
            s0 = ne.odeint(g, s1, t, method="rk4", step_size=h)[-1]
            return s0[n : 2 * n], s0[2 * n :]  # dL/dz0, dL/dtheta

    return Adjoint.apply(z0, theta)
