"""node_edu.models.latent: the ELBO against torch.distributions, the union of times against
per-series solves (torchdiffeq), and the models' shapes, training and errors."""

import pytest
import torch
import torchdiffeq
from torch.distributions import Normal, kl_divergence

import node_edu as ne
from node_edu.data.series import damped_oscillations
from node_edu.models.latent import (
    Encoder,
    LatentODE,
    RNNBaseline,
    elbo,
    fit,
    gather,
    gaussian_log_likelihood,
    heldout_error,
    kl_to_standard_normal,
    n_parameters,
    union_cost,
    union_mask,
    union_times,
)

DT = torch.float64
TIGHT = dict(method="dopri5", rtol=1e-10, atol=1e-12)


def test_elbo_terms_match_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    x, m = (
        torch.randn(3, 4, 2, generator=gen, dtype=DT),
        torch.randn(3, 4, 2, generator=gen, dtype=DT),
    )
    mean, logvar = (
        torch.randn(3, 5, generator=gen, dtype=DT),
        torch.randn(3, 5, generator=gen, dtype=DT),
    )
    log_px = Normal(m, 0.4).log_prob(x).sum(dim=(1, 2))
    kl = kl_divergence(Normal(mean, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(1)
    assert torch.allclose(gaussian_log_likelihood(x, m, 0.4), log_px)
    assert torch.allclose(kl_to_standard_normal(mean, logvar), kl)
    assert torch.allclose(elbo(x, m, 0.4, mean, logvar), log_px - kl)
    assert float(kl_to_standard_normal(torch.zeros(1, 3), torch.zeros(1, 3))) == 0.0


def test_union_times_index_gather_and_mask_against_loops():
    t = torch.tensor([[0.5, 1.0, 2.0], [0.25, 1.0, 3.0], [0.5, 0.75, 2.0]])
    t_union, index = union_times(t)
    assert t_union.tolist() == sorted(set(t.reshape(-1).tolist()))  # sorted, each time once
    assert torch.equal(t_union[index], t)
    x_union = torch.randn(3, len(t_union), 2)
    picked = gather(x_union, index)
    for b in range(3):
        for j in range(3):
            k = t_union.tolist().index(t[b, j].item())
            assert torch.equal(picked[b, j], x_union[b, k])
    mask = union_mask(index, len(t_union))
    expected = [[u in t[b].tolist() for u in t_union.tolist()] for b in range(3)]
    assert mask.tolist() == expected and int(mask.sum()) == t.numel()


def _model64(**kw):
    torch.manual_seed(0)
    return LatentODE(latent_dim=3, hidden=8, solver=TIGHT, **kw).double()


def test_decode_at_equals_per_series_solves_by_torchdiffeq():
    model = _model64()
    data = damped_oscillations(5, 6, dtype=DT)
    z0 = torch.randn(5, 3, dtype=DT)
    got = model.decode_at(z0, data.t)
    for b in range(5):
        grid = torch.cat([torch.zeros(1, dtype=DT), data.t[b]])
        with torch.no_grad():
            z = torchdiffeq.odeint(model.func, z0[b], grid, rtol=1e-11, atol=1e-13)[1:]
            assert torch.allclose(got[b], model.decoder(z), rtol=0, atol=1e-8)


def test_decode_starts_at_t0_and_rejects_earlier_times():
    model = _model64(t0=0.5)
    z0 = torch.randn(2, 3, dtype=DT)
    t = torch.tensor([1.0, 2.0], dtype=DT)
    with torch.no_grad():
        z = torchdiffeq.odeint(model.func, z0, torch.tensor([0.5, 1.0, 2.0], dtype=DT),
                               rtol=1e-11, atol=1e-13)[1:]  # fmt: skip
        assert torch.allclose(
            model.decode(z0, t), model.decoder(z).transpose(0, 1), rtol=0, atol=1e-8
        )
        assert torch.allclose(model.decode(z0, torch.tensor([0.5, 1.0], dtype=DT))[:, 0],
                              model.decoder(z0))  # fmt: skip
    with pytest.raises(ValueError, match="t must start at or after t0 = 0.5"):
        model.decode(z0, torch.tensor([0.0, 1.0], dtype=DT))
    with pytest.raises(ValueError, match="t must be a 1-D tensor of times"):
        model.decode(z0, torch.zeros(2, 2, dtype=DT))


def test_default_rk4_step_is_accurate_on_the_true_oscillations():
    """rk4 with step 0.5 against matrix_exp, the fastest oscillation, [0, 10]: < 0.01."""
    A = torch.tensor([[-0.1, -1.2], [1.2, -0.1]], dtype=DT)
    z0 = torch.tensor([1.4, 0.0], dtype=DT)
    t = torch.linspace(0.0, 10.0, 101, dtype=DT)
    z = ne.odeint(lambda t, z: A @ z, z0, t, method="rk4", step_size=0.5)
    exact = torch.stack([torch.linalg.matrix_exp(A * s) @ z0 for s in t])
    assert (z - exact).abs().max() < 0.01


def test_encoder_reads_the_series_backwards():
    """Oracle: a GRUCell with the GRU's weights, stepped from the last observation to the first."""
    torch.manual_seed(1)
    enc = Encoder(1, 6, 4).double()
    t = torch.sort(torch.rand(2, 5, dtype=DT), dim=1).values
    x = torch.randn(2, 5, 1, dtype=DT)
    cell = torch.nn.GRUCell(2, 6).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(enc.gru, name + "_l0"))
        h = torch.zeros(2, 6, dtype=DT)
        for j in reversed(range(5)):
            h = cell(torch.cat([x[:, j], t[:, j : j + 1]], dim=1), h)
        assert torch.allclose(enc(t, x), enc.out(h), rtol=0, atol=1e-12)


def test_adjoint_gives_the_same_gradients_as_backprop():
    data = damped_oscillations(4, 5, dtype=DT)
    grads = []
    for adjoint in (False, True):
        model = _model64(adjoint=adjoint)
        model.solver = dict(method="dopri5", rtol=1e-9, atol=1e-11)
        torch.manual_seed(5)
        model.loss(data.t, data.x, 0.1).backward()
        grads.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]))
    assert torch.allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)


def test_rnn_prediction_depends_on_the_query_grid_and_the_latent_odes_does_not():
    data = damped_oscillations(3, 6, dtype=DT)
    torch.manual_seed(0)
    rnn, ode = RNNBaseline(hidden=8).double(), _model64()
    sparse = torch.tensor([1.0, 7.0], dtype=DT)
    dense = torch.linspace(0.0, 7.0, 29, dtype=DT)[1:]  # holds 1.0 and 7.0
    at = [int((dense - s).abs().argmin()) for s in sparse]
    assert torch.allclose(ode.predict(data.t, data.x, sparse),
                          ode.predict(data.t, data.x, dense)[:, at], rtol=0, atol=1e-8)  # fmt: skip
    r_sparse, r_dense = rnn.predict(data.t, data.x, sparse), rnn.predict(data.t, data.x, dense)
    assert (r_sparse[:, 1] - r_dense[:, at[1]]).abs().max() > 1e-3


def test_shapes_devices_and_parameter_counts(device):
    data = damped_oscillations(6, 5, device=device)
    for model in (LatentODE(), RNNBaseline()):
        model.to(device)
        x = model.predict(data.t, data.x, data.random_times(3, 0.0, 9.0))
        assert x.shape == (6, 3, 1) and x.device.type == device
        assert model.predict(data.t, data.x, data.dense_times(7)).shape == (6, 7, 1)
    assert n_parameters(LatentODE()) == sum(p.numel() for p in LatentODE().parameters())


def test_fit_lowers_the_loss_reproducibly_and_heldout_error_is_the_rms():
    data = damped_oscillations(16, 6)
    runs = []
    for _ in range(2):
        torch.manual_seed(123)  # model initialisation
        model = LatentODE(hidden=8)
        runs.append(fit(model, data, 12, batch_size=8, lr=0.02, seed=4, progress=False))
    assert runs[0] == runs[1]
    assert sum(runs[0][-3:]) < sum(runs[0][:3])
    t = data.random_times(4, 6.0, 9.0)
    expected = (model.predict(data.t, data.x, t) - data.truth(t)).pow(2).mean().sqrt()
    assert heldout_error(model, data, t) == pytest.approx(float(expected))
    rnn_losses = fit(RNNBaseline(hidden=8), data, 12, batch_size=8, progress=False)
    assert sum(rnn_losses[-3:]) < sum(rnn_losses[:3])


def test_union_cost_counts_outputs_and_evaluations():
    torch.manual_seed(0)
    func = LatentODE(latent_dim=3, hidden=8).double().func
    data = damped_oscillations(4, 5, dtype=DT)
    z0 = torch.randn(4, 3, dtype=DT)
    seen = []  # an independent count: every call of func, with its batch size

    def counted(t, z):
        seen.append(z.shape[0])
        return func(t, z)

    cost = union_cost(counted, z0, data.t, dict(method="rk4", step_size=0.5))
    T = len(set(data.t.reshape(-1).tolist()))  # counted by hand: distinct times
    assert cost["union"]["outputs"] == T + 1 and cost["union"]["values"] == (T + 1) * 4 * 3
    assert cost["per_series"]["outputs"] == 4 * 6 and cost["per_series"]["values"] == 4 * 6 * 3
    # rk4 with step 0.5: 4 evaluations a step, steps up to the last time (the last one
    # shortened), give or take one evaluation a solve at the end of the grid
    steps = [int(torch.ceil(data.t[b, -1] / 0.5 - 1e-9)) for b in range(4)]
    assert abs(cost["per_series"]["nfe"] - 4 * sum(steps)) <= 4
    assert abs(cost["union"]["nfe"] - 4 * max(steps)) <= 1
    union_calls = cost["union"]["calls"]
    assert seen[:union_calls] == [4] * union_calls  # the union's solve: every call, all 4
    assert seen[union_calls:] == [1] * cost["per_series"]["calls"]  # then one series a call
    for how in ("union", "per_series"):
        row = cost[how]
        assert row["calls"] == row["nfe"]  # the wrapper's count = SolverStats'
    assert cost["union"]["rows"] == 4 * union_calls
    assert cost["per_series"]["rows"] == cost["per_series"]["calls"] == len(seen) - union_calls
    assert torch.allclose(cost["union"]["z"], cost["per_series"]["z"], rtol=0, atol=1e-4)


def test_bad_arguments_are_named():
    data = damped_oscillations(4, 3)
    with pytest.raises(TypeError, match="t must be a floating-point torch.Tensor"):
        union_times([[1.0]])
    with pytest.raises(ValueError, match=r"t must have shape \[B, n\]"):
        union_times(torch.ones(3))
    with pytest.raises(ValueError, match="t must be finite"):
        union_times(torch.tensor([[1.0, float("nan")]]))
    with pytest.raises(ValueError, match=r"x must have shape \[B, n, d\] = \[4, 3, d\]"):
        LatentODE().posterior(data.t, data.x[:, :2])
    with pytest.raises(TypeError, match="model must be a LatentODE or an RNNBaseline"):
        fit(torch.nn.Linear(1, 1), data, 1)
    with pytest.raises(TypeError, match="data must be a node_edu.data.series.IrregularSeries"):
        fit(LatentODE(), {}, 1)
    with pytest.raises(ValueError, match="batch_size must be at most the number of series"):
        fit(LatentODE(), data, 1, batch_size=5)
    with pytest.raises(ValueError, match="n_iters must be an int >= 1"):
        fit(LatentODE(), data, 0)
    with pytest.raises(ValueError, match="latent_dim must be an int >= 1"):
        LatentODE(latent_dim=0)
    with pytest.raises(TypeError, match="t must be a 1-D tensor of times, got list"):
        LatentODE().decode(torch.zeros(1, 4), [1.0])
    for model in (LatentODE(), RNNBaseline()):
        with pytest.raises(TypeError, match=r"t_query must be a tensor of times, \[k\] or"):
            model.predict(data.t, data.x, [1.0, 2.0])
