"""The trace against independent references: torch.nn cells with perturbation slots, autograd, jacobian()."""
import pytest
import torch
from torch import nn

from rnnviz.build import build_model
from rnnviz.models import ModelConfig
from rnnviz.trace import probe, weight_grad_share

N, T, D, H, O = 3, 4, 5, 6, 3
CELLS = {"rnn_tanh": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}


def model_and_data(arch, layers=2):
    m = build_model(ModelConfig(arch=arch, input_size=D, hidden_size=H, num_layers=layers, output_size=O))
    x, y = torch.randn(N, T, D), torch.randn(N, T, O)
    return m, x, y


def mse(out, y):
    return (out - y).pow(2).mean()


def reference_grads(m, x, y, arch):
    """dL/dh_t by adding a zero 'slot' to every hidden state in a loop of torch.nn cells."""
    L = m.cfg.num_layers
    cells = []
    for k in range(L):
        cell = CELLS[arch](D if k == 0 else H, H)
        cell.load_state_dict({n: getattr(m.rnn, f"{n}_l{k}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
        cells.append(cell)
    dh = torch.zeros(L, N, T, H, requires_grad=True)
    h = [torch.zeros(N, H) for _ in range(L)]
    c = [torch.zeros(N, H) for _ in range(L)]
    outs = []
    for t in range(T):
        inp = x[:, t]
        for k, cell in enumerate(cells):
            if arch == "lstm":
                h[k], c[k] = cell(inp, (h[k], c[k]))
            else:
                h[k] = cell(inp, h[k])
            h[k] = h[k] + dh[k, :, t]
            inp = h[k]
        outs.append(m.head(inp))
    loss = mse(torch.stack(outs, 1), y)
    return torch.autograd.grad(loss, dh)[0], loss.detach()


@pytest.mark.parametrize("arch", list(CELLS))
def test_total_gradients_through_time(arch):
    m, x, y = model_and_data(arch)
    trace = probe(m, x, y, mse)
    gh, loss = reference_grads(m, x, y, arch)
    assert trace.meta["loss"] == pytest.approx(float(loss), abs=1e-6)
    torch.testing.assert_close(trace["grad.h"], gh, atol=1e-6, rtol=1e-5)
    if arch == "lstm":  # BPTT through the cell: dL/dc_t = dL/dh_t o_t (1 - tanh² c_t) + dL/dc_{t+1} f_{t+1}
        c, o, f = trace["c"], trace["gate.o"], trace["gate.f"]
        later = torch.cat([(trace["grad.c"] * f)[:, :, 1:], torch.zeros_like(c[:, :, :1])], 2)
        expected = gh * o * (1 - torch.tanh(c) ** 2) + later
        torch.testing.assert_close(trace["grad.c"], expected, atol=1e-6, rtol=1e-5)
    # total, not direct: early steps get gradient only through later ones, and it is not zero
    assert trace["grad.h"][0, :, 0].abs().sum() > 0


@pytest.mark.parametrize("arch", ["rnn_tanh", "lstm", "gru"])
def test_jacobian_norms_against_autograd_jacobian(arch):
    m, x, _ = model_and_data(arch, layers=1)
    trace = probe(m, x)
    cell = CELLS[arch](D, H)
    cell.load_state_dict({n: getattr(m.rnn, f"{n}_l0") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
    h_all, c_all = trace["h"][0, 0], (trace["c"][0, 0] if arch == "lstm" else None)
    for t in range(T - 1):
        def f(h_t):
            h, c = h_t.unsqueeze(0), (c_all[t].unsqueeze(0) if c_all is not None else None)
            for s in range(t + 1, T):
                if arch == "lstm":
                    h, c = cell(x[:1, s], (h, c))
                else:
                    h = cell(x[:1, s], h)
            return h.squeeze(0)
        J = torch.autograd.functional.jacobian(f, h_all[t])
        assert float(trace["jacobian"][0, t]) == pytest.approx(float(J.norm()), rel=1e-4)
    assert float(trace["jacobian"][0, T - 1]) == pytest.approx(H ** 0.5)
    assert trace.meta["jacobian"][""] == "exact"


@pytest.mark.parametrize("arch", ["rnn_tanh", "lstm", "gru", "lstm_peephole", "esn", "gru_reset_before"])
def test_weight_gradient_is_the_sum_over_steps(arch):
    m, x, y = model_and_data(arch)
    trace = probe(m, x, y, mse)
    for k in range(2):
        shares = weight_grad_share(trace, layer=k)
        assert shares.shape == (T, m.rnn.spec.num_blocks * H, H)
        w = getattr(m.rnn, f"weight_hh_l{k}")
        if w.requires_grad:
            full = torch.autograd.grad(mse(m(x)[0], y), w)[0]
            torch.testing.assert_close(shares.sum(0), full, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(trace["dW_hh.norm"][k], shares.flatten(1).norm(dim=1), atol=1e-6, rtol=1e-4)


def test_probe_leaves_parameters_alone():
    m, x, y = model_and_data("lstm")
    m.train()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    probe(m, x, y, mse)
    assert m.training
    assert all(p.grad is None for p in m.parameters())
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())


@pytest.mark.parametrize("arch", ["lstm", "gru", "lstm_cifg", "lstm_nog", "rnn_relu", "esn"])
def test_gates_in_range_and_shapes(arch):
    m, x, y = model_and_data(arch)
    trace = probe(m, x, y, mse)
    for g in m.spec.gates:
        a = trace[f"gate.{g}"]
        assert a.shape == (2, N, T, H)
        lo, hi = (-1, 1) if g in "gn" else (0, 1)
        assert float(a.min()) >= lo and float(a.max()) <= hi
        assert all(t.dtype == torch.float32 for t in trace.tensors.values())
    if arch == "lstm_cifg":
        torch.testing.assert_close(trace["gate.f"], 1 - trace["gate.i"])


def test_frame_is_long_form():
    m, x, y = model_and_data("gru", layers=2)
    trace = probe(m, x, y, mse)
    df = trace.frame("gate.z")
    assert list(df.columns) == ["step", "layer", "unit", "quantity", "value", "sample"]
    assert len(df) == 2 * N * T * H
    row = df[(df.layer == 1) & (df["sample"] == 2) & (df.step == 3) & (df.unit == 4)]
    assert float(row.value.iloc[0]) == pytest.approx(float(trace["gate.z"][1, 2, 3, 4]))
    one = trace.frame("h", sample=0)
    assert "sample" not in one and len(one) == 2 * T * H
    assert set(trace.frame("jacobian").columns) == {"step", "layer", "unit", "quantity", "value"}


@pytest.mark.parametrize("attention", ["none", "additive", "dot"])
def test_seq2seq_trace(attention):
    cfg = ModelConfig(arch="gru", vocab_size=7, hidden_size=H, output_size=5, seq2seq=True, attention=attention,
                      num_layers=2)
    m = build_model(cfg)
    x, y = torch.randint(0, 7, (N, 6)), torch.randint(0, 5, (N, 4))
    y[0, -1] = -100  # padding is ignored
    ce = lambda out, y: nn.functional.cross_entropy(out.reshape(-1, 5), y.reshape(-1))  # noqa: E731
    trace = probe(m, x, y, ce)
    assert trace["enc.h"].shape == (2, N, 6, H) and trace["dec.h"].shape == (2, N, 4, H)
    assert trace["output"].shape == (N, 4, 5)
    torch.testing.assert_close(trace["output"], m(x, y)[0].detach(), atol=1e-5, rtol=0)
    if attention == "none":
        assert "attention" not in trace
    else:
        a = trace["attention"]
        assert a.shape == (N, 4, 6)
        torch.testing.assert_close(a.sum(-1), torch.ones(N, 4))
    assert trace["enc.grad.h"][:, :, 0].abs().sum() > 0  # the decoder's loss reaches the first source step


@pytest.mark.parametrize("arch", ["rnn_tanh", "lstm", "gru", "mingru", "lru", "s6", "mamba", "slstm", "mlstm"])
def test_grad_h_is_the_total_derivative_a_finite_difference_measures(arch, monkeypatch):
    """grad.h[t] is dL/dh_t through every path, the layer's own output y_t included (S6 and the mLSTM read y_t from
    h_t: the trace once missed that path and showed 0 at a many-to-one task's last step). Checked against a
    central difference in float64: h_t is nudged by ±ε·v inside the loop and the loss measured again."""
    import rnnviz.stack as stack
    from rnnviz.cells import READOUTS

    hidden = 16 if arch == "mlstm" else H
    m = build_model(ModelConfig(arch=arch, input_size=D, hidden_size=hidden, num_layers=2, output_size=O)).double()
    x, y = torch.randn(N, T, D, dtype=torch.float64), torch.randn(N, T, O, dtype=torch.float64)
    trace = probe(m, x, y, mse, jacobian=False)
    real = stack.step_fn
    for layer, t in ((1, T - 1), (0, 1)):
        v = torch.randn(trace["h"].shape[1], trace["h"].shape[-1], dtype=torch.float64)
        calls = {"n": 0}

        def nudged(eps):
            def fn(spec):
                step = real(spec)

                def wrapped(gx, h, c, w, spec):
                    k, s = divmod(calls["n"], T)
                    calls["n"] += 1
                    h, c, rec = step(gx, h, c, w, spec)
                    if (k, s) == (layer, t):
                        h = h + eps * v
                        if spec.reads_out:  # y_t read from the nudged state, as the step reads it
                            rec = rec | READOUTS[spec.family](gx, h, c, w)
                    return h, c, rec
                return wrapped
            return fn

        def loss(eps):
            calls["n"] = 0
            monkeypatch.setattr(stack, "step_fn", nudged(eps))
            out = m.forward_traced(x)[0]
            monkeypatch.setattr(stack, "step_fn", real)
            return float(mse(out, y).detach())

        eps = 1e-6
        fd = (loss(eps) - loss(-eps)) / (2 * eps)
        got = float((trace["grad.h"][layer, :, t].double() * v).sum())
        assert got == pytest.approx(fd, rel=1e-4, abs=1e-7), f"layer {layer}, step {t}"
        assert trace["grad.h"][layer, :, t].abs().max() > 0
