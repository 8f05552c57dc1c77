"""node_edu.validation: what each check accepts and refuses, and the exact messages.

The expected messages are written out by hand here (the one style: "<name> must be
<what is expected>, got <what was given>"), not built from the module's own helpers."""

import math
import re

import numpy as np
import pytest
import torch

from node_edu.validation import (
    check_bool,
    check_callable,
    check_choice,
    check_float_dtype,
    check_instance,
    check_int,
    check_number,
    check_positive,
    describe,
)


def raises(error, message):
    """pytest.raises matching the whole message, literally."""
    return pytest.raises(error, match=f"^{re.escape(message)}$")


# -- the messages the module's docstring promises ---------------------------------------


def test_the_documented_messages():
    with raises(ValueError, "n_iters must be an integer >= 1, got 0"):
        check_int("n_iters", 0, minimum=1)
    with raises(ValueError, "weight must be a number >= 0, got -1.0"):
        check_number("weight", -1.0, minimum=0)
    with raises(ValueError, "t1 must be a finite number > 0, got inf"):
        check_number("t1", math.inf, above=0)
    with raises(TypeError, "seed must be an integer, got '3' (str)"):
        check_int("seed", "3")


# -- check_int ------------------------------------------------------------------------


def test_check_int_returns_a_python_int_for_python_and_numpy_integers():
    for value in (3, np.int64(3), np.int32(3), np.uint8(3)):
        out = check_int("n", value, minimum=1, maximum=3)
        assert out == 3 and type(out) is int


@pytest.mark.parametrize(
    "value, given",
    [(True, "True (bool)"), (np.bool_(False), "False (bool)"), (2.0, "2.0"), (None, "None"),
     (torch.tensor(2), "tensor(2) (Tensor)"), ("2", "'2' (str)")],
)  # fmt: skip
def test_check_int_refuses_booleans_floats_and_other_kinds_with_a_type_error(value, given):
    with raises(TypeError, f"n must be an integer >= 2, got {given}"):
        check_int("n", value, minimum=2)


def test_check_int_bounds_are_closed_and_said_readably():
    assert check_int("k", 2, minimum=2) == 2 and check_int("k", 5, maximum=5) == 5
    with raises(ValueError, "k must be an integer in [1, 100000], got 100001"):
        check_int("k", 100_001, minimum=1, maximum=100_000)
    with raises(ValueError, "k must be an integer <= 5, got 6"):
        check_int("k", np.int64(6), maximum=5)
    assert check_int("k", -7) == -7  # no bounds: any integer


def test_check_int_allows_none_only_when_asked():
    assert check_int("max_num_steps", None, minimum=1, allow_none=True) is None
    with raises(ValueError, "max_num_steps must be an integer >= 1 or None, got 0"):
        check_int("max_num_steps", 0, minimum=1, allow_none=True)
    with raises(TypeError, "max_num_steps must be an integer >= 1, got None"):
        check_int("max_num_steps", None, minimum=1)


# -- check_number ---------------------------------------------------------------------


def test_check_number_returns_a_float_for_ints_floats_and_numpy_numbers():
    for value in (2, 2.0, np.float32(2.0), np.float64(2.0), np.int16(2)):
        out = check_number("x", value)
        assert out == 2.0 and type(out) is float


@pytest.mark.parametrize(
    "value, given",
    [(True, "True (bool)"), (np.bool_(True), "True (bool)"), ("1", "'1' (str)"),
     (torch.tensor(1.0), "tensor(1.) (Tensor)"), (1j, "1j (complex)"), (None, "None"),
     (torch.zeros(20, 3), "a Tensor of shape (20, 3)")],
)  # fmt: skip
def test_check_number_refuses_booleans_tensors_and_strings_with_a_type_error(value, given):
    with raises(TypeError, f"lr must be a number > 0, got {given}"):
        check_number("lr", value, above=0)


@pytest.mark.parametrize("value", [math.nan, np.float64("nan"), math.inf, -math.inf])
def test_nan_and_inf_are_refused_by_default_even_without_bounds(value):
    with pytest.raises(ValueError, match=r"^x must be a finite number, got (nan|inf|-inf)$"):
        check_number("x", value)


def test_nan_and_inf_pass_only_when_allowed_and_inf_still_meets_the_bounds():
    assert math.isnan(check_number("x", math.nan, allow_nan=True, minimum=0))
    assert check_number("timeout", math.inf, above=0, allow_inf=True) == math.inf
    with raises(ValueError, "timeout must be a number > 0, got -inf"):
        check_number("timeout", -math.inf, above=0, allow_inf=True)
    with raises(ValueError, "x must be a finite number >= 0, got nan"):
        check_number("x", math.nan, minimum=0, allow_inf=True)  # inf allowed, NaN not
    with raises(ValueError, "x must be a finite number, got inf"):
        check_number("x", math.inf, allow_nan=True)  # NaN allowed, inf not


@pytest.mark.parametrize(
    "bounds, inside, outside, said",
    [
        (dict(minimum=0), [0, 3.5], [-1e-9], ">= 0"),
        (dict(above=0), [1e-300], [0.0, -1], "> 0"),
        (dict(maximum=1), [1, -5], [1.5], "<= 1"),
        (dict(below=1), [0.999], [1], "< 1"),
        (dict(minimum=0.5, maximum=4), [0.5, 4], [0.49, 4.01], "in [0.5, 4]"),
        (dict(above=0, below=1), [0.5], [0, 1], "in (0, 1)"),
        (dict(above=0, maximum=10.0), [10.0], [0, 10.5], "in (0, 10.0]"),
        (dict(minimum=-10, below=-3), [-10], [-3, -11], "in [-10, -3)"),
    ],
)
def test_check_number_bounds_open_and_closed(bounds, inside, outside, said):
    for value in inside:
        assert check_number("x", value, **bounds) == value
    for value in outside:
        with raises(ValueError, f"x must be a number {said}, got {float(value)!r}"):
            check_number("x", value, **bounds)


def test_a_bound_given_both_open_and_closed_is_a_mistake_of_the_caller():
    with pytest.raises(TypeError, match="not both"):
        check_number("x", 1.0, minimum=0, above=0)
    with pytest.raises(TypeError, match="not both"):
        check_number("x", 1.0, maximum=2, below=2)


def test_check_number_allows_none_only_when_asked():
    assert check_number("step_size", None, above=0, allow_none=True) is None
    with raises(TypeError, "step_size must be a number > 0 or None, got 'a' (str)"):
        check_number("step_size", "a", above=0, allow_none=True)


# -- check_positive (the solvers' rtol, atol, step_size, max_num_steps) ----------------


def test_check_positive_is_a_number_above_zero_or_an_integer_from_one():
    assert check_positive("rtol", 1e-7) == 1e-7
    assert check_positive("step_size", None, allow_none=True) is None
    out = check_positive("max_num_steps", np.int64(5), integer=True)
    assert out == 5 and type(out) is int
    with raises(ValueError, "rtol must be a number > 0, got 0.0"):
        check_positive("rtol", 0.0)
    with raises(ValueError, "atol must be a finite number > 0, got nan"):
        check_positive("atol", math.nan)
    with raises(TypeError, "rtol must be a number > 0, got True (bool)"):
        check_positive("rtol", True)
    with raises(ValueError, "max_num_steps must be an integer >= 1, got 0"):
        check_positive("max_num_steps", 0, integer=True)
    with raises(TypeError, "max_num_steps must be an integer >= 1 or None, got 10.0"):
        check_positive("max_num_steps", 10.0, integer=True, allow_none=True)


# -- check_bool, check_choice, check_callable, check_instance, check_float_dtype ---------


def test_check_bool_takes_true_and_false_only():
    assert check_bool("with_dA", True) is True and check_bool("with_dA", np.bool_(False)) is False
    with raises(TypeError, "with_dA must be True or False, got 1"):
        check_bool("with_dA", 1)
    with raises(TypeError, "with_dA must be True or False, got 'yes' (str)"):
        check_bool("with_dA", "yes")


def test_check_choice_returns_the_choice_and_names_them_all():
    assert check_choice("trace", "exact", ("exact", "hutchinson")) == "exact"
    out = check_choice("method", np.str_("rk4"), {"euler": 1, "rk4": 2})  # a dict's keys
    assert out == "rk4" and type(out) is str
    assert check_choice("weight", np.float64(0.1), (0.0, 0.1)) == 0.1
    with raises(ValueError, "trace must be one of ['exact', 'hutchinson'], got 'exakt' (str)"):
        check_choice("trace", "exakt", ("exact", "hutchinson"))
    with raises(ValueError, "weight must be one of [0, 1], got True (bool)"):
        check_choice("weight", True, (0, 1))  # a bool is not the number 1
    with raises(ValueError, "flag must be one of [True], got 1"):
        check_choice("flag", 1, (True,))
    with raises(ValueError, "mode must be one of ['a'], got None"):
        check_choice("mode", None, ("a",))


def test_check_choice_is_not_fooled_by_arrays_or_tensors():
    with pytest.raises(ValueError, match=r"^w must be one of \[0.0, 1.0\], got array"):
        check_choice("w", np.array([0.0, 1.0]), (0.0, 1.0))
    with pytest.raises(ValueError, match=r"^w must be one of \['a'\], got a Tensor of shape"):
        check_choice("w", torch.zeros(5, 5), ("a",))


def test_check_callable_says_how_it_is_called():
    assert check_callable("func", print) is print
    assert check_callable("callback", None, allow_none=True) is None
    with raises(TypeError, "func must be callable as func(t, z), got 3"):
        check_callable("func", 3, call="func(t, z)")
    with raises(TypeError, "fn must be callable, got 'f' (str)"):
        check_callable("fn", "f")


def test_check_instance_names_the_classes_or_what_the_caller_says():
    x = torch.zeros(2)
    assert check_instance("z0", x, torch.Tensor) is x
    with raises(TypeError, "z0 must be a Tensor, got [1.0, 2.0] (list)"):
        check_instance("z0", [1.0, 2.0], torch.Tensor)
    with raises(TypeError, "model must be an int or a float, got 'm' (str)"):
        check_instance("model", "m", (int, float))
    with raises(TypeError, "data must be a node_edu Trajectory or None, got 3"):
        check_instance("data", 3, torch.Tensor, what="a node_edu Trajectory", allow_none=True)


def test_check_float_dtype():
    assert check_float_dtype("dtype", torch.float32) is torch.float32
    with raises(TypeError, "dtype must be a floating-point torch.dtype, got torch.int64 (dtype)"):
        check_float_dtype("dtype", torch.int64)
    with raises(TypeError, "dtype must be a floating-point torch.dtype, got 'float64' (str)"):
        check_float_dtype("dtype", "float64")


def test_describe_shows_numbers_plainly_and_other_objects_with_their_type():
    assert describe(np.float64(1.5)) == "1.5"  # not np.float64(1.5)
    assert describe(np.int64(-2)) == "-2"
    assert describe(math.nan) == "nan"
    assert describe(object).startswith("<class 'object'> (type)")
    assert describe(torch.nn.Linear(200, 300)) == "a Linear"  # a long repr: the type alone


def test_check_choice_also_names_what_else_the_caller_accepts():
    with raises(ValueError, "method must be one of ['euler', 'rk4'] or a ButcherTableau, got 3"):
        check_choice("method", 3, ("euler", "rk4"), also="a ButcherTableau")
