"""K table MLPs folded into one network for prediction: the ensemble's mean probability in few matrix products.

``FoldedEnsemble.from_members(mlps)`` reads K eval-mode ``MLP`` s with the same layers (through
``BatchedMLP.from_members``) and keeps only what prediction needs, in a "features x rows" layout:

- BatchNorm is folded into its linear layer (``w * gamma / sqrt(var + eps)``, ``beta - mean * that scale``);
- the first layers of all K members sit side by side in one (K h_1, d) matrix, so the first layer (nine tenths
  of the default's multiply-adds) is one ``addmm`` for every member on the same rows;
- later layers and the heads are (K, out, in) stacks for ``baddbmm`` on (K, in, rows) activations: with rows
  last, every product writes long rows (a (K, rows, 14) head output is several times slower on the CPU);
- rows go through in chunks of ``CHUNK`` rows per torch thread, so that a thread's share of the (K h, rows)
  activations stays in its caches between the first product, the activation and the heads; each chunk ends
  as the members' float32 sigmoids averaged in float64 (the ensemble mean of ``MultiLabelEstimator._predict``).
  (Every product shared by several threads ends in a barrier: on a machine busier than its cores a thread
  waits there for a descheduled one, and 1 thread is faster than 2 at any chunk size.)

``probabilities(X)`` gives the (n, L) mean, ``member_probabilities(X)`` the (K, n, L) sigmoids it averages. X is
an (n, d) float32 array or ``SparseRows`` (made dense a chunk at a time). The members are read, never changed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from brainnet.core.data.sparse import batch_rows
from brainnet.pipeline.models.activations import activation as make_activation
from brainnet.pipeline.models.mlp import MLP

CHUNK = 256  # rows per chunk and thread: 128 to 384 cost the same on 1 thread, 512 +5 %, 1024 +20 %
MAX_CHUNK_BYTES = 64 * 2**20  # ... as long as a chunk's widest float32 activations stay under this


class FoldedEnsemble:
    """The K members of a table ``MLP`` ensemble as one prediction network; see the module docstring.

    Args:
        first: ((K h_1, d) weights, (K h_1, 1) biases) of every member's first layer, member k at rows
            k h_1 .. (k + 1) h_1; with no hidden layer the heads, (K L, d) and (K L, 1).
        layers: [((K, h_i, h_{i-1}) weights, (K, h_i, 1) biases)] of the later hidden layers, then the heads
            ((K, L, h_m), (K, L, 1)); empty with no hidden layer.
        k: K.
        activation: the hidden layers' activation name.
    """

    def __init__(
        self,
        first: tuple[torch.Tensor, torch.Tensor],
        layers: list[tuple[torch.Tensor, torch.Tensor]],
        k: int,
        activation: str,
    ) -> None:
        self.first, self.layers, self.k = first, layers, k
        self.act = make_activation(activation)
        # ReLU, LeakyReLU, ELU, SiLU in place: no second (K h, chunk) buffer
        if hasattr(self.act, "inplace"):
            self.act.inplace = True
        self.n_labels = layers[-1][0].shape[1] if layers else first[0].shape[0] // k
        self.widest = max([first[0].shape[0]] + [k * w.shape[1] for w, _ in layers])  # K h_max

    def chunk_rows(self) -> int:
        """``CHUNK`` rows per torch thread, fewer when their widest activations pass ``MAX_CHUNK_BYTES``."""
        most = MAX_CHUNK_BYTES // (4 * self.widest)
        return max(64, min(CHUNK * torch.get_num_threads(), most))

    @classmethod
    @torch.no_grad()
    def from_members(cls, members: list[MLP]) -> FoldedEnsemble:
        """Fold K ``MLP`` s with the same layers (their eval-mode arithmetic; they are not changed)."""
        from brainnet.pipeline.models.batched_mlp import BatchedMLP

        stack = BatchedMLP.from_members(members)
        K = stack.k
        folded = []  # per hidden layer: (K, out, in) weights, (K, out, 1) biases, BatchNorm folded in
        for i in range(stack.n_hidden):
            w = getattr(stack, f"weight{i}")  # (K, in, out)
            if stack.batch_norm:
                mean, var = getattr(stack, f"running_mean{i}"), getattr(stack, f"running_var{i}")
                scale = getattr(stack, f"gamma{i}") * torch.rsqrt(var + stack.eps)  # (K, out)
                w, b = w * scale.unsqueeze(1), getattr(stack, f"beta{i}") - mean * scale
            else:
                b = getattr(stack, f"bias{i}")
            folded.append((w.transpose(1, 2), b.unsqueeze(2)))
        folded.append((stack.head_weight.transpose(1, 2), stack.head_bias.unsqueeze(2)))
        w0, b0 = folded[0]  # (K, out, d), (K, out, 1)
        first = (w0.reshape(-1, w0.shape[2]).contiguous(), b0.reshape(-1, 1).contiguous())
        rest = [(w.contiguous(), b.contiguous()) for w, b in folded[1:]]
        return cls(first, rest, K, stack.activation_name)

    @torch.inference_mode()
    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        """(c, d) float32 rows -> (K, L, c) logits of every member."""
        w0, b0 = self.first
        z = torch.addmm(b0, w0, x.T).view(self.k, -1, x.shape[0])  # (K, h_1, c); heads if no hidden
        for w, b in self.layers:
            z = torch.baddbmm(b, w, self.act(z))  # (K, out, c): the activation of the layer before
        return z

    def _chunks(self, X: Any, chunk: int | None) -> Any:
        """(start, (K, L, c) float32 sigmoids) per chunk of the (n, d) rows X (``chunk`` rows, None:
        ``chunk_rows()``)."""
        chunk = chunk or self.chunk_rows()
        dense = not hasattr(X, "rows")  # an ndarray; SparseRows is made dense per chunk
        Xt = torch.as_tensor(X, dtype=torch.float32) if dense else None
        for start in range(0, X.shape[0], chunk):
            rows = (
                Xt[start : start + chunk]
                if Xt is not None
                else torch.as_tensor(batch_rows(X, slice(start, start + chunk)))
            )
            yield start, torch.sigmoid_(self._logits(rows))

    def probabilities(self, X: Any, chunk: int | None = None) -> np.ndarray:
        """(n, d) encoded rows -> (n, L) float64: the mean over the members of their float32 sigmoids."""
        out = torch.empty(X.shape[0], self.n_labels, dtype=torch.float64)
        with torch.inference_mode():
            for start, P in self._chunks(X, chunk):
                out[start : start + P.shape[2]] = P.to(torch.float64).mean(dim=0).T
        return out.numpy()

    def member_probabilities(self, X: Any, chunk: int | None = None) -> np.ndarray:
        """(n, d) encoded rows -> (K, n, L) float32: every member's sigmoids, in the members' order."""
        out = torch.empty(self.k, X.shape[0], self.n_labels)
        with torch.inference_mode():
            for start, P in self._chunks(X, chunk):
                out[:, start : start + P.shape[2]] = P.transpose(1, 2)
        return out.numpy()
