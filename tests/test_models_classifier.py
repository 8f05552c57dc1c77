"""Lesson 00's neural ODE classifier: its flow against torchdiffeq, its training, its errors."""

import pytest
import torch
import torchdiffeq

from node_edu.data.moons import labelled_moons, two_moons
from node_edu.models.classifier import ODEClassifier, accuracy, fit


def test_labelled_moons_are_the_two_moons_with_their_moon_as_label():
    x, y = labelled_moons(10, seed=3)
    assert torch.equal(x, two_moons(10, seed=3)) and y.dtype == torch.float64
    assert y.tolist() == [0.0] * 5 + [1.0] * 5
    upper, lower = x[:5], x[5:]  # the upper moon sits higher, on average (by construction)
    assert upper[:, 1].mean() > lower[:, 1].mean()


def _classical_rk4(f, z, h, steps):
    """The textbook RK4 loop, written out here: the states after every step."""
    states = [z]
    for k in range(steps):
        t = torch.tensor(k * h, dtype=z.dtype)
        k1 = f(t, z)
        k2 = f(t + h / 2, z + h / 2 * k1)
        k3 = f(t + h / 2, z + h / 2 * k2)
        k4 = f(t + h, z + h * k3)
        z = z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        states.append(z)
    return torch.stack(states)


def test_flow_is_the_classical_rk4_solution_and_close_to_the_exact_flow():
    torch.manual_seed(1)
    model = ODEClassifier(hidden=8)
    x, _ = labelled_moons(16, seed=0)
    t = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)
    with torch.no_grad():
        ours = model.flow(x, t)
        by_hand = _classical_rk4(model.f, x, 0.1, 10)
        exact = torchdiffeq.odeint(model.f, x, t, method="dopri5", rtol=1e-10, atol=1e-12)
    assert ours.shape == (11, 16, 2)
    assert torch.allclose(ours, by_hand, rtol=0, atol=1e-12)  # oracle: RK4 written out
    assert torch.allclose(ours, exact, rtol=0, atol=1e-5)  # oracle: torchdiffeq's dopri5


def test_forward_is_the_readout_of_z1_and_its_gradient_matches_finite_differences():
    torch.manual_seed(2)
    model = ODEClassifier(hidden=4, steps=4)
    torch.nn.init.normal_(model.readout.weight)  # a nonzero line, so the score depends on z
    x, _ = labelled_moons(6, seed=1)
    t = torch.tensor([0.0, 1.0], dtype=torch.float64)
    assert torch.allclose(model(x), model.score(model.flow(x, t)[-1]))
    assert torch.autograd.gradcheck(lambda x: model(x), (x.clone().requires_grad_(),))


def test_training_separates_the_moons_and_is_reproducible():
    x, y = labelled_moons(128, seed=0)
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        model = ODEClassifier(hidden=16)
        losses = fit(model, x, y, progress=False)
        with torch.no_grad():
            z1 = model.flow(x, torch.tensor([0.0, 1.0], dtype=x.dtype))[-1]
        results.append((losses, accuracy(model, z1, y), accuracy(model, x, y)))
    (losses, at_end, at_start), again = results
    assert losses == again[0]  # the same seed, the same training
    assert losses[-1] < losses[0] / 4
    assert at_end == 1.0 and at_start < 0.9  # the flow, not the line, separates the moons


def test_accuracy_counts_points_on_their_side_of_the_line():
    model = ODEClassifier()
    with torch.no_grad():
        model.readout.weight[:] = torch.tensor([[1.0, 0.0]])  # class 1 where z1 > 0
    z = torch.tensor([[1.0, 0.0], [-1.0, 5.0], [2.0, 1.0], [-3.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=torch.float64)
    assert accuracy(model, z, y) == 0.5  # counted by hand


def test_bad_arguments_are_clear_errors():
    with pytest.raises(TypeError, match="hidden must be an int > 0, got 2.5"):
        ODEClassifier(hidden=2.5)
    with pytest.raises(ValueError, match="steps must be finite and > 0, got 0"):
        ODEClassifier(steps=0)
    model = ODEClassifier()
    t = torch.tensor([0.0, 1.0], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"x must be a tensor of shape \[batch, 2\]"):
        model.flow(torch.zeros(3, 3, dtype=torch.float64), t)
    x, y = labelled_moons(8)
    with pytest.raises(TypeError, match="model must be an ODEClassifier, got Linear"):
        fit(torch.nn.Linear(2, 1), x, y)
    with pytest.raises(ValueError, match=r"y must be a tensor of shape \[8\]"):
        fit(model, x, y[:4])
    with pytest.raises(ValueError, match="iters must be finite and > 0"):
        fit(model, x, y, iters=0)
