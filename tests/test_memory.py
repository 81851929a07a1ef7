"""What the mLSTM keeps and writes (rnnviz/analysis/memory.py), against its gates written out step by step here:
lesson 9 judges the mLSTM by these, so they must be the model's own weights of its past, not the stabiliser's."""
import math

import numpy as np
import pytest
import torch
from torch import exp, sigmoid

from rnnviz.trace import probe
from rnnviz.xlstm_cells import MLSTM_HEAD
from test_xlstm_cells import D, F32, H, N, NH, model_for, params


def test_the_mlstm_keeps_its_forget_gate_and_its_writes_are_weighted_by_exp_i():
    """What the mLSTM keeps is σ(f̃_t), not the stored memory's f′_t (the stabiliser's rescaling is in that); the
    share of the last memory that step s wrote is exp(ĩ_s) Π_{r>s} σ(f̃_r), normalised: written out here step by
    step, and it must rebuild the recorded C_T up to its scale."""
    from rnnviz.analysis.memory import input_gate_by_token, kept_across, write_shares
    from rnnviz.plots.spectra import input_gate_figure, write_share_figure

    model, x = model_for("mlstm"), torch.randn(N, 8, D)
    with torch.no_grad():
        model.rnn.bias_ih_l0[4 * H:] += torch.randn(2 * NH)  # gates that differ by head, and input gates that
        model.rnn.weight_ih_l0[4 * H:4 * H + NH] = 2 * torch.randn(NH, D)  # read the input: m_t follows either path
    trace, P = probe(model, x), params(model.rnn)
    lin = lambda r0, r1: (x @ P["weight_ih_l0"][r0:r1].T + P["bias_ih_l0"][r0:r1]).double()  # noqa: E731
    i, f = exp(lin(4 * H, 4 * H + NH)), sigmoid(lin(4 * H + NH, 4 * H + 2 * NH))  # (N, T, NH)
    w = torch.stack([i[:, s] * f[:, s + 1:].prod(1) for s in range(x.shape[1])], 1)
    share = w / w.sum(1, keepdim=True)
    torch.testing.assert_close(torch.from_numpy(write_shares(trace)), share, **F32)
    fig = write_share_figure(trace, 1, rows=list("xyz"))  # lesson 9's figures: one head's shares, its gate by token
    torch.testing.assert_close(torch.from_numpy(np.asarray(fig.data[0].z)).double(), share[..., 1], **F32)
    assert list(fig.data[0].y) == list("xyz") and "head 2" in fig.layout.title.text
    labels = [["+" if v > 0 else "−" for v in row] for row in x[..., 0].tolist()]
    by_token = input_gate_by_token(trace, labels, 1)
    plus = torch.log(i[..., 1])[x[..., 0] > 0].mean().item()
    assert by_token["+"] == pytest.approx(plus, rel=1e-5) and input_gate_figure(by_token, 1).data[0].y[0] in (
        pytest.approx(plus, rel=1e-5), pytest.approx(by_token["−"], rel=1e-5))
    v = lin(2 * H, 3 * H).unflatten(-1, (NH, MLSTM_HEAD))
    k = lin(H, 2 * H).unflatten(-1, (NH, MLSTM_HEAD)) / math.sqrt(MLSTM_HEAD)
    rebuilt = torch.einsum("bsj,bsjv,bsjk->bjvk", share, v, k)
    stored = trace["h"][0, :, -1].double().unflatten(-1, (NH, MLSTM_HEAD, MLSTM_HEAD))
    scale = (stored * rebuilt).sum((-1, -2), keepdim=True) / (rebuilt ** 2).sum((-1, -2), keepdim=True)
    torch.testing.assert_close(stored, scale * rebuilt, rtol=1e-4, atol=1e-6 * stored.abs().max().item())
    assert not torch.allclose(stored, scale * rebuilt.roll(1, 2), rtol=1e-2)  # one scale per head, nothing more
    best = f[:, 1:].prod(1).amax(1).mean().item()
    assert kept_across(trace) == pytest.approx(best, rel=1e-5)
    stored_decay = trace["decay"][0, :, 1:].double().prod(1).amax(1).mean().item()
    assert stored_decay != pytest.approx(best, abs=0.05)  # f′ is not it: the stabiliser's rescaling is in it
