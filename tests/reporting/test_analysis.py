"""The report's numbers against scikit-learn and hand-checked cases."""

import numpy as np
import pytest
from sklearn.metrics import (
    multilabel_confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
)

from brainnet.core.decision import metrics
from brainnet.reporting import analysis


@pytest.fixture
def random_case():
    rng = np.random.default_rng(0)
    Y = (rng.random((80, 5)) < 0.3).astype(np.uint8)
    Y[:, 4] = 0  # a label nobody carries
    P = np.clip(0.5 * Y + 0.6 * rng.random((80, 5)), 0, 1).round(2)  # ties on purpose
    Yhat = (P >= 0.5).astype(np.uint8)
    return Y, P, Yhat


def test_label_stats_match_sklearn_and_the_suites_macro_f1(random_case):
    Y, P, Yhat = random_case
    stats = analysis.label_stats(Y, P, Yhat)
    p, r, f, support = precision_recall_fscore_support(Y, Yhat, average=None, zero_division=1.0)
    np.testing.assert_allclose(stats.precision, p)
    np.testing.assert_allclose(stats.recall, r)
    np.testing.assert_allclose(stats.f1, f)
    np.testing.assert_array_equal(stats.support, support)
    mcm = multilabel_confusion_matrix(Y, Yhat)  # (L, 2, 2): [[TN, FP], [FN, TP]]
    np.testing.assert_array_equal(stats.tn, mcm[:, 0, 0])
    np.testing.assert_array_equal(stats.fp, mcm[:, 0, 1])
    np.testing.assert_array_equal(stats.fn, mcm[:, 1, 0])
    np.testing.assert_array_equal(stats.tp, mcm[:, 1, 1])
    assert stats.f1.mean() == pytest.approx(metrics.macro_f1(Y, Yhat))
    assert np.isnan(stats.ap[4]) and np.nanmean(stats.ap) == pytest.approx(
        metrics.mean_average_precision(Y, P)
    )


def test_pr_curve_matches_sklearn(random_case):
    Y, P, _ = random_case
    recall, precision, thresholds = analysis.pr_curve(Y[:, 0], P[:, 0])
    p_ref, r_ref, t_ref = precision_recall_curve(Y[:, 0], P[:, 0])
    # sklearn: increasing thresholds plus a final (recall 0, precision 1) point
    np.testing.assert_allclose(thresholds, t_ref[::-1])
    np.testing.assert_allclose(precision, p_ref[:-1][::-1])
    np.testing.assert_allclose(recall, r_ref[:-1][::-1])


def test_operating_point_is_the_decision_at_the_threshold(random_case):
    Y, P, _ = random_case
    r, p = analysis.operating_point(Y[:, 1], P[:, 1], 0.5)
    pp, rr, _, _ = precision_recall_fscore_support(Y[:, 1], P[:, 1] >= 0.5, average="binary")
    assert (r, p) == pytest.approx((rr, pp))
    assert analysis.operating_point(Y[:, 1], P[:, 1], 2.0) == (0.0, 1.0)


def test_reliability_bins_and_ece_by_hand():
    p = np.array([0.05, 0.15, 0.15, 0.95, 1.0, 0.55])
    y = np.array([0, 0, 1, 1, 1, 0])
    rel = analysis.reliability(y, p, n_bins=10)
    assert rel.count.tolist() == [1, 2, 0, 0, 0, 1, 0, 0, 0, 2]  # p == 1 joins the last bin
    assert rel.frequency[1] == 0.5 and rel.confidence[1] == pytest.approx(0.15)
    assert np.isnan(rel.frequency[2])
    expected = (1 * 0.05 + 2 * abs(0.5 - 0.15) + 1 * 0.55 + 2 * abs(1 - 0.975)) / 6
    assert rel.ece == pytest.approx(expected)
    assert analysis.reliability(np.array([1, 0]), np.array([1.0, 0.0])).ece == 0.0


def test_cooccurrence_counts_pairs():
    Y = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1]], dtype=np.uint8)
    assert analysis.cooccurrence(Y).tolist() == [[3, 2, 1], [2, 2, 1], [1, 1, 1]]


def test_confident_errors_rank_the_worst_wrong_decision_first():
    Y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=np.uint8)
    P = np.array([[0.9, 0.2], [0.95, 0.3], [0.8, 0.9], [0.4, 0.45]])
    Yhat = (P >= 0.5).astype(np.uint8)
    # row 1: false positive at p=0.95 and false negative at 1-0.3=0.7 -> 0.95; rows 0, 2, 3 are all right
    assert analysis.confident_errors(Y, P, Yhat, 5) == [(1, 0.95)]


def test_top_labels_by_support_keep_order_on_ties():
    assert analysis.top_labels(np.array([3, 9, 3, 1]), 3).tolist() == [1, 0, 2]
    assert analysis.label_list(["a", "b"], np.array([0, 0])) == "-"
