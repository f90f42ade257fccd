"""The batched ensemble (``pipeline/ensemble.py``, ``models/batched_mlp.py``): K members trained as one network
are the K members trained alone, a member that stops is frozen at its best weights, predictions match."""

import numpy as np
import pytest
import torch

from brainnet import MultiLabelMLP
from brainnet.core.config import TrainConfig
from brainnet.core.recipe import TableRecipe
from brainnet.core.training import Callback
from brainnet.pipeline.engine import TorchEngine
from brainnet.pipeline.ensemble import EnsembleTrainer, fit_together
from brainnet.pipeline.models.batched_mlp import BatchedMLP
from brainnet.pipeline.models.mlp import MLP

# try_deeper 0: the ensemble itself (the depth trial that may come first has its own tests, test_depth_trial.py)
SMALL = dict(
    hidden_sizes=(16,), batch_size=16, epochs=4, patience=10, lr=0.003, monitor="loss", try_deeper=0
)


def _data(n=100, d=6, L=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = (X[:, :L] + 0.8 * rng.normal(size=(n, L)) > 0).astype(np.int64)
    return X, Y


def _weights(models):
    return [{k: v.detach().numpy() for k, v in m.state_dict().items()} for m in models]


def _assert_same_fit(a, b, X):
    """Two fitted estimators: the same members (every tensor), validation losses and probabilities on X."""
    for wa, wb in zip(_weights(a.models_), _weights(b.models_), strict=True):
        assert wa.keys() == wb.keys()
        for name in wa:
            np.testing.assert_allclose(wa[name], wb[name], atol=2e-5, err_msg=name)
    for ha, hb in zip(a.history_, b.history_, strict=True):
        np.testing.assert_allclose(
            [h["val_loss"] for h in ha], [h["val_loss"] for h in hb], atol=1e-5
        )
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-5)


pytestmark = pytest.mark.usefixtures("one_thread")


def test_without_dropout_the_batched_members_equal_the_sequential_ones():
    """Same seeds, same folds and batches (3 folds of 100 rows: members with 66 and 67 rows, so the last
    batches differ in size and step apart), same initial weights: the weights agree to float tolerance
    (``bmm`` against ``mm``), and so do the per-epoch logs."""
    X, Y = _data()
    params = dict(SMALL, n_models=3, dropout=0.0, input_dropout=0.0, seed=4)
    together = MultiLabelMLP(**params).fit(X, Y)
    alone = MultiLabelMLP(**params, batched_ensemble=False).fit(X, Y)
    assert "trained together" in " ".join(together.notes_)
    assert "trained together" not in " ".join(alone.notes_)
    _assert_same_fit(together, alone, X)


def _folds(cfg, X, Y, k):
    recipe = TableRecipe()
    data = recipe.training_data(X, Y)
    recipe.fit(data, cfg)
    pool = recipe.encode(data)
    rows = np.arange(len(X))
    plan = [(rows[rows % k != i], rows[rows % k == i]) for i in range(k)]
    trains = [recipe.subset(pool, tr) for tr, _ in plan]
    vals = [recipe.subset(pool, va) for _, va in plan]
    return recipe, trains, vals


def test_with_dropout_a_member_trained_with_others_equals_it_trained_alone():
    """Dropout masks come from each member's own stream: member k of a 3-member stack is the 1-member stack
    of member k (same seed, rows, batches), to float tolerance."""
    X, Y = _data(seed=1)
    cfg = TrainConfig(**dict(SMALL, dropout=0.5, input_dropout=0.1, pos_weight="auto"))
    recipe, trains, vals = _folds(cfg, X, Y, 3)
    seeds = [7, 8, 9]
    models, loops = fit_together(
        cfg, seeds, recipe, trains, vals, device=torch.device("cpu"), callbacks=[]
    )
    for k in range(3):
        alone, alone_loops = fit_together(
            cfg, seeds[k : k + 1], recipe, trains[k : k + 1], vals[k : k + 1],
            device=torch.device("cpu"), callbacks=[],
        )  # fmt: skip
        assert alone_loops[0].state.best_epoch == loops[k].state.best_epoch
        for name, value in _weights(alone)[0].items():
            np.testing.assert_allclose(_weights(models)[k][name], value, atol=2e-5, err_msg=name)


class _Recorder(Callback):
    """Every member's weights and whether it has ended, after every epoch."""

    def __init__(self):
        self.weights, self.ended = [], []

    def on_epoch_end(self, loop, logs):
        self.weights.append([loop.model.member(k) for k in range(loop.model.k)])
        self.ended.append([m.ended for m in loop.members])


def test_a_member_that_stops_is_frozen_at_its_best_weights():
    X, Y = _data(n=120, seed=2)
    Y[:, 0] = np.random.default_rng(5).integers(
        0, 2, size=len(Y)
    )  # noise: members stop at other epochs
    cfg = TrainConfig(**dict(SMALL, epochs=40, patience=2, lr=0.02, dropout=0.0, input_dropout=0.0))
    recipe, trains, vals = _folds(cfg, X, Y, 4)
    members = []
    for seed in range(4):
        torch.manual_seed(seed)
        members.append(MLP(6, 3, hidden_sizes=(16,), dropout=0.0))
    stack = BatchedMLP.from_members(members)
    data = [(t.X, t.Y, v.X, v.Y) for t, v in zip(trains, vals, strict=True)]
    recorder = _Recorder()
    trainer = EnsembleTrainer(
        stack, data, [0, 1, 2, 3], cfg=cfg, pos_weight=None, callbacks=[recorder],
        device=torch.device("cpu"),
    )  # fmt: skip
    trainer.fit()
    stops = [m.state.epoch for m in trainer.members]
    assert len(set(stops)) > 1, stops  # the members stopped at different epochs
    final = stack.to_members()
    for k, m in enumerate(trainer.members):
        best = m.callbacks[0].best_snapshot  # early stopping's copy of the best epoch
        assert m.state.stop_reason.startswith("no improvement") or m.state.epoch == max(stops)
        assert m.state.best_epoch < m.state.epoch  # it went on past its best, then got it back
        for name, value in final[k].state_dict().items():
            np.testing.assert_array_equal(value.numpy(), best[name].numpy(), err_msg=name)
        for epoch in range(m.state.epoch, len(recorder.weights)):  # after its stop: never changed
            assert recorder.ended[epoch][k]
            for name, value in recorder.weights[epoch][k].items():
                np.testing.assert_array_equal(value.numpy(), best[name].numpy(), err_msg=name)
        assert m.state.history[-1]["epoch"] == m.state.epoch  # no logs after its stop


def test_batched_predict_equals_the_members_one_by_one():
    X, Y = _data(n=80, seed=3)
    model = MultiLabelMLP(**dict(SMALL, n_models=3, epochs=2)).fit(X, Y)
    engine, cfg, recipe = TorchEngine(), model.config, model.recipe_
    data = recipe.encode(recipe.inputs(X, model.label_names_))
    batched = engine.predict_members(model.models_, cfg, recipe, data)
    for member, pred in zip(model.models_, batched, strict=True):
        np.testing.assert_allclose(pred.P, engine.predict(member, cfg, recipe, data).P, atol=1e-6)


def test_stacking_round_trips_every_mlp_layout():
    for kwargs in (
        dict(hidden_sizes=(8, 5), batch_norm=False, activation="gelu", dropout=0.2),
        dict(hidden_sizes=(7,), input_dropout=0.3),
        dict(hidden_sizes=()),
    ):
        members = [MLP(4, 2, **kwargs) for _ in range(3)]
        for m in members:  # BatchNorm statistics away from their initial values
            m.train()(torch.randn(16, 4))
        back = BatchedMLP.from_members(members).to_members()
        x = torch.randn(5, 4)
        for a, b in zip(members, back, strict=True):
            torch.testing.assert_close(a.eval()(x), b(x))


def test_only_the_table_mlp_on_one_process_trains_together():
    engine, table = TorchEngine(), TableRecipe()
    cfg = TrainConfig()
    assert engine.trains_together(cfg, table)
    assert not engine.trains_together(cfg.replace(batched_ensemble=False), table)
    for name in ("snn_mlp", "hebbian_net"):  # spiking and plastic models keep their members apart
        assert not engine.trains_together(cfg.replace(model=name), table)


def test_a_spiking_ensemble_still_trains_member_by_member():
    X, Y = _data(n=60, seed=6)
    model = MultiLabelMLP(
        **dict(SMALL, n_models=2, epochs=1, model="snn_mlp", time_steps=2, hidden_sizes=(8,))
    ).fit(X, Y)
    assert len(model.models_) == 2 and "trained together" not in " ".join(model.notes_)


class _CtrlC(Callback):
    def on_epoch_end(self, loop, logs):
        if loop.state.epoch == 3:
            raise KeyboardInterrupt


def test_ctrl_c_keeps_every_member_at_its_best_epoch():
    from brainnet.core.training import extra_callbacks

    X, Y = _data(n=80, seed=8)
    with extra_callbacks(_CtrlC()):
        model = MultiLabelMLP(**dict(SMALL, n_models=3, epochs=10)).fit(X, Y)
    assert model.interrupted_ and len(model.models_) == 3
    assert [t["epochs_run"] for t in model.training_] == [3, 3, 3]
    assert sum("interrupted (Ctrl-C) during epoch 3" in n for n in model.notes_) == 1
    assert model.predict_proba(X).shape == (80, 3)


def test_batched_adamw_is_torch_adamw_per_member_whatever_their_step_counts():
    """Members step in every combination (all, a subset, slots whose step counts differ, so the stacked tensors
    go to the fused kernel as runs of neighbours with equal counts): each member's weights and moments are those
    of its own ``torch.optim.AdamW``."""
    from brainnet.pipeline.ensemble import BatchedAdamW, _runs

    assert _runs([0, 1, 2, 4, 5], [3.0, 3.0, 2.0, 9.0, 2.0, 2.0]) == [(0, 2), (2, 3), (4, 6)]
    torch.manual_seed(0)
    K = 4
    stacked = [torch.randn(K, 3, 5, requires_grad=True), torch.randn(K, 5, requires_grad=True)]
    alone = [[p[k].detach().clone().requires_grad_() for p in stacked] for k in range(K)]
    opt = BatchedAdamW(stacked, K, lr=0.01, weight_decay=0.1)
    refs = [torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1) for ps in alone]
    for who in (None, [1, 3], None, [0, 1, 2], None, [2], None):
        ks = list(range(K)) if who is None else who
        grads = [torch.randn_like(p) for p in stacked]
        for p, g in zip(stacked, grads, strict=True):
            p.grad = g.clone()
        opt.step(None if who is None else torch.tensor(who))
        for k in ks:
            for p, g in zip(alone[k], grads, strict=True):
                p.grad = g[k].clone()
            refs[k].step()
    assert opt.steps.tolist() == [5.0, 6.0, 6.0, 5.0]
    for k in range(K):
        for p, ref in zip(stacked, alone[k], strict=True):
            torch.testing.assert_close(p[k].detach(), ref.detach(), atol=1e-6, rtol=1e-6)


class _Threads(Callback):
    def __init__(self):
        self.seen = []

    def on_epoch_end(self, loop, logs):
        self.seen.append(torch.get_num_threads())


def test_the_ensemble_trains_on_one_cpu_thread_unless_omp_num_threads_is_set(monkeypatch):
    """Many small operations per step: a second intra-op thread only waits (30x slower on a busy machine). The
    caller's count comes back after the fit; an explicit ``OMP_NUM_THREADS`` is obeyed."""
    X, Y = _data(n=60, seed=9)
    cfg = TrainConfig(**dict(SMALL, epochs=2))
    recipe, trains, vals = _folds(cfg, X, Y, 2)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    for env, want in ((None, 1), ("2", 2)):
        if env is not None:
            monkeypatch.setenv("OMP_NUM_THREADS", env)
        torch.set_num_threads(2)
        threads = _Threads()
        fit_together(
            cfg, [0, 1], recipe, trains, vals, device=torch.device("cpu"), callbacks=[threads]
        )
        assert threads.seen == [want, want]
        assert torch.get_num_threads() == 2
    torch.set_num_threads(1)


# ---------------------------------------------------------------- sparse_first_layer (models/sparse_input.py)


def _sparse_data(n=240, d=30, L=3, seed=0):
    """A CSR table (35 % non-zero, so every column is in every batch of 32: see the first test) with two
    missing values, and labels."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((n, d)) < 0.35, rng.normal(1.0, 1.0, size=(n, d)), 0.0)
    Y = (dense[:, :L] + 0.5 * rng.normal(size=(n, L)) > 0.5).astype(np.int64)
    dense[[3, 50], [0, 7]] = np.nan
    return sp.csr_matrix(dense), Y


@pytest.mark.parametrize("layers", [dict(), dict(batch_norm=False), dict(hidden_sizes=())])
def test_sparse_first_layer_equals_the_dense_batches_without_input_dropout(layers, monkeypatch):
    """x_u W - c W is x_std W: the same members (BatchNorm statistics included) and probabilities as dense
    batches, to float tolerance. (Where a column is 0 in a whole batch the dense path's gradient for it is
    rounding noise, which Adam turns into small steps, and the sparse path's is 0: the data here has none.)"""
    from brainnet.pipeline.models.sparse_input import SparseBatch

    X, Y = _sparse_data()
    params = dict(SMALL, n_models=3, dropout=0.0, input_dropout=0.0, seed=2, **layers)
    calls = []
    original = SparseBatch.matmul
    monkeypatch.setattr(SparseBatch, "matmul", lambda *a, **k: calls.append(1) or original(*a, **k))
    dense = MultiLabelMLP(**params, sparse_first_layer="off").fit(X, Y)
    assert not calls
    sparse = MultiLabelMLP(**params, sparse_first_layer="on").fit(X, Y)
    assert calls and "from the sparse batches" in " ".join(sparse.notes_)
    _assert_same_fit(dense, sparse, X.toarray())


def test_sparse_first_layer_with_input_dropout_saves_an_ordinary_model(tmp_path):
    """Input dropout on the non-zeros: the fit runs, differs from the fit without it, and the saved model is the
    ordinary member format: loaded, it predicts what the fitted one does, on dense and on sparse rows."""
    import brainnet
    from brainnet.core.data.dataset import Dataset

    X, Y = _sparse_data(seed=1)
    params = dict(
        SMALL, n_models=2, dropout=0.2, input_dropout=0.3, seed=0, sparse_first_layer="on"
    )
    model = MultiLabelMLP(**params).fit(X, Y)
    without = MultiLabelMLP(**dict(params, input_dropout=0.0)).fit(X, Y)
    dense = X.toarray()
    P = model.predict_proba(dense)
    assert np.abs(P - without.predict_proba(dense)).max() > 1e-3  # the input dropout was applied
    model.save(tmp_path / "m")
    loaded = brainnet.load(tmp_path / "m")
    names = list(model.feature_names_)
    sparse_rows = Dataset(X, None, names, list(model.label_names_))
    for rows in (dense, sparse_rows):
        np.testing.assert_allclose(loaded.predict_proba(rows), P, atol=1e-6)
    np.testing.assert_allclose(model.predict_proba(sparse_rows), P, atol=1e-6)


def test_sparse_first_layer_is_refused_where_it_would_do_nothing():
    from brainnet.core.errors import UserInputError
    from brainnet.scratch.estimator import ScratchMultiLabelMLP

    X, Y = _sparse_data(n=60)
    on = dict(SMALL, epochs=1, sparse_first_layer="on")
    with pytest.raises(UserInputError, match="these training features are dense"):
        MultiLabelMLP(**on, n_models=2).fit(X.toarray(), Y)
    for other in (dict(n_models=1), dict(n_models=3, batched_ensemble=False)):
        with pytest.raises(UserInputError, match="works in the batched ensemble only"):
            TrainConfig(**on, **other)
    with pytest.raises(UserInputError, match="received model 'snn_mlp'"):
        MultiLabelMLP(**on, n_models=2, model="snn_mlp", time_steps=2).fit(X, Y)
    with pytest.raises(UserInputError, match="scratch engine makes every batch dense"):
        ScratchMultiLabelMLP(**on, n_models=2).fit(X, Y)


def test_sparse_first_layer_auto_is_on_where_it_applies_and_quiet_elsewhere(monkeypatch):
    """auto: the sparse path for a sparse table in the batched ensemble; dense data, one model, the sequential
    members and the scratch engine train as before, with no error."""
    from brainnet.core.errors import UserInputError
    from brainnet.pipeline.models.sparse_input import SparseBatch
    from brainnet.scratch.estimator import ScratchMultiLabelMLP

    X, Y = _sparse_data(n=60)
    calls = []
    original = SparseBatch.matmul
    monkeypatch.setattr(SparseBatch, "matmul", lambda *a, **k: calls.append(1) or original(*a, **k))
    auto = dict(SMALL, epochs=1, sparse_first_layer="auto")
    model = MultiLabelMLP(**auto, n_models=2).fit(X, Y)
    assert calls and "from the sparse batches" in " ".join(model.notes_)
    calls.clear()
    for fitted in (
        MultiLabelMLP(**auto, n_models=2).fit(X.toarray(), Y),
        MultiLabelMLP(**auto, n_models=1).fit(X, Y),
        MultiLabelMLP(**auto, n_models=2, batched_ensemble=False).fit(X, Y),
        ScratchMultiLabelMLP(**auto, n_models=2).fit(X, Y),
    ):
        assert "from the sparse batches" not in " ".join(fitted.notes_)
    assert not calls
    with pytest.raises(UserInputError, match="sparse_first_layer.*on, auto or off"):
        TrainConfig(sparse_first_layer="yes")


def test_sparse_first_layer_resumes_exactly_after_sigterm(tmp_path, sigterm_at):
    """Killed at the start of epoch 3 with a checkpoint, resumed: the same weights as a run nobody stopped
    (the sparse batches and their input dropout draw from the states the checkpoint holds)."""
    import hashlib

    import brainnet.core.resume as resume

    X, Y = _sparse_data(n=120, seed=3)
    params = dict(SMALL, n_models=2, epochs=5, input_dropout=0.2, sparse_first_layer="on")
    MultiLabelMLP(**params).fit(X, Y).save(tmp_path / "straight")
    sigterm_at(3)
    with pytest.raises(resume.Terminated):
        MultiLabelMLP(**params).fit(X, Y, checkpoint=tmp_path / "ckpt")
    sigterm_at(None)
    resumed = MultiLabelMLP(**params).fit(X, Y, checkpoint=tmp_path / "ckpt", resume=True)
    assert "epoch 2" in resumed.notes_[-1] or any("epoch 2" in n for n in resumed.notes_)
    resumed.save(tmp_path / "resumed")
    sha = lambda p: hashlib.sha256((p / "weights.safetensors").read_bytes()).hexdigest()  # noqa: E731
    assert sha(tmp_path / "resumed") == sha(tmp_path / "straight")
