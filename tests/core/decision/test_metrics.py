"""brainnet.core.decision.metrics against scikit-learn on random inputs, by hand, and on bad input."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from sklearn import metrics as sk

from brainnet.core.decision import metrics
from brainnet.core.errors import UserInputError

SEEDS = range(30)
# Every seed draws a new shape and density; odd seeds round the scores, so that they tie.
CASES = [
    pytest.param(seed, seed % 2 == 1, id=f"{seed}-{'ties' if seed % 2 else 'distinct'}")
    for seed in SEEDS
]


def random_case(seed: int, ties: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Y, Yhat, S): n in 1..60, L in 1..12, random densities, empty and full rows and columns.

    With ``ties`` the scores are rounded to one decimal: many tie within rows and within columns.
    """
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3) if rng.random() < 0.15 else rng.integers(3, 61))
    n_labels = int(1 if rng.random() < 0.1 else rng.integers(2, 13))
    density = rng.choice([0.0, 0.05, 0.2, 0.5, 0.9])
    Y = rng.random((n, n_labels)) < np.clip(rng.normal(density, 0.2, n_labels), 0, 1)
    rows, cols = rng.random(n), rng.random(n_labels)
    Y[rows < 0.1] = False  # examples without a label
    Y[rows > 0.9] = True  # examples with every label
    Y[:, cols < 0.15] = False  # labels without a positive
    Y[:, cols > 0.9] = True  # labels without a negative
    Yhat = Y ^ (rng.random((n, n_labels)) < rng.uniform(0, 0.5))  # Y with some bits flipped
    Yhat[rng.random(n) < 0.1] = False
    S = np.clip(0.6 * rng.random((n, n_labels)) + 0.4 * Y * rng.random(), 0, 1)
    return Y.astype(int), Yhat.astype(int), (np.round(S, 1) if ties else S)


# --- Set-based metrics against scikit-learn -------------------------------------------------------


def sklearn_set_metrics(Y: np.ndarray, Yhat: np.ndarray) -> dict[str, float]:
    if Y.shape[1] == 1:
        # scikit-learn reads a one-column matrix as binary, not multi-label. Repeating the column
        # changes no set-based metric: every count doubles and every per-label value repeats.
        Y, Yhat = np.hstack([Y, Y]), np.hstack([Yhat, Yhat])
    out = {
        "hamming_loss": sk.hamming_loss(Y, Yhat),
        "subset_accuracy": sk.accuracy_score(Y, Yhat),
        "accuracy": sk.jaccard_score(Y, Yhat, average="samples", zero_division=1.0),
    }
    for prefix, average in [("example", "samples"), ("micro", "micro"), ("macro", "macro")]:
        p, r, f, _ = sk.precision_recall_fscore_support(Y, Yhat, average=average, zero_division=1.0)
        out |= {f"{prefix}_precision": p, f"{prefix}_recall": r, f"{prefix}_f1": f}
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_set_metrics_match_sklearn(seed):
    Y, Yhat, _ = random_case(seed, ties=False)
    for name, expected in sklearn_set_metrics(Y, Yhat).items():
        actual = getattr(metrics, name)(Y, Yhat)
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12, err_msg=name)


def test_macro_f1_averages_per_label_f1_with_zero_division_one():
    # Label 0: TP 1, FP 1, FN 0 -> P 1/2, R 1, F1 2/(2+1) = 2/3.
    # Label 1: never true nor predicted -> P, R and F1 are 0/0 = 1.
    # Label 2: predicted once, never true -> P 0, R 0/0 = 1, F1 0/(0+1) = 0 (not 1).
    Y = np.array([[1, 0, 0], [0, 0, 0]])
    Yhat = np.array([[1, 0, 1], [1, 0, 0]])
    assert metrics.macro_f1(Y, Yhat) == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert metrics.macro_f1(Y, Yhat) == pytest.approx(
        sk.f1_score(Y, Yhat, average="macro", zero_division=1.0)
    )
    # Not the harmonic mean of macro precision (1/2 + 1 + 0)/3 and macro recall (1 + 1 + 1)/3.
    p, r = metrics.macro_precision(Y, Yhat), metrics.macro_recall(Y, Yhat)
    assert (p, r) == pytest.approx((1 / 2, 1))
    assert metrics.macro_f1(Y, Yhat) != pytest.approx(2 * p * r / (p + r))


# --- Label-ranking metrics against scikit-learn and the papers' definitions -----------------------


def one_error_by_definition(Y: np.ndarray, S: np.ndarray) -> float:
    """The paper definition, example by example; a top tie with an irrelevant label is wrong."""
    errors = []
    for y, s in zip(Y, S, strict=True):
        if not y.any():
            continue  # undefined without a relevant label: skipped
        top_labels = [j for j in range(len(s)) if s[j] == max(s)]
        errors.append(any(y[j] == 0 for j in top_labels))
    return float(np.mean(errors)) if errors else float("nan")


def sklearn_ranking_metrics(Y: np.ndarray, S: np.ndarray) -> dict[str, float]:
    """scikit-learn's values on the rows where each metric is defined (it counts the others too)."""
    nan = float("nan")
    some = Y.any(axis=1)  # at least one relevant label
    both = some & ~Y.all(axis=1)  # at least one relevant and one irrelevant label
    if Y.shape[1] == 1:
        # coverage_error rejects one column; the one label is always ranked first: coverage 0.
        cov = 0.0 if some.any() else nan
    else:
        cov = sk.coverage_error(Y[some], S[some]) - 1 if some.any() else nan
    return {
        "one_error": one_error_by_definition(Y, S),
        "coverage": cov,
        "ranking_loss": sk.label_ranking_loss(Y[both], S[both]) if both.any() else nan,
        "average_precision": (
            sk.label_ranking_average_precision_score(Y[some], S[some]) if some.any() else nan
        ),
    }


@pytest.mark.parametrize(("seed", "ties"), CASES)
def test_ranking_metrics_match_sklearn(seed, ties):
    Y, _, S = random_case(seed, ties)
    for name, expected in sklearn_ranking_metrics(Y, S).items():
        actual = getattr(metrics, name)(Y, S)
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12, err_msg=name)


def test_ranking_metrics_skip_examples_that_sklearn_counts():
    # Row 0: the relevant label is ranked second -> AP 1/2, coverage 1, ranking loss 1.
    # Row 1 has no relevant label: skipped here, scored 1 (LRAP) or 0 (coverage, loss) by sklearn.
    Y = np.array([[1, 0], [0, 0]])
    S = np.array([[0.2, 0.8], [0.5, 0.4]])
    assert metrics.average_precision(Y, S) == 0.5
    assert sk.label_ranking_average_precision_score(Y, S) == 0.75
    assert metrics.coverage(Y, S) == 1.0
    assert sk.coverage_error(Y, S) == (2 + 0) / 2  # minus 1 would give 0
    assert metrics.ranking_loss(Y, S) == 1.0
    assert sk.label_ranking_loss(Y, S) == 0.5


# --- Per-label score-based metrics against scikit-learn -------------------------------------------


def sklearn_macro(score, Y: np.ndarray, S: np.ndarray, labels: np.ndarray) -> float:
    """The mean of ``score`` (roc_auc_score, average_precision_score) over the given labels."""
    if not labels.any():
        return float("nan")
    if labels.sum() == 1:  # a single column is binary input for scikit-learn
        return score(Y[:, labels].ravel(), S[:, labels].ravel())
    return score(Y[:, labels], S[:, labels], average="macro")


@pytest.mark.parametrize(("seed", "ties"), CASES)
def test_per_label_metrics_match_sklearn(seed, ties):
    Y, _, S = random_case(seed, ties)
    n_pos = Y.sum(axis=0)
    both_classes = (n_pos > 0) & (n_pos < Y.shape[0])
    expected_auc = sklearn_macro(sk.roc_auc_score, Y, S, both_classes)
    expected_map = sklearn_macro(sk.average_precision_score, Y, S, n_pos > 0)
    np.testing.assert_allclose(metrics.macro_auc(Y, S), expected_auc, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        metrics.mean_average_precision(Y, S), expected_map, rtol=1e-12, atol=1e-12
    )


# --- Hand-worked examples -------------------------------------------------------------------------

# Three examples, four labels. Example 2 has no label; label 3 is never true.
Y3 = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]])
YHAT3 = np.array([[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 0, 0]])
S3 = np.array([[0.9, 0.2, 0.4, 0.6], [0.5, 0.5, 0.1, 0.3], [0.95, 0.5, 0.3, 0.4]])

HAND_WORKED = {
    # 2 wrong cells (row 0: labels 2 and 3) out of 12.
    "hamming_loss": 2 / 12,
    # Rows 1 and 2 are exact matches.
    "subset_accuracy": 2 / 3,
    # Jaccard per row: 1/3 (|{0}| / |{0, 2, 3}|), 1, 1 (0/0 counts as 1).
    "accuracy": (1 / 3 + 1 + 1) / 3,
    # Per row: precision 1/2, 1, 1 (nothing predicted); recall 1/2, 1, 1 (nothing true);
    # F1 2*1/(2+2), 1, 1.
    "example_precision": (1 / 2 + 1 + 1) / 3,
    "example_recall": (1 / 2 + 1 + 1) / 3,
    "example_f1": (1 / 2 + 1 + 1) / 3,
    # Pooled: TP 2, FP 1 (row 0, label 3), FN 1 (row 0, label 2).
    "micro_precision": 2 / 3,
    "micro_recall": 2 / 3,
    "micro_f1": 2 * 2 / (2 * 2 + 1 + 1),
    # Per label (P, R, F1): 0 (1, 1, 1), 1 (1, 1, 1), 2 (0/0 = 1, 0, 0), 3 (0, 0/0 = 1, 0).
    "macro_precision": (1 + 1 + 1 + 0) / 4,
    "macro_recall": (1 + 1 + 0 + 1) / 4,
    "macro_f1": (1 + 1 + 0 + 0) / 4,
    # Row 2 (no relevant label) is skipped by the four ranking metrics.
    # Row 0 top: label 0, relevant. Row 1 top: labels 0 and 1 tie at 0.5, label 0 irrelevant.
    "one_error": (0 + 1) / 2,
    # Row 0 ranks 0, 3, 2, 1: relevant label 2 is 3rd -> 2. Row 1: label 1 ties for 1st, worst
    # rank 2 -> 1.
    "coverage": (2 + 1) / 2,
    # Row 0: of the pairs (0,1) (0,3) (2,1) (2,3) only (2,3) is wrong -> 1/4. Row 1: of (1,0) (1,2)
    # (1,3) the tie (1,0) is wrong -> 1/3.
    "ranking_loss": (1 / 4 + 1 / 3) / 2,
    # Row 0: label 0 at rank 1 (1/1), label 2 at rank 3 with 2 relevant at or above (2/3).
    # Row 1: label 1 at rank 2 (tie) with 1 relevant -> 1/2.
    "average_precision": ((1 + 2 / 3) / 2 + 1 / 2) / 2,
    # Label 0: positive 0.9 vs negatives 0.5, 0.95 -> 1/2. Label 1: 0.5 vs 0.2, 0.5 (tie) -> 3/4.
    # Label 2: 0.4 vs 0.1, 0.3 -> 1. Label 3 has no positive: skipped.
    "macro_auc": (1 / 2 + 3 / 4 + 1) / 3,
    # Label 0: 0.95 (neg), 0.9 (pos) -> 1/2. Label 1: the positive ties a negative at 0.5 -> 1/2.
    # Label 2: the positive scores highest -> 1. Label 3: skipped.
    "mean_average_precision": (1 / 2 + 1 / 2 + 1) / 3,
    # Ten bins of width 0.1; per bin |sum(Y - S)|. Label 0: bin 9 holds (1, .9) and (0, .95) -> .85,
    # bin 5 (0, .5) -> .5. Label 1: bin 2 -> .2, bin 5 holds (0, .5) and (1, .5) -> 0. Label 2: bins 4, 1,
    # 3 -> .6 + .1 + .3. Label 3: bins 6, 3, 4 -> .6 + .3 + .4. Each over n = 3 rows, then the mean.
    "ece_macro": ((0.85 + 0.5) + 0.2 + 1.0 + 1.3) / 3 / 4,
    # Pooled over 12 cells: bin 1 -.1, bin 2 -.2, bin 3 -.6, bin 4 +.6 -.4, bin 5 -.5, bin 6 -.6, bin 9 -.85.
    "ece_micro": (0.1 + 0.2 + 0.6 + 0.2 + 0.5 + 0.6 + 0.85) / 12,
}


@pytest.mark.parametrize("name", list(HAND_WORKED))
def test_hand_worked_example(name):
    function = getattr(metrics, name)
    second = S3 if name in metrics.METRIC_KEYS[6:] else YHAT3  # score-based or set-based
    assert function(Y3, second) == pytest.approx(HAND_WORKED[name], abs=1e-12)


def test_evaluate_on_the_hand_worked_example():
    result = metrics.evaluate(Y3, S3, YHAT3)
    assert result == pytest.approx(
        {**{k: HAND_WORKED[k] for k in metrics.METRIC_KEYS}, "n_samples": 3, "n_labels": 4}
    )


@pytest.mark.parametrize(
    ("name", "Y", "S", "expected"),
    [
        # Two labels tie for the top and the first (by column) is the relevant one: still an error.
        ("one_error", [[1, 0]], [[0.5, 0.5]], 1.0),
        ("one_error", [[1, 1, 0]], [[0.5, 0.5, 0.1]], 0.0),  # every top label relevant
        ("coverage", [[1, 0, 0]], [[0.5, 0.5, 0.1]], 1.0),  # worst rank of the tie: 2
        ("ranking_loss", [[1, 0, 0]], [[0.5, 0.5, 0.1]], 1 / 2),  # the tied pair is wrong
        ("average_precision", [[1, 0, 0]], [[0.5, 0.5, 0.1]], 1 / 2),
        ("macro_auc", [[1], [0]], [[0.5], [0.5]], 1 / 2),  # a tie counts one half
        ("mean_average_precision", [[1], [0]], [[0.5], [0.5]], 1 / 2),
    ],
)
def test_ties(name, Y, S, expected):
    assert getattr(metrics, name)(Y, S) == pytest.approx(expected)


def test_zero_division_counts_as_one():
    # Nothing true and nothing predicted: every set-based score is perfect.
    Y = np.zeros((2, 3), dtype=int)
    for name in ["accuracy", "example_f1", "micro_f1", "macro_f1", "macro_precision"]:
        assert getattr(metrics, name)(Y, Y) == 1.0, name
    assert metrics.hamming_loss(Y, Y) == 0.0


def test_all_zero_predictor_does_not_look_good_on_sparse_labels():
    # 200 examples, 50 labels, one or two true labels per example: 97% of the cells are 0.
    rng = np.random.default_rng(0)
    Y = np.zeros((200, 50), dtype=int)
    Y[np.arange(200), rng.integers(0, 50, 200)] = 1
    Y[np.arange(0, 200, 2), rng.integers(0, 50, 100)] = 1
    Yhat = np.zeros_like(Y)
    S = np.full(Y.shape, 0.1)
    result = metrics.evaluate(Y, S, Yhat)
    assert result["hamming_loss"] == Y.mean() < 0.04  # element-wise "accuracy" above 96%...
    assert result["subset_accuracy"] == 0.0  # ...but not one example is right,
    assert result["accuracy"] == 0.0
    assert result["example_f1"] == 0.0
    assert result["micro_f1"] == 0.0
    # Labels never true score 1 (0/0): macro F1 is the share of such labels.
    assert result["macro_f1"] == np.mean(~Y.any(axis=0)) < 0.05
    # A constant scorer ranks nothing: every tie counts against it.
    assert result["one_error"] == 1.0
    assert result["coverage"] == 49.0
    assert result["ranking_loss"] == 1.0
    assert result["macro_auc"] == 0.5


def test_undefined_metrics_are_nan():
    S = np.array([[0.2, 0.7], [0.4, 0.1]])
    none = metrics.evaluate(np.zeros((2, 2)), S, np.zeros((2, 2)))
    for name in metrics.METRIC_KEYS[6:12]:  # every ranking metric needs a positive
        assert np.isnan(none[name]), name
    # ECE is defined without positives: every probability is a miss of its own size
    assert none["ece_micro"] == pytest.approx((0.2 + 0.7 + 0.4 + 0.1) / 4)
    assert none["ece_macro"] == pytest.approx((0.2 + 0.7 + 0.4 + 0.1) / 4)
    for name in metrics.METRIC_KEYS[:6]:
        assert none[name] == (0.0 if name == "hamming_loss" else 1.0), name
    full = metrics.evaluate(np.ones((2, 2)), S, np.ones((2, 2)))
    assert np.isnan(full["ranking_loss"])  # no irrelevant label to order against
    assert np.isnan(full["macro_auc"])  # no negative example
    assert full["one_error"] == 0.0
    assert full["average_precision"] == 1.0
    assert full["mean_average_precision"] == 1.0


# --- evaluate -------------------------------------------------------------------------------------


def test_metric_keys_and_directions():
    assert metrics.METRIC_KEYS == (
        "hamming_loss",
        "subset_accuracy",
        "accuracy",
        "example_f1",
        "micro_f1",
        "macro_f1",
        "one_error",
        "coverage",
        "ranking_loss",
        "average_precision",
        "macro_auc",
        "mean_average_precision",
        "ece_micro",
        "ece_macro",
    )
    lower = {"hamming_loss", "one_error", "coverage", "ranking_loss", "ece_micro", "ece_macro"}
    assert frozenset(lower) == metrics.LOWER_IS_BETTER


def test_ece_is_zero_for_probabilities_that_match_the_frequencies():
    # 10 cells at 0.3 with 3 positives, 10 at 0.8 with 8
    Y = np.array([[1] * 3 + [0] * 7 + [1] * 8 + [0] * 2]).T  # (20, 1)
    S = np.array([[0.3] * 10 + [0.8] * 10]).T
    assert metrics.ece_micro(Y, S) == pytest.approx(0.0, abs=1e-12)
    assert metrics.ece_macro(np.hstack([Y, Y]), np.hstack([S, S])) == pytest.approx(0.0, abs=1e-12)
    # every probability 1 for a label that is half the time true: ECE 0.5
    assert metrics.ece_micro(Y, np.ones_like(S, dtype=float)) == pytest.approx(9 / 20)


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_evaluate_returns_every_metric_as_plain_numbers(seed):
    Y, Yhat, S = random_case(seed, ties=True)
    result = metrics.evaluate(Y, S, Yhat)
    assert list(result) == [*metrics.METRIC_KEYS, "n_samples", "n_labels"]
    assert (result["n_samples"], result["n_labels"]) == Y.shape
    assert type(result["n_samples"]) is int and type(result["n_labels"]) is int
    for name in metrics.METRIC_KEYS:
        assert type(result[name]) is float, name
        second = Yhat if name in metrics.METRIC_KEYS[:6] else S
        np.testing.assert_equal(result[name], getattr(metrics, name)(Y, second), err_msg=name)
    json.dumps(result)


def test_inputs_may_be_lists_bools_or_floats():
    assert metrics.hamming_loss([[1, 0]], [[True, False]]) == 0.0
    assert metrics.evaluate([[1.0, 0.0]], [[0.9, 0.1]], [[1, 0]])["average_precision"] == 1.0


# --- Bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: metrics.coverage(np.zeros((10, 5)), np.zeros((10, 4))),
            "Y and S must have the same shape (n_samples, n_labels); received (10, 5) and (10, 4).",
        ),
        (
            lambda: metrics.micro_f1(np.zeros((3, 2)), np.zeros((2, 2))),
            "Y and Yhat must have the same shape (n_samples, n_labels); "
            "received (3, 2) and (2, 2).",
        ),
        (
            lambda: metrics.hamming_loss([[0, 2], [1, 0]], [[0, 1], [1, 0]]),
            "Y must contain only 0 and 1 (a multi-hot matrix); "
            "received 1 other value(s), such as 2.",
        ),
        (
            lambda: metrics.evaluate([[0, 1]], [[0.2, 0.8]], [[0.5, 1]]),
            "Yhat must contain only 0 and 1 (a multi-hot matrix); received 1 other value(s), "
            "such as 0.5.",
        ),
        (
            lambda: metrics.ranking_loss(
                [[0, 1, 0], [1, 0, 0]], [[0.1, 0.2, 0.3], [0.4, 0.5, np.nan]]
            ),
            "S must contain only finite scores; received 1 NaN or infinite value(s), "
            "the first at row 1, column 2.",
        ),
        (
            lambda: metrics.coverage([[0, 1]], [[np.inf, 0.5]]),
            "S must contain only finite scores; received 1 NaN or infinite value(s), "
            "the first at row 0, column 0.",
        ),
        (
            lambda: metrics.micro_f1(np.zeros(10), np.zeros(10)),
            "Y must be a 2-D array of shape (n_samples, n_labels); received an array of shape "
            "(10,). For a single label pass a column, Y.reshape(-1, 1).",
        ),
        (
            lambda: metrics.one_error(np.zeros((0, 3)), np.zeros((0, 3))),
            "Y must have at least one sample and one label; received shape (0, 3).",
        ),
        (
            lambda: metrics.accuracy([[0, 1], [1]], [[0, 1], [1, 0]]),
            "Y must be a 2-D array of shape (n_samples, n_labels); received rows of different "
            "lengths.",
        ),
        (
            lambda: metrics.macro_auc([["a", "b"]], [[0.1, 0.2]]),
            "Y must hold numbers; received an array of dtype <U1.",
        ),
    ],
    ids=[
        "S shape",
        "Yhat shape",
        "Y not binary",
        "Yhat not binary",
        "NaN score",
        "infinite score",
        "1-D",
        "empty",
        "ragged",
        "strings",
    ],
)
def test_bad_input_says_what_was_expected_and_received(call, message):
    with pytest.raises(UserInputError, match=re.escape(message)):
        call()


def test_user_input_error_is_a_value_error():
    with pytest.raises(ValueError):
        metrics.evaluate(np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((2, 2)))
