"""Lesson 09: a latent ODE for irregularly sampled time series, and a plain RNN beside it.

The latent ODE (Chen et al. 2018, section 5; Rubanova et al. 2019) is a variational
autoencoder whose decoder is an ODE:

* ``Encoder``: a GRU run **backwards in time** over the observations (x_j, t_j - t0), from
  the last one to the first, so that its final state sits at t0; a linear layer turns it
  into the mean and log-variance of q(z0 | x), a diagonal Gaussian.
* z0 = mean + exp(logvar / 2) * eps, eps ~ N(0, I) (the reparameterisation trick).
* ``LatentODE.decode``: z(t) solves dz/dt = f(z, theta) from z(t0) = z0 with ``ne.odeint``
  (or ``ne.odeint_adjoint``), at **any** times, and a linear layer maps z(t) to x(t).
* ``elbo``: sum_j log N(x_j; x_hat(t_j), sigma^2) - KL(q(z0 | x) || N(0, I)), the KL in
  closed form.

Series of one batch are observed at different times. ``union_times`` merges them into one
sorted grid, the ODE is solved once on it for the whole batch, and ``gather`` picks each
series' own times back out (``union_mask`` is the same choice as a mask [B, T]): this is
how Rubanova et al.'s code batches irregular series.

``RNNBaseline`` keeps the encoder and swaps the ODE for a GRU cell that steps from one
query time to the next, fed the time step dt: the usual way to let an RNN see irregular
times. ``fit`` trains either model by minibatches of series; ``heldout_error`` measures it
against the noiseless truth at held-out times.

Shapes: a batch of B series, n observations each, d observed and L latent dimensions;
per-series times ``t`` [B, n] (increasing along each row, all >= t0), observations ``x``
[B, n, d]. Outputs are batch-first, [B, n, d].
"""

import math

import torch
from tqdm.auto import tqdm

from node_edu.adjoint import odeint_adjoint
from node_edu.data.series import IrregularSeries, _count, _number
from node_edu.solvers import SolverStats, odeint

# A fixed grid: a known, small cost per solve. For oscillations of period ~2 pi, a step of
# 0.5 is about 12 rk4 steps per period (tests/test_models_latent.py measures its error).
DEFAULT_SOLVER = dict(method="rk4", step_size=0.5)


# --- the objective -------------------------------------------------------------------------


def gaussian_log_likelihood(x, x_mean, noise_std):
    """log N(x; x_mean, noise_std^2), summed over every dimension after the first: [B]."""
    var = noise_std**2
    log_p = -0.5 * ((x - x_mean) ** 2 / var + math.log(2 * math.pi * var))
    return log_p.flatten(1).sum(1)


def kl_to_standard_normal(mean, logvar):
    """KL(N(mean, diag(exp(logvar))) || N(0, I)) in closed form, summed over dims: [B].

    Per dimension: (exp(logvar) + mean^2 - 1 - logvar) / 2."""
    return 0.5 * (logvar.exp() + mean**2 - 1.0 - logvar).sum(-1)


def elbo(x, x_mean, noise_std, qz0_mean, qz0_logvar):
    """The evidence lower bound of each series, one sample of z0 (that gave ``x_mean``): [B].

    ``x``, ``x_mean`` [B, n, d]; ``noise_std`` the observation noise (a float > 0);
    ``qz0_mean``, ``qz0_logvar`` [B, L], q(z0 | x)'s mean and log-variance."""
    return gaussian_log_likelihood(x, x_mean, noise_std) - kl_to_standard_normal(
        qz0_mean, qz0_logvar
    )


# --- batches of series observed at different times -------------------------------------------


def union_times(t):
    """Merge per-series times ``t`` [B, n] into one grid: ``(t_union [T], index [B, n])``.

    ``t_union`` is sorted and holds every time once (T <= B n); ``t_union[index[b, j]]``
    is ``t[b, j]``."""
    _check_times(t)
    t_union, inverse = torch.unique(t.reshape(-1), sorted=True, return_inverse=True)
    return t_union, inverse.view(t.shape)


def gather(x_union, index):
    """Each series' values at its own times: ``x_union`` [B, T, d] on the union grid,
    ``index`` [B, n] from ``union_times``; returns [B, n, d]."""
    return x_union.gather(1, index[..., None].expand(-1, -1, x_union.shape[-1]))


def union_mask(index, n_union):
    """The same choice as a mask: [B, T] bool, True where series b is observed."""
    mask = torch.zeros(index.shape[0], n_union, dtype=torch.bool, device=index.device)
    return mask.scatter_(1, index, True)


# --- the models -----------------------------------------------------------------------------


class Encoder(torch.nn.Module):
    """A GRU read backwards in time over (x_j, t_j - t0); returns ``out`` numbers per series.

    Backwards, so that the last thing the GRU reads is the first observation and its state
    describes the series at t0; the time since t0 is an input because the observations are
    irregular (the GRU alone only sees their order)."""

    def __init__(self, obs_dim, hidden, out):
        super().__init__()
        self.gru = torch.nn.GRU(obs_dim + 1, hidden, batch_first=True)
        self.out = torch.nn.Linear(hidden, out)

    def forward(self, t, x, t0=0.0):
        inputs = torch.cat([x, (t - t0)[..., None]], dim=-1).flip(1)  # last observation first
        _, h = self.gru(inputs)  # h [1, B, hidden], the state after reading x_0
        return self.out(h[0])


class ODEFunc(torch.nn.Module):
    """f(z, theta) = W2 tanh(W1 z + b1) + b2, the latent dynamics (autonomous)."""

    def __init__(self, latent_dim, hidden):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(latent_dim, hidden),
            torch.nn.Tanh(),
            torch.nn.Linear(hidden, latent_dim),
        )

    def forward(self, t, z):
        return self.net(z)


class LatentODE(torch.nn.Module):
    """Encoder -> q(z0) -> ODE in the latent space -> linear decoder, at any times >= t0.

    Args:
        obs_dim, latent_dim, hidden: d, L, and the width of the GRU and of f's hidden layer.
        t0: the time z0 belongs to (the start of the observation window).
        solver: keyword arguments of the solve (default rk4 with step 0.5).
        adjoint: gradients by ``ne.odeint_adjoint`` (O(1) memory) instead of backprop
            through ``ne.odeint``.
    """

    def __init__(self, obs_dim=1, latent_dim=4, hidden=16, *, t0=0.0, solver=None, adjoint=False):
        super().__init__()
        self.latent_dim, self.t0 = _count("latent_dim", latent_dim), _number("t0", t0)
        self.encoder = Encoder(_count("obs_dim", obs_dim), _count("hidden", hidden), 2 * latent_dim)
        self.func = ODEFunc(latent_dim, hidden)
        self.decoder = torch.nn.Linear(latent_dim, obs_dim)
        self.solver = dict(DEFAULT_SOLVER if solver is None else solver)
        self.adjoint = bool(adjoint)

    def posterior(self, t, x):
        """q(z0 | x): ``(mean, logvar)``, each [B, L]."""
        _check_series(t, x)
        return self.encoder(t, x, self.t0).chunk(2, dim=-1)

    def decode(self, z0, t, *, stats=None):
        """x_hat at times ``t`` shared by the batch: 1-D, increasing, >= t0; returns
        [B, len(t), d]. ``stats``: an optional ``ne.SolverStats`` the solve fills."""
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"t must be a 1-D tensor of times, got {_describe(t)}")
        if t.dim() != 1:
            raise ValueError(f"t must be a 1-D tensor of times, got {_describe(t)}")
        if float(t[0]) < self.t0:
            raise ValueError(f"t must start at or after t0 = {self.t0}, got t[0] = {float(t[0])}")
        start = float(t[0]) > self.t0  # the solve starts at t0, where z0 is
        grid = torch.cat([t.new_full((1,), self.t0), t]) if start else t
        solve = odeint_adjoint if self.adjoint else odeint
        z = solve(self.func, z0, grid, stats=stats, **self.solver)[int(start) :]  # [T, B, L]
        return self.decoder(z).transpose(0, 1)

    def decode_at(self, z0, t, *, stats=None):
        """x_hat at per-series times ``t`` [B, n]: one solve on their union, then each
        series' own times picked out; returns [B, n, d]."""
        t_union, index = union_times(t)
        return gather(self.decode(z0, t_union, stats=stats), index)

    def loss(self, t, x, noise_std):
        """-ELBO averaged over the batch, with one reparameterised sample of z0 per series."""
        mean, logvar = self.posterior(t, x)
        # eps drawn on the CPU: the same seed gives the same draws on every device
        eps = torch.randn(mean.shape, dtype=mean.dtype).to(mean.device)
        z0 = mean + torch.exp(0.5 * logvar) * eps
        return -elbo(x, self.decode_at(z0, t), noise_std, mean, logvar).mean()

    def predict(self, t_obs, x_obs, t_query):
        """The decoded posterior mean (z0 = mean of q) at ``t_query`` ([B, k] or shared
        [k]), no graph: [B, k, d]."""
        _check_query(t_query)
        with torch.no_grad():
            mean, _ = self.posterior(t_obs, x_obs)
            if t_query.dim() == 1:
                return self.decode(mean, t_query)
            return self.decode_at(mean, t_query)


class RNNBaseline(torch.nn.Module):
    """The same encoder; instead of an ODE, a GRU cell that steps from t0 through the query
    times, fed each time step dt, and a linear read-out. Trained on the same likelihood
    (no KL: it is deterministic)."""

    def __init__(self, obs_dim=1, hidden=16, *, t0=0.0):
        super().__init__()
        self.t0 = _number("t0", t0)
        hidden = _count("hidden", hidden)
        self.encoder = Encoder(_count("obs_dim", obs_dim), hidden, hidden)
        self.cell = torch.nn.GRUCell(1, hidden)
        self.decoder = torch.nn.Linear(hidden, obs_dim)

    def decode_at(self, h, t):
        """x_hat at per-series times ``t`` [B, k] (increasing, >= t0) from the state ``h``
        [B, hidden] at t0: [B, k, d]. Each step of the cell covers one gap dt."""
        dt = torch.diff(t, dim=1, prepend=torch.full_like(t[:, :1], self.t0))
        outputs = []
        for j in range(t.shape[1]):
            h = self.cell(dt[:, j : j + 1], h)
            outputs.append(self.decoder(h))
        return torch.stack(outputs, dim=1)

    def loss(self, t, x, noise_std):
        """The negative Gaussian log-likelihood of the observations, averaged over the batch."""
        _check_series(t, x)
        x_mean = self.decode_at(self.encoder(t, x, self.t0), t)
        return -gaussian_log_likelihood(x, x_mean, noise_std).mean()

    def predict(self, t_obs, x_obs, t_query):
        """Predictions at ``t_query`` ([B, k] or shared [k]), no graph: [B, k, d]."""
        _check_series(t_obs, x_obs)
        _check_query(t_query)
        with torch.no_grad():
            if t_query.dim() == 1:
                t_query = t_query.expand(t_obs.shape[0], -1)
            return self.decode_at(self.encoder(t_obs, x_obs, self.t0), t_query)


# --- training and evaluation ----------------------------------------------------------------


def fit(model, data, n_iters, *, batch_size=16, lr=1e-2, seed=0, progress=True, desc=None):
    """Adam on ``model.loss`` over random batches of ``data``'s series; returns the losses.

    ``seed`` seeds the choice of batches and the z0 samples, so a run is reproducible.
    ``progress``: a ``tqdm.auto`` bar, labelled ``desc``."""
    if not isinstance(model, (LatentODE, RNNBaseline)):
        raise TypeError(f"model must be a LatentODE or an RNNBaseline, got {type(model).__name__}")
    if not isinstance(data, IrregularSeries):
        raise TypeError(
            f"data must be a node_edu.data.series.IrregularSeries, got {type(data).__name__}"
        )
    n_iters, batch_size = _count("n_iters", n_iters), _count("batch_size", batch_size)
    if batch_size > len(data):
        raise ValueError(
            f"batch_size must be at most the number of series ({len(data)}), got {batch_size}"
        )
    optimizer = torch.optim.Adam(model.parameters(), lr=_number("lr", lr))
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    losses = []
    for _ in tqdm(range(n_iters), desc=desc or type(model).__name__, disable=not progress):
        b = torch.randperm(len(data), generator=gen)[:batch_size].to(data.t.device)
        optimizer.zero_grad()
        loss = model.loss(data.t[b], data.x[b], data.noise)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def heldout_error(model, data, t_query):
    """Root-mean-square error of ``model``'s predictions at ``t_query`` ([B, k] or [k]),
    from ``data``'s observations, against the noiseless truth."""
    x_hat = model.predict(data.t, data.x, t_query)
    return float((x_hat - data.truth(t_query)).pow(2).mean().sqrt())


def n_parameters(model):
    """How many numbers training adjusts."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class _CountingField:
    """``func`` wrapped to count its calls and the batch rows they evaluate (a count that
    does not trust the solver's own statistics)."""

    def __init__(self, func):
        self.func, self.calls, self.rows = func, 0, 0

    def __call__(self, t, z):
        self.calls += 1
        self.rows += z.shape[0] if z.dim() > 1 else 1
        return self.func(t, z)


def union_cost(func, z0, t, solver):
    """Solve dz/dt = func(t, z) from z0 [B, L] at t0 = 0 to per-series times ``t`` [B, n],
    once on the union of times and once per series; what each costs.

    Returns ``{"union": row, "per_series": row}``; each row holds, all solves together:

    * ``outputs``: the output times the solver returned (the union's T + 1, or the sum of
      each series' n + 1; t0 is an output of every solve), read off the returned tensors;
    * ``values``: the numbers the solver returned (those tensors' ``numel``);
    * ``nfe``: evaluations of func, as ``ne.SolverStats`` counts them;
    * ``calls``: calls of func, counted by a wrapper around it (equal to ``nfe``);
    * ``rows``: the batch rows those calls evaluated (each call of the union's solve
      evaluates all B series, each call of a per-series solve one);
    * ``z``: [B, n, L], the states at each series' own times.
    """
    t_union, index = union_times(t)
    zero = t.new_zeros(1)
    stats, field = SolverStats(), _CountingField(func)
    out = odeint(field, z0, torch.cat([zero, t_union]), stats=stats, **solver)  # [T + 1, B, L]
    union = dict(outputs=out.shape[0], values=out.numel(), nfe=stats.nfe, calls=field.calls,
                 rows=field.rows, z=gather(out[1:].transpose(0, 1), index))  # fmt: skip
    field = _CountingField(func)
    per_series = dict(outputs=0, values=0, nfe=0)
    rows = []
    for b in range(t.shape[0]):
        out = odeint(field, z0[b : b + 1], torch.cat([zero, t[b]]), stats=stats, **solver)
        rows.append(out[1:, 0])  # [n, L]
        per_series["outputs"] += out.shape[0]
        per_series["values"] += out.numel()
        per_series["nfe"] += stats.nfe
    per_series.update(calls=field.calls, rows=field.rows, z=torch.stack(rows))
    return {"union": union, "per_series": per_series}


# --- argument checks -----------------------------------------------------------------------


def _describe(x):
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {list(x.shape)}"
    return type(x).__name__


def _check_times(t):
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        raise TypeError(f"t must be a floating-point torch.Tensor [B, n], got {_describe(t)}")
    if t.dim() != 2 or t.numel() == 0:
        raise ValueError(
            f"t must have shape [B, n] (one row of times per series), got {list(t.shape)}"
        )
    if not bool(torch.isfinite(t).all()):
        raise ValueError("t must be finite, got a tensor containing nan or inf")


def _check_series(t, x):
    _check_times(t)
    if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[:2] != t.shape:
        raise ValueError(
            f"x must have shape [B, n, d] = [{t.shape[0]}, {t.shape[1]}, d] to match t, got "
            f"{_describe(x)}"
        )


def _check_query(t_query):
    if not isinstance(t_query, torch.Tensor) or t_query.dim() not in (1, 2):
        raise TypeError(
            f"t_query must be a tensor of times, [k] or [B, k], got {_describe(t_query)}"
        )
