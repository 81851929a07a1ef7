"""A model's recurrent stacks by trace prefix: "" its rnn, "enc." and "dec." an encoder-decoder's, "bwd." the
backward direction of a bidirectional rnn, seen as a stack of its own. Views, traces and what-if edits find the
stack a figure shows through here.
"""
from __future__ import annotations

from torch import Tensor, nn

from rnnviz.cells import LayerWeights
from rnnviz.stack import Recurrent


class Backward:
    """A bidirectional stack's backward direction, seen as a stack of its own (trace prefix "bwd."): the same
    questions a Recurrent answers (spec, sizes, layer(k), layer_input) about its *_reverse weights, so the
    Jacobian, the weight views and the what-if edits read it like any stack. Its layers' inputs are what the tape
    recorded: the flipped sequence, or both directions of the layer below, flipped."""

    def __init__(self, rnn: Recurrent):
        self.rnn = rnn
        self.spec, self.arch, self.hidden_size, self.num_layers = rnn.spec, rnn.arch, rnn.hidden_size, rnn.num_layers
        self.state_size, self.carried_size, self.leak_rate = rnn.state_size, rnn.carried_size, rnn.leak_rate

    def layer(self, k: int) -> tuple[Tensor, Tensor | None, LayerWeights]:
        return self.rnn.layer(k, reverse=True)

    def layer_input(self, k: int, x: Tensor) -> Tensor:
        return self.rnn.layer_input(k, x, reverse=True)


BACKWARD = "bwd."  # the trace prefix of a bidirectional stack's backward direction
STACKS = {"": "rnn", "enc.": "encoder", "dec.": "decoder", BACKWARD: "rnn"}  # a stack's trace prefix -> module
STACK_WORDS = {"": "recurrent stack", "enc.": "encoder", "dec.": "decoder", BACKWARD: "backward direction"}


def stack_of(model: nn.Module, prefix: str) -> "Recurrent | Backward":
    """The stack a prefix names: "" -> model.rnn, "enc." -> model.encoder, "dec." -> model.decoder, "bwd." -> the
    backward direction of a bidirectional model.rnn."""
    stacks = recurrent_stacks(model)
    if prefix not in stacks:
        have = ", ".join(repr(p) for p in stacks)
        raise ValueError(f"this model has no recurrent stack {prefix!r}; it has {have}")
    return stacks[prefix]


def recurrent_stacks(model: nn.Module) -> dict[str, "Recurrent | Backward"]:
    """Every recurrent stack of a model by its prefix: {"": rnn}, {"": rnn, "bwd.": its backward direction} for a
    bidirectional one, or {"enc.": encoder, "dec.": decoder}."""
    out = {p: getattr(model, name) for p, name in STACKS.items()
           if p != BACKWARD and isinstance(getattr(model, name, None), Recurrent)}
    if "" in out and out[""].bidirectional:
        out[BACKWARD] = Backward(out[""])
    return out
