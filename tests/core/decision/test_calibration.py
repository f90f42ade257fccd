import json

import numpy as np
import pytest

from brainnet.core.decision.calibration import Calibration, fit_calibration, log_loss
from brainnet.core.decision.metrics import ece_macro
from brainnet.core.errors import UserInputError


def _overconfident(n: int = 2000, L: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from true probabilities; the 'model' reports logits 3x too large (over-confident) and,
    for label 2, shifted by +1 (biased)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.2, size=(n, L))  # true logits
    Y = (rng.random((n, L)) < 1 / (1 + np.exp(-z))).astype(np.uint8)
    shown = 3 * z + np.array([0.0, 0.0, 1.0])
    return Y, 1 / (1 + np.exp(-shown))


@pytest.mark.parametrize("method", ["temperature", "platt", "auto"])
def test_calibration_lowers_log_loss_and_ece_on_held_out_rows(method):
    Y, P = _overconfident()
    cal = fit_calibration(Y[:1000], P[:1000], method)
    assert cal.method in ("temperature", "platt")
    Q = cal.apply(P[1000:])
    assert log_loss(Y[1000:], Q) < log_loss(Y[1000:], P[1000:]) - 0.05
    assert ece_macro(Y[1000:], Q) < ece_macro(Y[1000:], P[1000:]) / 2
    # temperature scaling finds the 3x: slope ~ 1/3 (the true temperature) on the unbiased labels
    if method == "temperature":
        np.testing.assert_allclose(cal.a[:2], 1 / 3, atol=0.05)
        assert (cal.b == 0).all()
    # the decision of 'auto' is made on rows it was not fitted on, and kept in the report
    if method == "auto":
        losses, eces = cal.report["out_of_fold_log_loss"], cal.report["out_of_fold_ece_micro"]
        assert losses[cal.method] < losses["none"] and eces[cal.method] < eces["none"]


def test_auto_refuses_a_log_loss_gain_that_makes_probabilities_less_calibrated(monkeypatch):
    """Scene's case: temperature scaling lowered out-of-fold log-loss by 0.0003 and raised ECE; 'auto' keeps none
    then, and takes the calibration that lowers both when there is one."""
    from brainnet.core.decision import calibration as module

    Y, P = _overconfident()
    scores = {"none": (0.2160, 0.0102), "temperature": (0.2157, 0.0110), "platt": (0.2158, 0.0105)}
    monkeypatch.setattr(module, "_out_of_fold_scores", lambda Y, P, m, seed: scores[m])
    assert fit_calibration(Y, P, "auto").method == "none"
    scores["platt"] = (0.2159, 0.0090)
    assert fit_calibration(Y, P, "auto").method == "platt"


def test_platt_fixes_a_bias_temperature_cannot():
    Y, P = _overconfident()
    platt, temp = fit_calibration(Y, P, "platt"), fit_calibration(Y, P, "temperature")
    assert abs(platt.b[2] + 1 / 3) < 0.1  # the +1 logit shift, on the 1/3 scale
    assert log_loss(Y[:, 2:], platt.apply(P)[:, 2:]) < log_loss(Y[:, 2:], temp.apply(P)[:, 2:])


def test_auto_keeps_well_calibrated_probabilities_as_they_are():
    rng = np.random.default_rng(1)
    P = rng.uniform(0.02, 0.98, size=(1500, 2))
    Y = (rng.random(P.shape) < P).astype(np.uint8)  # calibrated by construction
    cal = fit_calibration(Y, P, "auto")
    assert cal.method == "none"
    np.testing.assert_array_equal(cal.apply(P), P)


def test_none_is_the_identity_and_nan_rows_stay_nan():
    Y, P = _overconfident(200)
    cal = fit_calibration(Y, P, "none")
    np.testing.assert_array_equal(cal.apply(P), P)
    temp = fit_calibration(Y, P, "temperature")
    P[3] = np.nan
    Q = temp.apply(P)
    assert np.isnan(Q[3]).all() and np.isfinite(np.delete(Q, 3, axis=0)).all()


def test_calibration_keeps_each_labels_order():
    Y, P = _overconfident(500)
    Q = fit_calibration(Y, P, "platt").apply(P)
    for j in range(P.shape[1]):
        np.testing.assert_array_equal(
            np.argsort(P[:, j], kind="stable"), np.argsort(Q[:, j], kind="stable")
        )


def test_a_label_with_too_few_positives_is_left_alone():
    Y, P = _overconfident(400)
    Y[:, 1] = 0
    Y[:2, 1] = 1  # two positives: nothing to fit on
    cal = fit_calibration(Y, P, "platt")
    assert cal.a[1] == 1.0 and cal.b[1] == 0.0 and cal.a[0] != 1.0


def test_round_trip_through_json():
    Y, P = _overconfident(300)
    cal = fit_calibration(Y, P, "auto")
    back = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())), P.shape[1])
    assert back.method == cal.method and back.report == cal.report
    np.testing.assert_array_equal(back.apply(P), cal.apply(P))
    # a model written before calibration existed has no record: the identity
    assert Calibration.from_dict(None, 3).method == "none"
    with pytest.raises(ValueError, match="3 finite slopes"):
        Calibration.from_dict({"method": "platt", "a": [1, 2], "b": [0, 0]}, 3)


def test_unknown_method_is_a_clear_error():
    with pytest.raises(UserInputError, match="calibration must be one of auto, temperature"):
        fit_calibration(np.zeros((4, 1)), np.full((4, 1), 0.5), "isotonic")


@pytest.mark.parametrize("method", ["temperature", "platt"])
def test_apply_is_the_formula_bit_for_bit(method):
    Y, P = _overconfident(300)
    cal = fit_calibration(Y, P, method)
    P[:3] = [[0.0, 1.0, 0.5], [1e-15, 1 - 1e-15, 1e-300], [np.nan] * 3]  # clipped ends, a NaN row
    z = np.clip(P, 1e-12, 1 - 1e-12)
    expected = 0.5 * (1.0 + np.tanh(0.5 * (cal.a * (np.log(z) - np.log1p(-z)) + cal.b)))
    np.testing.assert_array_equal(cal.apply(P), expected)
    assert cal.apply(P).dtype == np.float64


@pytest.mark.parametrize("method", ["none", "temperature", "platt", "auto"])
def test_a_label_that_never_varied_in_training_gets_its_smoothed_rate(method):
    """Whatever the networks left on a label they never saw positive (or never negative), every method gives
    it (positives + 1) / (rows + 2); the others are calibrated as without it, and NaN rows stay NaN."""
    Y, P = _overconfident(400)
    Y, P = Y[:, :2], P[:, :2]
    Y = np.hstack([Y, np.zeros((400, 1), np.uint8), np.ones((400, 1), np.uint8)])
    # where a few hundred steps on one class leave a network
    P = np.hstack([P, np.linspace(0.2, 0.6, 400)[:, None], np.full((400, 1), 0.7)])
    trained_on = Y[:300]  # the rows the models learned from: 300
    cal = fit_calibration(Y, P, method, trained_on=trained_on)
    plain = fit_calibration(Y[:, :2], P[:, :2], method)
    # without the training labels nothing is made constant (a model saved before keeps its numbers)
    np.testing.assert_array_equal(fit_calibration(Y, P, "none").apply(P), P)
    P[5] = np.nan
    Q = cal.apply(P)
    readable = np.delete(np.arange(len(P)), 5)
    np.testing.assert_allclose(Q[readable, 2], 1 / 302, rtol=1e-12)
    np.testing.assert_allclose(Q[readable, 3], 301 / 302, rtol=1e-12)
    assert np.isnan(Q[5]).all()
    assert cal.method == plain.method
    np.testing.assert_array_equal(Q[readable, :2], plain.apply(P[readable, :2]))
    assert cal.report["constant_labels"] == {"2": round(1 / 302, 6), "3": round(301 / 302, 6)}
    back = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())), 4)
    np.testing.assert_array_equal(back.apply(P), Q)


def test_constant_rates_only_for_labels_that_never_varied():
    from brainnet.core.decision.calibration import constant_rates

    Y = np.array([[0, 1, 1], [0, 1, 0], [0, 1, 0], [0, 1, 1]])
    np.testing.assert_array_equal(constant_rates(Y), [1 / 6, 5 / 6, np.nan])
