"""xLSTM's sLSTM and mLSTM (Beck et al. 2024) against the paper's equations written out here without the
stabiliser: exponential input gates exp(ĩ_t) used as they are, in float64, with every gate sliced out of the weights
by hand and the mLSTM's heads looped over one by one. rnnviz's cells carry m_t and store their memories divided
by exp(m_t); the two must give the same outputs and gradients, on both paths (the mLSTM's chunked parallel form
and the traced step loop). A near miss shows each comparison can fail. At length 2048 with large pre-activations
the unstabilised form overflows in float32 while the cells stay finite, and the parallel form equals the loop.
"""
import copy
import json
import math

import pytest
import torch
from torch import exp, sigmoid, tanh

from rnnviz.cells import SPECS
from rnnviz.models import ModelConfig, RNNModel
from rnnviz.trace import probe
from rnnviz.xlstm_cells import MLSTM_CHUNK, MLSTM_HEAD

N, T, D, H = 3, 5, 5, 32
NH = H // MLSTM_HEAD
F32 = dict(rtol=1e-5, atol=1e-5)
F64 = dict(rtol=1e-9, atol=1e-11)


def slstm_naive(P, x, h0, c0, n0, exp_input=True):
    """sLSTM, eqs. 8-17 of the paper without m_t: i = exp(ĩ), f = σ(f̃), c = f c + i z, n = f n + i, h = o c / n.
    exp_input=False is the near miss: an LSTM's sigmoid input gate. Returns (out, h_n, c_n, n_n), true scale."""
    inp, hs, cs, ns = x, [], [], []
    for k in range(h0.shape[0]):
        W, R, b = P[f"weight_ih_l{k}"], P[f"weight_hh_l{k}"], P[f"bias_ih_l{k}"] + P[f"bias_hh_l{k}"]
        H = R.shape[1]
        h, c, n, outs = h0[k], c0[k], n0[k], []
        for t in range(inp.shape[1]):
            def a(j, h=h, t=t):
                rows = slice(j * H, (j + 1) * H)
                return inp[:, t] @ W[rows].T + h @ R[rows].T + b[rows]

            i = exp(a(0)) if exp_input else sigmoid(a(0))
            f, z, o = sigmoid(a(1)), tanh(a(2)), sigmoid(a(3))
            c, n = f * c + i * z, f * n + i
            h = o * c / n
            outs.append(h)
        inp = torch.stack(outs, 1)
        hs, cs, ns = hs + [h], cs + [c], ns + [n]
    return inp, torch.stack(hs), torch.stack(cs), torch.stack(ns)


def mlstm_naive(P, x, C0, n0, scale_k=True):
    """mLSTM, eqs. 19-27 without m_t, head by head: C = f C + i v kᵀ, n = f n + i k, h̃ = C q / max(|nᵀq|, 1),
    y = σ(õ) ⊙ h̃, i = exp(ĩ), f = σ(f̃). scale_k=False is the near miss: k not divided by √d.
    C0 (L, N, NH, d, d) and n0 (L, N, NH, d) in true scale. Returns (out, C_n, n_n)."""
    d, inp, Cs, ns = MLSTM_HEAD, x, [], []
    for k in range(C0.shape[0]):
        W, b = P[f"weight_ih_l{k}"], P[f"bias_ih_l{k}"]
        lin = lambda r0, r1, t, W=W, b=b: inp[:, t] @ W[r0:r1].T + b[r0:r1]  # noqa: E731
        C, n, outs = list(C0[k].unbind(1)), list(n0[k].unbind(1)), []
        for t in range(inp.shape[1]):
            o, y = sigmoid(lin(3 * H, 4 * H, t)), []
            for j in range(NH):
                q = lin(j * d, (j + 1) * d, t)
                kk = lin(H + j * d, H + (j + 1) * d, t) / (math.sqrt(d) if scale_k else 1.0)
                v = lin(2 * H + j * d, 2 * H + (j + 1) * d, t)
                i = exp(lin(4 * H + j, 4 * H + j + 1, t))  # (N, 1)
                f = sigmoid(lin(4 * H + NH + j, 4 * H + NH + j + 1, t))
                C[j] = f[:, :, None] * C[j] + i[:, :, None] * torch.einsum("bv,bk->bvk", v, kk)
                n[j] = f * n[j] + i * kk
                den = (n[j] * q).sum(-1, keepdim=True).abs().clamp_min(1.0)
                y.append(torch.einsum("bvk,bk->bv", C[j], q) / den)
            outs.append(o * torch.cat(y, -1))
        inp = torch.stack(outs, 1)
        Cs, ns = Cs + [torch.stack(C, 1)], ns + [torch.stack(n, 1)]
    return inp, torch.stack(Cs), torch.stack(ns)


def model_for(arch, layers=1, hidden=H):
    return RNNModel(ModelConfig(arch=arch, input_size=D, hidden_size=hidden, num_layers=layers))


def params(rec, grad=False):
    return {n: t.detach().clone().requires_grad_(grad) for n, t in rec.state_dict().items()}


def slstm_state(layers, dtype=torch.float32):
    """A non-zero starting state in true scale and as the cell packs it, [c, n, m] with m_0 ≠ 0."""
    h0, c0 = torch.randn(layers, N, H, dtype=dtype), torch.randn(layers, N, H, dtype=dtype)
    n0, m0 = 1 + torch.rand(layers, N, H, dtype=dtype), torch.randn(layers, N, H, dtype=dtype)
    return (h0, c0, n0), (h0, torch.cat([c0 * exp(-m0), n0 * exp(-m0), m0], -1))


def mlstm_state(layers, dtype=torch.float32):
    """The same for the mLSTM: C_0, n_0 true; the cell's h slot C_0 e^(−m_0), its c slot [n_0 e^(−m_0), m_0 per
    channel]."""
    C0, n0 = torch.randn(layers, N, NH, MLSTM_HEAD, MLSTM_HEAD, dtype=dtype), torch.randn(layers, N, NH, MLSTM_HEAD,
                                                                                             dtype=dtype)
    m0 = torch.randn(layers, N, NH, dtype=dtype)
    packed = (C0 * exp(-m0)[..., None, None]).flatten(2), torch.cat(
        [(n0 * exp(-m0)[..., None]).flatten(2), m0.repeat_interleave(MLSTM_HEAD, -1)], -1)
    return (C0, n0), packed


def test_the_xlstm_cells_are_listed_with_their_state_and_weights():
    s, m = SPECS["slstm"], SPECS["mlstm"]
    assert s.has_w_hh and s.has_cell and s.carried == ("c", "n", "m") and not s.parallel
    assert not m.has_w_hh and not m.has_cell and m.parallel and m.reads_out and m.transition == "diagonal"
    rnn = model_for("mlstm", 2).rnn
    assert {n: tuple(t.shape) for n, t in rnn.named_parameters()} == {
        "weight_ih_l0": (4 * H + 2 * NH, D), "bias_ih_l0": (4 * H + 2 * NH,),
        "weight_ih_l1": (4 * H + 2 * NH, H), "bias_ih_l1": (4 * H + 2 * NH,)}
    assert m.block_rows("f", H) == slice(4 * H + NH, 4 * H + 2 * NH) and rnn.state_size == H * MLSTM_HEAD
    with pytest.raises(ValueError, match="mLSTM.s hidden size 24 must be a multiple of 16"):
        model_for("mlstm", hidden=24)


@pytest.mark.parametrize("layers", [1, 2])
def test_the_slstm_matches_the_unstabilised_equations_on_every_path(layers):
    model = model_for("slstm", layers)
    x, P = torch.randn(N, T, D), params(model.rnn)
    zeros = torch.zeros(layers, N, H)
    for true, packed in (((zeros, zeros, zeros), None), slstm_state(layers)):
        out, h_n, c_n, n_n = slstm_naive(P, x, *true)
        for got_out, (got_h, got_c) in (model(x, state=packed), model.forward_traced(x, state=packed)[:2]):
            torch.testing.assert_close(got_out, out, **F32)
            torch.testing.assert_close(got_h, h_n, **F32)
            c, n, m = got_c.chunk(3, -1)
            torch.testing.assert_close(c * exp(m), c_n, **F32)  # the stored cell is c_t / exp(m_t)
            torch.testing.assert_close(n * exp(m), n_n, **F32)
        miss = slstm_naive(P, x, *true, exp_input=False)[0]
        with pytest.raises(AssertionError):
            torch.testing.assert_close(model(x, state=packed)[0], miss, **F32)


@pytest.mark.parametrize("layers", [1, 2])
def test_the_mlstm_matches_the_unstabilised_equations_on_both_paths(layers):
    model = model_for("mlstm", layers)
    x, P = torch.randn(N, T, D), params(model.rnn)
    zeros = (torch.zeros(layers, N, NH, MLSTM_HEAD, MLSTM_HEAD), torch.zeros(layers, N, NH, MLSTM_HEAD))
    for true, packed in ((zeros, None), mlstm_state(layers)):
        out, C_n, n_n = mlstm_naive(P, x, *true)
        for got_out, (got_h, got_c) in (model(x, state=packed), model.forward_traced(x, state=packed)[:2]):
            torch.testing.assert_close(got_out, out, **F32)
            m = got_c[..., H::MLSTM_HEAD]
            torch.testing.assert_close(got_h.unflatten(-1, (NH, MLSTM_HEAD, MLSTM_HEAD)) * exp(m)[..., None, None],
                                       C_n, **F32)
            torch.testing.assert_close(got_c[..., :H].unflatten(-1, (NH, MLSTM_HEAD)) * exp(m)[..., None], n_n, **F32)
        miss = mlstm_naive(P, x, *true, scale_k=False)[0]
        with pytest.raises(AssertionError):
            torch.testing.assert_close(model(x, state=packed)[0], miss, **F32)


@pytest.mark.parametrize("arch", ["slstm", "mlstm"])
def test_gradients_of_every_path_match_the_unstabilised_equations_in_float64(arch):
    rec = copy.deepcopy(model_for(arch, 2).rnn).double()
    weights = dict(rec.named_parameters())
    x = torch.randn(N, T, D, dtype=torch.float64, requires_grad=True)
    w_out = torch.randn(N, T, H, dtype=torch.float64)
    true, packed = (slstm_state if arch == "slstm" else mlstm_state)(2, torch.float64)
    P = params(rec, grad=True)
    out = (slstm_naive if arch == "slstm" else mlstm_naive)(P, x, *true)[0]
    want = torch.autograd.grad((out * w_out).sum(), [x, *P.values()])
    paths = {"traced": lambda: rec.forward_traced(x, packed)[0]}
    paths["parallel" if arch == "mlstm" else "fast"] = lambda: rec(x, packed)[0]
    for path, run in paths.items():
        got = torch.autograd.grad((run() * w_out).sum(), [x, *weights.values()])
        for name, g, w in zip(["x", *weights], got, want):
            torch.testing.assert_close(g, w, **F64, msg=lambda m, name=name, path=path: f"{path} d/d{name}: {m}")


@pytest.mark.parametrize("arch", ["slstm", "mlstm"])
def test_at_length_2048_the_stabiliser_keeps_large_exponential_gates_finite(arch):
    """Input weights 40 times their initial size and an input-gate bias of 100: exp(ĩ) overflows float32 (above
    e^88.7), so the unstabilised equations give inf or nan here, while the cell's outputs and gradients stay finite
    (the sLSTM's R is left as initialised: a large R makes gradients explode through 2048 steps in any LSTM, which
    is not what this checks); the mLSTM's chunked parallel form equals its step loop across 2048 / 32 chunks (at its
    initial weights' scale)."""
    torch.manual_seed(0)
    hidden = H if arch == "mlstm" else 8  # the mLSTM's smallest is one head of 16
    model = model_for(arch, hidden=hidden)
    with torch.no_grad():
        model.rnn.weight_ih_l0.mul_(40.0)
        model.rnn.bias_ih_l0.mul_(40.0)
        model.rnn.bias_ih_l0[SPECS[arch].block_rows("i", hidden)] = 100.0
    x = torch.randn(2, 2048, D)
    naive_out = (slstm_naive(params(model.rnn), x, *[torch.zeros(1, 2, hidden)] * 3) if arch == "slstm" else
                 mlstm_naive(params(model.rnn), x[:, :300], torch.zeros(1, 2, NH, MLSTM_HEAD, MLSTM_HEAD),
                             torch.zeros(1, 2, NH, MLSTM_HEAD)))[0]
    assert not torch.isfinite(naive_out).all()  # the inputs do reach the range where exp overflows
    xr = x.clone().requires_grad_()
    out, (h_n, c_n) = model(xr)
    assert torch.isfinite(out).all() and torch.isfinite(h_n).all() and torch.isfinite(c_n).all()
    (g,) = torch.autograd.grad(out.pow(2).mean(), [xr])
    assert torch.isfinite(g).all() and g.abs().max() > 0
    if arch == "mlstm":  # ĩ = 120 puts exp(−m_t) below float32's range; with q_t = 0 the read was 0/0 = nan
        with torch.no_grad():
            model.rnn.bias_ih_l0[SPECS[arch].block_rows("i", hidden)] = 120.0
            model.rnn.weight_ih_l0[:H], model.rnn.bias_ih_l0[:H] = 0.0, 0.0
        for scan in (True, False):
            assert torch.isfinite(model.rnn(x[:, :100], scan=scan)[0]).all()
    if arch == "mlstm":  # at the initial weights' scale (the scaled ones make C_t q_t / n_tᵀq_t ill-conditioned)
        model, xs = model_for(arch), x[:, :, :D] * 0.5
        assert xs.shape[1] > 4 * MLSTM_CHUNK
        torch.testing.assert_close(model.rnn(xs)[0], model.rnn(xs, scan=False)[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("arch", ["slstm", "mlstm"])
def test_the_probe_records_the_gates_the_stabiliser_and_the_exact_jacobian(arch, monkeypatch):
    from rnnviz.analysis import diagonal_jacobian_by_lag, jacobian_by_lag

    monkeypatch.setattr("rnnviz.jacobian.EXACT_MAX_HIDDEN", H * MLSTM_HEAD)  # the mLSTM's 512: exact, not estimated
    model = model_for(arch, 2)
    trace = probe(model, torch.randn(N, 8, D))
    assert {n.removeprefix("gate.") for n in trace.tensors if n.startswith("gate.")} == set(SPECS[arch].gates)
    # f as it is, σ(f̃); i divided by the stabiliser, exp(ĩ − m) in (0, 1], 1 wherever ĩ_t set m_t
    torch.testing.assert_close(trace["gate.f"], torch.sigmoid(trace["preact.f"]), **F32)
    torch.testing.assert_close(trace["gate.i"], torch.exp(trace["preact.i"] - trace["m"]), **F32)
    assert 0 < trace["gate.i"].min() and trace["gate.i"].max() <= 1.0 and (trace["gate.i"] == 1).any()
    if arch == "slstm":  # m_0 = −∞: at the first step the input is written whole
        assert trace["gate.i"][:, :, 0].min() == 1
    from rnnviz.plots.graph import unrolled_figure

    said = unrolled_figure(trace, "many-to-one").layout.title.subtitle.text
    assert ("W<sub>hh</sub>" in said) == (arch == "slstm")  # the graph names W_hh only where the cell has one
    if arch == "slstm":
        from rnnviz.plots.gates import cell_state_figure, cell_vs_hidden, stabiliser_figure
        from rnnviz.analysis import unrolled_graph
        from rnnviz.plots.hidden import state_heatmap

        assert trace["n"].min() >= 1.0 - 1e-6  # the normaliser: m_0 = −∞ makes n_1 = 1, and n never shrinks below
        torch.testing.assert_close(trace["h"], trace["gate.o"] * trace["c"] / trace["n"], **F32)
        assert "grad.c" in trace and "dW_hh.norm" in trace
        # the Gates page draws c / n, the memory as h reads it (in [−1, 1]), not the rescaled stored c, and the
        # reference h = c / n, not an LSTM's tanh; the stabiliser as recorded; older snapshots keep all three
        cell = cell_state_figure(trace, [2], layer=1, sample=1)
        torch.testing.assert_close(torch.tensor(cell.data[0].y), (trace["c"] / trace["n"])[1, 1, :, 2], **F32)
        assert (trace["c"] / trace["n"]).abs().max() <= 1 + 1e-6
        assert [t.name for t in cell_vs_hidden(trace).data][1] == "h = c / n (o = 1)"
        torch.testing.assert_close(torch.tensor(stabiliser_figure(trace, 1, 1).data[0].z), trace["m"][1, 1].T, **F32)
        assert {"c", "n", "m"} <= set(trace.snapshot().tensors)
        assert state_heatmap(trace, "c").layout.title.text.startswith("Stored cell state")  # not the LSTM's c_t
        graph = unrolled_graph(trace, "many-to-one").nodes.set_index("id")
        assert "exp(−m<sub>t</sub>) as stored" in graph.loc["c0@3", "hover"]
    else:  # ∂C_t/∂C_(t−1) = f′_t I per head: the law from the decays is the measured Jacobian
        from rnnviz.plots.spectra import decay_figure, kept_figure

        fig = decay_figure(trace)
        said = fig.layout.title.subtitle.text.replace("<br >", " ")
        assert "What it keeps is its forget gate" in said and "in (0, 1]" in said  # f′ is exactly 1 where m_t is
        # carried on; rows are the memory's entries, not "units 0–255" of a 16-unit model
        assert fig.layout.yaxis.title.text == "state entry" and fig.data[0].y[0] == "entry 0"
        assert f"Rows: the state's {H * MLSTM_HEAD} entries ({MLSTM_HEAD} per unit), as stored." in said
        torch.testing.assert_close(torch.tensor(kept_figure(trace, 1, 1).data[0].z), trace["gate.f"][1, 1].T, **F32)
        assert trace["h"].shape[-1] == H * MLSTM_HEAD and trace["decay"].shape == trace["h"].shape
        for layer in (0, 1):
            torch.testing.assert_close(torch.from_numpy(diagonal_jacobian_by_lag(trace, layer).norm),
                                       torch.from_numpy(jacobian_by_lag(trace, layer).norm), **F32)


@pytest.mark.parametrize("arch", ["slstm", "mlstm"])
def test_the_regulariser_forget_bias_and_ablation_reach_the_right_rows(arch):
    from rnnviz.analysis import ablated, with_forget_bias, with_forget_clamped
    from rnnviz.penalties import pascanu_penalty

    model = RNNModel(ModelConfig(arch=arch, input_size=D, hidden_size=H, output_size=2))
    out, _, tapes, _ = model.forward_traced(torch.randn(N, 8, D))
    loss = out[:, -1].pow(2).sum()
    omega = pascanu_penalty(model.rnn, tapes[""], loss)
    assert omega.requires_grad and float(omega.detach()) > 0
    rows = SPECS[arch].block_rows("f", H)
    biased = with_forget_bias(model, 3.0).rnn.bias_ih_l0
    assert torch.equal(biased[rows], torch.full((rows.stop - rows.start,), 3.0))
    assert torch.equal(biased[:rows.start], model.rnn.bias_ih_l0[:rows.start])
    f = probe(with_forget_clamped(model), torch.randn(N, 8, D))["gate.f"]
    assert f.min() > 0.99  # σ(30): the forget gate held open
    x = torch.randn(N, T, D)
    cut = ablated(model, 2)
    for y in (cut.rnn(x)[0], cut.rnn.forward_traced(x)[0]):
        assert y[..., 2].abs().max() == 0 and y[..., 1].abs().max() > 0


@pytest.mark.parametrize("arch", ["slstm", "mlstm"])
def test_an_xlstm_cell_saves_loads_and_is_listed(arch, tmp_path, capsys):
    from rnnviz.checkpoints import load_checkpoint, save_checkpoint
    from rnnviz.cli import main

    model = model_for(arch, 2).eval()
    path = tmp_path / f"{arch}.safetensors"
    save_checkpoint(path, model, traces=[probe(model, torch.randn(2, T, D))])
    loaded = load_checkpoint(str(path))
    x = torch.randn(N, T, D)
    torch.testing.assert_close(loaded.model(x)[0], model(x)[0], **F32)
    assert main(["list", "--json"]) == 0
    listed = {c["name"]: c for c in json.loads(capsys.readouterr().out)["archs"]}
    assert listed[arch]["family"] == arch and listed[arch]["gates"] == list(SPECS[arch].gates)


def test_the_default_initialisation_is_nx_ai_xlstms_for_the_mlstm_and_torchs_for_the_slstm():
    from rnnviz.init import InitConfig, apply_init

    for reinit in (False, True):  # as built, and through apply_init("default") with a generator
        s, m = model_for("slstm", hidden=16).rnn, model_for("mlstm", 2, hidden=48).rnn
        if reinit:
            for rnn in (s, m):
                apply_init(rnn, InitConfig("default"), torch.Generator().manual_seed(3))
        for t in s.parameters():  # torch's uniform ±1/√H, W_hh included
            assert 0.15 < t.abs().max() <= 0.25
        i, f = SPECS["mlstm"].block_rows("i", 48), SPECS["mlstm"].block_rows("f", 48)
        assert f.stop - f.start == 3  # one per head of 16
        for k in (0, 1):
            w, b = getattr(m, f"weight_ih_l{k}"), getattr(m, f"bias_ih_l{k}")
            torch.testing.assert_close(b[f], torch.tensor([3.0, 4.5, 6.0]))
            assert w[i.start:f.stop].abs().max() == 0 and 0 < b[i].abs().max() < 0.5
            assert w[:i.start].abs().max() > 0  # q, k, v, o keep torch's uniform


def test_the_view_pages_open_on_xlstm_cells_and_offer_the_edits_that_apply():
    """The sLSTM on the pages its cell state and W_hh change, the mLSTM on those its matrix memory and parallel
    form change (every view page of both opens: checked by hand; this keeps the suite short)."""
    from test_app import views_of_untrained

    edits = {"slstm": ["Scale W_hh", "Set the forget-gate bias", "Clamp the forget gate to 1", "Ablate one unit"],
             "mlstm": ["Set the forget-gate bias", "Clamp the forget gate to 1", "Ablate one unit"]}
    for arch, views in (("slstm", ["gates", "gradients"]), ("mlstm", ["gradients", "graph", "checkpoints"])):
        for path, at, titles in views_of_untrained(arch, 16, views, embed=D):
            if path == "gates":  # the sLSTM's cell state, its exponential input gate named as such, its stabiliser
                assert "Cell state c<sub>t</sub>" in titles or "cell state" in titles.lower()
                assert "The stabiliser m<sub>t</sub>" in titles
                assert any("exponential" in md.value for md in at.markdown)
            if path == "gradients":
                assert at.radio(key="whatif.kind").options == edits[arch]
                if arch == "mlstm":  # its unit u is value channel u: rows 16u to 16u + 15 of the memory's heat map
                    at.radio(key="whatif.kind").set_value("ablate").run()
                    assert "rows 16·u to 16·u + 15" in at.number_input(key="whatif.unit").help
                shown = ["Eigenvalues of W<sub>hh</sub>"] if arch == "slstm" else ["Decay a<sub>t</sub>",
                                                                                  "What the mLSTM keeps"]
                assert all(t in titles for t in shown)
            if path == "graph":
                assert "Step by step and as one scan" in titles
            if path == "checkpoints":  # W_ih split into its blocks, the per-head gates one row per head
                assert "W<sub>ih</sub>, split by gate block" in titles
                assert any("has no W_hh" in c.value for c in at.caption)

