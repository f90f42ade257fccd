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
