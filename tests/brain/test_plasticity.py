import math

import numpy as np
import pytest

from brainnet.brain.plasticity import (
    bcm,
    hebbian,
    kwta,
    oja,
    stdp_step,
    stdp_traces,
    stdp_window,
)


def test_hebbian_is_the_mean_outer_product_in_numpy_and_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    pre, post = rng.random((5, 3)), rng.random((5, 2))
    expected = 0.1 * np.mean([np.outer(post[b], pre[b]) for b in range(5)], axis=0)
    np.testing.assert_allclose(hebbian(pre, post, 0.1), expected)
    got = hebbian(torch.from_numpy(pre), torch.from_numpy(post), 0.1)
    np.testing.assert_allclose(got.numpy(), expected)
    np.testing.assert_allclose(hebbian(pre[0], post[0], 0.1), 0.1 * np.outer(post[0], pre[0]))


def _pca_data(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    angle = math.radians(30)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    X = rng.normal(size=(n, 2)) * [2.0, 0.5] @ rot.T  # (n, 2), first PC at 30 degrees
    return X - X.mean(0)


def test_oja_converges_to_the_unit_norm_first_principal_component():
    X = _pca_data()
    w = np.array([0.1, 0.9])  # far from the answer, norm 0.9
    for x in X:
        w = w + oja(x, x @ w, w, lr=0.005)
    pc1 = np.linalg.eigh(np.cov(X.T))[1][:, -1]
    angle = math.degrees(math.acos(min(1.0, abs(float(w @ pc1)) / np.linalg.norm(w))))
    assert np.linalg.norm(w) == pytest.approx(1.0, abs=0.02)
    assert angle < 2.0


def test_oja_batched_rows_each_learn_on_their_own():
    X = _pca_data(n=1000)
    W = np.array([[1.0, 0.0], [0.0, 1.0]])
    for batch in X.reshape(-1, 10, 2):
        W = W + oja(batch, batch @ W.T, W, lr=0.05)
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1.0, atol=0.05)


def test_bcm_potentiates_above_and_depresses_below_the_threshold():
    pre, theta = np.array([[1.0, 0.5]]), np.array([1.0])
    up, _ = bcm(pre, np.array([[2.0]]), theta, lr=0.1)
    down, _ = bcm(pre, np.array([[0.5]]), theta, lr=0.1)
    assert (up > 0).all() and (down < 0).all()


def test_bcm_threshold_tracks_the_mean_square_activity():
    theta = np.zeros(1)
    for _ in range(500):
        _, theta = bcm(np.ones((4, 1)), np.full((4, 1), 3.0), theta, lr=0.1, tau_theta=20)
    assert theta[0] == pytest.approx(9.0, rel=1e-6)


def test_bcm_makes_a_neuron_selective_to_one_of_two_patterns():
    patterns = np.array([[1.0, 0.0], [0.0, 1.0]])
    rng = np.random.default_rng(0)
    w, theta = np.array([0.55, 0.45]), np.zeros(1)
    for _ in range(4000):
        x = patterns[rng.integers(2)]
        dw, theta = bcm(x, np.array([x @ w]), theta, lr=0.02, tau_theta=10)
        w = w + dw[0]
    responses = patterns @ w
    assert responses.max() > 0.5 and abs(responses.min()) < 0.05 * responses.max()


def _pair(delta_t, steps=200, start=100, **params):
    """Total dw of one pre spike at ``start`` and one post spike at ``start + delta_t``."""
    total = 0.0
    traces = stdp_traces(np.zeros(1), np.zeros(1))
    for t in range(steps):
        pre, post = np.array([float(t == start)]), np.array([float(t == start + delta_t)])
        dw, traces = stdp_step(pre, post, traces, **params)
        total += float(dw[0, 0])
    return total


def test_stdp_has_the_bi_and_poo_shape():
    deltas = [-40, -20, -10, -5, -1, 1, 5, 10, 20, 40]
    dw = {d: _pair(d) for d in deltas}
    assert all(dw[d] > 0 for d in deltas if d > 0)  # pre before post: potentiation
    assert all(dw[d] < 0 for d in deltas if d < 0)  # post before pre: depression
    positive = [dw[d] for d in deltas if d > 0]
    negative = [-dw[d] for d in reversed(deltas) if d < 0]
    assert positive == sorted(positive, reverse=True)  # decays with |dt|
    assert negative == sorted(negative, reverse=True)
    for d in deltas:
        assert dw[d] == pytest.approx(stdp_window(d))


def test_stdp_time_constants_and_amplitudes_shape_the_window():
    params = dict(tau_plus=5.0, tau_minus=40.0, a_plus=0.02, a_minus=0.01)
    assert _pair(5, **params) == pytest.approx(0.02 * math.exp(-1))
    assert _pair(-40, **params) == pytest.approx(-0.01 * math.exp(-1))
    assert _pair(0, **params) == pytest.approx(0.01)


def test_stdp_matches_in_torch_and_sums_over_the_batch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    pre = (rng.random((6, 3, 4)) < 0.3).astype(np.float64)  # (T, B, N_in)
    post = (rng.random((6, 3, 2)) < 0.3).astype(np.float64)  # (T, B, N_out)
    tn, tt = stdp_traces(pre[0], post[0]), stdp_traces(torch.from_numpy(pre[0]), torch.zeros(3, 2))
    for t in range(6):
        dn, tn = stdp_step(pre[t], post[t], tn)
        dt_, tt = stdp_step(torch.from_numpy(pre[t]), torch.from_numpy(post[t]), tt)
        np.testing.assert_allclose(dt_.numpy(), dn)
        per_row = sum(stdp_step(pre[t][b], post[t][b], _row(tn, b))[0] for b in range(3))
        assert per_row.shape == dn.shape


def _row(traces, b):
    return type(traces)(traces.pre[b] * 0.0, traces.post[b] * 0.0)


def test_kwta_keeps_the_k_largest_in_numpy_and_torch():
    torch = pytest.importorskip("torch")
    x = np.array([[0.1, 0.9, 0.5, 0.9, -1.0], [3.0, 2.0, 1.0, 0.0, -1.0]])
    expected = np.array([[0.0, 0.9, 0.0, 0.9, 0.0], [3.0, 2.0, 0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(kwta(x, 2), expected)
    np.testing.assert_array_equal(kwta(torch.from_numpy(x), 2).numpy(), expected)
    ties = np.ones((1, 4))
    np.testing.assert_array_equal(kwta(ties, 2), [[1.0, 1.0, 0.0, 0.0]])
    assert int((kwta(torch.ones(1, 4), 2) != 0).sum()) == 2


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: hebbian(np.ones(2), np.ones(1), 0.0), "lr must be a positive"),
        (lambda: oja(np.ones(2), np.ones(1), np.ones(2), -1.0), "lr must be a positive"),
        (lambda: bcm(np.ones(2), np.ones(1), np.ones(1), 0.1, tau_theta=0), "tau_theta"),
        (lambda: kwta(np.ones((1, 3)), 4), r"k must be in \[1, 3\]"),
        (lambda: kwta(np.ones((1, 3)), 0), r"k must be in \[1, 3\]"),
        (
            lambda: stdp_step(np.ones(1), np.ones(1), stdp_traces(np.ones(1), np.ones(1)), dt=0),
            "must be > 0",
        ),
    ],
)
def test_bad_arguments_say_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call()
