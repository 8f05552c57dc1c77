"""Lesson 05's helpers and widget, each against an oracle outside the code under test:
torch.linalg.matrix_exp / scipy's expm for the adjoint, finite differences for the loss,
autograd through an unrolled Euler loop for discretise-then-optimise."""

import numpy as np
import pytest
import scipy.linalg
import torch

from node_edu.linear import LinearODE
from node_edu.widgets.lesson05 import (
    JumpWidget,
    adjoint_by_segments,
    default_targets,
    euler_gap,
    gap_figure,
    observation_times,
)

DT = torch.float64
A_LIST = [[0.0, 1.0], [-2.0, -3.0]]  # eigenvalues -1, -2; not symmetric, so A^T matters
Z0 = [1.0, 0.5]


def _loss_np(z0, times, targets):  # the mean loss through scipy's expm, for finite differences
    A = np.array(A_LIST)
    return np.mean(
        [
            np.sum((scipy.linalg.expm(A * t) @ z0 - y) ** 2)
            for t, y in zip(times, targets, strict=True)
        ]
    )


def test_adjoint_by_segments_matches_matrix_exp_and_finite_differences(device):
    A = torch.tensor(A_LIST, dtype=DT, device=device)
    z0 = torch.tensor(Z0, dtype=DT, device=device)
    times = [0.5, 1.0]
    targets = torch.tensor([[0.2, -0.1], [0.0, 0.3]], dtype=DT, device=device)
    grid = [0.0, 0.25, 0.5, 0.75, 1.0]
    out = adjoint_by_segments(lambda t, z: A @ z, z0, grid, times, targets, rtol=1e-10, atol=1e-12)
    # exact: a(s^-) = sum_{t_i >= s} exp(A^T (t_i - s)) g_i, g_i = (2/m)(z(t_i) - y_i)
    zs = [torch.linalg.matrix_exp(A * t) @ z0 for t in times]
    g = [(2 / len(times)) * (z - y) for z, y in zip(zs, targets, strict=True)]
    for k, s in enumerate(grid):
        want = sum(
            (
                torch.linalg.matrix_exp(A.T * (t - s)) @ gi
                for t, gi in zip(times, g, strict=True)
                if t >= s
            ),
            torch.zeros(2, dtype=DT, device=device),
        )
        assert torch.allclose(out["a_minus"][k], want.cpu(), atol=1e-8), (s, out["a_minus"][k])
    for i in range(len(times)):
        assert torch.allclose(out["jumps"][i], g[i].cpu(), atol=1e-8)
    assert torch.equal(out["a_plus"][-1], torch.zeros(2, dtype=DT))  # nothing after t1
    # a(t0) is dL/dz0: central finite differences of the loss through scipy
    fd, h = np.zeros(2), 1e-6
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        zp, zm = np.array(Z0) + e, np.array(Z0) - e
        tg = targets.cpu().numpy()
        fd[j] = (_loss_np(zp, times, tg) - _loss_np(zm, times, tg)) / (2 * h)
    assert np.allclose(out["a_minus"][0].numpy(), fd, atol=1e-7)
    assert abs(out["loss"].item() - _loss_np(np.array(Z0), times, targets.cpu().numpy())) < 1e-9


def test_adjoint_by_segments_rejects_bad_input():
    A = torch.tensor(A_LIST, dtype=DT)
    z0 = torch.tensor(Z0, dtype=DT)
    f = lambda t, z: A @ z  # noqa: E731
    y = torch.zeros(1, 2, dtype=DT)
    with pytest.raises(ValueError, match="grid"):
        adjoint_by_segments(f, z0, [0.0, 0.0], [0.5], y)
    with pytest.raises(ValueError, match="times: every observation time"):
        adjoint_by_segments(f, z0, [0.0, 1.0], [0.5], y)
    with pytest.raises(ValueError, match="times: expected times in"):
        adjoint_by_segments(f, z0, [0.0, 1.0], [0.0], y)
    with pytest.raises(ValueError, match="times: expected strictly increasing"):
        adjoint_by_segments(f, z0, [0.0, 0.5, 1.0], [1.0, 0.5], torch.zeros(2, 2))
    with pytest.raises(ValueError, match="targets"):
        adjoint_by_segments(f, z0, [0.0, 1.0], [1.0], torch.zeros(2, 2))


def test_observation_times_and_targets():
    assert observation_times(3, 1.5) == [0.5, 1.0, 1.5]
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="m: expected"):
            observation_times(bad, 1.0)
    y = default_targets([0.0, 0.5])
    assert y.shape == (2, 2) and np.allclose(y, [[0.5, 0.0], [0.27, -0.421]])


def test_jump_widget_draws_the_exact_adjoint_and_the_library_numbers(device):
    A = torch.tensor(A_LIST, dtype=DT, device=device)
    z0 = torch.tensor(Z0, dtype=DT, device=device)
    w = JumpWidget(A, z0, t1=1.5, m=3)
    assert w.times == [0.5, 1.0, 1.5] and len(w.fig.data) == 5
    # jumps: (2/m)(z(t_i) - y_i) with z from matrix_exp, against both the exact and the numbers
    zs = np.stack([(torch.linalg.matrix_exp(A * t) @ z0).cpu().numpy() for t in w.times])
    want = 2 / 3 * (zs - w.targets)
    assert np.allclose(w.jumps_exact, want, atol=1e-12)
    assert np.allclose(w.jumps_numeric, want, atol=1e-8)
    # the exact curve: every x is in [0, t1]; at each t_i it drops by the jump (t decreasing)
    x, y0, y1 = np.array(w.fig.data[0].x), np.array(w.fig.data[0].y), np.array(w.fig.data[1].y)
    for i, t in enumerate(w.times[:-1]):
        k = np.flatnonzero(x == t)
        assert len(k) == 2  # a(t_i^-), then a(t_i^+)
        assert np.allclose([y0[k[0]] - y0[k[1]], y1[k[0]] - y1[k[1]]], want[i], atol=1e-12)
    # the curve between jumps against matrix_exp directly, at the midpoint of (0.5, 1.0]
    j = np.argmin(np.abs(x - 0.75))
    s = x[j]
    a = sum(
        torch.linalg.matrix_exp(A.T * (t - s)).cpu().numpy() @ want[i]
        for i, t in enumerate(w.times)
        if t >= s
    )
    assert np.allclose([y0[j], y1[j]], a, atol=1e-12)
    # markers: the numbers from odeint_adjoint at the grid times, drawn as they were computed
    assert np.allclose(w.fig.data[2].y, w.numeric["a_minus"][:, 0].numpy())
    assert list(w.fig.data[4].x) == w.times


def test_jump_widget_slider_and_explicit_times():
    w = JumpWidget(torch.tensor(A_LIST, dtype=DT), torch.tensor(Z0, dtype=DT), m=2)
    w.m_slider.value = 5  # the observer calls update
    assert len(w.times) == 5 and w.jumps_numeric.shape == (5, 2)
    w.update(times=[0.3, 0.9], targets=[[0.0, 0.0], [0.1, 0.1]])
    assert w.times == [0.3, 0.9] and w.m_slider.value == 2
    # after the last observation (0.9 < t1) the adjoint is zero
    x, y = np.array(w.fig.data[0].x), np.array(w.fig.data[0].y)
    assert np.all(y[x > 0.9] == 0) and np.any(x > 0.9)
    with pytest.raises(ValueError, match="targets"):
        w.update(times=[0.5], targets=[[0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="shift"):
        w.update(shift=2.0)
    with pytest.raises(ValueError, match="times"):
        w.update(times=[2.0])


def test_jump_widget_shift_moves_every_target_and_scales_the_jumps_linearly():
    A, z0 = torch.tensor(A_LIST, dtype=DT), torch.tensor(Z0, dtype=DT)
    w = JumpWidget(A, z0, m=2)
    base = w.jumps_exact.copy()
    w.shift_slider.value = 0.5  # the observer calls update
    assert np.allclose(w.targets, default_targets(w.times) + 0.5)
    # jump = (2/m)(z - y): shifting y by 0.5 changes every jump by -(2/m) 0.5 = -0.5
    assert np.allclose(w.jumps_exact, base - 0.5, atol=1e-12)
    assert np.allclose(w.jumps_numeric, base - 0.5, atol=1e-8)


def test_jump_widget_rejects_bad_construction():
    with pytest.raises(TypeError, match="A: expected a square"):
        JumpWidget(torch.zeros(2, 3, dtype=DT), torch.zeros(2, dtype=DT))
    with pytest.raises(ValueError, match="z0"):
        JumpWidget(torch.zeros(2, 2, dtype=DT), torch.zeros(3, dtype=DT))
    with pytest.raises(ValueError, match="n_markers"):
        JumpWidget(torch.zeros(2, 2, dtype=DT), torch.zeros(2, dtype=DT), n_markers=1)


def _euler_dz0_by_autograd(N, t1, times, targets):
    """Backprop through an unrolled Euler loop in torch: the oracle for euler_gradients."""
    A = torch.tensor(A_LIST, dtype=DT)
    z = torch.tensor(Z0, dtype=DT, requires_grad=True)
    z0, h, out = z, t1 / N, {}
    for k in range(1, N + 1):
        z = z + h * (A @ z)
        out[round(k * h, 12)] = z
    y = torch.tensor(targets, dtype=DT)
    loss = torch.stack([(out[t] - yi).pow(2).sum() for t, yi in zip(times, y, strict=True)]).mean()
    (g,) = torch.autograd.grad(loss, z0)
    return g.numpy()


def test_euler_gap_is_first_order_and_its_gradients_match_unrolled_autograd():
    system = LinearODE(A_LIST, Z0, 0, 1.5)
    times = [0.5, 1.0, 1.5]
    y = default_targets(times).tolist()
    table = euler_gap(system, y, [24, 48, 96, 192], times=times)
    exact = np.array([float(x) for x in system.gradients(y, times=times).dz0])
    for N, gap in zip(table["steps"], table["gap"], strict=True):
        assert abs(np.linalg.norm(_euler_dz0_by_autograd(N, 1.5, times, y) - exact) - gap) < 1e-9
    assert abs(table["slope"] - 1) < 0.1
    assert table["h"] == [1.5 / N for N in table["steps"]]
    fig = gap_figure(table)
    assert list(fig.data[0].y) == table["gap"] and len(fig.data) == 2
    with pytest.raises(ValueError, match="steps"):
        euler_gap(system, y, [24], times=times)


def test_jump_widget_update_with_m_and_shift_together():
    """What lesson 05 once asserted after moving both sliders (m = 5, shift = 0.3)."""
    w = JumpWidget(torch.tensor(A_LIST, dtype=DT), torch.tensor(Z0, dtype=DT), t1=1.5, m=3)
    w.update(m=5, shift=0.3)
    assert w.jumps_numeric.shape == (5, 2) and len(w.fig.data[4].x) == 5
    assert np.allclose(w.targets, default_targets(w.times) + 0.3)
    assert w.m_slider.value == 5 and w.shift_slider.value == pytest.approx(0.3)


def test_jump_widget_slider_draws_the_exact_curve_at_once_and_the_markers_when_it_rests():
    import asyncio

    from node_edu.widgets.lesson05 import default_targets, observation_times

    A = torch.tensor(A_LIST, dtype=torch.float64)
    z0 = torch.tensor([1.0, 0.5], dtype=torch.float64)
    w = JumpWidget(A, z0, t1=1.5, m=3)
    times = observation_times(3, 1.5)
    targets = default_targets(times) + 0.5
    # oracle: the jumps (2/m)(z(t_i) - y_i) with z(t_i) from scipy's expm
    z_obs = np.stack([scipy.linalg.expm(A.numpy() * t) @ z0.numpy() for t in times])
    expected = 2 / 3 * (z_obs - targets)

    async def drag():  # in an event loop, as in a kernel handling the front end's messages
        w.shift_slider.value = 0.3
        w.shift_slider.value = 0.5  # a drag passes 0.3 on its way
        assert np.allclose(w.jumps_exact, expected, atol=1e-12)  # the exact part at once
        assert w.pending and w.numeric is None and w.jumps_numeric is None
        assert w.fig.data[2].marker.opacity == 0.3 and "rests" in w.label.value
        for _ in range(200):
            await asyncio.sleep(0.05)
            if not w.pending:
                break

    asyncio.run(drag())
    assert not w.pending and np.allclose(w.jumps_numeric, expected, atol=1e-8)
    assert w.fig.data[2].marker.opacity == 1.0 and "largest difference" in w.label.value
    assert len(w._numeric) == 2  # built with shift 0, then 0.5: the 0.3 it passed cost nothing
