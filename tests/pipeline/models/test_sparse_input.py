"""``SparseBatch`` (the first layer from a sparse batch) against the dense product it replaces, and the input
dropout on its non-zeros (``drop_values``)."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from brainnet.pipeline.models.sparse_input import SparseBatch, drop_values

pytestmark = pytest.mark.usefixtures("one_thread")


def _batch(G=3, B=6, d=8, seed=0):
    """(uncentred CSR (G B, d) with an all-zero column, its (d,) shift, dense x_std (G, B, d))."""
    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((G * B, d)) < 0.3, rng.normal(size=(G * B, d)), 0.0)
    dense[:, 3] = 0.0  # a column absent from the whole batch
    rows = sp.csr_matrix(dense)
    shift = rng.normal(size=d)
    x_std = torch.tensor(dense - shift, dtype=torch.float32).view(G, B, d)
    return rows, torch.tensor(shift, dtype=torch.float32), x_std


def test_matmul_is_the_dense_product_of_the_standardised_rows_forward_and_backward():
    rows, shift, x_std = _batch()
    G, B, d = x_std.shape
    weight = torch.randn(G, d, 5, requires_grad=True)
    want = torch.bmm(x_std, weight)
    g = torch.randn_like(want)
    (want_grad,) = torch.autograd.grad(want, weight, g)
    got = SparseBatch.from_csr(rows, G, shift).matmul(weight)
    (got_grad,) = torch.autograd.grad(got, weight, g)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got_grad, want_grad, atol=1e-5, rtol=1e-5)


def test_without_the_shift_gradient_a_column_absent_from_the_batch_gets_none():
    """BatchNorm follows: the forward is the same, the gradient is x_u^T g (c (1^T g) is 0 there, but the
    dense product leaves rounding noise that Adam would turn into steps)."""
    rows, shift, x_std = _batch(seed=1)
    G, B, d = x_std.shape
    weight = torch.randn(G, d, 5, requires_grad=True)
    batch = SparseBatch.from_csr(rows, G, shift)
    out = batch.matmul(weight, shift_gradient=False)
    torch.testing.assert_close(out, torch.bmm(x_std, weight.detach()), atol=1e-5, rtol=1e-5)
    g = torch.randn_like(out)
    (grad,) = torch.autograd.grad(out, weight, g)
    x_u = torch.tensor(rows.toarray(), dtype=torch.float32).view(G, B, d)
    torch.testing.assert_close(grad, torch.bmm(x_u.transpose(1, 2), g), atol=1e-5, rtol=1e-5)
    assert grad[:, 3].abs().max() == 0


def test_drop_values_drops_each_members_non_zeros_from_its_own_stream():
    rows, _, _ = _batch(G=2, B=50, d=20, seed=2)
    p = 0.25
    before = rows.copy()
    rngs = [np.random.default_rng(s) for s in (5, 6)]
    drop_values(rngs, rows, p)
    assert rows.nnz == before.nnz  # zeros are never touched; a dropped entry is stored as 0
    ratio = rows.data / before.data
    scale = 65536 / (65536 - round(p * 65536))
    np.testing.assert_allclose(ratio, np.where(ratio == 0, 0.0, scale), rtol=1e-12)
    assert 0.15 < np.mean(ratio == 0) < 0.35
    # member 1's entries are the same whatever member 0 drew: its own stream, 16 bits an entry
    half = before.indptr[50]
    again = before.copy()
    drop_values([np.random.default_rng(99), np.random.default_rng(6)], again, p)
    np.testing.assert_array_equal(again.data[half:], rows.data[half:])
    raw = np.random.default_rng(6).bit_generator.random_raw((before.nnz - half + 3) // 4)
    keep = raw.view(np.uint16)[: before.nnz - half] >= round(p * 65536)
    np.testing.assert_array_equal(rows.data[half:] != 0, keep)
