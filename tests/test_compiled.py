"""The opt-in compiled solver: same solutions as ne.odeint and as the exact matrix exponential.

Each compile takes tens of seconds on a CPU, so every solving test below shares ONE vector
field object (a linear system) and two (shape, dtype) combinations: two compiles in all.
Argument errors are raised before anything is compiled.
"""

import pytest
import torch

import node_edu as ne
from node_edu.solvers import compiled_odeint

# dz/dt = A z on the last axis: a damped rotation (eigenvalues -0.3 +- 2i).
A = torch.tensor([[-0.3, 2.0], [-2.0, -0.3]], dtype=torch.float64)


class Linear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("A", A.clone())

    def forward(self, t, z):
        return z @ self.A.to(z.dtype).T


FUNC = Linear()
# (shape, dtype, tolerance of the solve, tolerance against the exact solution)
CASES = {
    torch.float64: ((3, 2), 1e-10, 1e-8),
    torch.float32: ((4, 1, 2), 1e-6, 1e-5),
}


@pytest.fixture(scope="module")
def can_compile():
    """Skip (with the reason) where torch.compile cannot run, e.g. no C++ compiler."""
    try:
        torch.compile(lambda x: x * 2 + 1)(torch.ones(3))
    except Exception as e:  # noqa: BLE001 - any failure means: cannot compile here
        pytest.skip(f"torch.compile does not work on this machine: {type(e).__name__}: {e}")


def problem(dtype, reverse=False):
    shape, rtol, _ = CASES[dtype]
    z0 = torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    t = torch.linspace(0.0, 3.0, 7, dtype=torch.float64)
    if reverse:
        t = t.flip(0)
    return z0.to(dtype), t.to(dtype), dict(rtol=rtol, atol=rtol * 1e-2)


def exact(z0, t):
    """z(t_i) = exp(A (t_i - t_0)) z0, by torch.linalg.matrix_exp (the oracle)."""
    z0 = z0.double()
    return torch.stack([z0 @ torch.linalg.matrix_exp(A * (ti - t[0])).T for ti in t.double()])


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_matches_matrix_exp_and_odeint(can_compile, dtype, reverse):
    z0, t, tol = problem(dtype, reverse)
    stats, eager_stats = ne.SolverStats(), ne.SolverStats()
    z = compiled_odeint(FUNC, z0, t, stats=stats, **tol)
    assert z.shape == (len(t), *z0.shape) and z.dtype == dtype
    torch.testing.assert_close(z.double(), exact(z0, t), rtol=0, atol=CASES[dtype][2])
    z_eager = ne.odeint(FUNC, z0, t, stats=eager_stats, **tol)
    eps = torch.finfo(dtype).eps
    if dtype == torch.float64:
        # Same step-size rules, so the same steps: the two agree to rounding error.
        assert (stats.n_accepted, stats.n_rejected, stats.nfe) == (
            eager_stats.n_accepted, eager_stats.n_rejected, eager_stats.nfe,
        )  # fmt: skip
        torch.testing.assert_close(z, z_eager, rtol=1e3 * eps, atol=1e3 * eps)
    else:
        # In float32 an error ratio within rounding of 1 may be accepted by one solver and
        # rejected by the other, so the steps (and results) may differ within the tolerance.
        assert abs(stats.n_accepted - eager_stats.n_accepted) <= 2
        torch.testing.assert_close(z, z_eager, rtol=0, atol=CASES[dtype][2])


def test_too_many_steps_is_a_solver_error(can_compile):
    z0, t, tol = problem(torch.float64)
    with pytest.raises(ne.SolverError, match="max_num_steps=3"):
        compiled_odeint(FUNC, z0, t, max_num_steps=3, **tol)


def test_a_state_that_overflows_is_a_solver_error(can_compile):
    """exp(800 t) passes float64's largest number (about e^709) before t = 1."""
    z0, t, tol = problem(torch.float64)
    func = Linear()  # same class, shape and dtype as FUNC: no new compile
    func.A = torch.tensor([[800.0, 0.0], [0.0, 800.0]], dtype=torch.float64)
    with pytest.raises(ne.SolverError, match="non-finite"):
        ne.odeint(func, z0, t[:3], **tol)  # the eager solver's verdict, for comparison
    with pytest.raises(ne.SolverError, match="non-finite"):
        compiled_odeint(func, z0, t[:3], **tol)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(method="rk4"), ValueError, "adaptive explicit"),
        (dict(method="implicit_euler"), ValueError, "adaptive explicit"),
        (dict(method="nope"), ValueError, "method must be one of"),
        (dict(rtol=-1.0), ValueError, "rtol must be a number > 0, got -1.0"),
        (dict(max_num_steps=1.5), TypeError, "max_num_steps must be an integer >= 1 or None"),
    ],
)
def test_bad_options_are_refused_like_odeint(kwargs, error, match):
    z0, t, _ = problem(torch.float64)
    with pytest.raises(error, match=match):
        compiled_odeint(FUNC, z0, t, **kwargs)


def test_bad_arguments_are_refused_like_odeint():
    z0, t, _ = problem(torch.float64)
    with pytest.raises(TypeError, match="func must be callable"):
        compiled_odeint(3, z0, t)
    with pytest.raises(TypeError, match="z0 must be a torch.Tensor"):
        compiled_odeint(FUNC, [1.0, 2.0], t)
    with pytest.raises(ValueError, match="z0 must be finite"):
        compiled_odeint(FUNC, torch.full((2,), float("nan")), t)
    with pytest.raises(ValueError, match="z0 must be finite"):
        compiled_odeint(FUNC, torch.tensor([float("inf"), 0.0]), t)
    with pytest.raises(ValueError, match="strictly increasing or strictly decreasing"):
        compiled_odeint(FUNC, z0, torch.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(TypeError, match="z0 must be floating point"):
        compiled_odeint(FUNC, z0.half(), t)


def test_gradients_are_refused_with_a_pointer_to_odeint():
    z0, t, _ = problem(torch.float64)
    with pytest.raises(ValueError, match="z0 requires grad.*ne.odeint"):
        compiled_odeint(FUNC, z0.requires_grad_(), t)
    with pytest.raises(ValueError, match="t requires grad"):
        compiled_odeint(FUNC, z0.detach(), t.requires_grad_())


def test_a_second_solve_of_the_same_problem_reuses_the_compiled_step(can_compile):
    """Wrapping the step with torch.compile costs about a millisecond: done once, kept."""
    from node_edu.solvers.compiled import compile_step

    z0, t, kw = problem(torch.float64)
    first = compiled_odeint(FUNC, z0, t, **kw)
    before = compile_step.cache_info()
    again = compiled_odeint(FUNC, z0, t, **kw)
    after = compile_step.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)
    torch.testing.assert_close(again, first, rtol=0, atol=0)
