import pytest
import torch


@pytest.fixture(autouse=True, scope="package")
def one_thread():
    """Spiking networks run many small operations per step; on a busy 2-core machine OpenMP threads waiting
    for each other cost more than they give."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
