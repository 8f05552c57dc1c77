"""The lesson 07 checkers: the reference answers pass, each typical mistake is named."""

import torch

from node_edu.checks.lesson07 import (
    exact_probe_variance,
    planar_dynamics,
    probe_variance,
    reverse_kl_loss,
)
from node_edu.cnf import sample_noise
from node_edu.solutions.lesson07 import planar_dynamics as reference_planar
from node_edu.solutions.lesson07 import probe_variance as reference_variance
from node_edu.solutions.lesson07 import reverse_kl_loss as reference_kl

F64 = torch.float64


# -- the variance of one Hutchinson probe -------------------------------------------------


def test_probe_variance_reference_passes():
    result = probe_variance(reference_variance)
    assert result.ok and "correct" in str(result), result


def test_exact_probe_variance_is_an_expectation():
    """The oracle against Monte Carlo (an independent estimate) and a hand computation."""
    J = torch.tensor([[0.4, 1.0], [-0.3, -1.1]], dtype=F64)
    gen = torch.Generator().manual_seed(0)
    n = 400_000
    for noise in ("rademacher", "gaussian"):
        eps = sample_noise((n, 2), noise, dtype=F64, generator=gen)
        est = torch.einsum("ni,ij,nj->n", eps, J, eps)
        assert abs(float(est.var()) / float(exact_probe_variance(J, noise)) - 1) < 0.02
    # By hand for 2 x 2: eps^T J eps = J11 e1^2 + J22 e2^2 + (J12 + J21) e1 e2, so with
    # Rademacher e1^2 = e2^2 = 1 the variance is (J12 + J21)^2 = 0.49.
    assert abs(float(exact_probe_variance(J, "rademacher")) - 0.49) < 1e-12


def test_probe_variance_mistakes_are_named():
    def sym(J):
        return (J + J.T) / 2

    def rademacher(S):
        return 2 * ((S**2).sum() - (torch.diagonal(S) ** 2).sum())

    def gaussian(S):
        return 2 * (S**2).sum()

    def right(J, noise):
        return (rademacher if noise == "rademacher" else gaussian)(sym(J))

    cases = {
        "second moment": lambda J, noise: right(J, noise) + torch.trace(J) ** 2,
        "Gaussian probe's variance": lambda J, noise: gaussian(sym(J)),
        "Rademacher probe's variance": lambda J, noise: rademacher(sym(J)),
        "add before squaring": lambda J, noise: (
            rademacher(J) if noise == "rademacher" else gaussian(J)
        ),
        "factor 2 is missing": lambda J, noise: right(J, noise) / 2,
        "square of the mean": lambda J, noise: torch.trace(J) ** 2,
        "exact variance is": lambda J, noise: right(J, noise) * 1.1,
    }
    for words, answer in cases.items():
        result = probe_variance(answer)
        assert not result.ok and result.attempted and words in result.message, (words, result)


def test_probe_variance_wants_a_tensor_of_js_dtype():
    result = probe_variance(lambda J, noise: float(reference_variance(J, noise)))
    assert not result.ok and "torch.Tensor" in result.message
    result = probe_variance(lambda J, noise: reference_variance(J, noise).float())
    assert not result.ok and "dtype" in result.message
    result = probe_variance(lambda J, noise: reference_variance(J, noise).reshape(1))
    assert not result.ok and "shape" in result.message


# -- the gated planar dynamics --------------------------------------------------------------


def planar_variant(gate="sigmoid", trace_gate=True, dtanh="square", sign=-1, reduce="sum"):
    """The reference answer with one thing changed."""

    def answer(t, z, hyper):
        w, b, uhat, g = hyper.raw(t)
        u = {"sigmoid": uhat * torch.sigmoid(g), "none": uhat, "raw": uhat * g}[gate]
        h = torch.tanh(z @ w.T + b)
        scale = 1 / hyper.width if reduce == "mean" else 1.0
        slope = {"square": 1 - h**2, "linear": 1 - h, "none": torch.ones_like(h)}[dtanh]
        u_tr = u if trace_gate else uhat
        return scale * (h @ u), sign * scale * (slope @ (u_tr * w).sum(dim=1))

    return answer


def test_planar_reference_passes():
    result = planar_dynamics(reference_planar)
    assert result.ok, result
    assert planar_dynamics(planar_variant()).ok  # the variant builder is right by default


def test_planar_mistakes_are_named():
    cases = {
        "gate is missing": planar_variant(gate="none"),
        "sigmoid(g), not by g": planar_variant(gate="raw"),
        "mean over the units": planar_variant(reduce="mean"),
        "wrong sign": planar_variant(sign=+1),
        "1 - tanh(a)^2 is missing": planar_variant(dtanh="none"),
        "not 1 - tanh(a)": planar_variant(dtanh="linear"),
        "gated u": planar_variant(trace_gate=False),
    }
    for words, answer in cases.items():
        result = planar_dynamics(answer)
        assert not result.ok and words in result.message, (words, result.message)


def test_planar_autograd_is_named():
    def with_autograd(t, z, hyper):
        dz, _ = reference_planar(t, z, hyper)
        (row,) = torch.autograd.grad(dz[:, 0].sum(), z)
        return dz, row[:, 0]

    result = planar_dynamics(with_autograd)
    assert not result.ok and "autograd" in result.message


def test_planar_other_wrong_answers():
    def wrong_velocity(t, z, hyper):
        dz, dlogp = reference_planar(t, z, hyper)
        return dz + 0.1, dlogp

    def wrong_rate(t, z, hyper):
        dz, dlogp = reference_planar(t, z, hyper)
        return dz, dlogp * (1 + 0.1 * z[:, 0])

    result = planar_dynamics(wrong_velocity)
    assert not result.ok and "compared with PlanarCNF" in result.message
    result = planar_dynamics(wrong_rate)
    assert not result.ok and "jacrev" in result.message
    result = planar_dynamics(lambda t, z, hyper: reference_planar(t, z, hyper)[0])
    assert not result.ok and "tuple of 2" in result.message


# -- the reverse-KL loss by hand ------------------------------------------------------------


def kl_variant(t_end=1.0, trace_sign=-1.0, start_at_base=True, u_sign=1.0, reduce=True):
    """The reference loss with one convention changed."""
    import node_edu as ne
    from node_edu.cnf import standard_normal_log_prob

    def answer(hyper, energy, z0):
        def augmented(t, state):
            dz, dlogp = reference_planar(t, state[:, :2], hyper)
            return torch.cat([dz, -trace_sign * dlogp[:, None]], dim=1)

        logp0 = (
            standard_normal_log_prob(z0) if start_at_base else torch.zeros(len(z0), dtype=z0.dtype)
        )
        t = torch.tensor([1.0 - t_end, t_end], dtype=z0.dtype)
        start = torch.cat([z0, logp0[:, None]], dim=1)
        end = ne.odeint(augmented, start, t, method="rk4", step_size=0.25)[-1]
        per_sample = end[:, 2] + u_sign * energy(end[:, :2])
        return per_sample.mean() if reduce else per_sample

    return answer


def test_reverse_kl_reference_passes():
    assert reverse_kl_loss(reference_kl).ok
    assert reverse_kl_loss(kl_variant()).ok  # the variant builder is right by default


def test_reverse_kl_mistakes_are_named():
    cases = {
        "minus the loss": lambda h, U, z: -reference_kl(h, U, z),
        "must start at log N": kl_variant(start_at_base=False),
        "energy enters with a plus": kl_variant(u_sign=-1.0),
        "sampling runs forward": kl_variant(t_end=0.0),
        "sign is flipped": kl_variant(trace_sign=1.0),
        "shape": kl_variant(reduce=False),
        "not differentiable": lambda h, U, z: reference_kl(h, U, z).detach(),
        "not the right gradient": lambda h, U, z: (
            reference_kl(h, U, z).detach() + 0 * sum(p.sum() for p in h.parameters())
        ),
        "close": lambda h, U, z: reference_kl(h, U, z) + 1e-4,
    }
    for words, answer in cases.items():
        result = reverse_kl_loss(answer)
        assert not result.ok and words in result.message, (words, result.message)
