"""Every Butcher tableau against independent oracles: the order conditions (rooted trees,
exact Fractions where the coefficients are rational), torch.linalg.matrix_exp, scipy's
DOP853, torchdiffeq's method of the same name, and autograd for the adjoint gradients."""

import dataclasses
import itertools
from fractions import Fraction

import numpy as np
import pytest
import scipy.integrate
import torch
import torchdiffeq
from test_adjoint import MLP, gradients  # the time-dependent MLP of the adjoint tests

import node_edu as ne
from node_edu.solvers import TABLEAUX, ButcherTableau
from node_edu.solvers.reference import explicit_rk_step
from node_edu.solvers.rk import Clock, coefficients, rk_step
from node_edu.solvers.tableaux import BOSH3, DOPRI5, TSIT5

ADAPTIVE = ["bosh3", "dopri5", "tsit5"]
ORDERS = {"euler": 1, "midpoint": 2, "rk4": 4, "bosh3": 3, "dopri5": 5, "tsit5": 5}
RATIONAL = ["euler", "midpoint", "rk4", "bosh3", "dopri5"]  # tsit5's are decimals

# A non-FSAL tableau without dense output, defined here only: Heun's method with Euler
# embedded (torchdiffeq's "adaptive_heun").
HEUN_EULER = ButcherTableau(
    name="heun_euler", order=2, c=(0.0, 1.0), a=((), (1.0,)), b=(0.5, 0.5), b_err=(-0.5, 0.5)
)


# -- order conditions ---------------------------------------------------------------------


def trees(order):
    """Rooted trees with ``order`` nodes, each a sorted tuple of its subtrees."""
    if order == 1:
        return [()]
    found = set()
    for split in _partitions(order - 1):
        for children in itertools.product(*(trees(k) for k in split)):
            found.add(tuple(sorted(children)))
    return sorted(found)


def _partitions(n, largest=None):
    largest = n if largest is None else largest
    if n == 0:
        yield ()
        return
    for k in range(min(n, largest), 0, -1):
        for rest in _partitions(n - k, k):
            yield (k, *rest)


def size(tree):
    return 1 + sum(size(t) for t in tree)


def density(tree):
    """gamma(tree): the order condition is b . Phi(tree) = 1 / gamma(tree)."""
    out = size(tree)
    for t in tree:
        out *= density(t)
    return out


def weights(tree, A):
    """Phi(tree) per stage: the product over subtrees of A @ Phi(subtree)."""
    s = len(A)
    out = [1] * s
    for sub in tree:
        phi = weights(sub, A)
        inner = [sum(A[i][j] * phi[j] for j in range(s)) for i in range(s)]
        out = [x * y for x, y in zip(out, inner, strict=True)]
    return out


def square(tab, exact):
    conv = exact_fraction if exact else float
    s = tab.n_stages
    return [[conv(x) for x in row] + [0] * (s - len(row)) for row in tab.a]


def exact_fraction(x):
    """The fraction of smallest denominator (up to 10^12) that rounds to the float x:
    the fraction the tableau's coefficient was rounded from."""
    for digits in range(1, 13):
        q = Fraction(x).limit_denominator(10**digits)
        if float(q) == x:
            return q
    raise AssertionError(f"{x!r} is not a fraction with a denominator up to 10^12")


def residuals(tab, b, order, exact):
    """(tree, b . Phi(tree) - 1/gamma(tree)) for every tree up to ``order`` nodes."""
    A = square(tab, exact)
    for p in range(1, order + 1):
        for tree in trees(p):
            phi = weights(tree, A)
            value = sum(bi * x for bi, x in zip(b, phi, strict=True))
            yield tree, value - Fraction(1, density(tree))


def test_tree_counts_are_the_known_ones():
    """1, 1, 2, 4, 9, 20 rooted trees of orders 1..6 (OEIS A000081)."""
    assert [len(trees(p)) for p in range(1, 7)] == [1, 1, 2, 4, 9, 20]


@pytest.mark.parametrize("name", list(TABLEAUX))
def test_order_conditions(name):
    """b satisfies every order condition up to the method's order and misses one of the
    next order; the embedded b_hat = b - b_err likewise one order lower."""
    tab = TABLEAUX[name]
    exact = name in RATIONAL
    conv = exact_fraction if exact else float
    tol = 0 if exact else 1e-13
    p = ORDERS[name]
    assert tab.order == p
    b = [conv(x) for x in tab.b]
    pairs = [(b, p)]
    if tab.b_err is not None:
        pairs.append(([x - conv(e) for x, e in zip(b, tab.b_err, strict=True)], p - 1))
    for weights_, q in pairs:
        for tree, r in residuals(tab, weights_, q, exact):
            assert abs(r) <= tol, (name, tree, r)
        worst = max(abs(r) for tree, r in residuals(tab, weights_, q + 1, exact))
        assert worst > 1e-6, (name, "order higher than claimed")


# -- the tableau checks itself ------------------------------------------------------------


def _broken(**changes):
    return dict(
        dict(name="bad", order=3, c=BOSH3.c, a=BOSH3.a, b=BOSH3.b, b_err=BOSH3.b_err, fsal=True),
        **changes,
    )


@pytest.mark.parametrize(
    "changes, condition",
    [
        (dict(c=(0.0, 0.5, 0.7, 1.0)), "each row of a sums to c"),
        (dict(b=(0.3, 1 / 3, 4 / 9, 0.0)), "b sums to 1"),
        (dict(b_err=(0.1, 0.0, 0.0, 0.0)), "b_err sums to 0"),
        (dict(b=(0.2, 1 / 3, 4 / 9, 2 / 90)), "fsal implies the last row of a equals b"),
        (dict(a=((), (0.5,), (0.75,), BOSH3.a[3])), "row i of a has i entries"),
        (dict(b=(0.5, 0.5)), "len(c) == len(a) == len(b)"),
        (dict(b_err=(0.0, 0.0)), "len(b_err) == len(b)"),
        (dict(order=0), "order >= 1"),
    ],
)
def test_a_bad_tableau_names_the_broken_condition(changes, condition):
    with pytest.raises(ValueError, match=condition.replace("(", r"\(").replace(")", r"\)")):
        ButcherTableau(**_broken(**changes))


def test_fsal_needs_the_last_stage_at_the_end_of_the_step():
    # rows sum to c, b sums to 1, last row == b, but c[-1] is not 1: impossible unless c
    # is wrong, so a tableau with last row == b yet c[-1] != 1 is rejected first by the row
    # sum; a dense row that does not end on b is caught too.
    with pytest.raises(ValueError, match="each dense row sums to b"):
        dataclasses.replace(DOPRI5, dense=((1.0, 0.0, 0.0, 0.0),) * 7)
    with pytest.raises(ValueError, match="fsal implies"):
        dataclasses.replace(HEUN_EULER, fsal=True)


# -- measured orders and agreement with other solvers -------------------------------------

A = [[-0.1, -1.0, 0.3], [1.0, -0.1, 0.0], [0.2, 0.0, -0.5]]


def linear(device):
    Am = torch.tensor(A, dtype=torch.float64, device=device)
    z0 = torch.tensor([1.0, 0.5, -0.3], dtype=torch.float64, device=device)
    return (lambda t, z: z @ Am.T), z0, Am


@pytest.mark.parametrize("name", list(TABLEAUX))
def test_measured_order_of_the_fused_step(device, name):
    """Error at t = 2 of n fixed steps (the library's fused ``rk_step``) against
    matrix_exp: halving h divides it by 2^p."""
    f, z0, Am = linear(device)
    exact = torch.linalg.matrix_exp(2.0 * Am) @ z0
    tab = TABLEAUX[name]
    coef = coefficients(tab, z0.dtype, z0.device)
    # tsit5 is built to have tiny 6th-order error terms: its 5th order shows from h ~ 1/8
    ns = {5: (16, 32, 64), 4: (8, 16, 32)}.get(ORDERS[name], (32, 64, 128))
    errors = []
    for n in ns:
        h, y = 2.0 / n, z0
        clock = Clock(torch.tensor(0.0, dtype=torch.float64, device=device), 0.0)
        for i in range(n):
            y, _ = rk_step(f, tab, coef, clock, i * h, y, h, f(clock(i * h), y))
        errors.append((y - exact).norm().item())
    slopes = [np.log2(e0 / e1) for e0, e1 in zip(errors[:-1], errors[1:], strict=True)]
    assert all(abs(s - ORDERS[name]) < 0.35 for s in slopes), slopes


@pytest.mark.parametrize("name", list(TABLEAUX))
def test_fused_step_equals_the_textbook_step(device, name):
    """rk_step (fused addmv, with and without the stage buffer) against the textbook
    sum of explicit_rk_step, on a nonlinear time-dependent f and a batch of states."""
    from node_edu.solvers.rk import StageBuffer

    def f(t, z):
        return torch.sin(z) * torch.cos(t) - 0.3 * z.roll(1, -1)

    z = torch.tensor([[0.3, -1.2, 0.8], [1.0, 0.1, -0.4]], dtype=torch.float64, device=device)
    t0, h = 0.7, 0.13
    textbook = explicit_rk_step(name, f, t0, z, h)
    tab = TABLEAUX[name]
    coef = coefficients(tab, z.dtype, z.device)
    clock = Clock(torch.tensor(t0, dtype=torch.float64, device=device), t0)
    y = z.reshape(-1)

    def flat(t, y):
        return f(t, y.view(2, 3)).reshape(-1)

    for buffer in (None, StageBuffer(tab, y)):
        fused, _ = rk_step(flat, tab, coef, clock, 0.0, y, h, flat(clock(0.0), y), buffer)
        torch.testing.assert_close(fused.view(2, 3), textbook, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", ADAPTIVE)
@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_adaptive_meets_tolerance_against_matrix_exp(device, name, direction):
    f, z0, Am = linear(device)
    t = direction * torch.linspace(0, 3, 7, dtype=torch.float64, device=device)
    z = ne.odeint(f, z0, t, method=name, rtol=1e-9, atol=1e-11)
    exact = torch.stack([torch.linalg.matrix_exp(Am * ti) @ z0 for ti in t])
    err = (z - exact).abs().max().item()
    assert err < 1e-7, err


def lotka_volterra(t, z):
    x, y = z[..., 0], z[..., 1]
    return torch.stack([1.1 * x - 0.4 * x * y, 0.1 * x * y - 0.4 * y], -1)


def test_bosh3_matches_torchdiffeq(device):
    """Same name, same method: torchdiffeq's bosh3 on a batch, both directions.

    torchdiffeq reads its outputs off a quartic through a crude midpoint estimate
    (z0 + h/2 k2, second order), which at rtol 1e-10 is ~1e-6 off the exact solution
    here (ours, cubic Hermite, is ~3e-10 off). ``step_t=t`` makes its steps end on the
    output times, so the two propagated solutions are compared."""
    z0 = torch.tensor([[10.0, 5.0], [4.0, 2.0]], dtype=torch.float64, device=device)
    for t in (torch.linspace(0, 5, 6), torch.linspace(0, -2, 6)):
        t = t.to(dtype=torch.float64, device=device)
        ours = ne.odeint(lotka_volterra, z0, t, method="bosh3", rtol=1e-10, atol=1e-12)
        theirs = torchdiffeq.odeint(
            lotka_volterra, z0, t, method="bosh3", rtol=1e-10, atol=1e-12,
            options=dict(step_t=t),
        )  # fmt: skip
        assert (ours - theirs).abs().max().item() < 1e-7 * theirs.abs().max().item()


@pytest.mark.parametrize("name", ADAPTIVE)
def test_adaptive_matches_scipy_dop853(name):
    """tsit5 is not in the installed torchdiffeq (0.2.5): scipy's DOP853 at rtol 1e-13
    is the oracle for it (and the other adaptive methods) on Lotka-Volterra."""
    t = np.linspace(0, 5, 6)
    ref = scipy.integrate.solve_ivp(
        lambda s, z: lotka_volterra(s, torch.from_numpy(z)).numpy(),
        (0, 5), [10.0, 5.0], method="DOP853", t_eval=t, rtol=1e-13, atol=1e-13,
    ).y.T  # fmt: skip
    z0 = torch.tensor([10.0, 5.0], dtype=torch.float64)
    ours = ne.odeint(lotka_volterra, z0, torch.from_numpy(t), method=name, rtol=1e-10, atol=1e-12)
    assert np.abs(ours.numpy() - ref).max() < 1e-7 * np.abs(ref).max()


def test_a_tableau_without_fsal_or_dense_output_is_solved_correctly(device):
    """The loop reads fsal and dense from the tableau: a non-FSAL method without dense
    output agrees with torchdiffeq's adaptive_heun and with matrix_exp, and bosh3 with
    its FSAL flag switched off gives the same solution for one more evaluation per
    accepted step."""
    f, z0, Am = linear(device)
    t = torch.linspace(0, 3, 7, dtype=torch.float64, device=device)
    exact = torch.stack([torch.linalg.matrix_exp(Am * ti) @ z0 for ti in t])
    z = ne.odeint(f, z0, t, method=HEUN_EULER, rtol=1e-8, atol=1e-10)
    assert (z - exact).abs().max().item() < 1e-6
    theirs = torchdiffeq.odeint(f, z0, t, method="adaptive_heun", rtol=1e-8, atol=1e-10)
    assert (z - theirs).abs().max().item() < 1e-6

    s_fsal, s_plain = ne.SolverStats(), ne.SolverStats()
    z_fsal = ne.odeint(f, z0, t, method="bosh3", rtol=1e-8, atol=1e-10, stats=s_fsal)
    plain = dataclasses.replace(BOSH3, name="bosh3_no_fsal", fsal=False)
    z_plain = ne.odeint(f, z0, t, method=plain, rtol=1e-8, atol=1e-10, stats=s_plain)
    torch.testing.assert_close(z_plain, z_fsal, rtol=1e-12, atol=1e-14)
    assert s_plain.n_steps == s_fsal.n_steps
    assert s_plain.nfe == s_fsal.nfe + s_fsal.n_accepted

    hermite_tsit5 = dataclasses.replace(TSIT5, name="tsit5_hermite", dense=None)
    z_h = ne.odeint(f, z0, t, method=hermite_tsit5, rtol=1e-9, atol=1e-11)
    assert (z_h - exact).abs().max().item() < 1e-7


# -- gradients ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bosh3", "tsit5"])
@pytest.mark.parametrize("adjoint", ["backsolve", "checkpoint"])
def test_adjoint_gradients_of_the_new_methods(device, name, adjoint):
    """Against backprop through our solver, and (bosh3) torchdiffeq's adjoint."""
    func = MLP().to(device)
    g = torch.Generator().manual_seed(1)
    z0 = torch.randn(4, 2, generator=g, dtype=torch.float64).to(device)
    t = torch.tensor([0.0, 0.3, 0.7, 1.5], dtype=torch.float64, device=device)
    w = torch.randn(4, 4, 2, generator=g, dtype=torch.float64).to(device)
    kw = dict(method=name, rtol=1e-10, atol=1e-12)
    ours = gradients(ne.odeint_adjoint, func, z0, t, w, adjoint=adjoint, **kw)
    refs = [gradients(ne.odeint, func, z0, t, w, **kw)]
    if name == "bosh3":
        refs.append(gradients(torchdiffeq.odeint_adjoint, func, z0, t, w, **kw))
    for ref in refs:
        for a, b in zip(ours, ref, strict=True):
            assert (a - b).abs().max().item() <= 1e-6 * b.abs().max().item() + 1e-10
