"""Every registered encoder: (B, F) and (B, C, H, W) to (T, B, ...), deterministic under a seed."""

import pytest
import torch

from brainnet.brain.encoders import (
    POPULATION_FIELDS,
    encoded_shape,
    encoder,
    latency,
    population,
    rate,
)
from brainnet.brain.registry import ENCODERS
from brainnet.core.errors import UserInputError

TABLE = torch.randn(6, 5, generator=torch.Generator().manual_seed(1))
IMAGES = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(2))


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", ENCODERS.names())
@pytest.mark.parametrize("x", [TABLE, IMAGES], ids=["table", "images"])
def test_shape_and_determinism(name, x):
    encode = encoder(name)
    if name == "population" and x.dim() > 2:
        with pytest.raises(UserInputError, match="population encoder reads tables"):
            encode(x, 7, generator=_gen())
        return
    a = encode(x, 7, generator=_gen(3))
    b = encode(x, 7, generator=_gen(3))
    assert a.shape == (7, *((x.shape[0],) + encoded_shape(name, tuple(x.shape[1:]))))
    assert torch.equal(a, b) and torch.isfinite(a).all()
    if name != "direct":
        assert set(a.unique().tolist()) <= {0.0, 1.0}


def test_direct_is_the_input_at_every_step():
    out = encoder("direct")(TABLE, 4)
    assert all(torch.equal(step, TABLE) for step in out)


def test_rate_fires_with_probability_sigmoid_of_the_input():
    x = torch.tensor([[-2.0, 0.0, 1.5]])
    spikes = rate(x, 5000, generator=_gen())
    torch.testing.assert_close(spikes.mean(0), torch.sigmoid(x), atol=0.02, rtol=0)
    assert not torch.equal(spikes, rate(x, 5000, generator=_gen(1)))  # another seed, other spikes


def test_latency_spikes_once_earlier_for_larger_values():
    x = torch.tensor([[-3.0, 0.0, 3.0]])
    out = latency(x, 11)
    assert torch.equal(out.sum(0), torch.ones(1, 3))
    first = out.argmax(0)[0].tolist()  # the step of each input's spike
    assert first == [round((1 - torch.sigmoid(v).item()) * 10) for v in x[0]]
    assert first[2] < first[1] < first[0]


def test_population_fields_peak_at_their_centres():
    centres = torch.linspace(-2, 2, POPULATION_FIELDS)
    x = centres.view(-1, 1)  # one feature, one row per centre
    counts = population(x, 4000, generator=_gen()).mean(0)  # (K, K): row r, field k
    assert torch.equal(counts.argmax(1), torch.arange(POPULATION_FIELDS))
    assert counts.diagonal().min() > 0.97  # exp(0) = 1 at the centre


def test_bad_time_steps_are_refused():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(UserInputError, match="time_steps must be an integer >= 1"):
            rate(TABLE, bad)


def test_an_unknown_encoder_names_the_known_ones():
    with pytest.raises(UserInputError, match="unknown encoder 'rte'.*direct, latency"):
        encoder("rte")
