"""Reference answers for lesson 06, training a neural ODE."""

import torch

import node_edu as ne


def train_step(func, optimizer, z0, t, z_true, solver):
    """One step: zero_grad, adjoint solve, loss over every time, backward, step; the loss."""
    optimizer.zero_grad()
    z_pred = ne.odeint_adjoint(func, z0, t, **solver)  # [T, B, 2]
    loss = (z_pred - z_true).pow(2).mean()  # every time, window and coordinate
    loss.backward()  # the adjoint solve, t[-1] back to t[0]
    optimizer.step()
    return loss.item()


def kinetic_train_step(func, optimizer, z0, t, z_true, solver, lam):
    """One step on fit + lam * kinetic, kinetic = batch mean of int |f|^2 dt; (fit, kinetic)."""

    def augmented(tt, s):  # s = [z | E]: E collects the integral of |f(t, z)|^2
        dz = func(tt, s[..., :-1])
        return torch.cat([dz, dz.pow(2).sum(dim=-1, keepdim=True)], dim=-1)

    optimizer.zero_grad()
    s0 = torch.cat([z0, torch.zeros_like(z0[..., :1])], dim=-1)  # E(t0) = 0
    s = ne.odeint_adjoint(augmented, s0, t, params=list(func.parameters()), **solver)
    fit = (s[..., :-1] - z_true).pow(2).mean()  # the loss of train_step
    kinetic = s[-1, ..., -1].mean()  # E at the last time, averaged over the batch
    (fit + lam * kinetic).backward()
    optimizer.step()
    return fit.item(), kinetic.item()
