"""The first layer of K stacked members computed from a sparse batch (``TrainConfig.sparse_first_layer``).

A sparse table reaches the trainers as ``SparseRows``: standardised rows x_std = (x - mu) / sigma, made dense
a batch at a time, so the first layer costs B d h multiply-adds per member although most x are 0. The
standardisation is affine, so with x_u = x / sigma (imputed, scaled, not centred: zeros stay zeros) and
c = mu / sigma,

    x_std W = x_u W - c W        x_std: (B, d), W: (d, h), c: (d,)

``SparseBatch.matmul`` computes the right-hand side: x_u W from the non-zeros only (``embedding_bag`` over the
G members' weights flattened to (G d, h), member g's column j at row g d + j), then subtracts c W, one (G, h)
product per step. The result is x_std W to float rounding, in training and in evaluation, with or without
BatchNorm, so the weights are the ordinary ones: nothing is folded afterwards and validation can read dense
x_std rows. The weight gradient x_u^T g - c (1^T g) is the one of x_std W: ``embedding_bag`` again, over the
transposed batch (columns as bags), instead of a dense (d, B) x (B, h) product.

Input dropout is where the sparse path differs: the dense one drops entries of x_std (a dropped entry becomes
the training mean), ``drop_values`` drops non-zero entries of x_u only, scaled by 1 / (1 - p) ("word
dropout": a dropped entry becomes a raw 0; zeros are never dropped).

Besides input dropout, one more difference from dense batches: with BatchNorm after the first layer, a column that
is 0 in every row of a batch gets a weight gradient of exactly 0 here; the dense product gives it rounding noise
(c times a sum that BatchNorm makes 0), which Adam's normalisation can turn into small steps. Where every column
occurs in every batch the two paths agree to float tolerance (``tests/pipeline/test_ensemble.py``).

Speed (one thread; 10 members, batch 128, 500 inputs 4.5 % non-zero, 256 units): the first layer's forward and
backward, making the sparse batch included, ~3 ms a step against ~10 ms for ``bmm`` on the dense batch (``torch.
sparse.mm`` on the same block-diagonal batch: ~8-11 ms; ``embedding_bag``'s own backward: ~5-7 ms). A default
fit of MULAN tmc2007_500: 37.5 CPU s against 108.5 (README "Fit speed").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F


class _SparseProduct(torch.autograd.Function):
    """(G, d, h) weight -> (G, B, h) x_u W - c W for a block-diagonal sparse (G B, G d) batch, with
    ``embedding_bag`` (bags: the batch's rows); the weight's gradient x_u^T g - c (1^T g) with ``embedding_bag``
    over the batch's transpose (bags: its columns). The batch is data: no gradient."""

    @staticmethod
    def forward(
        ctx: Any, weight: torch.Tensor, batch: SparseBatch, shift_gradient: bool
    ) -> torch.Tensor:
        ctx.batch, ctx.shift_gradient = batch, shift_gradient
        G, d, h = weight.shape
        b = batch
        flat = weight.reshape(G * d, h)
        out = F.embedding_bag(b.cols, flat, b.row_starts, mode="sum", per_sample_weights=b.values)
        out = out.view(G, b.B, h)
        return out.sub_(torch.matmul(b.shift, weight).unsqueeze(1))  # (G, B, h)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        b = ctx.batch
        G, B, h = grad.shape
        grad = grad.contiguous()  # an expanded gradient takes embedding_bag's slow path
        # (G d, h) = x_u^T grad: bag j sums the rows of grad that have column j, weighted by the values
        out = F.embedding_bag(
            b.t_rows, grad.view(G * B, h), b.t_col_starts, mode="sum", per_sample_weights=b.t_values
        ).view(G, -1, h)
        if ctx.shift_gradient:  # - c (1^T g), in place: (1, d, 1) x (G, 1, h)
            out.addcmul_(b.shift.view(1, -1, 1), grad.sum(1, keepdim=True), value=-1.0)
        return out, None, None


@dataclass
class SparseBatch:
    """G members' batches of B uncentred rows as one block-diagonal (G B, G d) sparse matrix.

    Attributes:
        cols, values: (nnz,) column in [0, G d) (member g's column j is g d + j) and value of every non-zero,
            row by row; ``row_starts`` (G B,) where each row's entries start.
        t_rows, t_values, t_col_starts: the same entries column by column (the transpose), for the gradient.
        shift: (d,) c = mu / sigma, subtracted as c W.
        G, B: members and rows per member.
    """

    cols: torch.Tensor
    values: torch.Tensor
    row_starts: torch.Tensor
    t_rows: torch.Tensor
    t_values: torch.Tensor
    t_col_starts: torch.Tensor
    shift: torch.Tensor
    G: int
    B: int

    @classmethod
    def from_csr(cls, rows: Any, G: int, shift: torch.Tensor) -> SparseBatch:
        """``rows``: a scipy CSR (G B, d) of uncentred rows, member by member (B each; values already
        dropped out, if at all); ``shift``: (d,) float32 c on the device of the weights."""
        from brainnet.core.data.sparse import block_diagonal

        (indptr, cols, values), (t_indptr, t_rows, t_values) = block_diagonal(rows, G)
        on = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(shift.device)  # noqa: E731
        return cls(
            cols=on(cols.astype(np.int64)),
            values=on(values),
            row_starts=on(indptr[:-1].astype(np.int64)),
            t_rows=on(t_rows.astype(np.int64)),
            t_values=on(t_values),
            t_col_starts=on(t_indptr[:-1].astype(np.int64)),
            shift=shift,
            G=G,
            B=rows.shape[0] // G,
        )

    def matmul(self, weight: torch.Tensor, *, shift_gradient: bool = True) -> torch.Tensor:
        """(G, d, h) weights -> (G, B, h) x_std W = x_u W - c W for each member's rows.

        ``shift_gradient=False`` (BatchNorm follows in training mode, so a constant per unit changes neither
        its output nor any gradient): c W is subtracted as a constant, and a column that is 0 in every row of
        the batch gets a weight gradient of exactly 0 instead of c (1^T g), which is 0 plus rounding noise."""
        return _SparseProduct.apply(weight, self, shift_gradient)


def drop_values(rngs: list[Any], rows: Any, p: float) -> None:
    """Input dropout on the non-zeros of a CSR (G B, d) batch, in place: each member's entries (its B rows)
    kept with probability 1 - p' and scaled by 1 / (1 - p'), from its own NumPy ``Generator``, 16 random bits
    an entry as ``batched_mlp.dropout_masks`` (p' = round(p 2^16) / 2^16)."""
    cut = round(p * 65536)
    scale = 65536 / (65536 - cut)
    B = rows.shape[0] // len(rngs)
    for g, rng in enumerate(rngs):
        a, b = rows.indptr[g * B], rows.indptr[(g + 1) * B]
        words = (b - a + 3) // 4
        draws = rng.bit_generator.random_raw(words).view(np.uint16)[: b - a]
        rows.data[a:b] *= np.where(draws >= cut, scale, 0.0)
