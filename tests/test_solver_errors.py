"""Bad input raises ValueError/TypeError naming the argument; a failed integration raises
node_edu.SolverError with the time reached."""

import re

import pytest
import torch

import node_edu as ne

SOLVERS = [ne.odeint, ne.odeint_adjoint]


def ok_args():
    z0 = torch.tensor([1.0, 0.0])
    t = torch.tensor([0.0, 1.0])
    return (lambda t, z: -z), z0, t


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(
    "t, error, words",
    [
        ([0.0, 1.0], TypeError, "t must be a 1-D torch.Tensor"),
        (torch.zeros(2, 2), ValueError, "t must be 1-D"),
        (torch.tensor(1.0), ValueError, "t must be 1-D"),
        (torch.tensor([0.0]), ValueError, "at least 2"),
        (torch.tensor([0.0, 1.0, 0.5]), ValueError, "strictly increasing or strictly decreasing"),
        (torch.tensor([0.0, 0.0, 1.0]), ValueError, "strictly"),
        (torch.tensor([0.0, float("nan")]), ValueError, "t must be finite"),
        (torch.tensor([0.0, float("inf")]), ValueError, "t must be finite"),
        (torch.tensor([0.0, 1.0], device="meta"), ValueError, "same device"),
    ],
)  # fmt: skip
def test_bad_t(solver, t, error, words):
    func, z0, _ = ok_args()
    with pytest.raises(error, match=re.escape(words)):
        solver(func, z0, t)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(
    "z0, error, words",
    [
        ([1.0, 0.0], TypeError, "z0 must be a torch.Tensor"),
        (torch.tensor([1, 0]), TypeError, "z0 must be floating point"),
        (torch.tensor([1.0, float("nan")]), ValueError, "z0 must be finite"),
        (torch.tensor([float("inf")]), ValueError, "z0 must be finite"),
    ],
)
def test_bad_z0(solver, z0, error, words):
    func, _, t = ok_args()
    with pytest.raises(error, match=re.escape(words)):
        solver(func, z0, t)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(
    "options, error, words",
    [
        (dict(method="rk45"), ValueError, "one of ['euler', 'midpoint', 'rk4', 'bosh3', 'dopri5'"),
        (dict(rtol=0.0), ValueError, "rtol must be a number > 0, got 0.0"),
        (dict(rtol=-1e-3), ValueError, "rtol"),
        (dict(rtol=True), TypeError, "rtol must be a number > 0, got True (bool)"),
        (dict(atol=float("nan")), ValueError, "atol must be a finite number > 0, got nan"),
        (dict(atol="1e-6"), TypeError, "atol must be a number > 0, got '1e-6' (str)"),
        (dict(method="rk4", step_size=0.0), ValueError, "step_size must be a number > 0 or None"),
        (dict(method="rk4", step_size=-0.1), ValueError, "step_size"),
        (dict(max_num_steps=0), ValueError, "max_num_steps must be an integer >= 1 or None, got 0"),
        (dict(max_num_steps=2.5), TypeError, "max_num_steps must be an integer >= 1 or None"),
        (dict(stats={}), TypeError, "stats must be a node_edu.SolverStats"),
    ],
)  # fmt: skip
def test_bad_options(solver, options, error, words):
    func, z0, t = ok_args()
    with pytest.raises(error, match=re.escape(words)):
        solver(func, z0, t, **options)


@pytest.mark.parametrize("solver", SOLVERS)
def test_bad_func(solver):
    _, z0, t = ok_args()
    with pytest.raises(TypeError, match="func must be callable"):
        solver("f", z0, t)
    with pytest.raises(ValueError, match=re.escape("func returned a tensor of shape (1, 2)")):
        solver(lambda t, z: z[None], z0, t)
    with pytest.raises(TypeError, match="func must return a torch.Tensor"):
        solver(lambda t, z: 1.0, z0, t)


@pytest.mark.parametrize(
    "options, error, words",
    [
        (dict(adjoint="exact"), ValueError, "adjoint must be one of ['backsolve', 'checkpoint']"),
        (dict(params=3), TypeError, "params must be an iterable of tensors"),
        (dict(params=[torch.ones(2), "w"]), TypeError, "params must hold only tensors"),
        (dict(adjoint_rtol=-1.0), ValueError, "adjoint_rtol must be a number > 0, got -1.0"),
        (dict(adjoint_atol=0.0), ValueError, "adjoint_atol"),
    ],
)
def test_bad_adjoint_options(options, error, words):
    func, z0, t = ok_args()
    with pytest.raises(error, match=re.escape(words)):
        ne.odeint_adjoint(func, z0, t, **options)


def time_reached(error):
    return float(re.search(r"t=(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)", str(error.value)).group(1))


@pytest.mark.parametrize("solver", SOLVERS)
def test_blow_up_is_a_solver_error(device, solver):
    """z' = z^2, z(0) = 1 has z = 1/(1 - t): it blows up at t = 1 exactly."""
    z0 = torch.tensor([1.0], dtype=torch.float64, device=device)
    t = torch.tensor([0.0, 2.0], dtype=torch.float64, device=device)
    with pytest.raises(ne.SolverError) as error:
        solver(lambda t, z: z**2, z0, t)
    assert isinstance(error.value, RuntimeError)
    assert 0.99 < time_reached(error) <= 1.0
    assert "blow up" in str(error.value)


def test_too_many_steps(device):
    z0 = torch.tensor([1.0, 0.0], device=device)
    t = torch.tensor([0.0, 100.0], device=device)
    rotate = torch.tensor([[0.0, -1.0], [1.0, 0.0]], device=device)
    with pytest.raises(ne.SolverError, match="max_num_steps=5") as error:
        ne.odeint(lambda t, z: rotate @ z, z0, t, max_num_steps=5)
    assert 0 < time_reached(error) < 100
    ne.odeint(lambda t, z: rotate @ z, z0, t, method="rk4", step_size=0.5)  # no limit: fine
    with pytest.raises(ne.SolverError, match="max_num_steps=10") as error:
        ne.odeint(lambda t, z: rotate @ z, z0, t, method="rk4", step_size=0.5, max_num_steps=10)
    assert time_reached(error) == pytest.approx(5.0)  # 10 steps of 0.5 were taken


def test_non_finite_state(device):
    z0 = torch.tensor([1.0], dtype=torch.float64, device=device)
    t = torch.tensor([0.0, 1.0], dtype=torch.float64, device=device)

    def poisoned(t, z):  # nan from t = 0.5 on
        return z * (1.0 if t < 0.5 else float("nan"))

    with pytest.raises(ne.SolverError, match="non-finite") as error:
        ne.odeint(poisoned, z0, t)
    assert 0.45 < time_reached(error) <= 0.5
    with pytest.raises(ne.SolverError, match="non-finite.*smaller step_size"):
        ne.odeint(poisoned, z0, t, method="rk4", step_size=0.1)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.complex64])
def test_half_precision_and_complex_states_are_refused_alike(solver, dtype):
    func, _, t = ok_args()
    z0 = torch.tensor([1.0, 0.5]).to(dtype)
    with pytest.raises(
        TypeError,
        match=re.escape(f"z0 must be floating point (float32 or float64), got dtype {dtype}"),
    ):
        solver(func, z0, t)


@pytest.mark.parametrize(
    "solver, method",
    [(ne.odeint, m) for m in ("dopri5", "rk4", "trapezoid")]
    + [(ne.odeint_adjoint, m) for m in ("dopri5", "rk4")],  # adjoint: no implicit methods
)
def test_func_returning_another_dtype_names_both(solver, method):
    """A float64 model on a float32 state: caught on the first evaluation."""
    W = torch.eye(2, dtype=torch.float64)
    calls = []

    def func(t, z):
        calls.append(1)
        return -z.double() @ W

    z0 = torch.tensor([1.0, 0.5])  # float32
    with pytest.raises(
        TypeError, match="func returned dtype torch.float64 for a state z of dtype torch.float32"
    ):
        solver(func, z0, torch.tensor([0.0, 1.0]), method=method)
    assert len(calls) == 1


def test_second_derivative_through_odeint_adjoint_names_ne_odeint():
    """create_graph=True then backward: a clear error; ne.odeint gives the second
    derivative, checked against the closed form for dz/dt = -w z."""
    w = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    z0 = torch.tensor([1.0], dtype=torch.float64)
    t = torch.tensor([0.0, 2.0], dtype=torch.float64)
    loss = ne.odeint_adjoint(lambda t, z: -w * z, z0, t, params=[w])[-1].sum()
    with pytest.raises(RuntimeError, match="differentiable once.*create_graph.*ne.odeint"):
        (g,) = torch.autograd.grad(loss, w, create_graph=True)
        g.backward()
    (g,) = torch.autograd.grad(loss, w)  # the first derivative still works
    loss = ne.odeint(lambda t, z: -w * z, z0, t, rtol=1e-10, atol=1e-12)[-1].sum()
    (g2,) = torch.autograd.grad(torch.autograd.grad(loss, w, create_graph=True)[0], w)
    exact = 4.0 * torch.exp(-2.0 * w)  # d^2/dw^2 exp(-2 w)
    assert abs(g2.item() - exact.item()) < 1e-6
    assert abs(g.item() + 2.0 * torch.exp(-2.0 * w).item()) < 1e-6
