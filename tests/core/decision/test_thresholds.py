"""Threshold tuning against brute force and sklearn.metrics on random, calibrated-ish data."""

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score, hamming_loss

from brainnet.core.decision import thresholds as th
from brainnet.core.decision.thresholds import (
    OBJECTIVES,
    ThresholdResult,
    apply_thresholds,
    objective_score,
    tune_thresholds,
)
from brainnet.core.errors import UserInputError

NAMES = OBJECTIVES.names()
EXACT = {"shrinkage": 0.0, "min_positives": 0}


def make_data(n=300, L=8, seed=0):
    """Y with label-dependent prevalence; P = sigmoid(a (2Y - 1) + offset_j + noise), rounded to create ties."""
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, L)) < np.linspace(0.05, 0.5, L)).astype(np.uint8)
    offset = np.linspace(-1.5, 1.0, L)  # so the best threshold differs per label
    logits = 1.5 * (2.0 * Y - 1.0) + offset + rng.normal(0.0, 1.2, (n, L))
    return Y, np.round(1.0 / (1.0 + np.exp(-logits)), 3)


def sk_score(objective, Y, Yhat):
    if objective == "hamming":
        return hamming_loss(Y, Yhat)
    return f1_score(Y, Yhat, average=objective.split("_")[0], zero_division=1)


def at_least_as_good(objective, a, b):
    return a >= b - 1e-9 if OBJECTIVES.get(objective).higher_is_better else a <= b + 1e-9


def best(objective, scores):
    return max(scores) if OBJECTIVES.get(objective).higher_is_better else min(scores)


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.mark.parametrize("objective", NAMES)
def test_tuned_beats_half_and_every_single_threshold(data, objective):
    Y, P = data
    r = tune_thresholds(Y, P, objective, **EXACT)
    grid = np.arange(0.01, 0.99, 0.002)
    grid_scores = [objective_score(Y, apply_thresholds(P, t), objective) for t in grid]
    at_global = objective_score(Y, apply_thresholds(P, r.global_threshold), objective)
    assert at_least_as_good(objective, r.score, r.score_at_half)
    assert at_least_as_good(objective, r.score, at_global)
    assert at_least_as_good(
        objective, at_global, best(objective, grid_scores)
    )  # exact global search
    assert len(set(np.round(r.thresholds, 6))) > 1  # the labels really get different thresholds


@pytest.mark.parametrize("objective", NAMES)
def test_scores_match_sklearn(data, objective):
    Y, P = data
    r = tune_thresholds(Y, P, objective)
    assert r.score == pytest.approx(
        sk_score(objective, Y, apply_thresholds(P, r.thresholds)), abs=1e-12
    )
    assert r.score_at_half == pytest.approx(
        sk_score(objective, Y, apply_thresholds(P, 0.5)), abs=1e-12
    )


@pytest.mark.parametrize("objective", NAMES)
def test_objective_score_matches_sklearn_with_empty_rows_and_labels(objective):
    rng = np.random.default_rng(1)
    Y = (rng.random((40, 6)) < 0.2).astype(int)
    Yhat = (rng.random((40, 6)) < 0.2).astype(int)
    Y[:5], Yhat[:3], Y[:, 0], Yhat[:, 0], Yhat[:, 1] = (
        0,
        0,
        0,
        0,
        0,
    )  # nothing true and/or predicted
    assert objective_score(Y, Yhat, objective) == pytest.approx(
        sk_score(objective, Y, Yhat), abs=1e-12
    )


def per_label_scores(objective, y, p, grid):
    """(len(grid),) score of one label at each threshold: F1 (zero_division=1) or Hamming loss."""
    Z = p[:, None] >= grid[None, :]
    tp, pred, true = (Z & y[:, None]).sum(0), Z.sum(0), y.sum()
    if objective == "hamming":
        return (pred + true - 2 * tp) / len(y)
    return np.where(pred + true > 0, 2 * tp / np.maximum(pred + true, 1), 1.0)


@pytest.mark.parametrize("objective", ["hamming", "macro_f1"])
def test_decomposable_objectives_match_brute_force_per_label(data, objective):
    Y, P = data
    r = tune_thresholds(Y, P, objective, **EXACT)
    fine = np.linspace(0.01, 0.99, 1961)
    for j in range(Y.shape[1]):
        y, p = Y[:, j].astype(bool), P[:, j]
        u = np.unique(np.concatenate([[0.01, 0.99], p[(p > 0.01) & (p < 0.99)]]))
        exact = (u[1:] + u[:-1]) / 2  # every distinct decision in [0.01, 0.99]
        tuned = per_label_scores(objective, y, p, np.array([r.thresholds[j]]))[0]
        assert tuned == pytest.approx(
            best(objective, per_label_scores(objective, y, p, exact)), abs=1e-12
        )
        assert at_least_as_good(
            objective, tuned, best(objective, per_label_scores(objective, y, p, fine))
        )


@pytest.mark.parametrize("objective", NAMES)
def test_sweep_scores_every_candidate_exactly(objective):
    # The engine under every tuning step: ties, and probabilities at 0, 1 and on the search bounds.
    rng = np.random.default_rng(2)
    Y = rng.random((30, 4)) < 0.3
    P = rng.choice([0.0, 0.01, 0.2, 0.2, 0.5, 0.7, 0.99, 1.0, *rng.random(6)], size=(30, 4))
    obj = OBJECTIVES.get(objective)
    sign = 1 if obj.higher_is_better else -1
    t = np.array([0.3, 0.6, 0.45, 0.8])
    n = len(Y)
    for j in range(4):  # label j swept, the others fixed at t
        Z = apply_thresholds(P, t).astype(bool)
        Z[:, j] = False
        gid = th._group_ids(obj.group, np.arange(n), np.full(n, j))
        edges, values = th._sweep(obj, P[:, j], Y[:, j], gid, th._group_counts(obj.group, Y, Z))
        for c, mid in enumerate((edges[1:] + edges[:-1]) / 2):
            tc = t.copy()
            tc[j] = mid
            assert sign * values[c] == pytest.approx(
                objective_score(Y, apply_thresholds(P, tc), objective), abs=1e-12
            )
    edges, values = th._sweep(  # all entries swept at once: the global threshold's curve
        obj,
        P.ravel(),
        Y.ravel(),
        th._group_ids(obj.group, *np.divmod(np.arange(P.size), 4)),
        th._group_counts(obj.group, Y, np.zeros_like(Y)),
    )
    for c, mid in enumerate((edges[1:] + edges[:-1]) / 2):
        assert sign * values[c] == pytest.approx(
            objective_score(Y, apply_thresholds(P, mid), objective), abs=1e-12
        )


def test_micro_f1_beats_best_global_and_macro_thresholds(data):
    Y, P = data
    micro = tune_thresholds(Y, P, "micro_f1", **EXACT)
    macro = tune_thresholds(Y, P, "macro_f1", **EXACT)
    grid = np.arange(0.01, 0.99, 0.001)
    best_global = max(objective_score(Y, apply_thresholds(P, t), "micro_f1") for t in grid)
    assert micro.score >= best_global - 1e-12
    assert (
        micro.score >= f1_score(Y, apply_thresholds(P, macro.thresholds), average="micro") - 1e-12
    )


@pytest.mark.parametrize("objective", ["micro_f1", "samples_f1"])
def test_coupled_objectives_end_at_a_coordinate_optimum(objective):
    # Coordinate ascent converged: moving any one label's threshold to any other decision does not help.
    Y, P = make_data(300, 20, seed=0)  # here one sweep is not enough for either objective
    r = tune_thresholds(Y, P, objective, **EXACT)
    metric, Y = OBJECTIVES.get(objective).metric, Y.astype(bool)
    for j in range(Y.shape[1]):
        Z = apply_thresholds(P, r.thresholds).astype(bool)
        u = np.unique(np.concatenate([[0.01, 0.99], P[:, j][(P[:, j] > 0.01) & (P[:, j] < 0.99)]]))
        for mid in (u[1:] + u[:-1]) / 2:
            Z[:, j] = np.greater_equal(P[:, j], mid)
            assert metric(Y, Z) <= r.score + 1e-12


def test_plateau_midpoint_and_preference_for_half():
    # Label 0 separates perfectly between 0.2 and 0.7: the threshold is the middle of that gap. Label 1
    # has two optimal gaps, (0.2, 0.45) and (0.6, 0.9), one error each; the midpoint nearer 0.5 wins.
    P = np.array([[0.1, 0.2], [0.2, 0.45], [0.7, 0.6], [0.8, 0.9]])
    Y = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    r = tune_thresholds(Y, P, "hamming", **EXACT)
    np.testing.assert_allclose(r.thresholds, [0.45, 0.325])


def test_label_with_two_positives_falls_back_to_global(data):
    Y, P = data
    Y = Y.copy()
    Y[:, 2] = 0
    Y[[3, 7], 2] = 1
    r = tune_thresholds(Y, P, "micro_f1", min_positives=5)
    assert r.fallback_labels == [2]
    assert r.thresholds[2] == r.global_threshold


@pytest.mark.parametrize("objective", ["macro_f1", "micro_f1"])
def test_shrinkage_pulls_toward_global(data, objective):
    Y, P = data
    free = tune_thresholds(Y, P, objective, **EXACT)
    shrunk = tune_thresholds(Y, P, objective, shrinkage=40.0, min_positives=0)
    w = Y.sum(0) / (Y.sum(0) + 40.0)
    g = free.global_threshold
    assert shrunk.global_threshold == g
    np.testing.assert_allclose(shrunk.thresholds, w * free.thresholds + (1 - w) * g, atol=1e-15)
    assert np.all(np.abs(shrunk.thresholds - g) <= np.abs(free.thresholds - g) + 1e-15)
    assert shrunk.score == pytest.approx(
        sk_score(objective, Y, apply_thresholds(P, shrunk.thresholds)), abs=1e-12
    )


def test_at_least_one_fills_empty_rows_by_logit_margin(data):
    _, P = data
    t = np.full(P.shape[1], 0.9)
    plain, filled = apply_thresholds(P, t), apply_thresholds(P, t, at_least_one=True)
    assert plain.dtype == filled.dtype == np.uint8 and plain.shape == P.shape
    had = plain.any(axis=1)
    assert 0 < had.sum() < len(P)
    np.testing.assert_array_equal(filled[had], plain[had])
    np.testing.assert_array_equal(filled[~had].sum(axis=1), 1)
    # logit margins -0.95 and -0.20 pick label 1; the raw margin P - t (-0.03, -0.05) would pick label 0.
    np.testing.assert_array_equal(
        apply_thresholds([[0.02, 0.45]], [0.05, 0.5], at_least_one=True), [[0, 1]]
    )


def test_round_trip_through_json(data):
    Y, P = data
    r = tune_thresholds(Y, P, "samples_f1")
    back = ThresholdResult.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back.to_dict() == r.to_dict()
    np.testing.assert_array_equal(back.thresholds, r.thresholds)
    assert not r.thresholds.flags.writeable


@pytest.mark.parametrize("objective", NAMES)
def test_deterministic(data, objective):
    Y, P = data
    a, b = tune_thresholds(Y, P, objective), tune_thresholds(Y.copy(), P.copy(), objective)
    np.testing.assert_array_equal(a.thresholds, b.thresholds)
    assert a.to_dict() == b.to_dict()


def test_directions():
    assert NAMES == ["hamming", "macro_f1", "micro_f1", "samples_f1"]
    assert [OBJECTIVES.get(n).higher_is_better for n in NAMES] == [False, True, True, True]


Y4 = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
P4 = np.array([[0.9, 0.2], [0.3, 0.6], [0.8, 0.7], [0.1, 0.4]])
BAD = [
    (
        lambda: tune_thresholds(Y4[:, :1], P4),
        r"Y and P must have the same shape.*\(4, 1\).*\(4, 2\)",
    ),
    (lambda: tune_thresholds(Y4, P4 * 2), r"probabilities in \[0, 1\].*not logits"),
    (lambda: tune_thresholds(Y4, np.where(Y4, np.nan, P4)), r"NaN.*row 0, column 0"),
    (lambda: tune_thresholds(Y4 * 2, P4), r"only 0 and 1.*row 0, column 0"),
    (lambda: tune_thresholds(Y4, P4[0]), r"2-D .*shape \(2,\)"),
    (
        lambda: tune_thresholds(Y4, P4, "micro-f1"),
        r"available: hamming, macro_f1, micro_f1, samples_f1",
    ),
    (lambda: tune_thresholds(Y4, P4, min_positives=-1), r"min_positives must be an integer >= 0"),
    (lambda: tune_thresholds(Y4, P4, shrinkage=-1.0), r"shrinkage must be a finite number >= 0"),
    (
        lambda: apply_thresholds(P4, [0.5, 0.5, 0.5]),
        r"one threshold per label, shape \(2,\).*\(3,\)",
    ),
    (lambda: apply_thresholds(P4, [0.5, 1.0]), r"in \(0, 1\); received 1 for label 1"),
    (lambda: apply_thresholds(P4, 0.0), r"in \(0, 1\); received 0 for label 0"),
    (lambda: objective_score(Y4, [[1, 0]], "hamming"), r"Y and Yhat must have the same shape"),
    (
        lambda: ThresholdResult.from_dict({"thresholds": [0.5]}),
        r"missing objective, global_threshold",
    ),
]


@pytest.mark.parametrize(("call", "message"), BAD)
def test_bad_input_raises_user_input_error(call, message):
    with pytest.raises(UserInputError, match=message):
        call()


@pytest.mark.parametrize("objective", NAMES)
def test_tuning_with_the_top1_rule_in_the_loop(objective):
    Y, P = make_data(n=200, L=5, seed=3)
    Y[Y.sum(axis=1) == 0, 0] = 1  # every row has a label, as when the rule is switched on
    plain = tune_thresholds(Y, P, objective, **EXACT)
    aware = tune_thresholds(Y, P, objective, **EXACT, at_least_one=True)
    with_rule = apply_thresholds(P, aware.thresholds, at_least_one=True)
    assert aware.score == pytest.approx(sk_score(objective, Y, with_rule))
    plain_with_rule = sk_score(
        objective, Y, apply_thresholds(P, plain.thresholds, at_least_one=True)
    )
    assert at_least_as_good(objective, aware.score, plain_with_rule)
    if objective in (
        "micro_f1",
        "samples_f1",
    ):  # the rescued rows let thresholds rise and precision gain
        assert not np.allclose(aware.thresholds, plain.thresholds)
