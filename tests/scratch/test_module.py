import numpy as np

from brainnet.scratch.module import Module, Parameter


class Leaf(Module):
    def __init__(self, n: int) -> None:
        self.w = Parameter(np.ones(n), "w")
        self.b = Parameter(np.zeros(1), "b")


class Tree(Module):
    def __init__(self) -> None:
        self.first = Leaf(2)
        self.blocks = [Leaf(3), Leaf(4)]
        self.extra = (Parameter(np.ones(5), "extra"),)
        self.shared = self.first  # the same module twice: its parameters appear once


def test_parameters_collects_nested_and_lists_once_in_order():
    tree = Tree()
    sizes = [p.value.size for p in tree.parameters()]
    assert sizes == [2, 1, 3, 1, 4, 1, 5]


def test_zero_grad_clears_every_gradient():
    tree = Tree()
    for p in tree.parameters():
        p.grad += 7
    tree.zero_grad()
    assert all(np.all(p.grad == 0) for p in tree.parameters())


def test_train_and_eval_propagate_to_children():
    tree = Tree()
    assert tree.eval() is tree
    assert not tree.training and not tree.first.training
    assert not any(block.training for block in tree.blocks)
    tree.train()
    assert tree.training and all(block.training for block in tree.blocks)


def test_parameter_grad_matches_value():
    p = Parameter(np.ones((2, 3), dtype=np.float32), "w")
    assert p.grad.shape == (2, 3) and p.grad.dtype == np.float32
    assert "w" in repr(p)
