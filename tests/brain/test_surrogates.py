"""Every registered surrogate: the Heaviside step forward, its own derivative formula backward."""

import math

import pytest
import torch

from brainnet.brain.registry import SURROGATES
from brainnet.brain.surrogates import spike, surrogate
from brainnet.core.errors import UserInputError

# the formulas, written again here from the papers (not read from the code under test)
FORMULAS = {
    "arctan": lambda x: 1.0 / (1 + (math.pi * x) ** 2),  # a = 2: (a/2) / (1 + (pi a x / 2)^2)
    "fast_sigmoid": lambda x: 1.0 / (1 + 25 * x.abs()) ** 2,
    "triangular": lambda x: torch.clamp(1 - x.abs(), min=0),
}


def test_every_surrogate_has_a_formula_here():
    assert set(SURROGATES.names()) == set(FORMULAS)


@pytest.mark.parametrize("name", SURROGATES.names())
def test_forward_is_heaviside_and_backward_is_the_derivative(name):
    x = torch.linspace(-2, 2, 401, dtype=torch.float64, requires_grad=True)
    out = spike(x, name)
    assert torch.equal(out, (x.detach() >= 0).double())  # H(0) = 1
    upstream = torch.rand(401, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    (grad,) = torch.autograd.grad(out, x, upstream)
    torch.testing.assert_close(grad, upstream * FORMULAS[name](x.detach()))


@pytest.mark.parametrize("name", ["arctan", "fast_sigmoid"])
def test_the_smooth_surrogates_are_derivatives_of_their_primitives(name):
    # arctan(pi x) / pi and x / (1 + 25 |x|): central differences of the primitive give the derivative
    primitive = {
        "arctan": lambda x: torch.atan(math.pi * x) / math.pi,
        "fast_sigmoid": lambda x: x / (1 + 25 * x.abs()),
    }[name]
    x = torch.linspace(-1, 1, 41, dtype=torch.float64) + 1e-3
    h = 1e-6
    numeric = (primitive(x + h) - primitive(x - h)) / (2 * h)
    torch.testing.assert_close(surrogate(name).derivative(x), numeric, rtol=1e-5, atol=1e-7)


def test_an_unknown_surrogate_names_the_known_ones():
    with pytest.raises(UserInputError, match="unknown surrogate 'arctn'.*arctan, fast_sigmoid"):
        surrogate("arctn")


@pytest.mark.parametrize("name", SURROGATES.names())
def test_the_in_place_derivative_is_the_formula(name):
    x = torch.linspace(-2, 2, 401, dtype=torch.float64)
    scratch = x.clone()
    out = surrogate(name).derivative_(scratch)
    assert out.data_ptr() == scratch.data_ptr()  # written into the caller's tensor, no new one
    torch.testing.assert_close(out, surrogate(name).derivative(x), rtol=1e-12, atol=1e-12)
