"""The teaching AD engine against torch.func (vjp, jvp, jacrev, jacfwd) and autograd."""

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import node_edu.autodiff as ad

SETTINGS = settings(max_examples=25, deadline=None)
floats = st.floats(-2.0, 2.0, allow_nan=False, width=64)
shapes = hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=4)


def arrays(shape, lo=-2.0, hi=2.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, width=64))


def t(x):
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def close(a, b, tol=1e-9):
    return np.allclose(np.asarray(a), np.asarray(b, dtype=np.float64), rtol=tol, atol=tol)


# Each unary primitive written twice: with the engine (ad) and with torch; inputs for log
# and for fractional powers are kept positive.
UNARY = {
    "sin": (ad.sin, torch.sin, False),
    "cos": (ad.cos, torch.cos, False),
    "exp": (ad.exp, torch.exp, False),
    "log": (ad.log, torch.log, True),
    "tanh": (ad.tanh, torch.tanh, False),
    "neg": (lambda x: -x, lambda x: -x, False),
    "pow3": (lambda x: x**3, lambda x: x**3, False),
    "pow_half": (lambda x: x**0.5, lambda x: x**0.5, True),
    "rpow": (lambda x: 2.0**x, lambda x: 2.0**x, False),
    "sum": (ad.sum, torch.sum, False),
    "sum_axis0": (lambda x: ad.sum(x, axis=0), lambda x: torch.sum(x, dim=0), False),
    "getitem": (lambda x: x[..., :1], lambda x: x[..., :1], False),
}


@SETTINGS
@given(name=st.sampled_from(sorted(UNARY)), data=st.data())
def test_unary_primitive_vjp_and_jvp_match_torch_func(name, data):
    f_ad, f_torch, positive = UNARY[name]
    min_dims = 1 if name in ("sum_axis0", "getitem") else 0
    shape = data.draw(hnp.array_shapes(min_dims=min_dims, max_dims=2, min_side=1, max_side=4))
    x = data.draw(arrays(shape, 0.1, 3.0) if positive else arrays(shape))
    y, vjp_fn = ad.vjp(f_ad, x)
    y_t, vjp_t = torch.func.vjp(f_torch, t(x))
    assert close(y, y_t)
    v = data.draw(arrays(y_t.shape))
    assert close(vjp_fn(v)[0], vjp_t(t(v))[0])
    dx = data.draw(arrays(shape))
    _, y_dot = ad.jvp(f_ad, (x,), (dx,))
    assert close(y_dot, torch.func.jvp(f_torch, (t(x),), (t(dx),))[1])


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1.5 + b * b),  # keep the denominator away from zero
    "pow": lambda a, b: (1.0 + a * a) ** b,  # traced exponent: the two-input "pow" primitive
}


@SETTINGS
@given(
    name=st.sampled_from(sorted(BINARY)),
    bshapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
    data=st.data(),
)
def test_binary_primitive_with_broadcasting_matches_torch_func(name, bshapes, data):
    f = BINARY[name]
    a = data.draw(arrays(bshapes.input_shapes[0]))
    b = data.draw(arrays(bshapes.input_shapes[1]))
    y, vjp_fn = ad.vjp(f, a, b)
    y_t, vjp_t = torch.func.vjp(f, t(a), t(b))
    assert close(y, y_t)
    v = data.draw(arrays(tuple(y_t.shape)))
    for mine, theirs in zip(vjp_fn(v), vjp_t(t(v)), strict=True):
        assert mine.shape == tuple(theirs.shape)  # the adjoint was summed back to the input shape
        assert close(mine, theirs)
    da, db = data.draw(arrays(a.shape)), data.draw(arrays(b.shape))
    _, y_dot = ad.jvp(f, (a, b), (da, db))
    assert close(y_dot, torch.func.jvp(f, (t(a), t(b)), (t(da), t(db)))[1])


@SETTINGS
@given(
    dims=st.tuples(*[st.integers(1, 4)] * 3),
    kind=st.sampled_from(["mat-mat", "mat-vec", "vec-mat", "vec-vec"]),
    data=st.data(),
)
def test_matmul_vjp_and_jvp_match_torch_func(dims, kind, data):
    n, k, m = dims
    sa = {"mat-mat": (n, k), "mat-vec": (n, k), "vec-mat": (k,), "vec-vec": (k,)}[kind]
    sb = {"mat-mat": (k, m), "mat-vec": (k,), "vec-mat": (k, m), "vec-vec": (k,)}[kind]
    a, b = data.draw(arrays(sa)), data.draw(arrays(sb))
    y, vjp_fn = ad.vjp(lambda a, b: a @ b, a, b)
    y_t, vjp_t = torch.func.vjp(torch.matmul, t(a), t(b))
    v = data.draw(arrays(tuple(y_t.shape)))
    assert close(y, y_t)
    for mine, theirs in zip(vjp_fn(v), vjp_t(t(v)), strict=True):
        assert close(mine, theirs)
    da, db = data.draw(arrays(sa)), data.draw(arrays(sb))
    _, y_dot = ad.jvp(lambda a, b: a @ b, (a, b), (da, db))
    assert close(y_dot, torch.func.jvp(torch.matmul, (t(a), t(b)), (t(da), t(db)))[1])


def _program(lib, steps):
    """A random composition of primitives, written once for ``lib`` = ad or torch."""
    unary = [
        lib.sin,
        lib.tanh,
        lambda a: lib.exp(lib.tanh(a)),
        lambda a: lib.log(1.0 + a * a),
        lambda a: a**2 / (1.0 + a * a),
    ]
    binary = [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a * lib.tanh(b),  # bounded factors: no overflow in long chains
        lambda a, b: a / (1.0 + b * b),
    ]

    def f(x, W):
        vals = [x, W @ x]
        for op, i, j in steps:
            if op < len(unary):
                vals.append(unary[op](vals[i % len(vals)]))
            else:
                vals.append(binary[op - len(unary)](vals[i % len(vals)], vals[j % len(vals)]))
        return vals[-1] * 0.5 + vals[1]

    return f


programs = st.lists(
    st.tuples(st.integers(0, 8), st.integers(0, 20), st.integers(0, 20)), max_size=8
)


@SETTINGS
@given(steps=programs, n=st.integers(1, 4), data=st.data())
def test_random_compositions_jacobians_match_jacrev_and_jacfwd(steps, n, data):
    x, W = data.draw(arrays((n,))), data.draw(arrays((n, n)))
    f_ad, f_torch = _program(ad, steps), _program(torch, steps)
    J_rev = torch.func.jacrev(f_torch, argnums=(0, 1))(t(x), t(W))
    J_fwd = torch.func.jacfwd(f_torch, argnums=(0, 1))(t(x), t(W))
    for argnum in (0, 1):
        assert close(ad.jacobian(f_ad, mode="rev", argnums=argnum)(x, W), J_rev[argnum])
        assert close(ad.jacobian(f_ad, mode="fwd", argnums=argnum)(x, W), J_fwd[argnum])
    v = data.draw(arrays((n,)))
    assert close(ad.vjp(f_ad, x, W)[1](v)[1], torch.func.vjp(f_torch, t(x), t(W))[1](t(v))[1])


@SETTINGS
@given(n=st.integers(1, 6), m=st.integers(1, 6), data=st.data())
def test_jacobian_costs_one_vjp_per_output_or_one_jvp_per_input(n, m, data):
    W = data.draw(arrays((m, n)))
    x = data.draw(arrays((n,)))

    def f(x):
        return ad.tanh(W @ x)

    with ad.count_passes() as rev:
        J_rev = ad.jacobian(f, mode="rev")(x)
    with ad.count_passes() as fwd:
        J_fwd = ad.jacobian(f, mode="fwd")(x)
    assert (rev.vjp, rev.jvp, fwd.vjp, fwd.jvp) == (m, 0, 0, n)
    oracle = torch.func.jacrev(lambda x: torch.tanh(t(W) @ x))(t(x))
    assert close(J_rev, oracle) and close(J_fwd, oracle)


def test_grad_with_argnums_matches_torch_func_grad():
    def f(x, y):
        return ad.sum(ad.sin(x) * y)

    x, y = np.array([0.3, -1.2]), np.array([2.0, 0.5])
    gx, gy = ad.grad(f, argnums=(0, 1))(x, y)
    tx, ty = torch.func.grad(lambda x, y: (torch.sin(x) * y).sum(), argnums=(0, 1))(t(x), t(y))
    assert close(gx, tx) and close(gy, ty)
    assert close(ad.grad(f, argnums=1)(x, y), ty)


def test_graph_of_baydin_example_nodes_values_adjoints_and_tangents():
    def f(x1, x2):
        return ad.log(x1) + x1 * x2 - ad.sin(x2)

    graph = ad.trace(f, 2.0, 5.0, labels=["x1", "x2"])
    ops = [n.op for n in graph.nodes]
    assert sorted(ops) == sorted(["input", "input", "log", "mul", "add", "sin", "sub"])
    assert len(graph.edges) == 8  # x1 feeds log and mul, x2 feeds mul and sin, ...
    for i, j in graph.edges:
        assert i < j  # topological order: every edge points forward
    # Oracle: the same computation in torch, with every intermediate's gradient retained.
    x1, x2 = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (2.0, 5.0))
    tv = {"log": torch.log(x1), "mul": x1 * x2, "sin": torch.sin(x2)}
    tv["add"] = tv["log"] + tv["mul"]
    tv["sub"] = tv["add"] - tv["sin"]
    for v in tv.values():
        v.retain_grad()
    tv["sub"].backward()
    tv["input"] = None
    g1, g2 = graph.backward()
    assert close(g1, x1.grad) and close(g2, x2.grad)
    for n in graph.nodes:
        if n.op != "input":
            assert close(n.value, tv[n.op].detach()) and close(n.adjoint, tv[n.op].grad)
    # Forward mode over the same graph, seeded with dx1 = 1: gives df/dx1 in one sweep.
    assert close(graph.forward_tangents(1.0, 0.0), x1.grad)
    assert close(graph.forward_tangents(0.0, 1.0), x2.grad)


def test_node_used_twice_collects_both_adjoints():
    g = ad.grad(lambda x: x * x + x)(3.0)
    assert close(g, torch.func.grad(lambda x: x * x + x)(torch.tensor(3.0, dtype=torch.float64)))


def test_constant_output_gives_zero_derivatives():
    y, vjp_fn = ad.vjp(lambda x: np.ones(2), np.array([1.0, 2.0]))
    assert close(vjp_fn(np.ones(2))[0], np.zeros(2))
    assert close(ad.jvp(lambda x: 3.0, (1.0,), (1.0,))[1], 0.0)


# ----------------------------------------------------------------- clear failures
def test_higher_order_use_fails_clearly():
    with pytest.raises(TypeError, match="[Hh]igher-order"):
        ad.grad(ad.grad(ad.sin))(1.0)
    with pytest.raises(TypeError, match="higher-order"):  # perturbation confusion via a closure
        ad.grad(lambda x: ad.grad(lambda y: x * y)(1.0))(2.0)
    with pytest.raises(TypeError, match="[Hh]igher-order"):
        ad.jvp(lambda x: ad.grad(ad.sin)(x), (1.0,), (1.0,))
    with pytest.raises(TypeError, match="[Hh]igher-order"):
        ad.jvp(lambda x: ad.jvp(ad.sin, (x,), (1.0,))[1], (1.0,), (1.0,))


def test_shape_errors_name_the_operation_and_shapes():
    with pytest.raises(ValueError, match=r"ad.matmul.*\(2,\).*\(3,\)"):
        ad.vjp(lambda x: x @ np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match=r"ad.add.*\(2,\).*\(3,\)"):
        ad.vjp(lambda x: x + np.ones(3), np.ones(2))
    _, vjp_fn = ad.vjp(ad.sin, np.ones(2))
    with pytest.raises(ValueError, match=r"v must have shape \(2,\), got shape \(3,\)"):
        vjp_fn(np.ones(3))
    with pytest.raises(ValueError, match=r"tangents\[0\] must have shape \(2,\)"):
        ad.jvp(ad.sin, (np.ones(2),), (np.ones(3),))


def test_bad_arguments_raise_with_what_was_given():
    with pytest.raises(ValueError, match="one number, got shape"):
        ad.grad(ad.sin)(np.ones(2))
    with pytest.raises(ValueError, match='mode must be "rev" or "fwd", got \'col\''):
        ad.jacobian(ad.sin, mode="col")
    with pytest.raises(ValueError, match="argnums"):
        ad.grad(ad.sin, argnums=3)(1.0)
    with pytest.raises(TypeError, match="primals and tangents must be tuples"):
        ad.jvp(ad.sin, 1.0, 1.0)
    with pytest.raises(ValueError, match="1 primals but 2 tangents"):
        ad.jvp(ad.sin, (1.0,), (1.0, 2.0))
    with pytest.raises(TypeError, match="real numbers, got dtype"):
        ad.grad(ad.sin)("abc")
    with pytest.raises(TypeError, match="exponent must be a number or a traced value"):
        ad.grad(lambda x: x ** np.ones(2))(1.0)
    with pytest.raises(ValueError, match=r"base > 0, got base = -2.0"):
        ad.grad(lambda x: (-2.0) ** x)(1.0)
    with pytest.raises(ValueError, match="one tangent per input"):
        ad.trace(ad.sin, 1.0).forward_tangents(1.0, 2.0)


# ----------------------------------------------------------------- estimators
def test_finite_difference_orders_against_the_exact_derivative():
    x, exact = 0.7, np.cos(0.7)
    e_fwd = [abs(ad.finite_difference(np.sin, x, h) - exact) for h in (1e-2, 1e-3)]
    e_cen = [abs(ad.finite_difference(np.sin, x, h, "central") - exact) for h in (1e-2, 1e-3)]
    assert 8 < e_fwd[0] / e_fwd[1] < 12  # O(h): ten times smaller h, ten times smaller error
    assert 80 < e_cen[0] / e_cen[1] < 120  # O(h^2): a hundred times smaller


def test_finite_difference_errors_form_a_v_with_minimum_near_sqrt_eps():
    hs = np.logspace(-15, -1, 57)
    for dtype in (np.float64, np.float32):
        err = ad.finite_difference_errors(np.sin, np.cos, 0.7, hs, dtype=dtype)
        h_best = hs[np.argmin(err)]
        eps = np.finfo(dtype).eps
        assert np.sqrt(eps) / 100 < h_best < np.sqrt(eps) * 100
        assert err[0] > 100 * err.min() and err[-1] > 100 * err.min()


def test_finite_difference_bad_arguments():
    with pytest.raises(ValueError, match="scheme"):
        ad.finite_difference(np.sin, 1.0, 1e-3, scheme="backward")
    with pytest.raises(ValueError, match="hs must be > 0"):
        ad.finite_difference_errors(np.sin, np.cos, 1.0, [1e-3, 0.0])
    with pytest.raises(TypeError, match="float dtype"):
        ad.finite_difference_errors(np.sin, np.cos, 1.0, [1e-3], dtype=np.int64)
    with pytest.raises(TypeError, match="must keep its input's dtype float32"):
        ad.finite_difference_errors(lambda x: x * np.float64(2), np.cos, 1.0, [1e-3], np.float32)


def _F(u):  # a row-wise function with a known gradient (the oracle is autograd)
    return torch.stack([torch.sin(u[:, 0]) * u[:, 1], u[:, 0] ** 2 + torch.tanh(u[:, 1])], dim=1)


def test_estimate_vjp_fd_and_spsa_against_torch_func(device):
    g = torch.Generator(device=device).manual_seed(0)
    u = torch.randn(6, 2, dtype=torch.float64, device=device, generator=g)
    v = torch.randn(6, 2, dtype=torch.float64, device=device, generator=g)
    exact = torch.func.vjp(_F, u)[1](v)[0]
    assert torch.allclose(ad.estimate_vjp(_F, u, v, "fd", h=1e-5), exact, atol=1e-8)
    spsa = ad.estimate_vjp(_F, u, v, "spsa", n_directions=4000, generator=g)
    assert spsa.device == u.device
    assert torch.allclose(spsa, exact, atol=0.15)  # h = 1e-3: the O(h^2) bias is negligible
    one = ad.estimate_vjp(_F, u, v, "spsa", n_directions=1, generator=g)
    assert not torch.allclose(one, exact, atol=1e-3)  # but a single direction is noisy


def test_blackbox_backward_is_the_estimate_and_counts_calls(device):
    u = torch.tensor([[0.3, -0.4], [1.0, 2.0]], dtype=torch.float64, device=device)
    F = ad.blackbox(_F, "fd", h=1e-5)
    u_bb = u.clone().requires_grad_()
    (F(u_bb) ** 2).sum().backward()
    u_ref = u.clone().requires_grad_()
    (_F(u_ref) ** 2).sum().backward()
    assert torch.allclose(u_bb.grad, u_ref.grad, atol=1e-7)
    assert F.n_calls == 1 + 2 * 2  # one forward, then two calls per input dimension


def test_estimator_bad_arguments():
    with pytest.raises(ValueError, match="estimator"):
        ad.blackbox(_F, "adjoint")
    with pytest.raises(ValueError, match="estimator"):
        ad.estimate_vjp(_F, torch.zeros(1, 2), torch.zeros(1, 2), "adjoint")
    with pytest.raises(ValueError, match=r"u must be \[B, d\]"):
        ad.estimate_vjp(_F, torch.zeros(2), torch.zeros(2, 2))


def test_traced_exponent_is_one_pow_node_with_the_hand_derivatives():
    graph = ad.trace(lambda x, p: x**p, 2.0, 3.0)
    assert [n.op for n in graph.nodes] == ["input", "input", "pow"]
    dx, dp = graph.backward()
    assert np.isclose(dx, 3 * 2.0**2) and np.isclose(dp, 2.0**3 * np.log(2.0))


def test_spsa_mean_is_what_many_random_directions_average_to(device):
    g = torch.Generator(device=device).manual_seed(3)
    u = torch.randn(4, 2, dtype=torch.float64, device=device, generator=g)
    v = torch.randn(4, 2, dtype=torch.float64, device=device, generator=g)
    h = 0.5  # large, so the bias is visible
    many = ad.estimate_vjp(_F, u, v, "spsa", h=h, n_directions=4000, generator=g)
    expectation = ad.spsa_mean(_F, u, v, h)
    assert expectation.device == u.device
    assert torch.allclose(expectation, many, atol=0.06)  # Monte Carlo over random directions
    exact = torch.func.vjp(_F, u)[1](v)[0]
    bias = [float((ad.spsa_mean(_F, u, v, s) - exact).abs().max()) for s in (0.2, 0.1)]
    assert bias[1] > 1e-4 and 3.6 < bias[0] / bias[1] < 4.4  # biased, like h^2


def test_counted_counts_every_call():
    F = ad.counted(lambda u: 2 * u)
    assert F.n_calls == 0
    F(torch.ones(2))
    F(u=torch.ones(2))
    assert F.n_calls == 2


def test_spsa_mean_and_counted_bad_arguments():
    with pytest.raises(ValueError, match=r"u must be \[B, d\] with 1 <= d <= 12"):
        ad.spsa_mean(_F, torch.zeros(2), torch.zeros(2), 0.1)
    with pytest.raises(ValueError, match=r"u must be \[B, d\] with 1 <= d <= 12"):
        ad.spsa_mean(_F, torch.zeros(1, 13), torch.zeros(1, 2), 0.1)
    with pytest.raises(ValueError, match="h must be > 0"):
        ad.spsa_mean(_F, torch.zeros(1, 2), torch.zeros(1, 2), 0.0)
    with pytest.raises(ValueError, match="h must be > 0"):
        ad.spsa_mean(_F, torch.zeros(1, 2), torch.zeros(1, 2), float("nan"))
    with pytest.raises(TypeError, match="F must be callable, got int"):
        ad.counted(3)


@pytest.mark.parametrize("in_dims", [(None, 0), (0, 0), (0, None), (None, 1)])
def test_matvec_batching_rule_matches_a_loop_and_torch_vmap(in_dims, device):
    g = torch.Generator(device=device).manual_seed(4)
    B, m, n = 5, 3, 4
    W = torch.randn(*((B, m, n) if in_dims[0] == 0 else (m, n)), generator=g, device=device)
    x_shape = {0: (B, n), 1: (n, B), None: (n,)}[in_dims[1]]
    x = torch.randn(*x_shape, generator=g, device=device)
    before = ad.MatVec.rule_calls
    y = torch.vmap(ad.matvec, in_dims=in_dims)(W, x)
    assert ad.MatVec.rule_calls == before + 1  # one call for the whole batch
    Ws = [W[b] if in_dims[0] == 0 else W for b in range(B)]
    xs = [x.movedim(in_dims[1], 0)[b] if in_dims[1] is not None else x for b in range(B)]
    loop = torch.stack([Wb @ xb for Wb, xb in zip(Ws, xs, strict=True)])  # the oracle
    assert y.device == W.device and torch.allclose(y, loop, atol=1e-6)
    assert torch.allclose(y, torch.vmap(torch.mv, in_dims=in_dims)(W, x), atol=1e-6)


def test_matvec_gradients_match_autograd_of_a_plain_product():
    W = torch.randn(3, 4, dtype=torch.float64)
    x = torch.randn(4, dtype=torch.float64)
    assert torch.allclose(torch.func.jacrev(lambda x: ad.matvec(W, x))(x), W)
    assert torch.autograd.gradcheck(ad.matvec, (W.requires_grad_(), x.requires_grad_()))


def test_matvec_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"W: \[m, n\] and x: \[n\], got \[3, 4\] and \[3\]"):
        ad.matvec(torch.zeros(3, 4), torch.zeros(3))
    with pytest.raises(ValueError, match="matvec needs"):
        ad.matvec(torch.zeros(4), torch.zeros(4))


# --- a primitive with a parameter: sum over an axis ---------------------------------


@pytest.mark.parametrize(
    ("shape", "axis", "keepdims"),
    [((2, 3), 1, False), ((2, 3, 4), -2, False), ((2, 3, 4), (0, 2), False),
     ((2, 3, 4), (2, 0), True), ((3, 4), None, False), ((3, 4), 0, True)],
)  # fmt: skip
def test_sum_over_an_axis_keeps_its_parameter_and_matches_torch_func(shape, axis, keepdims):
    rng = np.random.default_rng(3)
    x, x_dot = rng.normal(size=shape), rng.normal(size=shape)
    dims = tuple(range(len(shape))) if axis is None else axis

    def f_ad(x):
        return ad.sum(x, axis=axis, keepdims=keepdims)

    def f_torch(x):
        return torch.sum(x, dim=dims, keepdim=keepdims)

    node = ad.trace(f_ad, x).output
    assert node.params == {"axis": axis, "keepdims": keepdims} and len(node.parents) == 1
    y, vjp_fn = ad.vjp(f_ad, x)
    y_t, vjp_t = torch.func.vjp(f_torch, t(x))
    v = rng.normal(size=y_t.shape)
    assert close(y, y_t) and close(vjp_fn(v)[0], vjp_t(t(v))[0])  # oracle: torch.func.vjp
    _, y_dot = ad.jvp(f_ad, (x,), (x_dot,))
    assert close(y_dot, torch.func.jvp(f_torch, (t(x),), (t(x_dot),))[1])  # torch.func.jvp


# --- the bottom of the V, measured ---------------------------------------------------


def test_finite_difference_optimum_finds_the_bottom_the_error_model_predicts():
    # central difference of exp at 1: truncation h^2/6 e, round-off ~ eps e / h; the model's
    # optimum (3 eps)^(1/3) = 8.7e-6 in float64 and 7.1e-3 in float32
    for dtype in ("float64", "float32"):
        eps = float(np.finfo(dtype).eps)
        h, err = ad.finite_difference_optimum(np.exp, np.exp, 1.0, dtype, "central")
        assert 1 / 3 < h / (3 * eps) ** (1 / 3) < 3, (dtype, h)
        model = (3 * eps) ** (2 / 3) / 6 * np.e + eps * np.e / (3 * eps) ** (1 / 3)
        assert model / 10 < err < model, (dtype, err, model)  # below the worst case
    # forward difference: the bottom moves to sqrt(eps)
    h, _ = ad.finite_difference_optimum(np.exp, np.exp, 1.0, "float64", "forward")
    assert 1 / 10 < h / np.sqrt(np.finfo(np.float64).eps) < 10


def test_finite_difference_optimum_averages_over_points_near_x():
    # at one x the error can be 0 by luck; the RMS over 64 nearby points is not
    hs = np.logspace(-10, -2, 33)
    single = ad.finite_difference_errors(np.sin, np.cos, 1.0, hs, np.float64, "central")
    _, rms = ad.finite_difference_optimum(np.sin, np.cos, 1.0, "float64", "central", hs=hs)
    _, one = ad.finite_difference_optimum(np.sin, np.cos, 1.0, "float64", "central", hs=hs,
                                          n_points=1)  # fmt: skip
    assert one == single.min() and rms > 0


# --- counting the VJPs and JVPs that pass a point --------------------------------------


def _two_layer(m, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    W1, W2 = torch.randn(8, n, generator=g), torch.randn(m, 8, generator=g)
    return torch.randn(n, generator=g), lambda x: torch.tanh(W2 @ torch.tanh(W1 @ x))


def test_probe_is_the_identity_for_values_and_derivatives():
    x, f = _two_layer(3, 5)
    assert torch.equal(ad.probe(x), x)
    J = torch.func.jacrev(f)(x)
    assert torch.allclose(torch.func.jacrev(lambda x: f(ad.probe(x)))(x), J)
    assert torch.allclose(torch.func.jacfwd(lambda x: f(ad.probe(x)))(x), J, atol=1e-6)


@pytest.mark.parametrize(("m", "n"), [(3, 5), (7, 2)])
def test_count_vectors_counts_one_vector_per_row_or_column_and_the_calls(m, n):
    x, f = _two_layer(m, n)

    def probed(x):
        return f(ad.probe(x))

    with ad.count_vectors() as rev:
        torch.func.jacrev(probed)(x)
    with ad.count_vectors() as fwd:
        torch.func.jacfwd(probed)(x)
    with ad.count_vectors() as loop:
        _, pullback = torch.func.vjp(probed, x)
        for e in torch.eye(m):
            pullback(e)
        for e in torch.eye(n):
            torch.func.jvp(probed, (x,), (e,))
    with ad.count_vectors() as plain:
        xg = x.clone().requires_grad_()
        probed(xg).sum().backward()  # ordinary autograd: one VJP
    seen = lambda c: (c.vjps, c.vjp_calls, c.jvps, c.jvp_calls)  # noqa: E731
    assert seen(rev) == (m, 1, 0, 0)  # m rows, one vmapped call
    assert seen(fwd) == (0, 0, n, 1)  # n columns, one vmapped call
    assert seen(loop) == (m, m, n, n)  # one call per row or column
    assert seen(plain) == (1, 1, 0, 0)


def test_count_vectors_counts_nothing_outside_its_block_and_nests():
    x, f = _two_layer(2, 3)
    torch.func.jacrev(lambda x: f(ad.probe(x)))(x)  # outside any block: nothing to count
    with ad.count_vectors() as outer:
        with ad.count_vectors() as inner:
            torch.func.jacrev(lambda x: f(ad.probe(x)))(x)
        torch.func.jacrev(lambda x: f(ad.probe(x)))(x)
    assert (inner.vjps, outer.vjps) == (2, 4)


def test_finite_difference_optimum_rejects_a_bad_point_count():
    with pytest.raises(ValueError, match="n_points must be an integer >= 1, got 0"):
        ad.finite_difference_optimum(np.sin, np.cos, 1.0, n_points=0)
