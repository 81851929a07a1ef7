"""Every cell without a torch.nn twin against a naive loop of its paper's equations, written out here.

torch-rnn's VanillaRNN_test.lua in spirit: tiny sizes, one plain Python loop over t, each gate sliced out of
W_ih / W_hh by hand in the block order the paper and PyTorch use, and nothing of rnnviz's own steps
(lstm_step, esn_step) called. Checked against it: the fast forward and the traced forward (outputs, h_n,
c_n), their gradients (float64), and the gates, states and gradients a probe() records. Each reference also
has a near miss (one line changed) that must NOT match, so every comparison here is able to fail.
"""
import copy

import pytest
import torch
from torch import sigmoid, tanh

from rnnviz.cells import SPECS
from rnnviz.models import ModelConfig, RNNModel
from rnnviz.trace import probe, weight_grad_share

N, T, D, H = 3, 4, 5, 6  # torch-rnn's tiny sizes
F32 = dict(rtol=1e-5, atol=1e-6)
F64 = dict(rtol=1e-9, atol=1e-12)


# One step of each cell. a(g) is block g's pre-activation W_xg x_t + b_xg + W_hg h_{t−1} + b_hg; p holds the
# peepholes; each returns (h_t, c_t, {gate: activation}) with the gates under the names the trace uses.

def lstm_plain(a, h, c, p):  # the forget-gate LSTM every Greff variant changes one line of
    i, f, g, o = sigmoid(a("i")), sigmoid(a("f")), tanh(a("g")), sigmoid(a("o"))
    c = f * c + i * g
    return o * tanh(c), c, dict(i=i, f=f, g=g, o=o)


def lstm_peephole(a, h, c, p):  # Gers & Schmidhuber (2000): i, f peek at c_{t−1}, o at the new c_t
    i = sigmoid(a("i") + p["i"] * c)
    f = sigmoid(a("f") + p["f"] * c)
    g = tanh(a("g"))
    c = f * c + i * g
    o = sigmoid(a("o") + p["o"] * c)
    return o * tanh(c), c, dict(i=i, f=f, g=g, o=o)


def lstm_nig(a, h, c, p):  # i_t = 1
    f, g, o = sigmoid(a("f")), tanh(a("g")), sigmoid(a("o"))
    c = f * c + g
    return o * tanh(c), c, dict(f=f, g=g, o=o)


def lstm_nfg(a, h, c, p):  # f_t = 1
    i, g, o = sigmoid(a("i")), tanh(a("g")), sigmoid(a("o"))
    c = c + i * g
    return o * tanh(c), c, dict(i=i, g=g, o=o)


def lstm_nog(a, h, c, p):  # o_t = 1
    i, f, g = sigmoid(a("i")), sigmoid(a("f")), tanh(a("g"))
    c = f * c + i * g
    return tanh(c), c, dict(i=i, f=f, g=g)


def lstm_cifg(a, h, c, p):  # f_t = 1 − i_t
    i, g, o = sigmoid(a("i")), tanh(a("g")), sigmoid(a("o"))
    f = 1 - i
    c = f * c + i * g
    return o * tanh(c), c, dict(i=i, f=f, g=g, o=o)


def lstm_niaf(a, h, c, p):  # g_t = a_g
    i, f, g, o = sigmoid(a("i")), sigmoid(a("f")), a("g"), sigmoid(a("o"))
    c = f * c + i * g
    return o * tanh(c), c, dict(i=i, f=f, g=g, o=o)


def lstm_noaf(a, h, c, p):  # h_t = o_t ⊙ c_t
    i, f, g, o = sigmoid(a("i")), sigmoid(a("f")), tanh(a("g")), sigmoid(a("o"))
    c = f * c + i * g
    return o * c, c, dict(i=i, f=f, g=g, o=o)


def gru_reset_before(a, h, c, p):  # Cho et al. (2014): the reset gate scales h_{t−1} before W_hn reads it
    r, z = sigmoid(a("r")), sigmoid(a("z"))
    n = tanh(a("n", r * h))
    return (1 - z) * n + z * h, None, {"r": r, "z": z, "n": n}


def gru_never_reset(a, h, c, p):  # the near miss: W_hn reads h_{t−1} itself
    r, z = sigmoid(a("r")), sigmoid(a("z"))
    n = tanh(a("n"))
    return (1 - z) * n + z * h, None, {"r": r, "z": z, "n": n}


def esn(alpha):  # Jaeger et al. (2007): h_t = (1 − α) h_{t−1} + α tanh(W_in x_t + W h_{t−1} + b)
    def step(a, h, c, p):
        return (1 - alpha) * h + alpha * tanh(a("h")), None, {}
    return step


# near misses: one line wrong, each a plausible slip
def peephole_o_sees_old_c(a, h, c, p):
    i = sigmoid(a("i") + p["i"] * c)
    f = sigmoid(a("f") + p["f"] * c)
    o = sigmoid(a("o") + p["o"] * c)
    c = f * c + i * tanh(a("g"))
    return o * tanh(c), c, {}


def nog_without_squash(a, h, c, p):
    c = sigmoid(a("f")) * c + sigmoid(a("i")) * tanh(a("g"))
    return c, c, {}


def esn_leak_swapped(alpha):
    def step(a, h, c, p):
        return alpha * h + (1 - alpha) * tanh(a("h")), None, {}
    return step


# arch -> (row blocks of W_ih / W_hh in storage order, reference step, (near-miss blocks, near-miss step))
LSTMS = {
    "lstm_peephole": ("ifgo", lstm_peephole, ("ifgo", peephole_o_sees_old_c)),
    "lstm_nig": ("fgo", lstm_nig, ("gfo", lstm_nig)),  # blocks sliced in the wrong order
    "lstm_nfg": ("igo", lstm_nfg, ("igo", lstm_cifg)),
    "lstm_nog": ("ifg", lstm_nog, ("ifg", nog_without_squash)),
    "lstm_cifg": ("igo", lstm_cifg, ("igo", lstm_nfg)),
    "lstm_niaf": ("ifgo", lstm_niaf, ("ifgo", lstm_plain)),
    "lstm_noaf": ("ifgo", lstm_noaf, ("ifgo", lstm_plain)),
    "gru_reset_before": ("rzn", gru_reset_before, ("rzn", gru_never_reset)),  # not an LSTM: no torch twin either
}
ALPHAS = [1.0, 0.3]


def reference(arch, alpha=1.0):
    if arch == "esn":
        return "h", esn(alpha), ("h", esn_leak_swapped(alpha))
    return LSTMS[arch]


def naive(step, blocks, P, x, h0, c0):
    """The loop over t (layers inside it); P: state_dict-named tensors. -> out (N, T, H), h_n, c_n (L, N, H),
    and rec[name] (L, N, T, H) for every gate plus h and c."""
    L = h0.shape[0]
    h, c = list(h0), list(c0) if c0 is not None else [None] * L
    outs, rec = [], [[] for _ in range(L)]
    for t in range(x.shape[1]):
        inp = x[:, t]
        for k in range(L):
            W_ih, W_hh, b_ih, b_hh = (P[f"{n}_l{k}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

            def a(gate, h_in=None, inp=inp, h_prev=h[k], W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh):
                """The gate's pre-activation; W_hh's block reads h_in (default h_{t−1})."""
                j = blocks.index(gate) * H
                h_in = h_prev if h_in is None else h_in
                return inp @ W_ih[j:j + H].T + b_ih[j:j + H] + h_in @ W_hh[j:j + H].T + b_hh[j:j + H]

            peep = {g: P[f"peephole_{g}_l{k}"] for g in "ifo" if f"peephole_{g}_l{k}" in P}
            h[k], c[k], gates = step(a, h[k], c[k], peep)
            rec[k].append(dict(gates, h=h[k]) | ({} if c[k] is None else {"c": c[k]}))
            inp = h[k]
        outs.append(inp)
    stacked = {n: torch.stack([torch.stack([r[n] for r in steps], 1) for steps in rec]) for n in rec[0][0]}
    return torch.stack(outs, 1), torch.stack(h), (None if c[0] is None else torch.stack(c)), stacked


def model_for(arch, layers=1, alpha=1.0):
    return RNNModel(ModelConfig(arch=arch, input_size=D, hidden_size=H, num_layers=layers, leak_rate=alpha))


def params(rec, grad=False):
    return {n: t.detach().clone().requires_grad_(grad) for n, t in rec.state_dict().items()}


def initial_state(arch, layers, dtype=torch.float32, random=True):
    make = torch.randn if random else torch.zeros
    h0 = make(layers, N, H, dtype=dtype)
    return h0, (make(layers, N, H, dtype=dtype) if SPECS[arch].has_cell else None)


def assert_states(got, want, tol):
    out, (h_n, c_n) = got
    w_out, w_h, w_c = want
    torch.testing.assert_close(out, w_out, **tol)
    torch.testing.assert_close(h_n, w_h, **tol)
    if w_c is None:
        assert c_n is None
    else:
        torch.testing.assert_close(c_n, w_c, **tol)


CASES = [(a, 1.0) for a in LSTMS] + [("esn", alpha) for alpha in ALPHAS]
IDS = [a if a != "esn" else f"esn-alpha{alpha}" for a, alpha in CASES]


def test_the_references_cover_every_cell_without_a_torch_twin_in_its_block_order():
    without_twin = {a for a, s in SPECS.items() if s.torch_equivalent is None and s.has_w_hh}
    assert without_twin == set(LSTMS) | {"esn", "slstm"}  # sLSTM: test_xlstm_cells.py; no W_hh: test_linear_cells.py
    for arch, (blocks, _, _) in LSTMS.items():
        assert SPECS[arch].blocks == tuple(blocks)
    assert SPECS["esn"].blocks == ("h",)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("arch,alpha", CASES, ids=IDS)
def test_both_forwards_match_the_naive_loop(arch, alpha, layers):
    model = model_for(arch, layers, alpha)
    blocks, step, _ = reference(arch, alpha)
    x = torch.randn(N, T, D)
    P = params(model.rnn)
    for random in (False, True):
        h0, c0 = initial_state(arch, layers, random=random)
        state = h0 if c0 is None else (h0, c0)
        want = naive(step, blocks, P, x, h0, c0)[:3]
        assert_states(model(x, state=state), want, F32)
        assert_states(model.forward_traced(x, state=state)[:2], want, F32)


@pytest.mark.parametrize("arch,alpha", CASES, ids=IDS)
def test_a_near_miss_of_the_equations_does_not_match(arch, alpha):
    """The comparison above can fail: the same weights under one wrong line give other outputs."""
    model = model_for(arch, 2, alpha)
    _, _, (blocks, wrong) = reference(arch, alpha)
    x = torch.randn(N, T, D)
    h0, c0 = initial_state(arch, 2)
    state = h0 if c0 is None else (h0, c0)
    out, h_n, _, _ = naive(wrong, blocks, params(model.rnn), x, h0, c0)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(model(x, state=state)[0], out, **F32)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(model.forward_traced(x, state=state)[1][0], h_n, **F32)


@pytest.mark.parametrize("arch,alpha", CASES, ids=IDS)
def test_gradients_match_the_naive_loop_in_float64(arch, alpha):
    """dL/dW_hh, every other weight (the ESN's fixed ones too), dL/dx and dL/d(h0, c0), on both paths."""
    rec = copy.deepcopy(model_for(arch, 2, alpha).rnn).double()
    weights = dict(rec.state_dict(keep_vars=True))
    for t in weights.values():
        t.requires_grad_()  # the ESN's reservoir is buffers: ask for its gradient anyway
    blocks, step, _ = reference(arch, alpha)
    x = torch.randn(N, T, D, dtype=torch.float64, requires_grad=True)
    h0, c0 = initial_state(arch, 2, torch.float64)
    starts = [s.requires_grad_() for s in (h0, c0) if s is not None]
    w_out = torch.randn(N, T, H, dtype=torch.float64)  # a loss that weighs every output and final state
    w_h, w_c = torch.randn(2, 2, N, H, dtype=torch.float64)

    def loss(out, h_n, c_n):
        return (out * w_out).sum() + (h_n * w_h).sum() + (0 if c_n is None else (c_n * w_c).sum())

    P = params(rec, grad=True)
    out, h_n, c_n, _ = naive(step, blocks, P, x, h0, c0)
    want = torch.autograd.grad(loss(out, h_n, c_n), [x, *starts, *P.values()])
    state = h0 if c0 is None else (h0, c0)
    out, (h_n, c_n) = rec(x, state)
    got = torch.autograd.grad(loss(out, h_n, c_n), [x, *starts, *weights.values()])
    names = ["x", "h0", "c0"][:1 + len(starts)] + list(weights)
    for name, g, w in zip(names, got, want):
        torch.testing.assert_close(g, w, **F64, msg=lambda m, name=name: f"fast d/d{name}: {m}")
    out, (h_n, c_n), _ = rec.forward_traced(x, state)  # starts become leaves of the tape here: not compared
    got = torch.autograd.grad(loss(out, h_n, c_n), [x, *weights.values()])
    for name, g, w in zip(["x"] + list(weights), got, [want[0], *want[1 + len(starts):]]):
        torch.testing.assert_close(g, w, **F64, msg=lambda m, name=name: f"traced d/d{name}: {m}")
    assert "weight_hh_l0" in weights and "weight_hh_l1" in weights


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("arch,alpha", CASES, ids=IDS)
def test_the_probe_records_the_naive_gates_states_and_gradients(arch, alpha, layers):
    model = model_for(arch, layers, alpha)
    blocks, step, _ = reference(arch, alpha)
    x = torch.randn(N, T, D)
    trace = probe(model, x)
    P = params(model.rnn, grad=True)
    xr = x.clone().requires_grad_()
    h0, c0 = initial_state(arch, layers, random=False)
    out, _, _, rec = naive(step, blocks, P, xr, h0, c0)
    recorded = {n.removeprefix("gate.") for n in trace.tensors if n.startswith("gate.")}
    assert recorded == set(rec) - {"h", "c"} == set(SPECS[arch].gates)
    for name, want in rec.items():
        key = name if name in ("h", "c") else f"gate.{name}"
        assert trace[key].shape == (layers, N, T, H)
        torch.testing.assert_close(trace[key], want.detach(), **F32, msg=lambda m, key=key: f"{key}: {m}")
    if arch == "lstm_cifg":  # the derived gate is recorded as itself, not left out or copied from i
        torch.testing.assert_close(trace["gate.f"], 1 - trace["gate.i"], **F32)
    loss = 0.5 * out[:, -1].pow(2).sum(-1).mean()  # trace.default_loss without a head
    g_x, *g_hh = torch.autograd.grad(loss, [xr] + [P[f"weight_hh_l{k}"] for k in range(layers)])
    torch.testing.assert_close(trace["grad.x"], g_x, **F32)
    for k in range(layers):  # each step's share of dL/dW_hh, summed over t, is the whole gradient
        torch.testing.assert_close(weight_grad_share(trace, k).sum(0), g_hh[k], **F32)


def test_a_wrong_gate_record_would_be_caught():
    """The gate comparison can fail too: NOAF's recorded gates do not match LSTM-with-tanh's beyond step 0."""
    model = model_for("lstm_noaf")
    x = torch.randn(N, T, D)
    trace = probe(model, x)
    h0, c0 = initial_state("lstm_noaf", 1, random=False)
    _, _, _, rec = naive(lstm_plain, "ifgo", params(model.rnn), x, h0, c0)
    torch.testing.assert_close(trace["gate.i"][:, :, 0], rec["i"][:, :, 0], **F32)  # same h_0, same first gates
    with pytest.raises(AssertionError):
        torch.testing.assert_close(trace["gate.i"], rec["i"], **F32)
