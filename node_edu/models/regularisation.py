"""Lesson 08: kinetic-energy and Jacobian regularisation of a neural ODE (RNODE).

Finlay, Jacobsen, Nurbekyan & Oberman (2020), "How to train your neural ODE: the world of
Jacobian and kinetic regularization", add two integrals along every trajectory to the loss::

    loss = fit + lambda_K int_0^T ||f(z(t))||^2 dt + lambda_J int_0^T ||df/dz(z(t))||_F^2 dt

The first (kinetic energy) prefers straight, evenly paced trajectories; the second keeps
the field smooth. Both make the ODE easier for an adaptive solver: fewer steps.
The integrals are computed the way the authors' code does (github.com/cfinlay/ffjord-rnode,
lib/layers/wrappers/cnf_regularization.py): as two extra state coordinates solved with z,

    d/dt [z, E_K, E_J] = [f(z), ||f(z)||^2, ||eps^T df/dz||^2],   E_K(0) = E_J(0) = 0,

where the Frobenius norm is estimated with one Hutchinson probe eps (E[eps eps^T] = I):
E ||eps^T J||^2 = E eps^T J J^T eps = tr(J J^T) = ||J||_F^2. eps^T J is ONE
vector-Jacobian product, so the estimate costs one backward pass whatever the dimension;
the probe is drawn once per solve (fixed along the trajectory, as in FFJORD).
(The authors' code averages over coordinates and halves the kinetic term; constant factors
only rescale lambda. We use the plain squared norms above, one lambda for both terms.)

``fit`` trains an ``ODEMap`` with or without them and records what it cost.
"""

import time
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from node_edu.cnf.trace import sample_noise
from node_edu.models.augmented import ODEMap, augment
from node_edu.solvers import SolverStats, odeint
from node_edu.solvers.validation import check_positive


def jacobian_frobenius(dz, z, eps, create_graph=False):
    """Hutchinson's estimate ||eps^T (d dz/d z)||^2 of ||d dz/d z||_F^2 per sample: [batch].

    ``dz`` = f(z) ``[batch, dim]`` computed from ``z`` (which requires grad); ``eps``
    ``[batch, dim]`` one probe per sample. ``create_graph=True`` keeps it differentiable
    (needed to train with it).
    """
    if not isinstance(eps, torch.Tensor) or eps.shape != z.shape or dz.shape != z.shape:
        raise ValueError(
            f"dz, z and eps must all have shape [batch, dim]; got {tuple(dz.shape)}, "
            f"{tuple(z.shape)}, {getattr(eps, 'shape', type(eps).__name__)}"
        )
    (eps_J,) = torch.autograd.grad(dz, z, eps, create_graph=create_graph, retain_graph=True)
    return eps_J.pow(2).sum(dim=1)  # one VJP: the row vector eps^T J


def regularised_dynamics(f, t, state, eps, create_graph=True):
    """d/dt of ``state = [z, E_K, E_J]`` ``[batch, dim + 2]``: ``[f, ||f||^2, ||eps^T J||^2]``.

    ``f(t, z)`` the field on z ``[batch, dim]``; the two accumulators never feed back into
    it. Works whether or not ``state`` is part of an autograd graph.
    """
    with torch.enable_grad():
        z = state[:, :-2]
        if not z.requires_grad:  # the first stage of a solve from a constant z0
            z = z.detach().requires_grad_(True)
        dz = f(t, z)
        kinetic = dz.pow(2).sum(dim=1)
        jacobian = jacobian_frobenius(dz, z, eps, create_graph=create_graph)
    return torch.cat([dz, kinetic[:, None], jacobian[:, None]], dim=1)


def regularised_forward(model, x, eps, stats=None, create_graph=True):
    """``model(x)`` together with the two integrals over [0, t1]: ``(out, E_K, E_J)``,
    E_K and E_J ``[batch]``. ``eps`` ``[batch, dim + extra]``: the probe of this solve."""
    if not isinstance(model, ODEMap):
        raise TypeError(
            f"model must be a node_edu.models.augmented.ODEMap, got {type(model).__name__}"
        )
    z0 = augment(augment(x, model.extra), 2)  # [x, extra zeros, E_K(0) = 0, E_J(0) = 0]

    def rhs(t, state):
        return regularised_dynamics(model.field, t, state, eps, create_graph)

    end = odeint(rhs, z0, model.times(x), stats=stats, **model.solver)[-1]
    return model.end(end[:, :-2]), end[:, -2], end[:, -1]


@dataclass
class FitHistory:
    """What ``fit`` records: per iteration the fit loss (the MSE alone, without the
    regulariser) and the function evaluations of the forward solve; ``seconds`` the wall
    time of the whole training; ``final_fit`` the MSE of the trained model; ``kinetic`` and
    ``jacobian`` the batch means of E_K and E_J of the trained model (one probe per sample,
    seed 0)."""

    loss: list = field(default_factory=list)
    nfe: list = field(default_factory=list)
    seconds: float = 0.0
    final_fit: float = float("nan")
    kinetic: float = float("nan")
    jacobian: float = float("nan")

    def summary(self):
        """The figures of the training: ``nfe`` (mean per iteration), ``fit`` (final),
        ``seconds``, ``kinetic``, ``jacobian``."""
        nfe = sum(self.nfe) / len(self.nfe) if self.nfe else float("nan")
        return dict(nfe=nfe, fit=self.final_fit, seconds=self.seconds, kinetic=self.kinetic,
                    jacobian=self.jacobian)  # fmt: skip


def fit(model, x, y, *, n_iters=100, lr=0.02, weight=0.0, seed=0, progress=True, desc=None):
    """Train ``model`` (an ``ODEMap``) by Adam on mse(model(x), y), full batch.

    ``weight`` > 0 adds ``weight * (mean E_K + mean E_J)`` (one lambda for both, module
    docstring), with a fresh Rademacher probe per iteration; 0 trains the plain model
    (no regulariser computed). Backprop through ``ne.odeint``. Returns a ``FitHistory``.
    """
    if not isinstance(model, ODEMap):
        raise TypeError(
            f"model must be a node_edu.models.augmented.ODEMap, got {type(model).__name__}"
        )
    n_iters = check_positive("n_iters", n_iters, integer=True)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
        raise ValueError(f"weight must be a number >= 0, got {weight!r}")
    gen = torch.Generator(device=x.device).manual_seed(seed)
    y = y.reshape(x.shape[0], -1)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history, start = FitHistory(), time.perf_counter()
    dim = model.dim + model.extra
    desc = desc or f"training (weight {weight:g})"
    for _ in tqdm(range(n_iters), desc=desc, disable=not progress):
        stats = SolverStats()
        opt.zero_grad()
        if weight > 0:
            eps = sample_noise((x.shape[0], dim), dtype=x.dtype, device=x.device, generator=gen)
            out, kinetic, jacobian = regularised_forward(model, x, eps, stats)
            fit_loss = (out - y).pow(2).mean()
            loss = fit_loss + weight * (kinetic.mean() + jacobian.mean())
        else:
            fit_loss = loss = (model(x, stats=stats) - y).pow(2).mean()
        loss.backward()
        opt.step()
        history.loss.append(fit_loss.item())
        history.nfe.append(stats.nfe)
    history.seconds = time.perf_counter() - start
    eps = sample_noise((x.shape[0], dim), dtype=x.dtype, device=x.device,
                       generator=torch.Generator(device=x.device).manual_seed(0))  # fmt: skip
    out, kinetic, jacobian = regularised_forward(model, x, eps, create_graph=False)
    history.final_fit = (out - y).pow(2).mean().item()
    history.kinetic, history.jacobian = kinetic.mean().item(), jacobian.mean().item()
    return history
