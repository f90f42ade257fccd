"""Loading multi-label images for torch: a dataset that survives bad files, an optional cache, seeded loaders.

Bad files. An image that fails to decode (``BadImageError``) is not fatal: the dataset returns a ``BadItem``
(index, path, reason) in its place, ``collate_skip_bad`` moves it out of the tensors into ``ImageBatch.bad``, and a
``LoaderReport`` in the main process counts it. The count travels inside the batch because with
``num_workers > 0`` the dataset runs in worker processes whose counters the main process never sees. Each
dataset copy remembers which rows were bad, so a bad file is decoded at most once per process. ``strict=True``
raises the first ``BadImageError`` instead.

Cache. With ``cache=True`` the decoded image, resized to S x S and still uint8, is kept in one preallocated
(n, S, S, 3) array (n * S * S * 3 bytes: 67.5 kB an image at S = 150) and filled lazily, so epoch 2+ neither
decodes nor resizes; augmentation happens after the cache and stays random every epoch. Worker processes would
each fill a private copy, so ``make_loader`` with ``num_workers > 0`` fills the cache first in the main process
(``fill_cache``, a thread pool: Pillow and torch release the GIL); forked workers then share it copy-on-write
(with the "spawn" start method each worker gets a copy).

Seeds. The sampler of ``make_loader`` draws the order and one seed per item from the loader's seeded generator;
the dataset seeds torch's RNG with it (restoring the RNG afterwards) before augmenting. So an item's
augmentation depends only on the loader seed, the epoch and its position: the same seed gives the same batches
with 0 or N workers, and the caller's global RNG is left alone.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from brainnet.core.errors import BadImageError
from brainnet.pipeline.threads import one_torch_thread

if TYPE_CHECKING:
    from brainnet.core.data.images import ImageSet
    from brainnet.pipeline.augment import ImageTransform


class BadItem(NamedTuple):
    """Stands in for an image that could not be decoded; counted in the main process by ``LoaderReport``."""

    index: int
    path: str
    reason: str


Item = tuple[torch.Tensor, torch.Tensor, int]  # image (3, S, S), labels (L,), row index


class ImageDataset(Dataset):
    """An ``ImageSet`` through a transform: item ``i`` -> (image (3, S, S) float32, labels (L,) float32, i).

    Args:
        imageset: the images and their multi-hot labels (labels may be None: then (0,) label tensors).
        transform: from ``augment.build_transform``; its ``image_size`` is S.
        cache: keep resized uint8 images in memory after their first decode (see the module docstring).
        strict: raise ``BadImageError`` on the first unreadable file instead of skipping it.

    An index may be an int (augmentation draws from torch's global RNG) or an ``(int, seed)`` pair from
    ``make_loader``'s sampler (augmentation seeded per item, reproducible).
    """

    def __init__(
        self,
        imageset: ImageSet,
        transform: ImageTransform,
        *,
        cache: bool = False,
        strict: bool = False,
    ) -> None:
        self.imageset, self.transform, self.strict = imageset, transform, strict
        n, size = len(imageset), transform.image_size
        Y = imageset.Y if imageset.Y is not None else np.zeros((n, 0), dtype=np.uint8)
        self._labels = torch.as_tensor(np.asarray(Y), dtype=torch.float32)  # (n, L)
        self.bad: dict[int, str] = {}  # row -> reason, for the rows this process found unreadable
        self._cache = np.empty((n, size, size, 3), dtype=np.uint8) if cache else None  # lazy pages
        self._cached = np.zeros(n, dtype=bool)

    @property
    def cache(self) -> bool:
        return self._cache is not None

    @property
    def n_cached(self) -> int:
        return int(self._cached.sum())

    def __len__(self) -> int:
        return len(self.imageset)

    def path(self, i: int) -> str:
        paths = self.imageset.paths
        return str(paths[i]) if paths is not None else f"{self.imageset.name}[{i}]"

    def resized(self, i: int) -> np.ndarray | None:
        """Row ``i`` decoded and resized, (S, S, 3) uint8, from the cache when there; None when unreadable."""
        if self._cached[i]:
            return self._cache[i]  # type: ignore[index]
        if i in self.bad:
            return None
        try:
            image = self.transform.resize(self.imageset.image(i))  # (S, S, 3)
        except BadImageError as err:
            if self.strict:
                raise
            self.bad[i] = str(err)
            return None
        if self._cache is not None:
            self._cache[i] = image
            self._cached[i] = True
        return image

    def __getitem__(self, index: int | tuple[int, int]) -> Item | BadItem:
        i, seed = index if isinstance(index, tuple) else (index, None)
        i = int(i)
        image = self.resized(i)
        if image is None:
            return BadItem(i, self.path(i), self.bad[i])
        if seed is None or not self.transform.random:
            x = self.transform.finish(image)
        else:  # seed the CPU generator the random steps draw from, then restore it (µs, unlike fork_rng)
            rng = torch.default_generator
            state = rng.get_state()
            rng.manual_seed(seed)
            try:
                x = self.transform.finish(image)
            finally:
                rng.set_state(state)
        return x, self._labels[i], i

    def __getitems__(self, indices: list) -> list[Item | BadItem]:
        """A batch of items (the DataLoader's fast path); single-threaded torch while in the main process."""
        with one_torch_thread():
            return [self[index] for index in indices]

    def fill_cache(self, threads: int | None = None) -> None:
        """Decode and resize every row not yet cached, in a thread pool (main process, before the workers)."""
        if self._cache is None:
            return
        todo = [i for i in range(len(self)) if not self._cached[i] and i not in self.bad]
        workers = threads or min(8, os.cpu_count() or 1)
        with one_torch_thread(), ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(self.resized, todo):
                pass


@dataclass
class ImageBatch:
    """A collated batch. ``len(batch) == 0`` marks a batch whose every item was unreadable.

    Attributes:
        images: (B, 3, S, S) float32.
        labels: (B, L) float32 multi-hot.
        index: (B,) int64 rows of the ImageSet.
        bad: the items of this batch that could not be read (dropped from the tensors).
    """

    images: torch.Tensor
    labels: torch.Tensor
    index: torch.Tensor
    bad: list[BadItem] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.index.numel())

    def pin_memory(self) -> ImageBatch:
        """Called by the DataLoader when ``pin_memory`` is on."""
        return ImageBatch(
            self.images.pin_memory(), self.labels.pin_memory(), self.index.pin_memory(), self.bad
        )


def collate_skip_bad(items: list[Item | BadItem | None]) -> ImageBatch:
    """Stack the good items; bad ones (``BadItem`` or None) go to ``batch.bad`` (None as an unnamed BadItem)."""
    good = [it for it in items if it is not None and not isinstance(it, BadItem)]
    bad = [
        it if isinstance(it, BadItem) else BadItem(-1, "?", "no item")
        for it in items
        if it is None or isinstance(it, BadItem)
    ]
    if not good:
        empty = torch.empty(0)
        return ImageBatch(empty, empty, torch.empty(0, dtype=torch.int64), bad)
    with one_torch_thread():
        return ImageBatch(
            torch.stack([it[0] for it in good]),  # (B, 3, S, S)
            torch.stack([it[1] for it in good]),  # (B, L)
            torch.tensor([it[2] for it in good], dtype=torch.int64),  # (B,)
            bad,
        )


@dataclass
class LoaderReport:
    """What the loader delivered in the main process: items seen, unreadable ones and why (the first few).

    Use one per epoch: ``for batch in report.track(loader): ...``, then ``report.summary()``.
    """

    max_listed: int = 5
    n_seen: int = 0
    n_bad: int = 0
    bad_files: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def update(self, batch: ImageBatch) -> ImageBatch:
        self.n_seen += len(batch) + len(batch.bad)
        self.n_bad += len(batch.bad)
        for item in batch.bad:
            if len(self.bad_files) < self.max_listed:
                self.bad_files.append((item.path, item.reason))
        return batch

    def track(self, loader: Iterable[ImageBatch]) -> Iterator[ImageBatch]:
        """Yield the loader's batches, counting their bad items; batches with no good item are skipped."""
        for batch in loader:
            self.update(batch)
            if len(batch):
                yield batch

    def summary(self) -> str:
        """One line for the end-of-epoch summary; empty when every image was read."""
        if not self.n_bad:
            return ""
        listed = "; ".join(f"{path}: {reason}" for path, reason in self.bad_files)
        more = (
            f"; and {self.n_bad - len(self.bad_files)} more"
            if self.n_bad > len(self.bad_files)
            else ""
        )
        return (
            f"skipped {self.n_bad} of {self.n_seen} images that could not be read ({listed}{more})"
        )


class SeededSampler(Sampler):
    """Yields ``(row, seed)`` pairs: the order (shuffled or not) and one augmentation seed per item.

    Both come from ``generator``, so the epochs' orders and augmentations follow from its seed.
    """

    def __init__(self, n: int, *, shuffle: bool, generator: torch.Generator) -> None:
        self.n, self.shuffle, self.generator = n, shuffle, generator

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[tuple[int, int]]:
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else range(self.n)
        seeds = torch.randint(0, 2**62, (self.n,), generator=self.generator)
        return iter(zip((int(i) for i in order), seeds.tolist(), strict=True))


def seed_worker(worker_id: int) -> None:
    """Seed NumPy and ``random`` in a worker from its torch seed (set by the DataLoader from the generator)."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)  # noqa: NPY002 - seeds the legacy global RNG that third-party code may use
    random.seed(seed)


def make_loader(
    dataset: ImageDataset,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int,
    num_workers: int = 0,
    drop_last: bool = False,
    sampler: Iterable[tuple[int, int]] | None = None,
) -> DataLoader:
    """A DataLoader of ``ImageBatch`` whose order and augmentation follow from ``seed``.

    Args:
        dataset: an ``ImageDataset``; its cache is filled first when ``num_workers > 0``.
        batch_size: items per batch (fewer when some are unreadable).
        shuffle: a new order every epoch.
        seed: seeds the order and every item's augmentation; the same seed gives the same batches for any
            ``num_workers``.
        num_workers: worker processes (persistent across epochs); 0 loads in the main process.
        drop_last: drop a last incomplete batch.
        sampler: ``(row, seed)`` pairs to load instead of the seeded sampler's (this process's share under
            torchrun: ``distributed.DistributedSeededSampler``; some rows: a list).
    """
    # the sampler's own generator, so the orders do not depend on the loader's draws for worker seeds
    order_rng = torch.Generator().manual_seed(seed)
    worker_rng = torch.Generator().manual_seed(seed + 1)
    if num_workers > 0:
        dataset.fill_cache()
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=SeededSampler(len(dataset), shuffle=shuffle, generator=order_rng)
        if sampler is None
        else sampler,
        drop_last=drop_last,
        collate_fn=collate_skip_bad,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        worker_init_fn=seed_worker if num_workers > 0 else None,
        generator=worker_rng,
        pin_memory=torch.cuda.is_available(),
    )
