"""Callbacks on a real Trainer run: the progress bar counts epochs, or batches for long epochs."""

import pytest

from brainnet.pipeline.callbacks import EarlyStopping, ProgressBar
from tests.pipeline.test_trainer import _setup


@pytest.mark.parametrize("per_batch", [None, 8])
def test_progress_bar_ends_complete(toy_data, per_batch):
    bar = ProgressBar("val_loss", "training", batches_per_epoch=per_batch)
    stop = EarlyStopping("val_loss", "min", patience=2)
    trainer, data = _setup(toy_data, epochs=4, callbacks=[stop, bar])
    state = trainer.fit(*data)  # 240 rows / batch 32 = 8 batches an epoch
    task = bar._progress.tasks[0]
    assert task.finished and task.completed == state.epoch * (per_batch or 1)
    assert "best" in task.fields and task.fields["loss"] != "-"
