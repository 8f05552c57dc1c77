"""Lesson 03's helpers, figures and widget, each against an independent oracle."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch

import node_edu as ne
from node_edu.linear import LinearODE
from node_edu.solvers import TABLEAUX
from node_edu.widgets.lesson03 import (
    SolverWidget,
    adaptive_steps,
    convergence_figure,
    explicit_rk_step,
    fixed_step_solve,
    linear_flow,
    loglog_slope,
    stability_figure,
    stability_function,
    stability_polynomial,
    steps_figure,
    tableau_rows,
)

F64 = torch.float64
A_ROT = [[-0.1, -1.0], [1.0, -0.1]]


def rotation(device="cpu"):
    A = torch.tensor(A_ROT, dtype=F64, device=device)
    return A, torch.tensor([1.0, 0.0], dtype=F64, device=device), (lambda t, z: A @ z)


# -- tableaux and stability functions ----------------------------------------------------


def test_tableau_rows_print_every_coefficient():
    rows = tableau_rows("rk4")
    assert len(rows) == 4 + 2  # four stages, the rule, the b row
    assert rows[-1].split("|")[1].split() == ["0.1667", "0.3333", "0.3333", "0.1667"]
    assert rows[1].split("|")[0].strip() == "0.5" and rows[1].split("|")[1].split() == ["0.5"]
    assert rows[2].split("|")[1].split() == ["0", "0.5"]
    assert set(rows[-2]) <= {"-", "+"}
    assert len(tableau_rows("dopri5")) == 7 + 2


@pytest.mark.parametrize("method, order", [("euler", 1), ("midpoint", 2), ("rk4", 4)])
def test_stability_polynomial_is_the_taylor_polynomial_of_exp(method, order):
    # An explicit s-stage method of order p = s (s <= 4) has R(w) = sum_{k<=p} w^k / k!.
    expected = [1 / math.factorial(k) for k in range(order + 1)]
    np.testing.assert_allclose(stability_polynomial(method), expected, rtol=1e-15)


def test_dopri5_stability_polynomial():
    # Order 5 fixes the coefficients up to w^5; Hairer & Wanner II, IV.2: the w^6 one is 1/600.
    p = stability_polynomial("dopri5")
    np.testing.assert_allclose(p[:6], [1 / math.factorial(k) for k in range(6)], rtol=1e-13)
    assert math.isclose(p[6], 1 / 600, rel_tol=1e-12) and abs(p[7]) < 1e-15


@pytest.mark.parametrize("method", list(TABLEAUX))
def test_stability_function_is_one_library_step_on_a_complex_eigenvalue(method, device):
    # dz/dt = lambda z with lambda = a + ib is the real system [[a, -b], [b, a]]; one step
    # multiplies z by R(h lambda), i.e. (Re R, Im R) for z0 = (1, 0).
    for lam, h in ((complex(-1.0, 2.0), 0.4), (complex(-3.0, 0.0), 0.5), (complex(0, 1), 1.2)):
        A = torch.tensor([[lam.real, -lam.imag], [lam.imag, lam.real]], dtype=F64, device=device)
        z0 = torch.tensor([1.0, 0.0], dtype=F64, device=device)
        t = torch.tensor([0.0, h], dtype=F64, device=device)
        stats = ne.SolverStats()
        # adaptive methods: a first step of h with tolerances so loose that it is accepted.
        kw = dict(step_size=h, rtol=1e3, atol=1e3) if TABLEAUX[method].adaptive else {}
        z1 = ne.odeint(lambda t, z, A=A: A @ z, z0, t, method=method, stats=stats, **kw)[-1]
        assert stats.n_accepted == 1
        R = stability_function(method, h * lam)
        assert math.isclose(z1[0].item(), R.real, abs_tol=1e-14)
        assert math.isclose(z1[1].item(), R.imag, abs_tol=1e-14)


def test_real_stability_intervals_from_the_literature():
    # Euler: [-2, 0]; RK4: [-2.7853, 0] (Hairer & Wanner II, IV.2, Fig. 2.1).
    assert abs(stability_function("euler", -2.0)) == pytest.approx(1.0)
    assert abs(stability_function("euler", -2.01)) > 1 > abs(stability_function("euler", -1.99))
    assert abs(stability_function("rk4", -2.7852)) < 1 < abs(stability_function("rk4", -2.7854))
    # No explicit method here is stable on the whole imaginary axis; Euler on none of it.
    assert abs(stability_function("euler", 0.1j)) > 1
    assert abs(stability_function("rk4", 2.0j)) < 1 < abs(stability_function("rk4", 3.0j))


def test_bad_method_names_the_argument():
    with pytest.raises(ValueError, match="method"):
        stability_polynomial("heun")
    with pytest.raises(ValueError, match="method"):
        tableau_rows("rk45")


# -- running the solver ------------------------------------------------------------------


@pytest.mark.parametrize("method", list(TABLEAUX))
def test_explicit_rk_step_is_one_library_step(method, device):
    # A nonlinear, time-dependent f, so every stage time and weight matters.
    def f(t, z):
        return torch.sin(t) * z - z**3

    z0 = torch.tensor([0.3, -1.2, 0.8], dtype=F64, device=device)
    t0, h = 0.4, 0.3
    t = torch.tensor([t0, t0 + h], dtype=F64, device=device)
    stats = ne.SolverStats()
    kw = dict(step_size=h, rtol=1e3, atol=1e3) if TABLEAUX[method].adaptive else {}
    lib = ne.odeint(f, z0, t, method=method, stats=stats, **kw)[-1]
    assert stats.n_accepted == 1
    torch.testing.assert_close(explicit_rk_step(method, f, t0, z0, h), lib, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("method", ["euler", "midpoint", "rk4"])
def test_fixed_step_solve_matches_odeint_with_a_step_size(method, device):
    A, z0, f = rotation(device)
    t = torch.tensor([0.0, 2.0], dtype=F64, device=device)
    for n in (1, 5, 16):
        mine = fixed_step_solve(f, z0, 0.0, 2.0, n, method)
        lib = ne.odeint(f, z0, t, method=method, step_size=2.0 / n)[-1]
        assert mine.device == z0.device
        torch.testing.assert_close(mine, lib, rtol=1e-13, atol=1e-14)


def test_fixed_step_euler_is_the_exact_closed_form():
    A, z0, f = rotation()
    sys = LinearODE(A_ROT, [1, 0], t0=0, t1=2)
    exact = np.array(sys.euler(8).z_euler.evalf(20).tolist(), dtype=float).ravel()
    np.testing.assert_allclose(fixed_step_solve(f, z0, 0, 2, 8, "euler").numpy(), exact, rtol=1e-14)


def test_fixed_step_dopri5_has_order_five():
    A, z0, f = rotation()
    exact = torch.linalg.matrix_exp(2.0 * A) @ z0
    ns = [2, 4, 8, 16]
    errors = [float((fixed_step_solve(f, z0, 0, 2, n, "dopri5") - exact).norm()) for n in ns]
    assert 4.7 < loglog_slope([2 / n for n in ns], errors) < 5.5


def test_fixed_step_solve_rejects_bad_arguments():
    A, z0, f = rotation()
    with pytest.raises(ValueError, match="n_steps"):
        fixed_step_solve(f, z0, 0, 1, 0, "rk4")
    with pytest.raises(ValueError, match="n_steps"):
        fixed_step_solve(f, z0, 0, 1, 2.0, "rk4")
    with pytest.raises(ValueError, match="t1"):
        fixed_step_solve(f, z0, 1, 1, 2, "rk4")
    with pytest.raises(ValueError, match="method"):
        fixed_step_solve(f, z0, 0, 1, 2, "rk5")


def stiffish(device="cpu"):
    """A damped rotation plus a fast decaying mode: small steps first, rejections later."""
    B = torch.tensor([[-0.1, -1, 0], [1, -0.1, 0], [0, 0, -4.0]], dtype=F64, device=device)
    return B, torch.tensor([1.0, 0.0, 1.0], dtype=F64, device=device), (lambda t, z: B @ z)


def test_adaptive_steps_replays_odeint_exactly(device):
    B, z0, f = stiffish(device)
    log = adaptive_steps(f, z0, 0.0, 6.0, rtol=1e-6, atol=1e-9)
    stats = ne.SolverStats()
    t = torch.tensor([0.0, 6.0], dtype=F64, device=device)
    z1 = ne.odeint(f, z0, t, rtol=1e-6, atol=1e-9, stats=stats)[-1]
    torch.testing.assert_close(log.z1, z1, rtol=1e-13, atol=1e-15)
    assert (log.stats.nfe, log.stats.n_accepted, log.stats.n_rejected) == (
        stats.nfe,
        stats.n_accepted,
        stats.n_rejected,
    )
    assert stats.n_rejected > 0, "choose a problem with rejections, or the test checks little"
    assert len(log.t) == len(log.h) == len(log.z) == stats.n_accepted
    assert sum(log.rejected_before) == stats.n_rejected == len(log.rejected_at)
    assert log.t[0] == 0.0 and math.isclose(log.t[-1] + log.h[-1], 6.0, rel_tol=1e-14)
    for t_a, h_a, t_b in zip(log.t[:-1], log.h[:-1], log.t[1:], strict=True):
        assert math.isclose(t_a + h_a, t_b, rel_tol=1e-14)
    # The recorded states are the solution at the step starts (checked against exp(Bt)).
    exact = linear_flow(B.cpu(), z0.cpu(), log.t)
    torch.testing.assert_close(torch.stack(log.z).cpu(), exact, rtol=0, atol=1e-5)
    # dopri5 with FSAL: one evaluation for k1, one for the first-step guess, 6 per attempt.
    assert stats.nfe == 2 + 6 * stats.n_steps


def test_adaptive_steps_rejects_a_reversed_interval():
    B, z0, f = stiffish()
    with pytest.raises(ValueError, match="t1"):
        adaptive_steps(f, z0, 1.0, 0.0)


def test_loglog_slope_of_a_power_law_and_bad_input():
    x = np.array([0.1, 0.2, 0.4])
    assert loglog_slope(x, 3 * x**2.5) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="x, y"):
        loglog_slope([1.0], [2.0])
    with pytest.raises(ValueError, match="x, y"):
        loglog_slope([1.0, 2.0], [2.0, 3.0, 4.0])


def test_linear_flow_against_scipy_expm():
    A, z0, _ = rotation()
    ts = [0.5, 1.0, 3.0]
    flow = linear_flow(A, z0, ts)
    for t, z in zip(ts, flow, strict=True):
        expected = scipy.linalg.expm((t - 0.5) * np.array(A_ROT)) @ np.array([1.0, 0.0])
        np.testing.assert_allclose(z.numpy(), expected, rtol=1e-13, atol=1e-15)


# -- figures -----------------------------------------------------------------------------


def test_convergence_figure_names_each_slope():
    hs = [0.1, 0.05]
    fig = convergence_figure({"euler": (hs, [0.2, 0.1]), "rk4": (hs, [1.6e-3, 1e-4])})
    assert [tr.name for tr in fig.data] == ["euler (slope 1.00)", "rk4 (slope 4.00)"]
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"


def test_stability_figure_contours_are_abs_R_and_points_are_drawn():
    fig = stability_figure(("euler", "rk4"), points=[-1 + 0.5j, -3.0])
    euler, rk4, pts = fig.data
    x, y, z = np.array(euler.x), np.array(euler.y), np.array(euler.z)
    j, i = np.argmin(abs(x + 1.0)), np.argmin(abs(y - 0.0))
    # |1 + w| for Euler, evaluated independently at one grid point
    assert z[i, j] == pytest.approx(abs(1 + complex(x[j], y[i])))
    assert rk4.contours.start == rk4.contours.end == 1.0
    assert list(pts.x) == [-1.0, -3.0] and list(pts.y) == [0.5, 0.0]


def test_steps_figure_shows_accepted_steps_and_rejections():
    B, z0, f = stiffish()
    log = adaptive_steps(f, z0, 0.0, 6.0, rtol=1e-6, atol=1e-9)
    fig = steps_figure(log)
    assert list(fig.data[0].x) == log.t and list(fig.data[0].y) == log.h
    assert len(fig.data[1].x) == sum(r > 0 for r in log.rejected_before) > 0


# -- the widget --------------------------------------------------------------------------


def test_solver_widget_euler_points_are_powers_of_the_step_matrix():
    w = SolverWidget(method="euler", step_size=0.5, t1=10.0)
    A, z0, _ = rotation()
    B = torch.eye(2, dtype=F64) + 0.5 * A
    expected = [torch.linalg.matrix_power(B, k) @ z0 for k in range(21)]
    np.testing.assert_allclose(w.fig.data[1].x, [z[0].item() for z in expected], rtol=1e-12)
    np.testing.assert_allclose(w.fig.data[1].y, [z[1].item() for z in expected], rtol=1e-12)
    exact = scipy.linalg.expm(10.0 * np.array(A_ROT)) @ np.array([1.0, 0.0])
    assert w.error == pytest.approx(np.linalg.norm(expected[-1].numpy() - exact), rel=1e-10)
    assert (w.nfe, w.n_steps) == (20, 20)
    assert w.fig.data[1].name == "euler"


def test_solver_widget_fixed_methods_converge_and_cost_stages_times_steps():
    w = SolverWidget()
    for method, stages in (("midpoint", 2), ("rk4", 4)):
        w.update(method, 0.25)
        coarse = w.error
        assert w.nfe == stages * w.n_steps and w.n_steps == 40
        w.update(method, 0.125)
        order = {"midpoint": 2, "rk4": 4}[method]
        assert coarse / w.error == pytest.approx(2**order, rel=0.15)
    w.update("rk4", 3.0)  # 10 / 3 is not a whole number: the last step is shortened
    assert w.n_steps == 4 and w.fig.data[1].x[-1] == pytest.approx(w.z_exact[0].item(), abs=0.5)


def test_solver_widget_dopri5_error_tracks_rtol():
    w = SolverWidget()
    stats = ne.SolverStats()
    A, z0, f = rotation()
    t = torch.tensor([0.0, 10.0], dtype=F64)
    errors = []
    for rtol in (1e-4, 1e-8):
        w.update("dopri5", rtol=rtol)
        ne.odeint(f, z0, t, rtol=rtol, atol=rtol / 1000, stats=stats)
        assert (w.nfe, w.n_steps) == (stats.nfe, stats.n_accepted)
        assert len(w.fig.data[1].x) == stats.n_accepted + 1
        errors.append(w.error)
        assert w.error < 10 * rtol
    assert errors[1] < errors[0] / 100


def test_solver_widget_controls_drive_update_and_follow_it():
    w = SolverWidget(method="rk4", step_size=0.5)
    w.method.value = "euler"  # what the dropdown does: the observer calls update
    assert w.fig.data[1].name == "euler" and w.n_steps == 20
    w.step.value = 1.0
    assert w.n_steps == 10
    w.update("dopri5", rtol=1e-6)
    assert w.method.value == "dopri5" and w.rtol.value == pytest.approx(1e-6)


def test_solver_widget_bad_arguments():
    w = SolverWidget()
    with pytest.raises(ValueError, match="method"):
        w.update("heun", 0.1)
    with pytest.raises(ValueError, match="step_size"):
        w.update("rk4", -0.1)
    with pytest.raises(ValueError, match="step_size"):
        w.update("rk4", 11.0)
    with pytest.raises(ValueError, match="rtol"):
        w.update("dopri5", rtol=2.0)
    with pytest.raises(ValueError, match="A, z0"):
        SolverWidget(A=[[1.0]], z0=[1.0])


def test_solver_widget_at_the_lessons_step_costs_stages_times_twenty_steps():
    # Moved from lesson 03 (what the figure shows is the widget's business, tested here):
    # at h = 0.5 on [0, 10] every fixed method takes 20 steps of n_stages evaluations, and
    # Euler's points spiral outwards exactly as |(I + hA)^k z0|.
    w = SolverWidget(method="euler", step_size=0.5)
    A, z0, _ = rotation()
    radius = np.hypot(w.fig.data[1].x, w.fig.data[1].y)
    B = torch.eye(2, dtype=F64) + 0.5 * A
    assert radius[-1] > radius[0]
    assert np.isclose(radius[-1], float((torch.linalg.matrix_power(B, 20) @ z0).norm()))
    for name in ("euler", "midpoint", "rk4"):
        w.update(name, 0.5)
        assert w.n_steps == 20 and w.nfe == 20 * TABLEAUX[name].n_stages


def test_solver_widget_solves_with_the_adaptive_method_chosen_and_draws_its_dense_output():
    w = SolverWidget(method="dopri5", rtol=1e-6)
    A, z0, _ = rotation()
    dopri5_steps = w.n_steps
    exact = torch.stack([torch.linalg.matrix_exp(A * t) @ z0 for t in w.fine_t])  # oracle
    dense = np.column_stack([w.fig.data[2].x, w.fig.data[2].y])
    assert dense.shape == (len(w.fine_t), 2)
    assert np.abs(dense - exact.numpy()).max() < 1e-4  # the curve between the steps
    assert w.fig.data[1].mode == "markers"
    w.update("bosh3", rtol=1e-6)  # third order: many more steps at the same tolerance
    assert w.n_steps > 3 * dopri5_steps and w.error < 1e-3
    assert w.fig.data[1].name == "bosh3"
    w.update("tsit5", rtol=1e-6)
    assert w.n_steps < 2 * dopri5_steps and w.error < 1e-3
    w.update("rk4", 0.5)  # a fixed step: its points joined, nothing in between
    assert w.fig.data[1].mode == "lines+markers" and len(w.fig.data[2].x) == 0
