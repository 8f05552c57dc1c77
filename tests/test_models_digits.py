"""Lesson 10's models: the ODE-Net against RK4 by hand and torchdiffeq, the ResNet as Euler
steps, parameters and memory counted by hand, and training that learns."""

import pytest
import torch
import torchdiffeq

from node_edu.data.digits import CLASSES, PIXELS, Digits, digits
from node_edu.models.digits import (
    ODENet,
    ResNet,
    TrainResult,
    accuracy,
    count_parameters,
    mlp,
    saved_bytes,
    train,
)


@pytest.fixture(scope="module")
def data():
    return digits()


@pytest.mark.parametrize("adjoint", [True, False])
def test_odenet_is_down_then_torchdiffeqs_solve_then_head(device, adjoint):
    torch.manual_seed(0)
    model = ODENet(dim=6, hidden=10, steps=3, adjoint=adjoint, dtype=torch.float64, device=device)
    x = torch.rand(5, PIXELS, dtype=torch.float64, device=device)
    t = torch.tensor([0.0, 1.0], dtype=torch.float64, device=device)
    with torch.no_grad():
        z = model.down(x)  # classic RK4 by hand, 3 steps of 1/3 (torchdiffeq's rk4 is the 3/8 rule)
        for _ in range(3):
            k1 = model.field(0, z)
            k2 = model.field(0, z + k1 / 6)
            k3 = model.field(0, z + k2 / 6)
            k4 = model.field(0, z + k3 / 3)
            z = z + (k1 + 2 * k2 + 2 * k3 + k4) / 18
        assert torch.allclose(model(x), model.head(z), rtol=0, atol=1e-12)
        tight = dict(method="dopri5", rtol=1e-10, atol=1e-12)
        z1 = torchdiffeq.odeint(model.field, model.down(x), t, rtol=1e-10, atol=1e-12)[-1]
        assert torch.allclose(model(x, solver=tight), model.head(z1), rtol=0, atol=1e-8)


def test_odenet_gradients_adjoint_against_backprop():
    torch.manual_seed(0)
    model = ODENet(dim=5, hidden=7, steps=4, dtype=torch.float64)
    x, y = torch.rand(8, PIXELS, dtype=torch.float64), torch.arange(8) % CLASSES
    grads = {}
    for adjoint in (True, False):
        model.adjoint = adjoint
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        grads[adjoint] = [p.grad.clone() for p in model.parameters()]
    for a, b in zip(grads[True], grads[False], strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)  # RK4 backwards: O(h^4) apart


def test_resnet_is_euler_with_a_field_per_step():
    torch.manual_seed(0)
    model = ResNet(dim=4, width=3, blocks=5, dtype=torch.float64)
    x = torch.rand(6, PIXELS, dtype=torch.float64)
    z = model.down(x)
    for f in model.blocks:  # by hand: z + h W2 tanh(W1 z + b1) + h b2, h = 1/5
        W1, b1, W2, b2 = f.net[0].weight, f.net[0].bias, f.net[2].weight, f.net[2].bias
        z = z + 0.2 * (torch.tanh(z @ W1.T + b1) @ W2.T + b2)
    assert torch.allclose(model(x), model.head(z), rtol=0, atol=1e-14)


def test_parameter_counts_by_hand():
    assert count_parameters(ODENet()) == (64 * 32 + 32) + (2 * 32 * 64 + 64 + 32) + 330 == 6602
    assert count_parameters(ResNet(width=16)) == 2080 + 4 * (2 * 32 * 16 + 16 + 32) + 330
    assert count_parameters(mlp(88)) == 64 * 88 + 88 + 88 * 10 + 10
    frozen = mlp(4)
    frozen[0].weight.requires_grad_(False)
    assert count_parameters(frozen) == 4 + 40 + 10


def test_saved_bytes_counted_by_hand():
    """A Linear keeps its input, and its weight when the input needs a gradient; tanh keeps
    its output; the adjoint keeps its output [2, B, d] and t."""
    B, d, H, w, L = 16, 6, 10, 3, 4
    x = torch.rand(100, PIXELS)[:B]  # a slice of a larger tensor: counted as itself
    assert saved_bytes(ODENet(d, H), x) == 4 * (B * 64 + 2 * B * d + 2 + d * 10)
    rk_net = ODENet(d, H, steps=2, adjoint=False)
    extra = saved_bytes(rk_net, x) - 4 * (B * 64 + 8 * B * (d + H) + 2 * d * H + 2 * B * d + d * 10)
    assert 0 <= extra <= 40  # RK4's tableau coefficients
    resnet = ResNet(d, w, blocks=L)
    assert saved_bytes(resnet, x) == 4 * (B * 64 + L * (B * d + B * w + 2 * d * w) + B * d + d * 10)
    assert saved_bytes(mlp(H), x) == 4 * (B * 64 + B * H + H * 10)


def test_training_learns_the_digits_and_is_reproducible(data):
    small = Digits(data.x_train[:300], data.y_train[:300], data.x_test, data.y_test)
    accuracies = []
    for _ in range(2):
        torch.manual_seed(0)
        model = mlp(32)
        result = train(model, small, epochs=15, batch=100, progress=False)
        accuracies.append(accuracy(model, data.x_test, data.y_test))
    assert isinstance(result, TrainResult) and len(result.losses) == 15 * 3
    assert result.losses[-1] < 0.5 * result.losses[0]
    assert accuracies[0] == accuracies[1] > 0.8  # seeded; well above chance (0.1)


def test_train_rejects_bad_arguments(data):
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got str"):
        train("model", data)
    with pytest.raises(TypeError, match="data must be a node_edu.data.digits.Digits"):
        train(mlp(), (data.x_train, data.y_train))
    with pytest.raises(ValueError, match="epochs"):
        train(mlp(), data, epochs=0)


def test_models_reject_bad_sizes():
    with pytest.raises(ValueError, match="steps"):
        ODENet(steps=0)
    with pytest.raises(ValueError, match="blocks"):
        ResNet(blocks=0)
    with pytest.raises(ValueError, match="hidden"):
        mlp(0)
