"""Lesson 08's models and data: ODEMap against torchdiffeq, flows keep order, the data sets."""

import math

import pytest
import torch
import torchdiffeq

from node_edu.data.limits import circles, reflection, ring
from node_edu.models.augmented import MLPField, ODEMap, augment

TIGHT = dict(method="dopri5", rtol=1e-10, atol=1e-12)


def test_augment_appends_zero_columns(device):
    x = torch.randn(4, 3, device=device)
    z = augment(x, 2)
    assert z.shape == (4, 5) and z.device == x.device
    assert torch.equal(z[:, :3], x) and torch.equal(z[:, 3:], torch.zeros(4, 2, device=device))
    assert torch.equal(augment(x, 0), x)


def test_augment_rejects_bad_arguments():
    with pytest.raises(ValueError, match="extra must be an integer >= 0, got -1"):
        augment(torch.zeros(2, 1), -1)
    with pytest.raises(ValueError, match=r"x must be a tensor of shape \[batch, dim\]"):
        augment(torch.zeros(3), 1)


@pytest.mark.parametrize(("extra", "readout"), [(0, False), (1, False), (2, True)])
def test_odemap_is_the_end_point_of_torchdiffeqs_solve(device, extra, readout):
    torch.manual_seed(0)
    model = ODEMap(2, extra, hidden=8, readout=readout, solver=TIGHT, dtype=torch.float64,
                   device=device)  # fmt: skip
    x = torch.randn(5, 2, dtype=torch.float64, device=device)
    z0 = torch.cat([x, torch.zeros(5, extra, dtype=torch.float64, device=device)], dim=1)
    t = torch.tensor([0.0, 1.0], dtype=torch.float64, device=device)
    z1 = torchdiffeq.odeint(model.field, z0, t, rtol=1e-10, atol=1e-12)[-1]
    expected = model.readout(z1) if readout else z1[:, :2]
    assert torch.allclose(model(x), expected, atol=1e-8)
    traj = model.trajectories(x, n=5)
    assert traj.shape == (5, 5, 2 + extra) and torch.allclose(traj[-1], z1, atol=1e-8)


def test_a_1d_flow_keeps_the_order_of_points():
    """Trajectories cannot cross (uniqueness), so a 1-D flow is increasing, whatever f."""
    x = torch.linspace(-2, 2, 200, dtype=torch.float64)[:, None]
    for seed in range(5):
        torch.manual_seed(seed)
        model = ODEMap(1, hidden=16, t1=3.0, solver=TIGHT, dtype=torch.float64)
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(3)  # a strong field
        assert (model(x).diff(dim=0) > 0).all()


def test_field_and_map_reject_bad_arguments():
    with pytest.raises(ValueError, match="hidden must be finite and > 0"):
        MLPField(2, 0)
    with pytest.raises(TypeError, match="dim must be an int > 0"):
        ODEMap(1.5)
    with pytest.raises(ValueError, match="extra must be an integer >= 0"):
        ODEMap(2, extra=-1)
    with pytest.raises(TypeError, match="solver must be a dict"):
        ODEMap(2, solver="rk4")


def test_reflection_is_minus_x_on_a_symmetric_grid():
    x, y = reflection(5)
    assert x.shape == (5, 1) and torch.equal(y, -x)
    assert x[:, 0].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    # the mean of x^2 on linspace(-1, 1, n) is (n + 1) / (3 (n - 1)) (sum of squares)
    x64, _ = reflection(64, dtype=torch.float64)
    assert math.isclose(float(x64.pow(2).mean()), 65 / 189, rel_tol=1e-12)


def test_circles_have_the_right_radii_and_labels():
    x, y = circles(300, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    r = x.norm(dim=1)
    assert x.shape == (300, 2) and y.shape == (300,)
    assert int((y == -1).sum()) == 100 and int((y == 1).sum()) == 200
    assert (r[y == -1] <= 0.5).all() and ((r[y == 1] >= 1.0) & (r[y == 1] <= 1.5)).all()
    # uniform in area: half of the disk's points lie within radius 0.5 / sqrt(2)
    inner = r[y == -1]
    assert abs(float((inner < 0.5 / math.sqrt(2)).double().mean()) - 0.5) < 0.12
    again, _ = circles(300, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.equal(x, again)  # seeded


def test_ring_and_data_reject_bad_arguments():
    pts = ring(8, 2.0, dtype=torch.float64)
    assert torch.allclose(pts.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))
    assert torch.allclose(pts[2], torch.tensor([0.0, 2.0], dtype=torch.float64), atol=1e-15)
    with pytest.raises(ValueError, match="r_inner < r_annulus"):
        circles(10, r_inner=1.2)
    with pytest.raises(TypeError, match="n must be an int > 0"):
        reflection(2.5)
    with pytest.raises(ValueError, match="r must be finite and > 0"):
        ring(10, -1.0)


def test_winding_number_counts_turns_around_each_point():
    from node_edu.models.augmented import winding_number

    theta = torch.linspace(0, 2 * math.pi, 401)[:-1]
    circle = torch.stack([theta.cos(), theta.sin()], dim=1)
    points = torch.tensor([[0.0, 0.0], [0.5, -0.3], [2.0, 0.0], [0.0, -1.5]])
    assert winding_number(circle, points).tolist() == [1, 1, 0, 0]
    assert winding_number(circle.flip(0), points).tolist() == [-1, -1, 0, 0]  # clockwise
    twice = torch.cat([circle, circle])
    assert winding_number(twice, points).tolist() == [2, 2, 0, 0]
    # a figure eight around (+-1, 0): opposite turns, so its centre lobes count +1 and -1
    eight = torch.stack([theta.sin(), (2 * theta).sin() / 2], dim=1)
    lobes = winding_number(eight, torch.tensor([[0.7, 0.0], [-0.7, 0.0]])).abs().tolist()
    assert lobes == [1, 1]
    with pytest.raises(ValueError, match=r"curve must be a tensor of shape \[n, 2\]"):
        winding_number(torch.zeros(5, 3), points)
    with pytest.raises(ValueError, match=r"points must be a tensor of shape \[m, 2\]"):
        winding_number(circle, torch.zeros(2))
