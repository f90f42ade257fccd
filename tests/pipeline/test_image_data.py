import io

import numpy as np
import pytest
import torch
from PIL import Image

from brainnet.core.data.images import ImageSet
from brainnet.core.errors import BadImageError
from brainnet.pipeline.augment import build_transform
from brainnet.pipeline.image_data import (
    BadItem,
    ImageDataset,
    LoaderReport,
    collate_skip_bad,
    make_loader,
)

SIZE = 16
N_GOOD = 6


def _transform(train=True):
    return build_transform(
        train=train, image_size=SIZE, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)
    )


@pytest.fixture
def files(tmp_path):
    """Six good images (JPEG and PNG, various sizes), a truncated JPEG and a text file named .png."""
    rng = np.random.default_rng(0)
    paths = []
    for k in range(N_GOOD):
        pixels = rng.integers(0, 256, size=(20 + 3 * k, 30 - 2 * k, 3), dtype=np.uint8)
        path = tmp_path / (f"good{k}.jpg" if k % 2 else f"good{k}.png")
        Image.fromarray(pixels).save(path)
        paths.append(path)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, "JPEG")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    paths[2:2] = [truncated]  # bad files in the middle and at the end
    paths.append(text)
    Y = (rng.random((len(paths), 3)) < 0.5).astype(np.uint8)
    return ImageSet("files", ["a", "b", "c"], Y, paths=paths)


def _count_decodes(imageset):
    calls = []
    real = imageset.image

    def image(i):
        calls.append(i)
        return real(i)

    imageset.image = image
    return calls


def _epoch(loader):
    report = LoaderReport()
    batches = list(report.track(loader))
    return batches, report


def test_items_have_the_documented_shapes(files):
    dataset = ImageDataset(files, _transform())
    x, y, i = dataset[0]
    assert x.shape == (3, SIZE, SIZE) and x.dtype == torch.float32
    assert y.dtype == torch.float32 and torch.equal(
        y, torch.as_tensor(files.Y[0], dtype=torch.float32)
    )
    assert i == 0


def test_bad_files_are_skipped_counted_and_remembered(files):
    dataset = ImageDataset(files, _transform())
    calls = _count_decodes(files)
    item = dataset[2]
    assert isinstance(item, BadItem) and item.path.endswith("truncated.jpg")
    assert "truncated or corrupt" in item.reason
    loader = make_loader(dataset, batch_size=3, shuffle=True, seed=0)
    batches, report = _epoch(loader)
    assert sum(len(b) for b in batches) == N_GOOD
    assert sorted(torch.cat([b.index for b in batches]).tolist()) == [0, 1, 3, 4, 5, 6]
    assert (report.n_seen, report.n_bad) == (8, 2)
    assert sorted(p.rsplit("/", 1)[-1] for p, _ in report.bad_files) == [
        "notes.png",
        "truncated.jpg",
    ]
    assert "skipped 2 of 8 images" in report.summary() and "not an image" in report.summary()
    calls.clear()
    _epoch(loader)
    assert sorted(calls) == [0, 1, 3, 4, 5, 6]  # the bad files are not decoded again


def test_strict_raises_on_the_first_bad_file(files):
    dataset = ImageDataset(files, _transform(), strict=True)
    with pytest.raises(BadImageError, match="truncated.jpg"):
        list(make_loader(dataset, batch_size=4, shuffle=False, seed=0))


def test_collate_drops_bad_items_and_marks_an_all_bad_batch():
    good = (torch.zeros(3, 2, 2), torch.ones(4), 7)
    batch = collate_skip_bad([BadItem(1, "x.png", "broken"), good, None])
    assert len(batch) == 1 and batch.images.shape == (1, 3, 2, 2) and batch.index.tolist() == [7]
    assert [b.path for b in batch.bad] == ["x.png", "?"]
    empty = collate_skip_bad([BadItem(1, "x.png", "broken")])
    assert len(empty) == 0 and len(empty.bad) == 1
    report = LoaderReport()
    assert list(report.track([empty, batch])) == [batch]
    assert (report.n_seen, report.n_bad) == (4, 3)


def test_the_cache_fills_in_one_epoch_and_the_next_does_not_decode(files):
    dataset = ImageDataset(files, _transform(), cache=True)
    calls = _count_decodes(files)
    loader = make_loader(dataset, batch_size=4, shuffle=True, seed=0)
    first, _ = _epoch(loader)
    assert dataset.n_cached == N_GOOD and len(calls) == len(files)
    calls.clear()
    second, report = _epoch(loader)
    assert calls == [] and report.n_bad == 2
    # augmentation comes after the cache: still random every epoch
    by_index = [
        {int(i): x for b in e for i, x in zip(b.index, b.images, strict=True)}
        for e in (first, second)
    ]
    assert not torch.equal(by_index[0][0], by_index[1][0])


def test_cached_and_uncached_evaluation_agree(files):
    plain = ImageDataset(files, _transform(train=False))
    cached = ImageDataset(files, _transform(train=False), cache=True)
    cached.fill_cache(threads=2)
    assert cached.n_cached == N_GOOD
    for i in (0, 4):
        torch.testing.assert_close(plain[i][0], cached[i][0], atol=0, rtol=0)


def test_in_memory_images(files):
    arrays = np.random.default_rng(1).integers(0, 256, size=(5, 20, 20, 3), dtype=np.uint8)
    images = ImageSet("mem", ["a"], None, arrays=arrays)
    batches, report = _epoch(
        make_loader(ImageDataset(images, _transform()), batch_size=2, shuffle=False, seed=0)
    )
    assert [len(b) for b in batches] == [2, 2, 1] and report.n_bad == 0 and report.summary() == ""
    assert batches[0].labels.shape == (2, 0)


def _flatten(batches):
    return torch.cat([b.images for b in batches]), torch.cat([b.index for b in batches])


def test_same_seed_same_batches_and_the_global_rng_is_left_alone(files):
    def run(seed):
        loader = make_loader(
            ImageDataset(files, _transform()), batch_size=3, shuffle=True, seed=seed
        )
        return [_flatten(_epoch(loader)[0]) for _ in range(2)]  # two epochs

    torch.manual_seed(123)
    state = torch.get_rng_state()
    a, b = run(0), run(0)
    assert torch.equal(torch.get_rng_state(), state)
    for (xa, ia), (xb, ib) in zip(a, b, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ia, ib)
    assert not torch.equal(a[0][1], a[1][1]) or not torch.equal(a[0][0], a[1][0])  # epochs differ
    assert not torch.equal(run(1)[0][0], a[0][0])


def test_two_workers_give_the_same_batches_as_the_main_process(files):
    main = make_loader(
        ImageDataset(files, _transform(), cache=True), batch_size=3, shuffle=True, seed=5
    )
    dataset = ImageDataset(files, _transform(), cache=True)
    workers = make_loader(dataset, batch_size=3, shuffle=True, seed=5, num_workers=2)
    assert dataset.n_cached == N_GOOD  # filled in the main process before the workers start
    for _ in range(2):  # persistent workers: the second epoch reuses them
        main_batches, main_report = _epoch(main)
        worker_batches, report = _epoch(workers)
        for a, b in zip(_flatten(main_batches), _flatten(worker_batches), strict=True):
            assert torch.equal(a, b)
        # the bad files were found while filling the cache; the workers report them in every epoch
        assert (report.n_seen, report.n_bad) == (main_report.n_seen, main_report.n_bad) == (8, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="pinned memory needs CUDA")
def test_batches_can_be_pinned():
    batch = collate_skip_bad([(torch.zeros(3, 2, 2), torch.ones(4), 0)])
    pinned = batch.pin_memory()
    assert pinned.images.is_pinned() and pinned.labels.is_pinned() and len(pinned) == 1
