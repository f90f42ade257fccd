"""One torch thread for work made of many small operations (a table ensemble's steps, per-image transforms)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def one_torch_thread(active: bool = True) -> Iterator[None]:
    """Run the block on one torch intra-op thread when ``active``; the caller's count is back afterwards.

    Operations of a few milliseconds gain nothing from a second intra-op thread, and when another job holds a
    core each of them waits a time slice for it (measured: a (3, 150, 150) image op 0.1 ms on one thread, 3 ms
    on two; a default yeast fit 3.5 s on one thread, 91 s on two at load average 5 on 2 cores). Threads started
    inside (a thread pool) inherit the setting."""
    n = torch.get_num_threads()
    if not active or n == 1:  # n == 1: e.g. in a DataLoader worker
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)
