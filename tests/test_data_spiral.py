"""node_edu.data.spiral: the spiral against torchdiffeq, and the sub-trajectory batches."""

import math
import re

import numpy as np
import pytest
import torch
import torchdiffeq

from node_edu.data.spiral import A_TRUE, Trajectory, batch, spiral, windows

DT = torch.float64


def exactly(message):
    """A ``match`` for the whole message, literally."""
    return f"^{re.escape(message)}$"


def _torchdiffeq_spiral(t, z0=(2.0, 0.0), A=A_TRUE):
    A = torch.tensor(A, dtype=DT)
    return torchdiffeq.odeint(
        lambda t, z: A @ z**3, torch.tensor(z0, dtype=DT), t, rtol=1e-11, atol=1e-13
    )


def test_spiral_matches_torchdiffeq_in_float64(device):
    data = spiral(40, t1=10.0, dtype=DT, device=device)
    assert data.t.device.type == device and data.z.dtype == DT and len(data) == 40
    t = torch.linspace(0.0, 10.0, 40, dtype=DT)
    assert torch.equal(data.t.cpu(), t)
    assert torch.allclose(data.z.cpu(), _torchdiffeq_spiral(t), atol=1e-8)
    assert torch.equal(data.A.cpu(), torch.tensor(A_TRUE, dtype=DT))


def test_spiral_default_is_float32_and_follows_the_true_field():
    data = spiral()
    assert data.z.dtype == torch.float32 and data.z.shape == (100, 2) and data.t.shape == (100,)
    assert data.z[0].tolist() == [2.0, 0.0] and float(data.t[-1]) == 25.0
    ref = _torchdiffeq_spiral(data.t.double())
    assert torch.allclose(data.z.double(), ref, atol=1e-6)
    # a central difference of the observations approximates A z^3 (h = 0.25: O(h^2) ~ 0.5)
    A = torch.tensor(A_TRUE, dtype=DT)
    z = data.z.double()
    fd = (z[2:] - z[:-2]) / (2 * float(data.t[1]))
    rel = (fd - z[1:-1] ** 3 @ A.T).norm(dim=1) / (z[1:-1] ** 3 @ A.T).norm(dim=1)
    assert rel.median() < 0.1


def test_spiral_other_matrix_and_start():
    A = ((-0.5, 1.0), (-1.0, -0.5))
    data = spiral(11, t1=2.0, z0=(1.0, 1.0), A=A, dtype=DT)
    assert torch.allclose(data.z, _torchdiffeq_spiral(data.t, (1.0, 1.0), A), atol=1e-8)


def test_batch_windows_are_consecutive_observations(device):
    data = spiral(50, dtype=DT, device=device)
    z0, t, z = batch(data, 7, 5, generator=torch.Generator().manual_seed(3))
    assert z0.shape == (7, 2) and t.shape == (5,) and z.shape == (5, 7, 2)
    assert z.device.type == device
    assert torch.equal(t, data.t[:5])
    assert torch.equal(z[0], z0)
    for b in range(7):
        s = int((data.z == z0[b]).all(dim=1).nonzero()[0])
        assert torch.equal(z[:, b], data.z[s : s + 5])


def test_batch_windows_solve_the_true_field_from_time_zero():
    """The field is autonomous: each window is the solution from its z0 on t[:k] - t[0]."""
    data = spiral(60, dtype=DT)
    z0, t, z = batch(data, 5, 8, generator=torch.Generator().manual_seed(0))
    A = torch.tensor(A_TRUE, dtype=DT)
    ref = torchdiffeq.odeint(lambda t, z: z**3 @ A.T, z0, t, rtol=1e-11, atol=1e-13)
    assert torch.allclose(z, ref, atol=1e-7)


def test_batch_is_reproducible_with_a_generator_and_covers_the_end():
    data = spiral(12, dtype=DT)
    a = batch(data, 4, 3, generator=torch.Generator().manual_seed(1))
    b = batch(data, 4, 3, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    # the whole trajectory as one window: the only start is 0
    z0, t, z = batch(data, 2, 12)
    assert torch.equal(z[:, 0], data.z) and torch.equal(t, data.t)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_times=1), ValueError, exactly("n_times must be an integer >= 2, got 1")),
        (dict(n_times=10.0), TypeError, exactly("n_times must be an integer >= 2, got 10.0")),
        (dict(n_times=True), TypeError,
         exactly("n_times must be an integer >= 2, got True (bool)")),
        (dict(t1=0.0), ValueError, exactly("t1 must be a number > 0, got 0.0")),
        (dict(t1="5"), TypeError, exactly("t1 must be a number > 0, got '5' (str)")),
        (dict(t1=True), TypeError, exactly("t1 must be a number > 0, got True (bool)")),
        (dict(t1=math.nan), ValueError, exactly("t1 must be a finite number > 0, got nan")),
        (dict(t1=math.inf), ValueError, exactly("t1 must be a finite number > 0, got inf")),
        (dict(dtype=torch.int64), TypeError,
         exactly("dtype must be a floating-point torch.dtype, got torch.int64 (dtype)")),
        (dict(dtype="float32"), TypeError,
         exactly("dtype must be a floating-point torch.dtype, got 'float32' (str)")),
        (dict(A=((1.0, 2.0),)), ValueError, r"A must be a square matrix.*\(1, 2\)"),
        (dict(z0=(1.0, 2.0, 3.0)), ValueError, r"z0 of shape \(3,\)"),
    ],
)  # fmt: skip
def test_spiral_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        spiral(**kwargs)


@pytest.mark.parametrize(
    "args, error, match",
    [
        (("data", 4, 3), TypeError,
         exactly("data must be a node_edu.data.spiral.Trajectory, got 'data' (str)")),
        ((None, 0, 3), ValueError, exactly("batch_size must be an integer >= 1, got 0")),
        ((None, True, 3), TypeError,
         exactly("batch_size must be an integer >= 1, got True (bool)")),
        ((None, 2, 1.5), TypeError, exactly("batch_time must be an integer in [2, 12], got 1.5")),
        ((None, 2, False), TypeError,
         exactly("batch_time must be an integer in [2, 12], got False (bool)")),
        ((None, 2, 1), ValueError, exactly("batch_time must be an integer in [2, 12], got 1")),
        ((None, 2, 13), ValueError, exactly("batch_time must be an integer in [2, 12], got 13")),
    ],
)  # fmt: skip
def test_batch_rejects_bad_arguments(args, error, match):
    data = spiral(12, dtype=DT)
    args = (data if args[0] is None else args[0],) + args[1:]
    with pytest.raises(error, match=match):
        batch(*args)


def test_trajectory_len():
    assert len(Trajectory(torch.zeros(3), torch.zeros(3, 2), torch.eye(2))) == 3


def test_windows_are_every_run_of_consecutive_observations(device):
    data = spiral(30, t1=6.0, dtype=DT, device=device)
    z0, t, z = windows(data, 4)
    assert z0.shape == (27, 2) and t.shape == (4,) and z.shape == (4, 27, 2)
    assert z.device.type == device and torch.equal(t, data.t[:4] - data.t[0])
    for s in range(27):  # oracle: the data indexed by hand
        assert torch.equal(z[:, s], data.z[s : s + 4]) and torch.equal(z0[s], data.z[s])
    # the same windows at every call (a deterministic loss), and batch draws among them
    assert all(torch.equal(a, b) for a, b in zip(windows(data, 4), (z0, t, z), strict=True))
    zb0, _, zb = batch(data, 6, 4, generator=torch.Generator().manual_seed(0))
    starts = torch.randint(0, 27, (6,), generator=torch.Generator().manual_seed(0)).to(device)
    assert torch.equal(zb, z[:, starts]) and torch.equal(zb0, z0[starts])


def test_windows_solve_the_true_field_from_time_zero():
    data = spiral(40, t1=8.0, dtype=DT)
    z0, t, z = windows(data, 6)
    A = torch.tensor(A_TRUE, dtype=DT)
    ref = torchdiffeq.odeint(lambda t, z: z**3 @ A.T, z0, t, rtol=1e-11, atol=1e-13)
    assert torch.allclose(z, ref, rtol=0, atol=1e-7)


@pytest.mark.parametrize(
    "batch_time, error, match",
    [
        (1, ValueError, exactly("batch_time must be an integer in [2, 10], got 1")),
        (11, ValueError, exactly("batch_time must be an integer in [2, 10], got 11")),
        (2.0, TypeError, exactly("batch_time must be an integer in [2, 10], got 2.0")),
        (True, TypeError, exactly("batch_time must be an integer in [2, 10], got True (bool)")),
    ],
)
def test_windows_rejects_bad_lengths(batch_time, error, match):
    with pytest.raises(error, match=match):
        windows(spiral(10), batch_time)
    with pytest.raises(
        TypeError, match=exactly("data must be a node_edu.data.Trajectory, got [1, 2] (list)")
    ):
        windows([1, 2], 2)


def test_numpy_integers_are_counts_too():
    data = spiral(np.int64(12), t1=np.float32(3.0), dtype=DT)
    assert len(data) == 12 and len(data.first(np.int32(5))) == 5
    z0, t, z = batch(data, np.int64(3), np.int64(4))
    assert z0.shape == (3, 2) and t.shape == (4,) and z.shape == (4, 3, 2)
    assert windows(data, np.int16(4))[2].shape == (4, 9, 2)


def test_first_keeps_the_first_observations():
    data = spiral(20, t1=4.0, dtype=DT)
    part = data.first(7)
    assert isinstance(part, Trajectory) and len(part) == 7
    assert torch.equal(part.t, data.t[:7]) and torch.equal(part.z, data.z[:7])
    assert torch.equal(part.A, data.A)
    bads = ((1, ValueError, "1"), (21, ValueError, "21"), (3.0, TypeError, "3.0"),
            (True, TypeError, "True (bool)"))  # fmt: skip
    for bad, error, given in bads:
        with pytest.raises(error, match=exactly(f"n must be an integer in [2, 20], got {given}")):
            data.first(bad)
