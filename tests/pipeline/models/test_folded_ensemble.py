"""``FoldedEnsemble``: K table MLPs folded for prediction give each member's own probabilities, in the members'
order, and their mean; the torch engine folds once and folds again when a member's weights change."""

import numpy as np
import pytest
import torch

from brainnet import MultiLabelMLP
from brainnet.core.data.sparse import SparseRows
from brainnet.pipeline.engine import TorchEngine, _folded
from brainnet.pipeline.models.folded_ensemble import FoldedEnsemble
from brainnet.pipeline.models.mlp import MLP

LAYOUTS = [
    dict(hidden_sizes=(16,)),  # the default's shape: Linear, BatchNorm, ReLU, Dropout; a head
    dict(hidden_sizes=(8, 5), batch_norm=False, activation="gelu", dropout=0.2),
    dict(hidden_sizes=(7, 6), input_dropout=0.3, activation="leaky_relu"),
    dict(hidden_sizes=(9,), activation="silu"),
    dict(hidden_sizes=()),  # logistic regression per label
]


pytestmark = pytest.mark.usefixtures("one_thread")


def _members(K: int, d: int, L: int, seed: int = 0, **layout) -> list[MLP]:
    """K MLPs with different weights and BatchNorm statistics away from their initial values."""
    torch.manual_seed(seed)
    members = [MLP(d, L, **layout) for _ in range(K)]
    for k, m in enumerate(members):
        m.train()(torch.randn(32, d) * (1 + k) + k)  # each member its own running statistics
        m.eval()
    return members


def _one_by_one(members: list[MLP], X: np.ndarray) -> np.ndarray:
    """The reference: each member's own forward, sigmoid in float32, as float64 (K, n, L)."""
    with torch.no_grad():
        x = torch.as_tensor(X, dtype=torch.float32)
        return np.stack([torch.sigmoid(m.eval()(x)).numpy().astype(np.float64) for m in members])


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda kw: str(kw["hidden_sizes"]))
def test_every_member_in_its_order_and_their_mean(layout):
    K, d, L = 4, 6, 3
    members = _members(K, d, L, **layout)
    X = np.random.default_rng(1).normal(size=(23, d)).astype(np.float32)
    folded = FoldedEnsemble.from_members(members)
    ref = _one_by_one(members, X)
    for chunk in (5, 23, 256):  # chunks that split the rows unevenly, exactly, and not at all
        each = folded.member_probabilities(X, chunk=chunk)
        assert each.shape == (K, 23, L)
        for k in range(K):  # member k is member k: a mis-ordered stack fails here
            np.testing.assert_allclose(each[k], ref[k], atol=2e-6, err_msg=f"member {k}")
        np.testing.assert_allclose(folded.probabilities(X, chunk=chunk), ref.mean(0), atol=2e-6)
    # the members differ by far more than the tolerance, so a dropped or repeated member fails too
    assert np.abs(ref[1:] - ref[:-1]).max() > 1e-2
    assert np.abs(ref[1:].mean(0) - ref.mean(0)).max() > 1e-3


def test_no_rows_and_sparse_rows():
    members = _members(3, 5, 2)
    folded = FoldedEnsemble.from_members(members)
    assert folded.probabilities(np.zeros((0, 5), np.float32)).shape == (0, 2)
    from scipy import sparse

    raw = sparse.random(30, 5, density=0.3, format="csr", random_state=0)
    rows = SparseRows(raw, lambda b: (b * 2 - 1).astype(np.float32), 5)
    dense = (raw.toarray() * 2 - 1).astype(np.float32)
    np.testing.assert_array_equal(
        folded.probabilities(rows, chunk=7), folded.probabilities(dense, chunk=7)
    )


def test_the_members_are_read_not_changed():
    members = _members(3, 5, 2)
    before = [{k: v.clone() for k, v in m.state_dict().items()} for m in members]
    FoldedEnsemble.from_members(members).probabilities(np.ones((4, 5), np.float32))
    for m, b in zip(members, before, strict=True):
        for name, value in m.state_dict().items():
            torch.testing.assert_close(value, b[name], rtol=0, atol=0)
        assert not m.training


def test_the_engine_folds_once_and_again_when_weights_change():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 5))
    Y = (X[:, :2] + rng.normal(size=(60, 2)) > 0).astype(np.int64)
    model = MultiLabelMLP(hidden_sizes=(8,), n_models=3, epochs=2, batch_size=16).fit(X, Y)
    recipe = model.recipe_
    first = _folded(model.models_, recipe)
    assert _folded(model.models_, recipe) is first  # reused: nothing changed
    P = model.predict_proba(X)
    with torch.no_grad():
        model.models_[2].head.bias.add_(3.0)  # in place: the tensor's version moves
    assert _folded(model.models_, recipe) is not first
    data = recipe.encode(recipe.inputs(X, model.label_names_))
    engine = TorchEngine()
    ref = [engine.predict(m, model.config, recipe, data).P for m in model.models_]
    Q = model.predict_proba(X)
    np.testing.assert_allclose(Q, model.calibration_.apply(np.mean(ref, axis=0)), atol=1e-6)
    assert (Q[:, 0] > P[:, 0]).all()  # the changed member counts
    model.models_ = model.models_[:2]  # a different list of members: folded again
    np.testing.assert_allclose(
        model.predict_proba(X), model.calibration_.apply(np.mean(ref[:2], axis=0)), atol=1e-6
    )


def test_members_made_in_inference_mode_are_folded_every_time():
    from brainnet.core.recipe import TableRecipe

    with torch.inference_mode():
        members = _members(2, 4, 2)
    assert _folded(members, TableRecipe()) is not _folded(members, TableRecipe())
    X = np.ones((3, 4), np.float32)
    np.testing.assert_allclose(
        _folded(members, TableRecipe()).probabilities(X), _one_by_one(members, X).mean(0), atol=2e-6
    )


def test_chunks_grow_with_threads_and_stop_at_the_activation_budget():
    from brainnet.pipeline.models import folded_ensemble as fe

    def of_width(h: int) -> FoldedEnsemble:  # K = 2 members of h units, d = 3, L = 2
        first = (torch.zeros(2 * h, 3), torch.zeros(2 * h, 1))
        return FoldedEnsemble(first, [(torch.zeros(2, 2, h), torch.zeros(2, 2, 1))], 2, "relu")

    assert of_width(512).chunk_rows() == fe.CHUNK  # one thread (the fixture)
    torch.set_num_threads(2)
    try:
        assert of_width(512).chunk_rows() == 2 * fe.CHUNK
    finally:
        torch.set_num_threads(1)
    assert of_width(100_000).chunk_rows() == fe.MAX_CHUNK_BYTES // (4 * 200_000)  # 83 rows
    assert of_width(10**6).chunk_rows() == 64
