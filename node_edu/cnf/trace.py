"""Trace estimators for tr(df/dz), the divergence a CNF integrates.

Both take ``dz`` = f(t, z) ``[batch, dim]`` already computed from ``z`` (which requires
grad) and return the per-sample trace ``[batch]``:

- ``trace_exact``: one vector-Jacobian product per dimension, e_i^T (df/dz), whose i-th
  entry is df_i/dz_i. Exact; costs ``dim`` backward passes (Chen et al. 2018 use it in 2-D).
- ``trace_hutchinson``: eps^T (df/dz) eps for a noise vector eps with E[eps eps^T] = I,
  so E[eps^T J eps] = tr(J): unbiased, one backward pass whatever ``dim`` (Hutchinson 1989;
  FFJORD, Grathwohl et al. 2019). Rademacher noise (+-1) has the smaller variance.

``create_graph=True`` keeps the trace differentiable (needed when a loss is
backpropagated through it, i.e. whenever a CNF is trained).
"""

import torch

from node_edu.validation import check_choice

NOISES = ("rademacher", "gaussian")


def _check(dz, z):
    if not isinstance(dz, torch.Tensor) or not isinstance(z, torch.Tensor):
        raise TypeError(f"dz and z must be tensors, got {type(dz).__name__}, {type(z).__name__}")
    if z.dim() != 2 or dz.shape != z.shape:
        raise ValueError(
            f"dz and z must both have shape [batch, dim]; got dz {tuple(dz.shape)}, "
            f"z {tuple(z.shape)}"
        )


def trace_exact(dz, z, create_graph=False):
    """Exact tr(d dz / d z) per sample: ``[batch]``. One VJP per dimension of z."""
    _check(dz, z)
    trace = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
    for i in range(z.shape[1]):
        # Summing over the batch is safe: sample b's output depends only on z[b].
        (row,) = torch.autograd.grad(
            dz[:, i].sum(), z, create_graph=create_graph, retain_graph=True
        )
        trace = trace + row[:, i]
    return trace


def sample_noise(shape, kind="rademacher", *, dtype=torch.float32, device="cpu", generator=None):
    """Noise with mean 0 and covariance I for Hutchinson's estimator: ``kind`` is
    ``"rademacher"`` (each entry +1 or -1 with probability 1/2) or ``"gaussian"``."""
    if check_choice("noise", kind, NOISES) == "gaussian":
        return torch.randn(shape, dtype=dtype, device=device, generator=generator)
    bits = torch.randint(0, 2, shape, device=device, generator=generator)
    return (2 * bits - 1).to(dtype)


def trace_hutchinson(dz, z, eps, create_graph=False):
    """Hutchinson's estimate eps^T (d dz / d z) eps per sample: ``[batch]``.

    ``eps`` ``[batch, dim]``: one probe per sample (see ``sample_noise``). Unbiased for
    any noise with E[eps eps^T] = I; one VJP in all.
    """
    _check(dz, z)
    if not isinstance(eps, torch.Tensor) or eps.shape != z.shape:
        given = tuple(eps.shape) if isinstance(eps, torch.Tensor) else type(eps).__name__
        raise ValueError(f"eps must be a tensor of z's shape {tuple(z.shape)}, got {given}")
    (eps_J,) = torch.autograd.grad(dz, z, eps, create_graph=create_graph, retain_graph=True)
    return (eps_J * eps).sum(dim=1)


def hutchinson_variance(J, kind="rademacher"):
    """The exact variance of one probe's eps^T J eps for a square matrix ``J`` [dim, dim].

    With S = (J + J^T)/2 (only the symmetric part matters, eps^T J eps = eps^T S eps):
    Gaussian noise 2 ||S||_F^2; Rademacher noise 2 (||S||_F^2 - sum_i S_ii^2), smaller,
    and zero for a diagonal J (Hutchinson 1989; Avron & Toledo 2011).
    """
    check_choice("noise", kind, NOISES)
    if not isinstance(J, torch.Tensor) or J.dim() != 2 or J.shape[0] != J.shape[1]:
        raise ValueError(f"J must be a square matrix tensor, got {getattr(J, 'shape', J)!r}")
    S = (J + J.T) / 2
    frob = (S**2).sum()
    return 2 * frob if kind == "gaussian" else 2 * (frob - (torch.diagonal(S) ** 2).sum())
