"""Two ways to train a CNF, each a short loop with a progress bar.

* ``fit_energy`` (density matching): we can evaluate an energy U but have no samples.
  Minimise the reverse KL, KL(q || exp(-U)/Z) = E_{x ~ q}[log q(x) + U(x)] + log Z, over
  samples x the CNF draws itself: the loss ``reverse_kl`` omits the unknown constant
  log Z, so it is bounded below by -log Z, reached when q = exp(-U)/Z.
* ``fit_samples`` (maximum likelihood): we have samples but no density. Minimise the
  negative log-likelihood -mean log q(x) of the data, each log q by a backward solve.
"""

import torch
from tqdm.auto import tqdm

from node_edu.cnf.flow import CNF


def _param_dtype(cnf):
    p = next(cnf.parameters(), None)
    return (p.dtype, p.device) if p is not None else (torch.get_default_dtype(), "cpu")


def _check(cnf, n_iters, batch, lr):
    if not isinstance(cnf, CNF):
        raise TypeError(f"cnf must be a node_edu.cnf.CNF, got {type(cnf).__name__}")
    if next(cnf.parameters(), None) is None:
        raise ValueError("cnf has no parameters to train (use an nn.Module func)")
    for name, value in (("n_iters", n_iters), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if not isinstance(lr, (int, float)) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")


def reverse_kl(cnf, energy, z0):
    """mean over base samples z0 of log q(x) + U(x), x = the CNF's sample from z0."""
    x, logq = cnf.sample(z0)
    return (logq + energy(x)).mean()


def fit_energy(cnf, energy, n_iters=100, batch=128, lr=1e-2, seed=0, progress=True):
    """Train ``cnf`` so that its samples follow exp(-energy); returns the loss per
    iteration (``reverse_kl`` on a fresh batch of base samples each time, Adam)."""
    _check(cnf, n_iters, batch, lr)
    if not callable(energy):
        raise TypeError(f"energy must be callable as energy(z) -> [batch], got {energy!r}")
    dtype, device = _param_dtype(cnf)
    gen = torch.Generator(device=device).manual_seed(seed)
    opt = torch.optim.Adam(cnf.parameters(), lr=lr)
    losses = []
    for _ in tqdm(range(n_iters), desc="reverse KL", disable=not progress):
        z0 = torch.randn(batch, 2, dtype=dtype, device=device, generator=gen)
        loss = reverse_kl(cnf, energy, z0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def fit_samples(cnf, data, n_iters=100, batch=128, lr=1e-2, seed=0, progress=True):
    """Maximum likelihood on ``data`` ``[n, dim]``: each iteration a random minibatch,
    loss -mean log q(x) (``cnf.log_prob``, a backward solve), Adam. Returns the losses."""
    _check(cnf, n_iters, batch, lr)
    if not isinstance(data, torch.Tensor) or data.dim() != 2:
        raise ValueError(f"data must be a tensor [n, dim], got {type(data).__name__}")
    dtype, device = _param_dtype(cnf)
    data = data.to(dtype=dtype, device=device)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(cnf.parameters(), lr=lr)
    losses = []
    for _ in tqdm(range(n_iters), desc="max likelihood", disable=not progress):
        idx = torch.randperm(data.shape[0], generator=gen)[:batch].to(device)
        loss = -cnf.log_prob(data[idx]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
