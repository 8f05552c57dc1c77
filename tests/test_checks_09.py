"""Lesson 09's checkers: the reference answers pass, each typical mistake gets its name."""

import math

import pytest
import torch

import node_edu as ne
from node_edu import checks
from node_edu.solutions import lesson09


def test_references_pass():
    assert checks.elbo(lesson09.elbo)
    assert checks.decode_at(lesson09.decode_at)


def _elbo_variant(log_px_fn, kl_fn):
    def answer(x, x_mean, noise_std, qz0_mean, qz0_logvar):
        return log_px_fn(x, x_mean, noise_std) - kl_fn(qz0_mean, qz0_logvar)

    return answer


def _log_px(x, m, s, const=True, var=None):
    var = s**2 if var is None else var
    c = math.log(2 * math.pi * var) if const else 0.0
    return (-0.5 * ((x - m) ** 2 / var + c)).sum(dim=(1, 2))


def _kl(mean, logvar, minus_one=True, std_logvar=False):
    v = (2 * logvar).exp() if std_logvar else logvar.exp()
    lv = 2 * logvar if std_logvar else logvar
    return 0.5 * (v + mean**2 - (1.0 if minus_one else 0.0) - lv).sum(1)


ELBO_MISTAKES = {
    "the KL must be subtracted": lambda *a: _log_px(*a[:3]) + _kl(*a[3:]),
    "the sign is flipped": lambda *a: _kl(*a[3:]) - _log_px(*a[:3]),
    "the KL term is missing": lambda *a: _log_px(*a[:3]),
    "the log-likelihood of the observations is missing": lambda *a: -_kl(*a[3:]),
    "logvar is the log of the variance": lambda *a: _log_px(*a[:3]) - _kl(*a[3:], std_logvar=True),
    "the constant -log(2 pi noise_std^2) / 2": lambda *a: (
        _log_px(*a[:3], const=False) - _kl(*a[3:])
    ),
    "noise_std is a standard deviation": lambda *a: _log_px(*a[:2], a[2], var=a[2]) - _kl(*a[3:]),
    "sum the log-likelihood over times and dimensions": lambda *a: (
        _log_px(*a[:3]) / (a[0].shape[1] * a[0].shape[2]) - _kl(*a[3:])
    ),
    "the -1 of each dimension's KL is missing": lambda *a: (
        _log_px(*a[:3]) - _kl(*a[3:], minus_one=False)
    ),
    "the -1 belongs inside the half": lambda *a: (
        _log_px(*a[:3]) - (_kl(*a[3:], minus_one=False) - a[3].shape[1])
    ),
    "one ELBO per series": lambda *a: (_log_px(*a[:3]) - _kl(*a[3:])).mean(),
}


@pytest.mark.parametrize("message", sorted(ELBO_MISTAKES))
def test_elbo_mistakes_are_named(message):
    result = checks.elbo(ELBO_MISTAKES[message])
    assert not result.ok and result.attempted
    assert message in result.message, result.message


def test_elbo_unknown_error_says_what_it_was_compared_with():
    result = checks.elbo(lambda *a: lesson09.elbo(*a) + 0.1)
    assert not result.ok and "torch.distributions" in result.message


def _per_series(func, decoder, z0, t, solver):
    rows = []
    for b in range(t.shape[0]):
        grid = torch.cat([t.new_zeros(1), t[b]])
        rows.append(decoder(ne.odeint(func, z0[b : b + 1], grid, **solver)[1:, 0]))
    return torch.stack(rows)


def _no_t0(func, decoder, z0, t, solver):
    t_union, index = torch.unique(t, sorted=True, return_inverse=True)
    x = decoder(ne.odeint(func, z0, t_union, **solver))
    return x[index, torch.arange(t.shape[0])[:, None]]


def _series_zero(func, decoder, z0, t, solver):
    t_union, index = torch.unique(t, sorted=True, return_inverse=True)
    x = decoder(ne.odeint(func, z0, torch.cat([t.new_zeros(1), t_union]), **solver)[1:])
    return x[index, 0]


def _time_major(func, decoder, z0, t, solver):
    return lesson09.decode_at(func, decoder, z0, t, solver).transpose(0, 1)


def _latent(func, decoder, z0, t, solver):
    t_union, index = torch.unique(t, sorted=True, return_inverse=True)
    z = ne.odeint(func, z0, torch.cat([t.new_zeros(1), t_union]), **solver)[1:]
    return z[index, torch.arange(t.shape[0])[:, None]]


def _duplicates(func, decoder, z0, t, solver):
    t_all = torch.cat([t.new_zeros(1), t.reshape(-1).sort().values])  # shared times twice
    return decoder(ne.odeint(func, z0, t_all, **solver))


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (_per_series, "you solved the ODE separately for some series"),
        (_no_t0, "the solve must start at t0 = 0"),
        (_series_zero, "every series read series 0's outputs"),
        (_time_major, "return x_hat batch first"),
        (_latent, "that is z(t)"),
        (_duplicates, "strictly increasing"),
    ],
)
def test_decode_at_mistakes_are_named(answer, message):
    result = checks.decode_at(answer)
    assert not result.ok and result.attempted
    assert message in result.message, result.message


def test_decode_at_nan_and_inf_are_not_yet():
    for value in (float("nan"), float("inf")):
        result = checks.decode_at(lambda *a, v=value: lesson09.decode_at(*a) * v)
        assert not result.ok and "NaN or inf" in result.message
