"""Checkers for lesson 09: the latent ODE's ELBO, and decoding a batch at per-series times.

* ``elbo(fn)``: ``fn(x, x_mean, noise_std, qz0_mean, qz0_logvar)`` returns each series'
  ELBO [B]. Oracle: ``torch.distributions``: ``Normal(x_mean, noise_std).log_prob(x)``
  summed, minus ``kl_divergence(Normal(mean, exp(logvar / 2)), Normal(0, 1))`` summed.
* ``decode_at(fn)``: ``fn(func, decoder, z0, t, solver)`` returns x_hat [B, n, d] at each
  series' own times from ONE solve on the union of times. Oracle: a linear latent field
  dz/dt = A z, whose flow is ``torch.linalg.matrix_exp(A t) z0``, for every (b, j) alone.
"""

import math

import torch
from torch.distributions import Normal, kl_divergence

from node_edu.checks.base import Mistake, exercise, expect_tensor, passed
from node_edu.solutions import lesson09

DT = torch.float64


def _close(a, b):
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-9, atol=1e-9)


def _diagnose(got, wrongs, where):
    for wrong, why in wrongs:
        if _close(got, wrong):
            raise Mistake(f"({where}) {why}")


@exercise("09.elbo", solution=lesson09.elbo, hints=(
    "Two terms per series: the log-likelihood of its observations, summed over times j and "
    "dimensions, minus the KL of q(z0) to N(0, I), summed over the L latent dimensions.",
    "log N(x; m, s^2) = -((x - m)^2 / s^2 + log(2 pi s^2)) / 2; noise_std is s, not s^2.",
    "Per latent dimension, KL(N(mu, v) || N(0, 1)) = (v + mu^2 - 1 - log v) / 2 with "
    "v = exp(logvar): logvar is the log of the VARIANCE.",
))  # fmt: skip
def elbo(fn):
    """Lesson 09 exercise: the ELBO of each series, against torch.distributions."""
    gen = torch.Generator().manual_seed(9)
    for B, n, d, L, s in ((3, 5, 2, 4, 0.3), (4, 3, 1, 2, 0.7)):
        x, x_mean = (torch.randn(B, n, d, generator=gen, dtype=DT) for _ in range(2))
        mean = torch.randn(B, L, generator=gen, dtype=DT)
        logvar = 0.8 * torch.randn(B, L, generator=gen, dtype=DT)
        log_px = Normal(x_mean, s).log_prob(x).sum(dim=(1, 2))
        q, prior = Normal(mean, torch.exp(0.5 * logvar)), Normal(torch.zeros_like(mean), 1.0)
        kl = kl_divergence(q, prior).sum(dim=1)
        oracle = log_px - kl
        out = fn(x.clone(), x_mean.clone(), s, mean.clone(), logvar.clone())
        if isinstance(out, torch.Tensor) and out.dim() == 0:
            raise Mistake(f"return one ELBO per series, shape [{B}], not a single number")
        got = expect_tensor(out, "the ELBO", like=oracle)
        if _close(got, oracle):
            continue
        kl_std = kl_divergence(Normal(mean, logvar.exp()), prior).sum(dim=1)
        sq = ((x - x_mean) ** 2).sum(dim=(1, 2))
        no_const = -0.5 * sq / s**2
        var_as_std = Normal(x_mean, math.sqrt(s)).log_prob(x).sum(dim=(1, 2))
        _diagnose(got, (
            (log_px + kl, "the KL must be subtracted: ELBO = log-likelihood - KL(q || prior)"),
            (kl - log_px, "the sign is flipped: that is -ELBO, the loss; return the ELBO"),
            (log_px, "the KL term is missing"),
            (-kl, "the log-likelihood of the observations is missing"),
            (log_px - kl_std, "logvar is the log of the variance: the std is exp(logvar / 2)"),
            (no_const - kl, "the constant -log(2 pi noise_std^2) / 2 of every observation is "
             "missing (it matters when noise_std is fixed by you, not learned)"),
            (var_as_std - kl, "noise_std is a standard deviation: the variance is noise_std ** 2"),
            (log_px / (n * d) - kl, "sum the log-likelihood over times and dimensions, not "
             "the mean: each observation is a factor of p(x | z0)"),
            (log_px - kl - L / 2, "the -1 of each dimension's KL is missing: "
             "(v + mu^2 - 1 - log v) / 2, so that KL(N(0, 1) || N(0, 1)) = 0"),
            (log_px - kl + L / 2, "the -1 belongs inside the half: (v + mu^2 - 1 - log v) / 2"),
        ), f"B = {B}, L = {L}, noise_std = {s}")  # fmt: skip
        raise Mistake(
            f"(B = {B}, L = {L}, noise_std = {s}) your ELBO differs from torch.distributions' "
            "Normal.log_prob summed minus kl_divergence summed"
        )
    return passed(
        "your ELBO equals Normal.log_prob summed over the observations minus the closed-form "
        "kl_divergence(q(z0), N(0, I)) summed over the latent dimensions."
    )


class _LinearField(torch.nn.Module):
    """dz/dt = A z on a batch z [B, L]; records the batch size of every call."""

    def __init__(self, A):
        super().__init__()
        self.A, self.batch_sizes = A, []

    def forward(self, t, z):
        self.batch_sizes.append(z.shape[0] if z.dim() == 2 else 1)
        return z @ self.A.T


@exercise("09.decode_at", solution=lesson09.decode_at, hints=(
    "torch.unique(t, sorted=True, return_inverse=True) gives the union of all the times, "
    "sorted and each once, and index [B, n] with t_union[index] == t.",
    "Solve once for the whole batch, on the grid [0, t_union...]: z0 belongs to t0 = 0, so 0 "
    "must come first; drop that first output. odeint returns [T, B, L]; decoder(z) [T, B, d].",
    "Series b needs row index[b, j] of ITS column b: x[index, torch.arange(B)[:, None]] "
    "gives [B, n, d].",
))  # fmt: skip
def decode_at(fn):
    """Lesson 09 exercise: decode at per-series times, against exp(A t) z0 for each (b, j)."""
    gen = torch.Generator().manual_seed(90)
    A = torch.tensor([[-0.1, -1.2, 0.0], [1.2, -0.1, 0.3], [0.0, -0.3, -0.2]], dtype=DT)
    solver = dict(method="dopri5", rtol=1e-10, atol=1e-12)
    cases = (  # times per series: some shared between series, none at t0 = 0
        torch.tensor([[0.5, 1.0, 2.5, 3.0], [0.2, 1.0, 1.5, 3.5], [0.5, 0.7, 2.5, 4.0]], dtype=DT),
        torch.rand(4, 5, generator=gen, dtype=DT).mul(3.0).add(0.1).sort(dim=1).values,
    )
    for t in cases:
        B, n = t.shape
        z0 = torch.randn(B, 3, generator=gen, dtype=DT)
        decoder = torch.nn.Linear(3, 2, dtype=DT)
        with torch.no_grad():
            torch.nn.init.normal_(decoder.weight, generator=gen)
            torch.nn.init.normal_(decoder.bias, generator=gen)

        def exact(times, z_start, decoder=decoder):  # [B, n], [B, 3] -> decoder(z) [B, n, 2]
            z = torch.linalg.matrix_exp(A * times[..., None, None]) @ z_start[:, None, :, None]
            return decoder(z[..., 0])

        with torch.no_grad():
            oracle = exact(t, z0)
            func = _LinearField(A)
            out = fn(func, decoder, z0.clone(), t.clone(), dict(solver))
            if isinstance(out, torch.Tensor) and tuple(out.shape) == (n, B, 2) and n != B:
                raise Mistake(f"return x_hat batch first, [B, n, d] = [{B}, {n}, 2]; got [n, B, d]")
            if isinstance(out, torch.Tensor) and tuple(out.shape) == (B, n, 3):
                raise Mistake("that is z(t), shape [B, n, L]: decode it, x_hat = decoder(z)")
            got = expect_tensor(out, "x_hat", like=oracle)
            right = torch.allclose(got, oracle, rtol=1e-6, atol=1e-7)
            if right and func.batch_sizes and min(func.batch_sizes) < B:
                raise Mistake(
                    "the values are right, but you solved the ODE separately for some series "
                    f"(func saw batches of {min(func.batch_sizes)}): solve ONCE, for all {B} "
                    "series together, on the union of their times"
                )
            if right:
                continue
            first = t.min()
            wrongs = (
                (exact(t - first, z0), "the solve must start at t0 = 0, where z0 is: put 0 in "
                 "front of the union of times (and drop that first output)"),
                (exact(t, z0[:1].expand(B, -1)), "every series read series 0's outputs: "
                 "series b must read column b, x[index, arange(B)[:, None]]"),
            )  # fmt: skip
            for wrong, why in wrongs:
                if torch.allclose(got, wrong, rtol=1e-6, atol=1e-7):
                    raise Mistake(why)
            raise Mistake(
                f"x_hat differs from decoder(exp(A t[b, j]) z0[b]) for a linear field (B = {B}, "
                f"n = {n}), by up to {float((got - oracle).abs().max()):.2e}"
            )
    return passed(
        "one solve on the union of times, each series gathered at its own times: equal to "
        "decoder(exp(A t) z0) for every series and time."
    )
