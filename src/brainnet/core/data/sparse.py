"""Sparse features: a scipy CSR matrix in memory, made dense one batch of rows at a time.

Sparse ARFF files (and wide, mostly-zero CSV tables) are read into ``scipy.sparse.csr_matrix``. The recipe never
densifies them: its statistics are computed a block of columns at a time (``column_blocks``), and the rows the
networks see are ``SparseRows``: the raw CSR matrix plus the row-wise arithmetic (imputation, standardisation),
applied to each batch when it is made (``batch_rows``). Because that arithmetic is row by row and the same
function as for dense data, a sparse table trains to the same numbers as its dense copy.

Standardisation makes every zero non-zero, but it is affine: ``SparseRows.uncentred_parts()`` gives the rows
scaled and not centred (a CSR matrix with the same zeros) and the shift that centres them, so an engine can
multiply the sparse rows and subtract ``shift @ W`` once (``TrainConfig.sparse_first_layer``,
``brainnet.pipeline.models.sparse_input``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

BLOCK_COLUMNS = 64  # columns densified at once when computing statistics
SPARSE_MAX_DENSITY = (
    0.25  # a table is kept sparse when at most this fraction of its cells is non-zero
)
SPARSE_MIN_CELLS = 100_000  # ... and it is large enough for that to matter


def is_sparse(X: Any) -> bool:
    return not isinstance(X, np.ndarray) and hasattr(X, "tocsr")


def worth_sparse(X: Any) -> bool:
    """Whether an (n, d) matrix is better kept sparse (large and mostly zeros)."""
    n, d = X.shape
    if n * d < SPARSE_MIN_CELLS:
        return False
    nnz = X.nnz if is_sparse(X) else int(np.count_nonzero(X))
    return nnz <= SPARSE_MAX_DENSITY * n * d


def to_csr(X: Any) -> Any:
    import scipy.sparse as sp

    return sp.csr_matrix(X, dtype=np.float64)


def vstack(*mats: Any) -> Any:
    """The rows of ``mats`` one after another; sparse (CSR) when any of them is."""
    if any(is_sparse(m) for m in mats):
        import scipy.sparse as sp

        return sp.vstack([to_csr(m) for m in mats], format="csr")
    return np.vstack(mats)


def block_diagonal(rows: Any, blocks: int) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """A CSR (G B, d) matrix of G blocks of B rows as the block-diagonal (G B, G d) matrix (block g's column j
    at g d + j), by rows and by columns: ((indptr (G B + 1,), column (nnz,), float32 value (nnz,)),
    (indptr (G d + 1,), row (nnz,), float32 value (nnz,)))."""
    import scipy.sparse as sp

    n, d = rows.shape
    block = np.repeat(np.arange(n) // (n // blocks), np.diff(rows.indptr))  # (nnz,) of each entry
    wide = sp.csr_matrix(
        (rows.data.astype(np.float32), rows.indices + block * d, rows.indptr),
        shape=(n, blocks * d),
    )
    by_cols = wide.tocsc()
    return (wide.indptr, wide.indices, wide.data), (by_cols.indptr, by_cols.indices, by_cols.data)


def column_blocks(X: Any, width: int = BLOCK_COLUMNS) -> Iterator[tuple[slice, np.ndarray]]:
    """(columns, (n, k) float64 C-ordered dense block) over the columns of a dense or sparse matrix."""
    d = X.shape[1]
    if not is_sparse(X):
        yield slice(0, d), np.asarray(X, dtype=np.float64)
        return
    csc = X.tocsc()
    for start in range(0, d, width):
        cols = slice(start, min(start + width, d))
        yield cols, np.ascontiguousarray(csc[:, cols].toarray(), dtype=np.float64)


class SparseRows:
    """Rows of a CSR matrix seen through a row-wise ``transform`` (raw (b, d) float64 -> (b, d') float32).

    Engines ask for batches (``rows(idx)``); nothing makes the whole matrix dense except ``dense()``.
    ``uncentred`` (optional) splits a CSR matrix of raw rows into (scaled rows, a CSR matrix with the same
    zeros; the (d,) shift) with ``transform(x) == scaled - shift`` (``FeatureScaler.uncentred``).
    """

    def __init__(
        self,
        csr: Any,
        transform: Callable[[np.ndarray], np.ndarray],
        width: int,
        uncentred: Callable[[Any], tuple[Any, np.ndarray]] | None = None,
    ) -> None:
        self.csr, self.transform, self.width = csr, transform, width
        self.uncentred = uncentred

    @property
    def shape(self) -> tuple[int, int]:
        return (self.csr.shape[0], self.width)

    def __len__(self) -> int:
        return self.csr.shape[0]

    def take(self, idx: Any) -> SparseRows:
        return SparseRows(self.csr[idx], self.transform, self.width, self.uncentred)

    def uncentred_parts(self) -> tuple[Any, np.ndarray]:
        """(X_u, shift): the rows as an (n, d') CSR matrix that keeps the zeros, and the (d',) shift with
        ``rows(slice(None)) == X_u.toarray() - shift`` to float rounding."""
        if self.uncentred is None:
            raise ValueError("these rows have no uncentred form (their transform is not affine)")
        return self.uncentred(self.csr)

    def rows(self, idx: Any) -> np.ndarray:
        """(b, d') float32: the rows ``idx`` (indices or a slice), densified and transformed."""
        return self.transform(self.csr[idx].toarray())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.dense()
        return out if dtype is None else out.astype(dtype)

    def dense(self, batch: int = 4096) -> np.ndarray:
        """All rows, transformed (densifies: for callers that need the whole matrix)."""
        n = len(self)
        parts = [self.rows(slice(i, i + batch)) for i in range(0, n, batch)]
        return np.concatenate(parts) if parts else np.zeros((0, self.width), np.float32)


def batch_rows(X: Any, idx: Any) -> np.ndarray:
    """Rows ``idx`` of an encoded matrix: an ndarray's rows, or a ``SparseRows`` batch made dense."""
    return X.rows(idx) if isinstance(X, SparseRows) else X[idx]


def take_rows(X: Any, idx: Any) -> Any:
    """Rows ``idx`` of a dense, CSR or ``SparseRows`` matrix, keeping its kind."""
    return X.take(idx) if isinstance(X, SparseRows) else X[idx]
