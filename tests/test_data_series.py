"""node_edu.data.series: the damped oscillations against an ODE solver, and their times."""

import math

import pytest
import torch
import torchdiffeq

from node_edu.data.series import IrregularSeries, damped_oscillations

DT = torch.float64


def test_truth_is_the_first_coordinate_of_the_linear_ode():
    """x_b(t) solves dz/dt = [[-gamma, -omega_b], [omega_b, -gamma]] z (torchdiffeq, tight)."""
    data = damped_oscillations(5, 10, dtype=DT)
    t = torch.linspace(0.0, 10.0, 41, dtype=DT)
    for b in range(5):
        w, g = float(data.omega[b]), data.gamma
        A = torch.tensor([[-g, -w], [w, -g]], dtype=DT)
        a, phi = float(data.amplitude[b]), float(data.phase[b])
        z0 = torch.tensor([a * math.cos(phi), a * math.sin(phi)], dtype=DT)
        z = torchdiffeq.odeint(lambda t, z, A=A: A @ z, z0, t, rtol=1e-11, atol=1e-13)
        assert torch.allclose(data.truth(t)[b, :, 0], z[:, 0], atol=1e-9)


def test_times_are_distinct_sorted_ticks_inside_the_window_and_differ_between_series():
    data = damped_oscillations(64, 10)
    assert data.t.shape == (64, 10) and data.x.shape == (64, 10, 1)
    assert data.t.dtype == data.x.dtype == torch.float32 and len(data) == 64
    assert bool((data.t.diff(dim=1) > 0).all())  # strictly increasing per series
    assert float(data.t.min()) > 0.0 and float(data.t.max()) <= 6.0  # no time at t0 itself
    ticks = data.t.double() / 0.25
    assert torch.allclose(ticks, ticks.round(), atol=1e-5)  # multiples of the resolution
    assert len({tuple(row) for row in data.t.tolist()}) > 60  # series have their own times
    free = damped_oscillations(8, 5, resolution=None, dtype=DT)
    assert len(set(free.t.reshape(-1).tolist())) == 40  # continuous times never coincide


def test_noise_has_the_stated_standard_deviation():
    data = damped_oscillations(200, 20, noise=0.1, dtype=DT)
    residual = data.x - data.truth(data.t)
    assert abs(float(residual.std()) - 0.1) < 0.01  # 4000 draws: std error ~ 0.0011
    assert abs(float(residual.mean())) < 0.01
    clean = damped_oscillations(4, 6, noise=0.0, dtype=DT)
    assert torch.equal(clean.x, clean.truth(clean.t))


def test_parameters_lie_in_their_ranges_and_seeds_reproduce():
    data = damped_oscillations(100, 4, omega=(1.0, 2.0), amplitude=(0.5, 0.6), seed=3)
    assert float(data.omega.min()) >= 1.0 and float(data.omega.max()) <= 2.0
    assert float(data.amplitude.min()) >= 0.5 and float(data.amplitude.max()) <= 0.6
    assert float(data.phase.min()) >= 0.0 and float(data.phase.max()) < 2 * math.pi
    again = damped_oscillations(100, 4, omega=(1.0, 2.0), amplitude=(0.5, 0.6), seed=3)
    assert torch.equal(data.t, again.t) and torch.equal(data.x, again.x)
    other = damped_oscillations(100, 4, omega=(1.0, 2.0), amplitude=(0.5, 0.6), seed=4)
    assert not torch.equal(data.x, other.x)


def test_random_and_dense_times():
    data = damped_oscillations(16, 5)
    t = data.random_times(7, 6.0, 9.0)
    assert t.shape == (16, 7) and t.dtype == torch.float32
    assert float(t.min()) >= 6.0 and float(t.max()) <= 9.0 and bool((t.diff(dim=1) >= 0).all())
    assert torch.equal(t, data.random_times(7, 6.0, 9.0))  # the same call, the same times
    assert not torch.equal(t, data.random_times(7, 6.0, 9.0, seed=2))
    dense = data.dense_times(11)
    assert torch.allclose(dense, torch.linspace(0.0, 6.0, 11))
    assert data.truth(dense).shape == (16, 11, 1)  # shared times broadcast to every series


def test_device_and_dtype(device):
    data = damped_oscillations(3, 4, dtype=DT, device=device)
    assert data.t.device.type == device and data.x.dtype == DT
    assert data.truth(data.t).device.type == device
    assert data.random_times(2, 0.0, 1.0).device.type == device


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(n_series=0), ValueError, "n_series must be an int >= 1, got 0"),
        (dict(n_series=2.0), TypeError, "n_series must be an int"),
        (dict(n_obs=1), ValueError, "n_obs must be an int >= 2"),
        (dict(n_obs=30), ValueError, "n_obs must be at most the 24 ticks"),
        (dict(window=(1.0, 1.0)), ValueError, "window must be"),
        (dict(window=3.0), TypeError, "window must be a pair"),
        (dict(omega=(2.0, 1.0)), ValueError, "omega must be"),
        (dict(noise=-0.1), ValueError, "noise must be a finite number >= 0"),
        (dict(gamma=float("nan")), ValueError, "gamma must be a finite number"),
        (dict(resolution=0.0), ValueError, "resolution must be > 0 or None"),
        (dict(seed=1.5), TypeError, "seed must be an int"),
        (dict(dtype=torch.int64), TypeError, "dtype must be a floating torch.dtype"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        damped_oscillations(**kwargs)


def test_bad_times_are_named():
    data = damped_oscillations(4, 3)
    assert isinstance(data, IrregularSeries)
    with pytest.raises(TypeError, match="t must be a torch.Tensor"):
        data.truth([1.0, 2.0])
    with pytest.raises(ValueError, match=r"t must have shape \[k\] or \[4, k\]"):
        data.truth(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="end must be greater than start"):
        data.random_times(3, 2.0, 1.0)
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        data.random_times(0, 0.0, 1.0)
