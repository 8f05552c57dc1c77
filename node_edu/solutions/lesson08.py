"""Reference answers for lesson 08, what a neural ODE can and cannot learn."""

import torch


def resnet_forward(f, z0, depth, t1):
    """A ResNet of ``depth`` blocks z <- z + h f(t_k, z), h = t1 / depth, t_k = k h:
    z0 [batch, dim] -> z after the last block [batch, dim]."""
    h = t1 / depth
    z = z0
    for k in range(depth):
        t = torch.tensor(k * h, dtype=z0.dtype, device=z0.device)
        z = z + h * f(t, z)  # one residual block is one Euler step
    return z


def regularised_dynamics(f, t, state, eps):
    """d/dt [z, E_K, E_J] = [f, ||f||^2, ||eps^T df/dz||^2] for state [batch, dim + 2]."""
    z = state[:, :-2]
    dz = f(t, z)
    # eps^T (df/dz) in ONE vector-Jacobian product; create_graph: training differentiates it
    (eps_J,) = torch.autograd.grad(dz, z, eps, create_graph=True)
    kinetic = dz.pow(2).sum(dim=1, keepdim=True)
    jacobian = eps_J.pow(2).sum(dim=1, keepdim=True)
    return torch.cat([dz, kinetic, jacobian], dim=1)
