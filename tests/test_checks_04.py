"""The lesson 04 checker: the reference answer passes, each typical mistake is named."""

import torch

from node_edu.checks.adjoint import augmented_dynamics


def reference(f, t, z, a, theta):
    fz, pullback = torch.func.vjp(lambda z, theta: f(t, z, theta), z, theta)
    a_dfdz, a_dfdtheta = pullback(a)
    return fz, -a_dfdz, -a_dfdtheta


def with_autograd_grad(f, t, z, a, theta):  # the other idiom: autograd.grad, grad_outputs=a
    z, theta = z.detach().requires_grad_(), theta.detach().requires_grad_()
    with torch.enable_grad():
        fz = f(t, z, theta)
        a_dfdz, a_dfdtheta = torch.autograd.grad(fz, (z, theta), grad_outputs=a)
    return fz.detach(), -a_dfdz, -a_dfdtheta


def test_reference_answers_pass():
    for answer in (reference, with_autograd_grad):
        result = augmented_dynamics(answer)
        assert result.ok, result
        assert "correct" in str(result)


def test_missing_minus_sign_is_named():
    def no_sign(f, t, z, a, theta):
        fz, da, da_theta = reference(f, t, z, a, theta)
        return fz, -da, -da_theta

    result = augmented_dynamics(no_sign)
    assert not result.ok and "minus sign" in result.message


def test_jacobian_vector_product_instead_of_vector_jacobian_product_is_named():
    def jvp_instead(f, t, z, a, theta):
        fz, _, da_theta = reference(f, t, z, a, theta)
        J = torch.func.jacrev(lambda z: f(t, z, theta))(z)
        return fz, -(J @ a), da_theta

    result = augmented_dynamics(jvp_instead)
    assert not result.ok and "Jacobian-vector product" in result.message


def test_calling_f_twice_is_refused():
    def twice(f, t, z, a, theta):
        f(t, z, theta)
        return reference(f, t, z, a, theta)

    result = augmented_dynamics(twice)
    assert not result.ok and "called 2 times" in result.message


def test_wrong_shapes_and_wrong_values_are_caught():
    def flat_theta_missing(f, t, z, a, theta):
        fz, da, _ = reference(f, t, z, a, theta)
        return fz, da, da  # a_theta with z's shape

    result = augmented_dynamics(flat_theta_missing)
    assert not result.ok and "da_theta must have shape" in result.message

    def wrong_dz(f, t, z, a, theta):
        fz, da, da_theta = reference(f, t, z, a, theta)
        return fz + 1e-3, da, da_theta

    result = augmented_dynamics(wrong_dz)
    assert not result.ok and "dz must be f" in result.message

    def wrong_theta(f, t, z, a, theta):
        fz, da, da_theta = reference(f, t, z, a, theta)
        return fz, da, 2 * da_theta

    result = augmented_dynamics(wrong_theta)
    assert not result.ok and "da_theta is not" in result.message

    def time_ignored(f, t, z, a, theta):  # evaluates f at t = 0
        return reference(f, torch.zeros_like(t), z, a, theta)

    assert not augmented_dynamics(time_ignored).ok


def test_bad_returns_raising_and_in_place_changes_are_reported():
    assert "a tuple of 3" in augmented_dynamics(lambda f, t, z, a, theta: z).message

    def raises(f, t, z, a, theta):
        raise KeyError("oops")

    result = augmented_dynamics(raises)
    assert not result.ok and "KeyError" in result.message

    def mutates(f, t, z, a, theta):
        out = reference(f, t, z, a, theta)
        a.zero_()
        return out

    result = augmented_dynamics(mutates)
    assert not result.ok and "in place" in result.message
