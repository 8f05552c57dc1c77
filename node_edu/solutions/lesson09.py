"""Reference answers for lesson 09, latent ODEs for irregularly sampled time series."""

import math

import torch

import node_edu as ne


def elbo(x, x_mean, noise_std, qz0_mean, qz0_logvar):
    """The ELBO of each series for one sample of z0: [B] (see the lesson for shapes)."""
    var = noise_std**2
    log_px = -0.5 * ((x - x_mean) ** 2 / var + math.log(2 * math.pi * var))  # [B, n, d]
    kl = 0.5 * (qz0_logvar.exp() + qz0_mean**2 - 1.0 - qz0_logvar)  # [B, L], per dimension
    return log_px.sum(dim=(1, 2)) - kl.sum(dim=1)


def decode_at(func, decoder, z0, t, solver):
    """x_hat [B, n, d] at per-series times t [B, n]: one solve on the union of the times."""
    t_union, index = torch.unique(t, sorted=True, return_inverse=True)  # index [B, n]
    grid = torch.cat([t.new_zeros(1), t_union])  # the solve starts at t0 = 0, where z0 is
    z = ne.odeint(func, z0, grid, **solver)[1:]  # [T, B, L], every series at every time
    x = decoder(z)  # [T, B, d]
    series = torch.arange(t.shape[0], device=t.device)[:, None]  # [B, 1]
    return x[index, series]  # x[index[b, j], b]: series b at its own times
