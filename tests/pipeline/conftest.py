import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """The module's tests on one torch thread (exact comparisons of float sums, and speed on 2 shared cores);
    the previous count is back afterwards. Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def sigterm_at(monkeypatch):
    """``sigterm_at(n)``: this process gets SIGTERM at the start of the n-th epoch of a fit (counting every loop:
    members one by one, a batched ensemble's epochs, a depth trial's); ``sigterm_at(None)`` stops counting.
    Checkpoints are then written at every epoch that has not been written (the 2 s interval is off)."""
    import os
    import signal

    import brainnet.core.resume as resume
    from brainnet.core import training

    emit = training.emit
    monkeypatch.setattr(resume, "CHECKPOINT_INTERVAL_S", 0.0)

    def at(n: int | None) -> None:
        if n is None:
            monkeypatch.setattr(training, "emit", emit)
            return
        count = [0]

        def signalling(loop, event, *args):
            if event == "on_epoch_start":
                count[0] += 1
                if count[0] == n:
                    os.kill(os.getpid(), signal.SIGTERM)
            return emit(loop, event, *args)

        monkeypatch.setattr(training, "emit", signalling)

    return at
