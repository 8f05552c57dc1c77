"""node_edu.cnf against independent oracles: torch.func.jacrev (traces), matrix_exp and
torch.distributions (the linear flow's exact density), torchdiffeq (the augmented ODE
integrated by another solver), finite differences (gradients), SymPy (the energies)."""

import math

import pytest
import sympy as sp
import torch
import torchdiffeq
from torch import nn

from node_edu.cnf import (
    CNF,
    ENERGIES,
    U1,
    U2,
    GatedHyperNet,
    MLPField,
    PlanarCNF,
    count_vjps,
    effective_sample_size,
    fit_energy,
    fit_samples,
    grid,
    grid_kls,
    hutchinson_variance,
    reverse_kl,
    sample_energy,
    sample_noise,
    standard_normal_log_prob,
    target_density,
    trace_exact,
    trace_hutchinson,
    trace_scaling,
)
from node_edu.data.moons import two_moons

F64 = torch.float64
TIGHT = dict(rtol=1e-10, atol=1e-12)


class TimeMLP(nn.Module):
    """A nonlinear, time-dependent velocity whose samples do not interact."""

    def __init__(self, dim=3, hidden=16, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(dim + 1, hidden), nn.Tanh(), nn.Linear(hidden, dim))
        self.double()

    def forward(self, t, z):
        return self.net(torch.cat([z, t.expand(z.shape[0], 1)], dim=1))


def jacrev_trace(func, t, z):
    """tr(df/dz) per sample from the full Jacobian (torch.func)."""
    J = torch.func.vmap(torch.func.jacrev(lambda zi: func(t, zi[None])[0]))(z)
    return J.diagonal(dim1=1, dim2=2).sum(-1), J


def torchdiffeq_log_prob(func, x, t0, t1, eps=None):
    """log p(x) by the FFJORD recipe, integrated with torchdiffeq and traces from jacrev."""

    def aug(t, state):
        z = state[:, :-1]
        if eps is None:
            tr, _ = jacrev_trace(func, t, z)
        else:
            _, J = jacrev_trace(func, t, z)
            tr = torch.einsum("bi,bij,bj->b", eps, J, eps)
        return torch.cat([func(t, z), -tr[:, None]], dim=1)

    state = torch.cat([x, torch.zeros(len(x), 1, dtype=x.dtype, device=x.device)], dim=1)
    ts = torch.tensor([t1, t0], dtype=x.dtype, device=x.device)
    out = torchdiffeq.odeint(aug, state, ts, rtol=1e-10, atol=1e-12)[-1]
    return standard_normal_log_prob(out[:, :-1]) - out[:, -1]


# -- trace estimators ----------------------------------------------------------------------


def test_trace_exact_matches_jacrev(device):
    func = TimeMLP().to(device)
    t = torch.tensor(0.4, dtype=F64, device=device)
    z = torch.randn(7, 3, dtype=F64, device=device, requires_grad=True)
    expected, _ = jacrev_trace(func, t, z.detach())
    assert torch.allclose(trace_exact(func(t, z), z), expected, atol=1e-12)


def test_trace_hutchinson_is_eps_J_eps(device):
    func = TimeMLP().to(device)
    t = torch.tensor(0.1, dtype=F64, device=device)
    z = torch.randn(5, 3, dtype=F64, device=device, requires_grad=True)
    eps = torch.randn(5, 3, dtype=F64, device=device)
    _, J = jacrev_trace(func, t, z.detach())
    expected = torch.einsum("bi,bij,bj->b", eps, J, eps)
    assert torch.allclose(trace_hutchinson(func(t, z), z, eps), expected, atol=1e-12)


def test_traces_are_differentiable_with_create_graph():
    func = TimeMLP()
    t = torch.tensor(0.2, dtype=F64)
    z = torch.randn(4, 3, dtype=F64, requires_grad=True)
    tr = trace_exact(func(t, z), z, create_graph=True)
    (g,) = torch.autograd.grad(tr.sum(), z)
    g_ref = torch.func.grad(lambda zz: jacrev_trace(func, t, zz)[0].sum())(z.detach())
    assert torch.allclose(g, g_ref, atol=1e-12)


def test_sample_noise_kinds():
    gen = torch.Generator().manual_seed(0)
    r = sample_noise((20000, 2), "rademacher", dtype=F64, generator=gen)
    assert set(r.unique().tolist()) == {-1.0, 1.0}
    g = sample_noise((20000, 2), "gaussian", dtype=F64, generator=gen)
    for eps in (r, g):  # E[eps eps^T] = I within a few standard errors (~0.01)
        cov = eps.T @ eps / len(eps)
        assert torch.allclose(cov, torch.eye(2, dtype=F64), atol=0.05)


def test_hutchinson_variance_matches_monte_carlo():
    J = torch.tensor([[0.5, -1.2, 0.3], [0.4, 0.1, 0.9], [-0.7, 0.2, -0.3]], dtype=F64)
    gen = torch.Generator().manual_seed(3)
    for kind in ("rademacher", "gaussian"):
        eps = sample_noise((200000, 3), kind, dtype=F64, generator=gen)
        est = torch.einsum("bi,ij,bj->b", eps, J, eps)
        assert abs(float(est.mean()) - float(torch.trace(J))) < 4 * float(est.std()) / math.sqrt(
            len(est)
        )
        assert abs(float(est.var()) / float(hutchinson_variance(J, kind)) - 1) < 0.03


def test_hutchinson_variance_is_the_exact_expectation():
    """Against the expectation over the noise summed exactly (all sign vectors; a
    Gauss-Hermite rule exact for these degrees), lesson 07's checker's oracle."""
    from node_edu.checks.lesson07 import exact_probe_variance

    gen = torch.Generator().manual_seed(4)
    for dim in (1, 2, 3, 5):
        J = torch.randn(dim, dim, generator=gen, dtype=F64)
        for kind in ("rademacher", "gaussian"):
            want = float(exact_probe_variance(J, kind))
            assert math.isclose(
                float(hutchinson_variance(J, kind)), want, rel_tol=1e-12, abs_tol=1e-14
            )


def test_rademacher_is_exact_for_a_diagonal_jacobian():
    J = torch.diag(torch.tensor([0.3, -2.0, 1.5], dtype=F64))
    assert float(hutchinson_variance(J, "rademacher")) == 0.0
    eps = sample_noise((50, 3), "rademacher", dtype=F64)
    assert torch.allclose(torch.einsum("bi,ij,bj->b", eps, J, eps), torch.trace(J).expand(50))


# -- the CNF -------------------------------------------------------------------------------


def linear_case(device, dtype=F64):
    A = torch.tensor(
        [[0.3, -1.0, 0.2], [0.5, 0.2, -0.4], [0.1, 0.3, -0.6]], dtype=dtype, device=device
    )
    return A, CNF(lambda t, z: z @ A.T, t0=0.5, t1=1.7, **TIGHT)


def test_linear_flow_matches_the_exact_gaussian(device):
    A, cnf = linear_case(device)
    z0 = torch.randn(30, 3, dtype=F64, device=device)
    x, logq = cnf.sample(z0)
    M = torch.linalg.matrix_exp(A * 1.2)
    exact = torch.distributions.MultivariateNormal(
        torch.zeros(3, dtype=F64, device=device), M @ M.T
    )
    assert torch.allclose(x, z0 @ M.T, atol=1e-9)
    assert torch.allclose(logq, exact.log_prob(x), atol=1e-9)
    assert torch.allclose(cnf.log_prob(x), logq, atol=1e-9)  # backward = forward
    y = torch.randn(10, 3, dtype=F64, device=device)
    assert torch.allclose(cnf.log_prob(y), exact.log_prob(y), atol=1e-9)


def test_intermediate_times_and_t0(device):
    A, cnf = linear_case(device)
    y = torch.randn(6, 3, dtype=F64, device=device)
    M = torch.linalg.matrix_exp(A * 0.5)  # t = 1.0 is 0.5 after t0
    exact = torch.distributions.MultivariateNormal(
        torch.zeros(3, dtype=F64, device=device), M @ M.T
    )
    assert torch.allclose(cnf.log_prob(y, t=1.0), exact.log_prob(y), atol=1e-9)
    assert torch.allclose(cnf.log_prob(y, t=0.5), standard_normal_log_prob(y))
    x, _ = cnf.sample(y, t=1.0)
    assert torch.allclose(x, y @ M.T, atol=1e-9)


def test_nonlinear_flow_matches_torchdiffeq(device):
    func = TimeMLP().to(device)
    cnf = CNF(func, t0=0.0, t1=1.0, **TIGHT)
    x = torch.randn(8, 3, dtype=F64, device=device)
    with torch.no_grad():
        ours = cnf.log_prob(x)
    assert torch.allclose(ours, torchdiffeq_log_prob(func, x, 0.0, 1.0), atol=1e-8)


def test_hutchinson_cnf_with_a_fixed_probe_matches_torchdiffeq(device):
    func = TimeMLP().to(device)
    cnf = CNF(func, trace="hutchinson", noise="gaussian", **TIGHT)
    x = torch.randn(8, 3, dtype=F64, device=device)
    eps = torch.randn(8, 3, dtype=F64, device=device)
    with torch.no_grad():
        ours = cnf.log_prob(x, eps=eps)
    assert torch.allclose(ours, torchdiffeq_log_prob(func, x, 0.0, 1.0, eps), atol=1e-8)


def test_hutchinson_equals_exact_in_one_dimension():
    # Rademacher eps^2 = 1, so eps J eps = J exactly when dim = 1.
    func = TimeMLP(dim=1)
    exact = CNF(func, trace="exact", **TIGHT)
    hutch = CNF(func, trace="hutchinson", noise="rademacher", **TIGHT)
    x = torch.randn(10, 1, dtype=F64)
    with torch.no_grad():
        assert torch.allclose(hutch.log_prob(x), exact.log_prob(x), atol=1e-10)


def test_follows_dtype():
    func = TimeMLP().float()
    x = torch.randn(4, 3)
    with torch.no_grad():
        out = CNF(func, rtol=1e-5, atol=1e-6).log_prob(x)
    assert out.dtype == torch.float32 and out.shape == (4,)


def test_density_integrates_to_one_on_a_grid():
    torch.manual_seed(1)
    cnf = CNF(PlanarCNF(dim=2, width=4, hidden=8).double(), rtol=1e-7, atol=1e-9)
    _, pts, area = grid(lim=7.0, n=90)
    with torch.no_grad():
        mass = float(cnf.log_prob(pts).exp().sum() * area)
    assert abs(mass - 1) < 1e-3


def test_backprop_gradient_matches_finite_differences():
    torch.manual_seed(0)
    func = PlanarCNF(dim=2, width=3, hidden=4).double()
    cnf = CNF(func, method="rk4", step_size=0.1)  # fixed grid: a smooth map of theta
    z0 = torch.randn(6, 2, dtype=F64)
    p = func.hyper.net[0].weight
    (g,) = torch.autograd.grad(reverse_kl(cnf, U1, z0), [p])
    h = 1e-6
    with torch.no_grad():
        for idx in [(0, 0), (2, 0)]:
            p[idx] += h
            up = float(reverse_kl(cnf, U1, z0))
            p[idx] -= 2 * h
            down = float(reverse_kl(cnf, U1, z0))
            p[idx] += h
            assert abs((up - down) / (2 * h) - float(g[idx])) < 1e-6


def test_adjoint_gradient_matches_backprop(device):
    torch.manual_seed(0)
    func = PlanarCNF(dim=2, width=4, hidden=8).double().to(device)
    z0 = torch.randn(5, 2, dtype=F64, device=device)
    params = list(func.parameters())
    grads = []
    for adjoint in (False, True):
        cnf = CNF(func, adjoint=adjoint, rtol=1e-10, atol=1e-12)
        grads.append(torch.autograd.grad(reverse_kl(cnf, U1, z0), params))
    for a, b in zip(*grads, strict=True):
        assert torch.allclose(a, b, atol=1e-7, rtol=1e-6)


def test_stats_are_filled():
    A, cnf = linear_case("cpu")
    cnf.solver = dict(method="rk4", rtol=1e-7, atol=1e-9, step_size=0.1)
    cnf.sample(torch.randn(2, 3, dtype=F64))
    assert cnf.stats.n_accepted == 12 and cnf.stats.nfe == 4 * 12


# -- planar CNF ----------------------------------------------------------------------------


def test_planar_divergence_matches_jacrev():
    torch.manual_seed(2)
    func = PlanarCNF(dim=3, width=5, hidden=7).double()
    t = torch.tensor(0.6, dtype=F64)
    z = torch.randn(9, 3, dtype=F64)
    expected, _ = jacrev_trace(func, t, z)
    assert torch.allclose(func.divergence(t, z), expected, atol=1e-12)


def test_planar_velocity_is_a_sum_of_gated_units():
    torch.manual_seed(3)
    func = PlanarCNF(dim=2, width=4, hidden=6).double()
    t = torch.tensor(0.25, dtype=F64)
    raw = func.hyper.net(t.reshape(1, 1)).reshape(4, 7)
    w, uhat, gate, b = raw[:, :2], raw[:, 2:4], raw[:, 4:6], raw[:, 6]
    z = torch.randn(3, 2, dtype=F64)
    expected = sum(
        torch.tanh(z @ w[m] + b[m])[:, None] * (uhat[m] * torch.sigmoid(gate[m])) for m in range(4)
    )
    assert torch.allclose(func(t, z), expected, atol=1e-14)


def test_gate_is_a_sigmoid_of_the_raw_output_and_shrinks_the_scale():
    # Moved from lesson 07: the gate's construction (torchdiffeq's examples/cnf.py).
    torch.manual_seed(4)
    hyper = GatedHyperNet(dim=3, width=5, hidden=6).double()
    t = torch.tensor(0.7, dtype=F64)
    out = hyper.net(t.reshape(1, 1)).reshape(5, 10)  # per unit: w (3), uhat (3), g (3), b
    w, b, u = hyper(t)
    assert torch.equal(w, out[:, :3]) and torch.equal(b, out[:, 9])
    assert torch.allclose(u, out[:, 3:6] / (1 + torch.exp(-out[:, 6:9])), atol=1e-15)
    assert bool((u.abs() < out[:, 3:6].abs()).all())
    w_raw, b_raw, uhat, g = hyper.raw(t)
    assert torch.equal(uhat, out[:, 3:6]) and torch.equal(g, out[:, 6:9])


def test_hypernet_depends_on_t():
    torch.manual_seed(0)
    hyper = GatedHyperNet(dim=2, width=3, hidden=5).double()
    w0, _, _ = hyper(torch.tensor(0.0, dtype=F64))
    w1, _, _ = hyper(torch.tensor(1.0, dtype=F64))
    assert not torch.allclose(w0, w1)


# -- FFJORD at scale --------------------------------------------------------------------


def test_count_vjps_counts_backward_passes(device):
    func = MLPField(5, hidden=8).double().to(device)
    t = torch.tensor(0.3, dtype=F64, device=device)
    z = torch.randn(4, 5, dtype=F64, device=device)
    expected, _ = jacrev_trace(func, t, z)
    tr, n = count_vjps(func, t, z, "exact")
    assert n == 5 and torch.allclose(tr, expected, atol=1e-12)
    eps = sample_noise(z.shape, "rademacher", dtype=F64, device=device)
    tr_h, n_h = count_vjps(func, t, z, "hutchinson", eps)
    _, J = jacrev_trace(func, t, z)
    assert n_h == 1 and torch.allclose(tr_h, torch.einsum("bi,bij,bj->b", eps, J, eps))


def test_the_tap_counts_what_autograd_runs():
    # The counter behind count_vjps, checked on k explicit calls of torch.autograd.grad.
    from node_edu.cnf.scale import _Tap

    counter = [0]
    z = torch.randn(3, 2, dtype=F64, requires_grad=True)
    y = (_Tap.apply(z, counter) ** 2).sum()
    for _ in range(3):
        torch.autograd.grad(y, z, retain_graph=True)
    assert counter == [3]


def test_trace_scaling_counts_and_variances():
    rows = trace_scaling(dims=(2, 3), batch=3, hidden=5, repeats=1)
    assert [r["dim"] for r in rows] == [2, 3]
    assert [(r["vjps_exact"], r["vjps_hutchinson"]) for r in rows] == [(2, 1), (3, 1)]
    assert all(r["ms_exact"] > 0 and r["ms_hutchinson"] > 0 for r in rows)
    # Oracle for the variances: Monte Carlo over probes on the same field and points.
    torch.manual_seed(0)
    func = MLPField(3, 5).double()
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(3, 3, dtype=F64, generator=gen)
    J = jacrev_trace(func, torch.tensor(0.5, dtype=F64), z)[1].detach()
    for kind in ("rademacher", "gaussian"):
        eps = sample_noise((200000, 3), kind, dtype=F64, generator=torch.Generator().manual_seed(1))
        mc = sum(float(torch.einsum("ni,ij,nj->n", eps, Jb, eps).var()) for Jb in J) / 3
        assert abs(mc / rows[1][f"var_{kind}"] - 1) < 0.03, kind
    assert rows[1]["trace_rms"] == pytest.approx(
        float(J.diagonal(dim1=1, dim2=2).sum(-1).pow(2).mean().sqrt())
    )


def test_sample_energy_matches_a_gaussian():
    x = sample_energy(
        lambda z: 0.5 * (z**2).sum(-1), 40000, lim=6.0, generator=torch.Generator().manual_seed(0)
    )
    assert x.shape == (40000, 2) and x.dtype == F64
    assert torch.allclose(x.mean(0), torch.zeros(2, dtype=F64), atol=0.03)  # exact: N(0, I)
    assert torch.allclose(torch.cov(x.T), torch.eye(2, dtype=F64), atol=0.03)


def test_grid_kls_match_torch_distributions():
    _, pts, area = grid(lim=9.0, n=300)
    D = torch.distributions.MultivariateNormal
    p = D(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64))
    q = D(torch.tensor([0.5, -0.3], dtype=F64), torch.diag(torch.tensor([1.5, 0.7], dtype=F64)))
    forward, reverse = grid_kls(q.log_prob(pts), p.log_prob(pts), area)
    kl = torch.distributions.kl_divergence
    assert forward == pytest.approx(float(kl(p, q)), rel=1e-4)
    assert reverse == pytest.approx(float(kl(q, p)), rel=1e-4)


def test_effective_sample_size_matches_its_closed_form():
    # q = N(0, s^2), target N(0, 1) (any scale): ESS/n -> sqrt(2 s^2 - 1) / s^2.
    s = 1.3
    x = s * torch.randn(400000, dtype=F64, generator=torch.Generator().manual_seed(0))
    log_w = -0.5 * x**2 - (-0.5 * (x / s) ** 2 - math.log(s))
    ess = effective_sample_size(log_w)
    assert ess == pytest.approx(math.sqrt(2 * s**2 - 1) / s**2, rel=0.02)
    assert effective_sample_size(log_w + 7.0) == pytest.approx(ess, rel=1e-12)  # no Z needed
    assert effective_sample_size(torch.zeros(10, dtype=F64)) == pytest.approx(1.0)


def test_scale_errors():
    z = torch.randn(2, 2)
    with pytest.raises(ValueError, match="trace must be"):
        count_vjps(MLPField(2), torch.tensor(0.0), z, "jacobian")
    with pytest.raises(ValueError, match="dim must be"):
        MLPField(0)
    with pytest.raises(ValueError, match="batch must be"):
        trace_scaling(batch=0)
    with pytest.raises(ValueError, match="dims entries"):
        trace_scaling(dims=(2, -1), repeats=1)
    with pytest.raises(ValueError, match="n must be"):
        sample_energy(U1, 0)
    with pytest.raises(ValueError, match="one shape"):
        grid_kls(torch.zeros(3), torch.zeros(4), 1.0)
    with pytest.raises(TypeError, match="must be tensors"):
        grid_kls([0.0], torch.zeros(1), 1.0)
    for bad in (torch.tensor([0.0, math.nan]), torch.tensor([math.inf]), torch.zeros(2, 2)):
        with pytest.raises(ValueError, match="log_w must be"):
            effective_sample_size(bad)


# -- energies and data ---------------------------------------------------------------------


def sympy_energies():
    z1, z2 = sp.symbols("z1 z2", real=True)
    w1 = sp.sin(2 * sp.pi * z1 / 4)
    w2 = 3 * sp.exp(-sp.Rational(1, 2) * ((z1 - 1) / sp.Float(0.6)) ** 2)
    w3 = 3 / (1 + sp.exp(-(z1 - 1) / sp.Float(0.3)))
    g = lambda a, s: sp.exp(-sp.Rational(1, 2) * (a / sp.Float(s)) ** 2)  # noqa: E731
    exprs = {
        "U1": sp.Rational(1, 2) * ((sp.sqrt(z1**2 + z2**2) - 2) / sp.Float(0.4)) ** 2
        - sp.log(g(z1 - 2, 0.6) + g(z1 + 2, 0.6)),
        "U2": sp.Rational(1, 2) * ((z2 - w1) / sp.Float(0.4)) ** 2,
        "U3": -sp.log(g(z2 - w1, 0.35) + g(z2 - w1 + w2, 0.35)),
        "U4": -sp.log(g(z2 - w1, 0.4) + g(z2 - w1 + w3, 0.35)),
    }
    return {k: sp.lambdify((z1, z2), e, "mpmath") for k, e in exprs.items()}


def test_energies_match_sympy():
    ref = sympy_energies()
    z = 3 * torch.rand(20, 2, dtype=F64, generator=torch.Generator().manual_seed(0)) - 1.5
    for name, U in ENERGIES.items():
        ours = U(z)
        for i in range(len(z)):
            exact = float(ref[name](float(z[i, 0]), float(z[i, 1])))
            assert math.isclose(float(ours[i]), exact, rel_tol=1e-12, abs_tol=1e-12), name


def test_energies_accept_batch_shapes_and_u2_vanishes_on_its_curve():
    z = torch.randn(4, 5, 2, dtype=F64)
    assert all(U(z).shape == (4, 5) for U in ENERGIES.values())
    z1 = torch.linspace(-3, 3, 11, dtype=F64)
    on_curve = torch.stack([z1, torch.sin(math.pi * z1 / 2)], dim=1)
    assert torch.allclose(U2(on_curve), torch.zeros(11, dtype=F64), atol=1e-14)


def test_grid_layout_and_target_density():
    xs, pts, area = grid(lim=2.0, n=5)
    assert pts.shape == (25, 2) and math.isclose(area, 1.0)
    assert torch.equal(pts[1], torch.stack([xs[1], xs[0]]))  # z1 fast, z2 slow
    _, dens = target_density("U1", lim=4.0, n=30)
    _, _, a30 = grid(4.0, 30)
    assert math.isclose(float(dens.sum() * a30), 1.0, rel_tol=1e-12)
    p = torch.exp(-U1(grid(4.0, 30)[1])).reshape(30, 30)
    assert torch.allclose(dens / dens.max(), p / p.max(), atol=1e-12)


def test_two_moons():
    a, b, c = two_moons(100, seed=0), two_moons(100, seed=0), two_moons(100, seed=1)
    assert a.shape == (100, 2) and a.dtype == F64
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.allclose(a.mean(0), torch.zeros(2, dtype=F64), atol=1e-12)
    assert torch.allclose(a.std(0, unbiased=False), torch.ones(2, dtype=F64), atol=1e-12)


# -- training ------------------------------------------------------------------------------


def test_fit_energy_lowers_the_reverse_kl():
    torch.manual_seed(0)
    cnf = CNF(PlanarCNF(dim=2, width=8, hidden=16).double(), method="rk4", step_size=0.25)
    z_eval = torch.randn(500, 2, dtype=F64, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        before = float(reverse_kl(cnf, U1, z_eval))
    losses = fit_energy(cnf, U1, n_iters=40, batch=64, lr=3e-2, progress=False)
    with torch.no_grad():
        after = float(reverse_kl(cnf, U1, z_eval))
    assert len(losses) == 40 and after < before - 1.0


def test_fit_samples_lowers_the_nll():
    torch.manual_seed(0)
    data = two_moons(128, seed=0)
    cnf = CNF(PlanarCNF(dim=2, width=8, hidden=16).double(), method="rk4", step_size=0.25)
    with torch.no_grad():
        before = -float(cnf.log_prob(data).mean())
    fit_samples(cnf, data, n_iters=40, batch=64, lr=3e-2, progress=False)
    with torch.no_grad():
        after = -float(cnf.log_prob(data).mean())
    assert after < before - 0.2


# -- bad input -----------------------------------------------------------------------------


def ident(t, z):
    return z


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(func=3), TypeError, "func"),
        (dict(func=ident, t0="0"), TypeError, "t0"),
        (dict(func=ident, t0=1.0, t1=1.0), ValueError, "t0 must be < t1"),
        (dict(func=ident, trace="jacobian"), ValueError, "trace"),
        (dict(func=ident, noise="uniform"), ValueError, "noise"),
    ],
)
def test_cnf_constructor_errors(kwargs, error, words):
    with pytest.raises(error, match=words):
        CNF(**kwargs)


def test_cnf_call_errors():
    cnf = CNF(ident)
    z = torch.randn(4, 2)
    with pytest.raises(ValueError, match="z must be"):
        cnf.integrate(torch.randn(4), torch.zeros(4), [0.0, 1.0])
    with pytest.raises(ValueError, match="logp must be"):
        cnf.integrate(z, torch.zeros(3), [0.0, 1.0])
    with pytest.raises(ValueError, match="t must lie"):
        cnf.log_prob(z, t=2.0)
    with pytest.raises(TypeError, match="t must be a number"):
        cnf.sample(z, t="1")
    with pytest.raises(ValueError, match="eps must have"):
        CNF(ident, trace="hutchinson").log_prob(z, eps=torch.zeros(3, 2))
    with pytest.raises(ValueError, match="func must return"):
        CNF(lambda t, z: z[:, :1]).log_prob(z)


def test_helper_errors():
    z = torch.randn(3, 2, requires_grad=True)
    with pytest.raises(ValueError, match="dz and z"):
        trace_exact(z[:, :1], z)
    with pytest.raises(TypeError, match="dz and z"):
        trace_exact([1.0], z)
    with pytest.raises(ValueError, match="eps"):
        trace_hutchinson(z * 2, z, torch.zeros(3))
    with pytest.raises(ValueError, match="noise"):
        sample_noise((2, 2), "uniform")
    with pytest.raises(ValueError, match="J must be"):
        hutchinson_variance(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="n must be"):
        grid(n=1)
    with pytest.raises(ValueError, match="lim must be"):
        grid(lim=-1.0)
    with pytest.raises(ValueError, match="energy must be"):
        target_density("U9")
    with pytest.raises(ValueError, match="n must be"):
        two_moons(1)
    with pytest.raises(ValueError, match="noise must be"):
        two_moons(10, noise=-0.1)
    with pytest.raises(ValueError, match="width must be"):
        GatedHyperNet(width=0)


def test_training_errors():
    cnf = CNF(PlanarCNF().double())
    with pytest.raises(TypeError, match="cnf must be"):
        fit_energy("cnf", U1)
    with pytest.raises(ValueError, match="no parameters"):
        fit_energy(CNF(ident), U1)
    with pytest.raises(ValueError, match="n_iters"):
        fit_energy(cnf, U1, n_iters=0)
    with pytest.raises(ValueError, match="lr"):
        fit_samples(cnf, torch.zeros(4, 2), lr=0)
    with pytest.raises(TypeError, match="energy must be"):
        fit_energy(cnf, "U1")
    with pytest.raises(ValueError, match="data must be"):
        fit_samples(cnf, torch.zeros(4))
