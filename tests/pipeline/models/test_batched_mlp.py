"""``BatchedMLP``'s training pieces against their one-member references: BatchNorm over each member's own rows
(``nn.BatchNorm1d``, running statistics included, members outside ``idx`` untouched) and the dropout masks
(16 bits per unit from each member's own stream)."""

import numpy as np
import torch
from torch import nn

from brainnet.pipeline.models.batched_mlp import BatchedMLP, dropout_masks
from brainnet.pipeline.models.mlp import MLP


def _stack(k=3, d=5, h=7, L=2):
    members = []
    for seed in range(k):
        torch.manual_seed(seed)
        members.append(MLP(d, L, hidden_sizes=(h,), dropout=0.0, input_dropout=0.0))
    return members, BatchedMLP.from_members(members)


def test_batch_norm_is_each_members_batchnorm1d_with_its_running_statistics():
    members, stack = _stack()
    with torch.no_grad():  # gammas and betas other than 1 and 0
        stack.gamma0.uniform_(0.5, 1.5)
        stack.beta0.uniform_(-0.5, 0.5)
    x = torch.randn(2, 9, 5)
    idx = torch.tensor([0, 2])  # member 1 sits out
    before = stack.member(1)
    stack.train()
    z = torch.bmm(x, stack.weight0.index_select(0, idx))  # (G, B, h)
    pick = lambda t: t.index_select(0, idx)  # noqa: E731
    out = stack._batch_norm(z, 0, idx, pick)
    for g, k in enumerate((0, 2)):
        bn = nn.BatchNorm1d(7)
        with torch.no_grad():
            bn.weight.copy_(stack.gamma0[k])
            bn.bias.copy_(stack.beta0[k])
        want = bn(z[g].detach())
        torch.testing.assert_close(out[g], want, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(stack.running_mean0[k], bn.running_mean, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(stack.running_var0[k], bn.running_var, atol=1e-6, rtol=1e-6)
        assert int(stack.tracked0[k]) == 1
    for name, value in stack.member(1).items():  # untouched
        torch.testing.assert_close(value, before[name], atol=0, rtol=0)
    out.sum().backward()  # the gradient reaches the stacked parameters of the members that ran only
    assert stack.gamma0.grad is not None and stack.gamma0.grad[1].abs().sum() == 0
    assert stack.gamma0.grad[0].abs().sum() > 0


def test_dropout_masks_are_16_bits_per_unit_from_each_members_stream():
    seeds = [3, 4]
    widths = [(5, 0.1), (7, 0.5)]
    masks = dropout_masks([np.random.default_rng(s) for s in seeds], 6, widths, "cpu")
    refs = [np.random.default_rng(s) for s in seeds]
    for (width, p), mask in zip(widths, masks, strict=True):
        assert mask.shape == (2, 6, width) and mask.dtype == torch.float32
        cut = round(p * 65536)
        for g, rng in enumerate(refs):
            words = (6 * width + 3) // 4
            bits = rng.bit_generator.random_raw(words).view(np.uint16)[: 6 * width]
            want = np.where(bits >= cut, np.float32(65536 / (65536 - cut)), np.float32(0))
            np.testing.assert_array_equal(mask[g].numpy().ravel(), want)
