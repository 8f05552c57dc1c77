"""Lesson 04's helpers and widget: saved-tensor bytes, memory against steps, drift."""

import asyncio
import time

import numpy as np
import pytest
import scipy.linalg
import torch

import node_edu as ne
from node_edu.adjoint.memory import memory_vs_steps, saved_tensor_bytes
from node_edu.widgets.lesson04 import DriftWidget

DT = torch.float64
A_CONTRACTING = [[-1.0, -9.0], [0.0, -10.0]]  # eigenvalues -1 and -10


def test_saved_tensor_bytes_counts_what_autograd_documents_it_saves(device):
    x = torch.randn(10, dtype=DT, device=device, requires_grad=True)
    y, b = saved_tensor_bytes(torch.exp, x)  # exp saves its result: 10 doubles
    assert torch.equal(y, torch.exp(x)) and b == 10 * 8
    y.sum().backward()  # the graph built under the hook still differentiates
    assert torch.allclose(x.grad, torch.exp(x))
    _, b = saved_tensor_bytes(lambda: x * x)  # x saved twice, one storage
    assert b == 10 * 8
    w = torch.randn(10, dtype=torch.float32, device=device, requires_grad=True)
    _, b = saved_tensor_bytes(lambda: x * w.double())  # x (80 B) and w.double() (80 B)
    assert b == 160
    with torch.no_grad():
        _, b = saved_tensor_bytes(torch.exp, x)
    assert b == 0  # no graph, nothing saved
    _, b = saved_tensor_bytes(lambda: bool(torch.exp(x).sum() > 0))
    assert b == 0  # a graph built and dropped inside fn keeps nothing
    with pytest.raises(TypeError, match="fn must be callable"):
        saved_tensor_bytes(3)


def _mlp_field(device):
    gen = torch.Generator().manual_seed(0)
    W1 = torch.randn(8, 2, generator=gen, dtype=DT).to(device).requires_grad_()
    W2 = torch.randn(2, 8, generator=gen, dtype=DT).to(device).requires_grad_()
    return (lambda t, z: W2 @ torch.tanh(W1 @ z)), [W1, W2]


def test_backprop_memory_grows_linearly_and_the_adjoint_stays_flat(device):
    func, params = _mlp_field(device)
    z0 = torch.tensor([1.0, -0.5], dtype=DT, device=device, requires_grad=True)
    steps = [2, 4, 8, 16]
    table = memory_vs_steps(func, z0, params, steps)
    assert table["steps"] == steps
    bp = np.array(table["backprop"])
    per_step = (bp[1:] - bp[:-1]) / np.diff(steps)
    assert per_step[0] > 0 and np.all(per_step == per_step[0])  # exactly affine in n
    # the adjoint saves t [2] and the outputs z(t) [2, 2], whatever the number of steps
    assert table["adjoint"] == [(2 + 2 * 2) * 8] * len(steps)
    with pytest.raises(ValueError, match="steps must be"):
        memory_vs_steps(func, z0, params, [])
    with pytest.raises(ValueError, match="steps must be"):
        memory_vs_steps(func, z0, params, [4, 0])
    with pytest.raises(ValueError, match="steps must be"):
        memory_vs_steps(func, z0, params, [4.5])
    with pytest.raises(TypeError, match="z0 must be a torch.Tensor"):
        memory_vs_steps(func, [1.0, -0.5], params, steps)
    with pytest.raises(ValueError, match="t1 must be a positive number"):
        memory_vs_steps(func, z0, params, steps, t1=0.0)


def _exact_loss(A, z0, t1):  # L = |exp(A t1) z0|^2 with scipy: an oracle apart from torch
    return float(np.sum((scipy.linalg.expm(A * t1) @ z0) ** 2))


def test_drift_widget_exact_gradient_matches_finite_differences_of_expm():
    A, z0 = torch.tensor(A_CONTRACTING, dtype=DT), torch.tensor([1.0, 0.5], dtype=DT)
    w = DriftWidget(A, z0, t1=1.0, log10_rtol=-8.0)
    An, zn, h = A.numpy(), z0.numpy(), 1e-6
    fd = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            E = np.zeros((2, 2))
            E[i, j] = h
            fd[i, j] = (_exact_loss(An + E, zn, 1.0) - _exact_loss(An - E, zn, 1.0)) / (2 * h)
    assert np.allclose(w.exact_grad.numpy(), fd, rtol=1e-6, atol=1e-8)
    # at a tight tolerance and a short span both adjoints give the gradient
    assert w.grad_error["checkpoint"] < 1e-6 and w.grad_error["backsolve"] < 1e-6


def test_drift_widget_draws_forward_and_backward_solutions(device):
    A = torch.tensor(A_CONTRACTING, dtype=DT, device=device)
    z0 = torch.tensor([1.0, 0.5], dtype=DT, device=device)
    w = DriftWidget(A, z0, t1=2.0, log10_rtol=-7.0, n_plot=21)
    exact = torch.stack([torch.linalg.matrix_exp(A * t) @ z0 for t in w.ts])
    assert torch.allclose(w.z_forward, exact, rtol=1e-5, atol=1e-8)
    for k in range(2):
        assert np.allclose(w.fig.data[k].y, exact[:, k].abs().cpu().numpy(), rtol=1e-5)
        assert np.allclose(w.fig.data[2 + k].y, w.z_backward[:, k].abs().cpu().numpy())
    assert w.fig.data[0].x[-1] == pytest.approx(2.0)
    # the backwards solve starts on the forward z(t1) and has drifted away at t0
    assert torch.equal(w.z_backward[-1], w.z_forward[-1])
    assert (w.z_backward[0] - z0).abs().max() > 1e3 * (w.z_forward[0] - z0).abs().max()
    assert list(w.fig_error.data[0].y) == [
        w.grad_error["backsolve"],
        w.grad_error["checkpoint"],
    ]


def test_backsolve_drift_grows_with_the_time_span_and_checkpoint_has_none():
    A, z0 = torch.tensor(A_CONTRACTING, dtype=DT), torch.tensor([1.0, 0.5], dtype=DT)
    w = DriftWidget(A, z0, t1=1.0, log10_rtol=-6.0, n_plot=5)
    drifts, errors = [], []
    for t1 in (1.0, 2.0, 3.0):
        w.t1_slider.value = t1  # what dragging the slider does: the observer calls update
        assert w.ts[-1].item() == t1
        drifts.append(w.drift["backsolve"])
        errors.append(w.grad_error["backsolve"])
        assert w.drift["checkpoint"] == 0.0 and w.grad_error["checkpoint"] < 1e-7
    assert drifts[0] * 100 < drifts[1] and drifts[1] * 100 < drifts[2]
    assert errors[0] < errors[1] < errors[2] and errors[2] > 1e-3
    # a tighter tolerance shrinks the drift
    loose = w.drift["backsolve"]
    w.rtol_slider.value = -9.0
    assert w.drift["backsolve"] < loose / 1e3
    # the drift the widget reports is the library's own statistic
    stats, Ag = ne.SolverStats(), A.clone().requires_grad_()
    t = torch.tensor([0.0, 3.0], dtype=DT)
    z = ne.odeint_adjoint(lambda t, z: Ag @ z, z0, t, params=[Ag], rtol=1e-9, atol=1e-11,
                          stats=stats)  # fmt: skip
    z[-1].pow(2).sum().backward()
    assert stats.backward.drift[0] == pytest.approx(w.drift["backsolve"], rel=1e-6)


def test_drift_widget_rejects_bad_arguments():
    A, z0 = torch.tensor(A_CONTRACTING, dtype=DT), torch.tensor([1.0, 0.5], dtype=DT)
    with pytest.raises(TypeError, match="A must be a square matrix"):
        DriftWidget(torch.zeros(2, 3, dtype=DT), z0)
    with pytest.raises(ValueError, match=r"z0 must be a tensor of shape \[2\]"):
        DriftWidget(A, torch.zeros(3, dtype=DT))
    with pytest.raises(ValueError, match="n_plot"):
        DriftWidget(A, z0, n_plot=1)
    w = DriftWidget(A, z0, t1=1.0, n_plot=5)
    with pytest.raises(ValueError, match="t1 must be"):
        w.update(t1=0.0)
    with pytest.raises(ValueError, match="log10_rtol must be"):
        w.update(log10_rtol=-1.0)


def test_drift_widget_slider_shows_curves_at_once_and_gradients_when_it_rests():
    A, z0 = torch.tensor(A_CONTRACTING, dtype=DT), torch.tensor([1.0, 0.5], dtype=DT)
    w = DriftWidget(A, z0, t1=1.0, log10_rtol=-6.0, n_plot=5)
    exact = torch.stack([torch.linalg.matrix_exp(A * t) @ z0 for t in torch.linspace(0, 2, 5)])

    async def drag():  # inside an event loop, as in a kernel handling the front end's messages
        w.t1_slider.value = 1.5
        w.t1_slider.value = 2.0  # a drag passes 1.5 on its way to 2
        # the curves at once: the forward z is the true one (oracle: matrix_exp)
        assert torch.allclose(w.z_forward, exact, rtol=1e-5, atol=1e-8)
        assert np.allclose(w.fig.data[0].y, exact[:, 0].abs().numpy(), rtol=1e-5)
        assert w.pending and w.drift is None and w.grad_error is None
        assert "rests" in w.label.value
        for _ in range(200):  # the adjoints follow once the slider has rested
            await asyncio.sleep(0.05)
            if not w.pending:
                break

    asyncio.run(drag())
    assert not w.pending
    assert w.drift["checkpoint"] == 0.0 and w.grad_error["checkpoint"] < 1e-7
    assert (1.5, -6.0) not in w._gradients  # the value the drag passed cost no adjoint solve
    Ag = A.clone().requires_grad_()  # oracle: the exact gradient at t1 = 2, by matrix_exp
    (exact_grad,) = torch.autograd.grad((torch.linalg.matrix_exp(Ag * 2.0) @ z0).pow(2).sum(), Ag)
    assert torch.allclose(w.exact_grad, exact_grad)
    assert w.fig_error.data[0].y[1] == pytest.approx(w.grad_error["checkpoint"])
    assert w.fig_error.data[0].marker.opacity == 1.0


def test_drift_widget_defers_the_adjoints_in_a_real_kernel():
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    out = []

    def run(code):
        kc.execute_interactive(
            code,
            timeout=120,
            output_hook=lambda m: out.append(m["content"].get("text", "")),
        )

    try:
        run(
            "import torch\nfrom node_edu.widgets import DriftWidget\n"
            f"A = torch.tensor({A_CONTRACTING}, dtype=torch.float64)\n"
            "w = DriftWidget(A, torch.tensor([1.0, 0.5], dtype=torch.float64), t1=1.0)\n"
            "w.t1_slider.value = 2.0\nprint('moved', w.pending)"
        )
        run(  # the kernel's loop runs the timer between messages
            "import time\nfor _ in range(200):\n    if not w.pending: break\n    time.sleep(0.05)"
        )
        time.sleep(1.0)
        run("print('rested', w.pending, w.drift['checkpoint'])")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    text = "".join(out)
    assert "moved True" in text and "rested False 0.0" in text
