"""The vanishing-gradient regulariser of Pascanu, Mikolov & Bengio (2013), eq. (9); not the optimiser.

    Ω = mean_k ( ||∂E/∂h_{k+1} · ∂h_{k+1}/∂h_k|| / ||∂E/∂h_{k+1}|| - 1 )²

It asks each step's Jacobian to preserve the norm of the error signal in the direction it travels.
As in the paper, ∂E/∂h_{k+1} is held constant; only ∂h_{k+1}/∂h_k depends on the weights. All T
one-step Jacobian-vector products come from one batched re-evaluation of the cell (time folded into the
batch), so Ω costs about one extra step of the recurrence rather than T.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnviz.cells import step_fn
from rnnviz.stack import Recurrent, Tape


def pascanu_penalty(rnn: Recurrent, tape: Tape, loss: Tensor, eps: float = 1e-12) -> Tensor:
    """Ω for every layer of `rnn`, given the tape of a traced forward whose loss is `loss`."""
    spec, step = rnn.spec, step_fn(rnn.spec)
    terms = []
    hs = [r["h"] for steps in tape.steps for r in steps]
    grads = torch.autograd.grad(loss, hs, retain_graph=True, allow_unused=True)
    per_layer = iter(grads)
    for k, steps in enumerate(tape.steps):
        T = len(steps)
        g = [next(per_layer) for _ in range(T)]
        if T < 2:
            continue
        w = rnn.layer(k)[2]
        B, H = steps[0]["h"].shape
        g_next = torch.stack([gi if gi is not None else torch.zeros(B, H) for gi in g[1:]]).detach()  # (T-1, B, H)
        h_prev = torch.stack([r["h"] for r in steps[:-1]]).detach().requires_grad_()  # h_k, k = 0..T-2
        gx = rnn.layer_input(k, tape.inputs[k][:, 1:]).transpose(0, 1)  # x_{k+1}, as the layer's step reads it
        if spec.conv:  # Mamba's block: the c slot is the convolution's window, the K values of ũ up to step k
            U, K = rnn.hidden_size, spec.conv
            u_seq = torch.cat([tape.c0[k].unflatten(-1, (K, U)), rnn.layer_input(k, tape.inputs[k])[..., :U]], 1)
            c_prev = torch.stack([u_seq[:, t + 1:t + 1 + K].flatten(1) for t in range(T - 1)]).detach()
        else:
            c_prev = torch.stack([torch.cat([r[p] for p in spec.carried], -1)  # the c slot, rebuilt from its parts
                                  for r in steps[:-1]]).detach() if spec.carried else None
        if spec.has_w_hh:  # the paper's Ω differentiates through W_hh; a cell without one (minGRU: diag(a_t),
            gx = gx.detach()  # a_t set by x_t through W_ih) has its Jacobian depend on the weights only through gx
        h_next, _, _ = step(gx.reshape((T - 1) * B, -1), h_prev.reshape(-1, H),
                            None if c_prev is None else c_prev.reshape((T - 1) * B, -1), w, spec)
        (vjp,) = torch.autograd.grad(h_next, h_prev, g_next.reshape(-1, H), create_graph=True)
        num = vjp.reshape(T - 1, B, H).norm(dim=-1)
        den = g_next.norm(dim=-1)
        keep = den > eps
        if keep.any():
            terms.append(((num[keep] / den[keep]) - 1.0).pow(2).mean())
    return torch.stack(terms).mean() if terms else loss.new_zeros(())
