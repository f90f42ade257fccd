import json

import numpy as np
import pytest

from brainnet.core.data.preprocessing import FeatureScaler
from brainnet.core.errors import UserInputError

NAMES = ["a", "b", "c"]


def test_standardises_with_training_statistics_and_imputes_medians():
    X = np.array([[1.0, 10.0, 5.0], [3.0, np.nan, 5.0], [5.0, 30.0, 5.0], [7.0, 20.0, 5.0]])
    scaler, notes = FeatureScaler.fit(X, NAMES)
    np.testing.assert_allclose(scaler.medians, [4.0, 20.0, 5.0])
    Z = scaler.transform(X, NAMES)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(Z[:, :2].std(0), 1, atol=1e-6)
    assert np.all(Z[:, 2] == 0)  # constant feature: scale 1, no division by zero
    assert any("imputed 1 missing" in n and "b: 1" in n for n in notes)
    assert any("constant" in n and "c" in n for n in notes)
    new = scaler.transform(np.array([[np.nan, np.nan, 5.0]]), NAMES)
    np.testing.assert_allclose(
        new[0, :2], ((np.array([4.0, 20.0]) - scaler.mean[:2]) / scaler.scale[:2])
    )


def test_no_impute_rejects_missing_values_naming_column_and_row():
    X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, np.nan]])
    with pytest.raises(UserInputError, match=r"column 'c', row 2\) and imputation is off"):
        FeatureScaler.fit(X, NAMES, impute=False)
    scaler, _ = FeatureScaler.fit(X[:1], NAMES, impute=False)
    with pytest.raises(UserInputError, match="imputation is off"):
        scaler.transform(X, NAMES)


def test_round_trip_and_shape_check():
    scaler, _ = FeatureScaler.fit(np.random.default_rng(0).normal(size=(10, 3)), NAMES)
    again = FeatureScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    x = np.ones((2, 3))
    np.testing.assert_array_equal(scaler.transform(x, NAMES), again.transform(x, NAMES))
    with pytest.raises(UserInputError, match=r"expected features of shape \(n, 3\)"):
        scaler.transform(np.ones((2, 4)), NAMES)


def test_transform_is_the_formula_bit_for_bit_with_and_without_missing_values():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 3)) * [1.0, 1e4, 1e-3] + [0.0, 5e5, 2.0]
    scaler, _ = FeatureScaler.fit(X, NAMES)
    expected = ((X - scaler.mean) / scaler.scale).astype(np.float32)
    np.testing.assert_array_equal(scaler.transform(X, NAMES), expected)
    X[[4, 9], [1, 2]] = np.nan
    filled = np.where(np.isnan(X), scaler.medians, X)
    Z = scaler.transform(X, NAMES)
    np.testing.assert_array_equal(Z, ((filled - scaler.mean) / scaler.scale).astype(np.float32))
    assert np.isfinite(Z).all()


def test_uncentred_keeps_the_zeros_and_the_shift_gives_back_transform():
    """X_u = impute(X) / scale keeps X's zeros (missing values filled), and X_u - mean / scale is transform."""
    import scipy.sparse as sp

    rng = np.random.default_rng(4)
    X = np.where(
        rng.random((40, 4)) < 0.3, rng.normal(size=(40, 4)) * [1, 10, 1, 1] + [0, 50, 0, 0], 0
    )
    X[[2, 7], [0, 1]] = np.nan
    X[:, 3] = 0.0  # constant: scale 1
    csr = sp.csr_matrix(X)
    scaler, _ = FeatureScaler.fit(csr, ["a", "b", "c", "d"])
    X_u, shift = scaler.uncentred(csr)
    assert sp.issparse(X_u) and X_u.nnz == csr.nnz  # the same entries: zeros stay zeros
    assert np.isnan(csr.data).sum() == 2  # the caller's matrix is unchanged
    np.testing.assert_allclose(
        X_u.toarray() - shift, scaler.transform_rows(csr.toarray()), atol=1e-6, rtol=1e-6
    )


def test_scale_binary_false_only_centres_the_0_1_columns_dense_and_sparse_alike():
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    X = np.column_stack(
        [
            (rng.random(200) < 0.02).astype(float),  # a rare indicator: sd 0.14, x/sd would reach 7
            (rng.random(200) < 0.5).astype(float),
            rng.normal(3.0, 2.0, 200),  # not 0/1: standardised either way
            np.where(rng.random(200) < 0.1, np.nan, (rng.random(200) < 0.3).astype(float)),
        ]
    )
    names = ["rare", "half", "real", "gappy"]
    standard, _ = FeatureScaler.fit(X, names)
    unit, _ = FeatureScaler.fit(X, names, scale_binary=False)
    np.testing.assert_array_equal(
        unit.scale[[0, 1, 3]], 1.0
    )  # imputed medians keep a 0/1 column 0/1
    assert unit.scale[2] == standard.scale[2] != 1.0
    np.testing.assert_array_equal(unit.mean, standard.mean)
    assert standard.scale[0] < 0.2  # the default divides the rare indicator by its small sd
    Z = unit.transform(X, names)
    np.testing.assert_allclose(Z[:, :2], X[:, :2] - unit.mean[:2], atol=1e-6)
    sparse, _ = FeatureScaler.fit(
        sp.csr_matrix(np.nan_to_num(X, nan=0.0)), names, scale_binary=False
    )
    dense, _ = FeatureScaler.fit(np.nan_to_num(X, nan=0.0), names, scale_binary=False)
    np.testing.assert_array_equal(sparse.scale, dense.scale)
    assert FeatureScaler.from_dict(json.loads(json.dumps(unit.to_dict()))).scale.tolist() == (
        unit.scale.tolist()
    )
