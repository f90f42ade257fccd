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

Speed (one thread, 10 members, batch 128, 500 inputs 4.5 % non-zero, 256 units): a forward and backward
step of the first layer ~2 ms against ~10 ms for ``bmm`` (``benchmarks/fit_speed.py``; README "Fit speed").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F


class _SparseProduct(torch.autograd.Function):
    """(G d, h) weight -> (G B, h) rows x_u W of a block-diagonal sparse (G B, G d) batch; the weight's
    gradient from the batch's transpose (CSC), both with ``embedding_bag`` (the batch is data: no gradient)."""

    @staticmethod
    def forward(ctx: Any, weight: torch.Tensor, batch: SparseBatch) -> torch.Tensor:
        ctx.batch = batch
        return F.embedding_bag(
            batch.cols, weight, batch.row_starts, mode="sum", per_sample_weights=batch.values
        )

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        # (G d, h) = x_u^T grad: bag j sums the rows of grad that have column j, weighted by the values
        b = ctx.batch
        weight_grad = F.embedding_bag(
            b.t_rows, grad, b.t_col_starts, mode="sum", per_sample_weights=b.t_values
        )
        return weight_grad, None


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
        G, d, h = weight.shape
        product = _SparseProduct.apply(weight.reshape(G * d, h), self)  # (G B, h)
        shift = torch.matmul(self.shift, weight if shift_gradient else weight.detach())  # (G, h)
        return product.view(G, self.B, h) - shift.unsqueeze(1)


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
