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
from node_edu.validation import check_callable, check_instance, check_int, check_number


def _param_dtype(cnf):
    p = next(cnf.parameters(), None)
    return (p.dtype, p.device) if p is not None else (torch.get_default_dtype(), "cpu")


def _check(cnf, n_iters, batch, lr):
    check_instance("cnf", cnf, CNF, what="a node_edu.cnf.CNF")
    if next(cnf.parameters(), None) is None:
        raise ValueError("cnf has no parameters to train (use an nn.Module func)")
    check_int("n_iters", n_iters, minimum=1)
    check_int("batch", batch, minimum=1)
    check_number("lr", lr, above=0)


def reverse_kl(cnf, energy, z0):
    """mean over base samples z0 of log q(x) + U(x), x = the CNF's sample from z0."""
    x, logq = cnf.sample(z0)
    return (logq + energy(x)).mean()


def fit_energy(cnf, energy, n_iters=100, batch=128, lr=1e-2, seed=0, progress=True):
    """Train ``cnf`` so that its samples follow exp(-energy); returns the loss per
    iteration (``reverse_kl`` on a fresh batch of base samples each time, Adam)."""
    _check(cnf, n_iters, batch, lr)
    check_callable("energy", energy, call="energy(z) -> [batch]")
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
    check_instance("data", data, torch.Tensor, what="a tensor [n, dim]")
    if data.dim() != 2:
        raise ValueError(f"data must be a tensor [n, dim], got shape {tuple(data.shape)}")
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
