"""K table MLPs as one network: stacked weights and batched matrix products (``torch.bmm``).

``BatchedMLP.from_members(mlps)`` stacks K ``MLP`` s built by ``build_mlp`` (same layers, any weights);
``member(k)`` gives member k back as an ``MLP`` state_dict, with the names and layouts ``MLP`` saves, so a
batched ensemble is saved, loaded and exported as K ordinary members. Layer i holds ``weight{i}`` (K, in, out)
(``MLP``'s (out, in) transposed), ``bias{i}`` (K, out) without BatchNorm, else ``gamma{i}``/``beta{i}`` and the
buffers ``running_mean{i}``/``running_var{i}`` (K, out) and ``tracked{i}`` (K,); the head ``head_weight``
(K, h, L) and ``head_bias`` (K, L).

``forward(x, idx, masks)`` runs the members ``idx`` (G of the K) on their own rows: x is (G, B, d), each member's
batch statistics are its own (BatchNorm over its B rows), dropout is the 0/(1/(1-p)) masks the caller draws per
member (``masks``; None in eval mode), and the members outside ``idx`` are untouched (parameters and running
statistics). Prediction folds the members into a ``FoldedEnsemble`` (``folded_ensemble.py``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from brainnet.pipeline.models.activations import activation as make_activation
from brainnet.pipeline.models.mlp import MLP
from brainnet.pipeline.models.sparse_input import SparseBatch


class BatchedMLP(nn.Module):
    """K members of ``MLP`` with stacked weights; see the module docstring for the layout.

    Args:
        sizes: (d, h_1, ..., h_m), the widths from the input to the last hidden layer.
        n_labels: L.
        k: K, the number of members.
        batch_norm, activation, dropout, input_dropout: as ``MLP``'s.
        eps, momentum: BatchNorm's (``nn.BatchNorm1d``'s defaults).
    """

    def __init__(
        self,
        sizes: tuple[int, ...],
        n_labels: int,
        k: int,
        *,
        batch_norm: bool,
        activation: str,
        dropout: float,
        input_dropout: float,
        eps: float = 1e-5,
        momentum: float = 0.1,
    ) -> None:
        super().__init__()
        self.sizes, self.n_labels, self.k = tuple(sizes), n_labels, k
        self.batch_norm, self.activation_name = batch_norm, activation
        self.dropout, self.input_dropout = dropout, input_dropout
        self.eps, self.momentum = eps, momentum
        self.act = make_activation(activation)
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            self.register_parameter(f"weight{i}", nn.Parameter(torch.zeros(k, n_in, n_out)))
            if batch_norm:
                self.register_parameter(f"gamma{i}", nn.Parameter(torch.ones(k, n_out)))
                self.register_parameter(f"beta{i}", nn.Parameter(torch.zeros(k, n_out)))
                self.register_buffer(f"running_mean{i}", torch.zeros(k, n_out))
                self.register_buffer(f"running_var{i}", torch.ones(k, n_out))
                self.register_buffer(f"tracked{i}", torch.zeros(k, dtype=torch.long))
            else:
                self.register_parameter(f"bias{i}", nn.Parameter(torch.zeros(k, n_out)))
        self.head_weight = nn.Parameter(torch.zeros(k, sizes[-1], n_labels))
        self.head_bias = nn.Parameter(torch.zeros(k, n_labels))

    @property
    def n_hidden(self) -> int:
        return len(self.sizes) - 1

    # ------------------------------------------------------------------ members <-> stack
    @classmethod
    def from_members(cls, members: list[MLP]) -> BatchedMLP:
        """Stack ``members`` (MLPs with the same layers)."""
        first = members[0]
        linears = [m for m in first.backbone if isinstance(m, nn.Linear)]
        sizes = (linears[0].in_features, *(m.out_features for m in linears)) if linears else ()
        if not linears:
            sizes = (first.head.in_features,)
        drops = [m.p for m in first.backbone if isinstance(m, nn.Dropout)]
        has_input_dropout = bool(first.backbone) and isinstance(first.backbone[0], nn.Dropout)
        acts = [
            m for m in first.backbone if not isinstance(m, nn.Linear | nn.BatchNorm1d | nn.Dropout)
        ]
        name = _activation_name(acts[0]) if acts else "relu"
        hidden_drops = drops[1:] if has_input_dropout else drops
        batched = cls(
            sizes,
            first.head.out_features,
            len(members),
            batch_norm=any(isinstance(m, nn.BatchNorm1d) for m in first.backbone),
            activation=name,
            dropout=hidden_drops[0] if hidden_drops else 0.0,
            input_dropout=drops[0] if has_input_dropout else 0.0,
        )
        with torch.no_grad():
            for k, member in enumerate(members):
                batched.load_member(k, member.state_dict())
        return batched

    def _layout(self) -> list[tuple[str, str, bool]]:
        """(MLP state_dict name, stacked name, transposed) for every tensor of a member."""
        out: list[tuple[str, str, bool]] = []
        j = 1 if self.input_dropout > 0 else 0  # MLP.backbone index of the first Linear
        for i in range(self.n_hidden):
            out.append((f"backbone.{j}.weight", f"weight{i}", True))
            if self.batch_norm:
                bn = f"backbone.{j + 1}"
                out += [(f"{bn}.weight", f"gamma{i}", False), (f"{bn}.bias", f"beta{i}", False)]
                out += [(f"{bn}.running_mean", f"running_mean{i}", False)]
                out += [(f"{bn}.running_var", f"running_var{i}", False)]
                out += [(f"{bn}.num_batches_tracked", f"tracked{i}", False)]
                j += 4  # Linear, BatchNorm1d, activation, Dropout
            else:
                out.append((f"backbone.{j}.bias", f"bias{i}", False))
                j += 3
        return out + [("head.weight", "head_weight", True), ("head.bias", "head_bias", False)]

    def member(self, k: int) -> dict[str, torch.Tensor]:
        """Member ``k`` as an ``MLP`` state_dict (copies)."""
        own = dict(self.named_parameters()) | dict(self.named_buffers())
        return {
            name: (own[stacked][k].T if t else own[stacked][k]).detach().clone().contiguous()
            for name, stacked, t in self._layout()
        }

    @torch.no_grad()
    def load_member(self, k: int, state: dict[str, torch.Tensor]) -> None:
        """Put an ``MLP`` state_dict (``member``'s form) into slot ``k``."""
        own = dict(self.named_parameters()) | dict(self.named_buffers())
        for name, stacked, t in self._layout():
            value = torch.as_tensor(state[name])
            own[stacked][k].copy_(value.T if t else value)

    def subset(self, ks: list[int]) -> BatchedMLP:
        """Members ``ks`` as a stack of their own (copies)."""
        out = BatchedMLP(
            self.sizes,
            self.n_labels,
            len(ks),
            batch_norm=self.batch_norm,
            activation=self.activation_name,
            dropout=self.dropout,
            input_dropout=self.input_dropout,
            eps=self.eps,
            momentum=self.momentum,
        ).to(self.head_bias.device)
        idx = torch.tensor(ks, device=self.head_bias.device)
        out.load_state_dict({n: t.index_select(0, idx) for n, t in self.state_dict().items()})
        return out

    @torch.no_grad()
    def scatter(self, part: BatchedMLP, ks: list[int]) -> None:
        """Put a ``subset(ks)`` back into the slots ``ks``."""
        idx = torch.tensor(ks, device=self.head_bias.device)
        theirs = part.state_dict()
        for name, mine in self.state_dict().items():
            mine.index_copy_(0, idx, theirs[name])

    def to_members(self) -> list[MLP]:
        """The K members as ``MLP`` modules on the CPU in eval mode."""
        hidden = self.sizes[1:]
        out = []
        for k in range(self.k):
            mlp = MLP(
                self.sizes[0],
                self.n_labels,
                hidden_sizes=hidden,
                dropout=self.dropout,
                input_dropout=self.input_dropout,
                batch_norm=self.batch_norm,
                activation=self.activation_name,
            )
            mlp.load_state_dict({n: t.cpu() for n, t in self.member(k).items()})
            out.append(mlp.eval())
        return out

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        x: torch.Tensor,
        idx: torch.Tensor | None = None,
        masks: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """(G, B, d) rows of the members ``idx`` (None: all K, G = K) -> (G, B, L) logits.

        In training mode BatchNorm uses each member's batch statistics and updates the running ones of
        ``idx`` only; ``masks`` (training only) are the dropout masks, [(G, B, d), (G, B, h_1), ...], already
        scaled by 1/(1-p), one per dropout layer that has p > 0 (input first). ``x`` may be a ``SparseBatch``
        (``sparse_input.py``): the first layer is then computed from its non-zeros, its input dropout
        already applied, and ``masks`` has no input mask.
        """
        pick = (lambda t: t) if idx is None else (lambda t: t.index_select(0, idx))
        masks = list(masks or [])
        z = x
        if self.input_dropout > 0 and masks and not isinstance(x, SparseBatch):
            z = z * masks.pop(0)
        if isinstance(z, SparseBatch) and self.n_hidden == 0:  # no hidden layer: the head is first
            return z.matmul(pick(self.head_weight)) + pick(self.head_bias).unsqueeze(1)
        for i in range(self.n_hidden):
            w = pick(getattr(self, f"weight{i}"))
            if isinstance(z, SparseBatch):
                # BatchNorm in training mode removes the constant shift: no gradient through it
                z = z.matmul(w, shift_gradient=not (self.batch_norm and self.training))  # (G, B, h)
            else:
                z = torch.bmm(z, w)  # (G, B, h)
            if self.batch_norm:
                z = self._batch_norm(z, i, idx, pick)
            else:
                z = z + pick(getattr(self, f"bias{i}")).unsqueeze(1)
            z = self.act(z)
            if self.dropout > 0 and masks:
                z = z * masks.pop(0)
        return torch.baddbmm(pick(self.head_bias).unsqueeze(1), z, pick(self.head_weight))

    def _batch_norm(self, z: torch.Tensor, i: int, idx: Any, pick: Any) -> torch.Tensor:
        gamma = pick(getattr(self, f"gamma{i}")).unsqueeze(1)  # (G, 1, h)
        beta = pick(getattr(self, f"beta{i}")).unsqueeze(1)
        mean_buf, var_buf = getattr(self, f"running_mean{i}"), getattr(self, f"running_var{i}")
        if not self.training:
            mean, var = pick(mean_buf).unsqueeze(1), pick(var_buf).unsqueeze(1)
            return (z - mean) * torch.rsqrt(var + self.eps) * gamma + beta
        # torch's own batch_norm kernel (fused forward and backward, nn.BatchNorm1d's running-statistics update
        # with the unbiased variance) on a (B, G h) view: one channel per (member, unit), so each member's
        # statistics are over its own B rows. About half the operations (and temporaries) of writing it out
        G, B, h = z.shape
        flat = z.transpose(0, 1).reshape(B, G * h)  # (B, G h)
        every = idx is None
        running_mean = mean_buf if every else mean_buf.index_select(0, idx)  # (G, h)
        running_var = var_buf if every else var_buf.index_select(0, idx)
        out = F.batch_norm(
            flat,
            running_mean.view(-1),
            running_var.view(-1),
            gamma.reshape(-1),
            beta.reshape(-1),
            training=True,
            momentum=self.momentum,
            eps=self.eps,
        )
        with torch.no_grad():
            tracked = getattr(self, f"tracked{i}")
            if every:
                tracked.add_(1)
            else:
                mean_buf.index_copy_(0, idx, running_mean)
                var_buf.index_copy_(0, idx, running_var)
                tracked.index_add_(0, idx, torch.ones_like(idx))
        return out.view(B, G, h).transpose(0, 1)  # (G, B, h)


def _activation_name(module: nn.Module) -> str:
    from brainnet.pipeline.models.activations import ACTIVATIONS

    for name in ACTIVATIONS.names():
        if ACTIVATIONS.get(name) == type(module).__name__:
            return name
    raise ValueError(f"no registered activation is a {type(module).__name__}")


def dropout_masks(
    rngs: list[Any], rows: int, widths: list[tuple[int, float]], device: Any
) -> list[torch.Tensor]:
    """Per member, per dropout layer (width, p): a (rows, width) mask of 0 and 1/(1-p'), drawn from the
    member's own NumPy ``Generator`` (``rngs``): 16 random bits per unit, dropped when below p' = round(p 2^16)
    / 2^16 (p to 1/65536; 4x cheaper than a float per unit). Returns [(G, rows, width)] per layer."""
    import numpy as np

    out = []
    for width, p in widths:
        cut = round(p * 65536)
        scale = 65536 / (65536 - cut)
        words = (rows * width + 3) // 4
        draws = np.stack([g.bit_generator.random_raw(words) for g in rngs]).view(np.uint16)
        keep = np.greater_equal(draws[:, : rows * width], cut).view(np.uint8)  # (G, rows width)
        # uint8 -> float32 (torch's bool -> float32 is ~10x slower on the CPU)
        mask = torch.from_numpy(keep).to(device=device, dtype=torch.float32).mul_(scale)
        out.append(mask.view(len(rngs), rows, width))
    return out


def stacked_bce(
    logits: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor | None
) -> torch.Tensor:
    """Per member, ``BCEWithLogitsLoss``'s mean over its (B, L) entries: (G, B, L) -> (G,)."""
    loss = F.binary_cross_entropy_with_logits(
        logits, targets, pos_weight=pos_weight, reduction="none"
    )
    return loss.mean(dim=(1, 2))
