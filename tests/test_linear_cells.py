"""minGRU and minLSTM against a naive loop of the paper's equations, and the parallel scan against the step loop.

"Were RNNs All We Needed?" (Feng et al. 2024), written out here with tiny sizes and nothing of rnnviz's own
steps: each gate sliced out of W_ih by hand, minLSTM's gates normalised by dividing (the cell uses a log-space
form). Checked: the fast forward (the scan) and the traced forward, their float64 gradients, what a probe
records (gates, dL/dx, the exact Jacobian diag(a_t)), and the scan alone at lengths up to 2048. A near miss
(torch's GRU convention for z) shows each comparison can fail.
"""
import copy
import json
import re

import pytest
import torch
from torch import sigmoid

from rnnviz.cells import SPECS
from rnnviz.models import ModelConfig, RNNModel
from rnnviz.scan import associative_scan, log_scan
from rnnviz.trace import probe
from rnnviz.ui.chart import figures

N, T, D, H = 3, 4, 5, 6
F32 = dict(rtol=1e-5, atol=1e-6)
F64 = dict(rtol=1e-9, atol=1e-12)


def mingru(a, h):  # h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t, z and h̃ of x_t only
    z, n = sigmoid(a("z")), a("n")
    return (1 - z) * h + z * n, dict(z=z, n=n)


def mingru_gru_convention(a, h):  # the near miss: z keeps h_{t−1}, as in torch's GRU
    z, n = sigmoid(a("z")), a("n")
    return z * h + (1 - z) * n, dict(z=z, n=n)


def minlstm(a, h):  # f′ = f / (f + i), i′ = i / (f + i), h_t = f′ ⊙ h_{t−1} + i′ ⊙ h̃_t
    f, i, n = sigmoid(a("f")), sigmoid(a("i")), a("n")
    fn, i_n = f / (f + i), i / (f + i)
    return fn * h + i_n * n, dict(f=fn, i=i_n, n=n)


def minlstm_unnormalised(a, h):  # the near miss: f and i used as they are
    f, i, n = sigmoid(a("f")), sigmoid(a("i")), a("n")
    return f * h + i * n, dict(f=f, i=i, n=n)


REFS = {"mingru": ("zn", mingru, mingru_gru_convention), "minlstm": ("fin", minlstm, minlstm_unnormalised)}


def naive(step, blocks, P, x, h0):
    """The stack over time: layer k reads layer k−1's h; returns (out, h_n, {name: (L, N, T, H)})."""
    L = h0.shape[0]
    h = list(h0)
    rec = [[] for _ in range(L)]
    outs = []
    for t in range(x.shape[1]):
        inp = x[:, t]
        for k in range(L):
            W, b = P[f"weight_ih_l{k}"], P[f"bias_ih_l{k}"]

            def a(gate, inp=inp, W=W, b=b):
                j = blocks.index(gate) * H
                return inp @ W[j:j + H].T + b[j:j + H]

            h[k], gates = step(a, h[k])
            rec[k].append(dict(gates, h=h[k]))
            inp = h[k]
        outs.append(inp)
    stacked = {n: torch.stack([torch.stack([r[n] for r in steps], 1) for steps in rec]) for n in rec[0][0]}
    return torch.stack(outs, 1), torch.stack(h), stacked


def model_for(arch, layers=1):
    return RNNModel(ModelConfig(arch=arch, input_size=D, hidden_size=H, num_layers=layers))


def params(rec, grad=False):
    return {n: t.detach().clone().requires_grad_(grad) for n, t in rec.state_dict().items()}


def test_every_linear_cell_has_a_reference_here_and_no_w_hh():
    linear = {a for a, s in SPECS.items() if not s.has_w_hh}
    assert linear == set(REFS) | {"lru", "s6", "mamba", "mlstm"}  # test_state_space_cells.py, test_xlstm_cells.py
    for arch, (blocks, _, _) in REFS.items():
        spec = SPECS[arch]
        assert spec.blocks == tuple(blocks) and spec.transition == "diagonal" and spec.parallel
        assert not spec.input_act  # the candidate n is linear: the Gates heatmap does not clip it to [−1, 1]
        names = [n for n, _ in model_for(arch, 2).rnn.named_parameters()]
        assert names == ["weight_ih_l0", "bias_ih_l0", "weight_ih_l1", "bias_ih_l1"]


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("arch", list(REFS))
def test_the_scan_and_the_traced_loop_match_the_naive_loop(arch, layers):
    model = model_for(arch, layers)
    blocks, step, wrong = REFS[arch]
    x = torch.randn(N, T, D)
    P = params(model.rnn)
    for h0 in (torch.zeros(layers, N, H), torch.randn(layers, N, H)):
        out, h_n, _ = naive(step, blocks, P, x, h0)
        for got_out, (got_h, got_c) in (model(x, state=h0), model.forward_traced(x, state=h0)[:2]):
            torch.testing.assert_close(got_out, out, **F32)
            torch.testing.assert_close(got_h, h_n, **F32)
            assert got_c is None
        miss, _, _ = naive(wrong, blocks, P, x, h0)
        with pytest.raises(AssertionError):
            torch.testing.assert_close(model(x, state=h0)[0], miss, **F32)


@pytest.mark.parametrize("arch", list(REFS))
def test_gradients_of_both_paths_match_the_naive_loop_in_float64(arch):
    rec = copy.deepcopy(model_for(arch, 2).rnn).double()
    weights = dict(rec.named_parameters())
    blocks, step, _ = REFS[arch]
    x = torch.randn(N, T, D, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, N, H, dtype=torch.float64, requires_grad=True)
    w_out, w_h = torch.randn(N, T, H, dtype=torch.float64), torch.randn(2, N, H, dtype=torch.float64)
    P = params(rec, grad=True)
    out, h_n, _ = naive(step, blocks, P, x, h0)
    want = torch.autograd.grad((out * w_out).sum() + (h_n * w_h).sum(), [x, h0, *P.values()])
    out, (h_n, _) = rec(x, h0)
    got = torch.autograd.grad((out * w_out).sum() + (h_n * w_h).sum(), [x, h0, *weights.values()])
    for name, g, w in zip(["x", "h0", *weights], got, want):
        torch.testing.assert_close(g, w, **F64, msg=lambda m, name=name: f"scan d/d{name}: {m}")
    out, (h_n, _), _ = rec.forward_traced(x, h0)
    got = torch.autograd.grad((out * w_out).sum() + (h_n * w_h).sum(), [x, *weights.values()])
    for name, g, w in zip(["x", *weights], got, [want[0], *want[2:]]):
        torch.testing.assert_close(g, w, **F64, msg=lambda m, name=name: f"traced d/d{name}: {m}")


@pytest.mark.parametrize("arch", list(REFS))
def test_the_probe_records_the_papers_gates_and_the_exact_jacobian(arch):
    model = model_for(arch, 2)
    blocks, step, _ = REFS[arch]
    x = torch.randn(N, T, D)
    trace = probe(model, x)
    P = params(model.rnn, grad=True)
    xr = x.clone().requires_grad_()
    out, _, rec = naive(step, blocks, P, xr, torch.zeros(2, N, H))
    assert {n.removeprefix("gate.") for n in trace.tensors if n.startswith("gate.")} == set(SPECS[arch].gates)
    for name, want in rec.items():
        key = name if name == "h" else f"gate.{name}"
        torch.testing.assert_close(trace[key], want.detach(), **F32, msg=lambda m, key=key: f"{key}: {m}")
    if arch == "minlstm":  # normalised: what is kept and what is written add up to 1
        torch.testing.assert_close(trace["gate.f"] + trace["gate.i"], torch.ones(2, N, T, H), **F32)
    loss = 0.5 * out[:, -1].pow(2).sum(-1).mean()
    (g_x,) = torch.autograd.grad(loss, [xr])
    torch.testing.assert_close(trace["grad.x"], g_x, **F32)
    assert "grad.gh" not in trace and "dW_hh.norm" not in trace  # no W_hh, so no share of its gradient
    # ∂h_t/∂h_{t−1} = diag(a_t): ||∂h_{T−1}/∂h_t||_F = sqrt(Σ_u Π_{s>t} a_{s,u}²) for the first sample, top layer
    a = 1 - rec["z"][1, 0] if arch == "mingru" else rec["f"][1, 0]  # (T, H)
    want = torch.stack([a[t + 1:].prod(0).pow(2).sum().sqrt() for t in range(T)]).detach()
    torch.testing.assert_close(trace["jacobian"][1], want, **F32)


SCANS = {"associative": (lambda a_z, b, h0: associative_scan(sigmoid(-a_z), b, h0), 1e-5),  # (scan, float32 tol)
         "log-space": (lambda a_z, b, h0: log_scan(-torch.nn.functional.softplus(a_z), b, h0), 1e-4)}


@pytest.mark.parametrize("form", list(SCANS))
@pytest.mark.parametrize("T_long", [63, 2048])
def test_the_scan_equals_the_loop_at_any_length_and_stays_finite(T_long, form):
    """Both parallel forms against the loop at 63 steps (not a power of 2) and 2048: float32 within 1e-5
    (associative) or 1e-4 (log-space, chunked), float64 within 1e-10; gradients too, finite."""
    scan, f32_tol = SCANS[form]
    gen = torch.Generator().manual_seed(0)
    for dtype, tol in ((torch.float32, dict(rtol=f32_tol, atol=f32_tol)),
                       (torch.float64, dict(rtol=1e-10, atol=1e-10))):
        a_z = (3 * torch.randn(2, T_long, 4, generator=gen, dtype=torch.float64)).to(dtype).requires_grad_()
        n = torch.randn(2, T_long, 4, generator=gen, dtype=torch.float64).to(dtype).requires_grad_()
        h0 = torch.randn(2, 4, generator=gen, dtype=torch.float64).to(dtype).requires_grad_()
        z = sigmoid(a_z)
        got = scan(a_z, z * n, h0)
        h, loop = h0, []
        for t in range(T_long):
            h = (1 - z[:, t]) * h + z[:, t] * n[:, t]
            loop.append(h)
        want = torch.stack(loop, 1)
        torch.testing.assert_close(got, want, **tol)
        g_got = torch.autograd.grad(got.sum(), [a_z, n, h0], retain_graph=True)
        g_want = torch.autograd.grad(want.sum(), [a_z, n, h0])
        for g, w in zip(g_got, g_want):
            assert torch.isfinite(g).all()
            torch.testing.assert_close(g, w, rtol=tol["rtol"] * 10, atol=tol["atol"] * 10)


def test_the_scan_handles_zero_and_one_signed_parts_and_refuses_mismatched_shapes():
    """b all negative, h0 zero: the positive part is empty at every step (logcumsumexp of −inf) yet the result
    and its gradient are finite and right; a = 1 (log a = 0) keeps a running sum; where b or h0 is exactly 0 the
    gradient is still the loop's (both signed parts are empty there)."""
    b = -torch.rand(1, 5, 2, dtype=torch.float64, requires_grad=True)
    h = log_scan(torch.zeros(1, 5, 2, dtype=torch.float64), b, torch.zeros(1, 2, dtype=torch.float64))
    torch.testing.assert_close(h, b.cumsum(1), **F64)
    (g,) = torch.autograd.grad(h.sum(), [b])
    torch.testing.assert_close(g, torch.arange(5, 0, -1, dtype=torch.float64).view(1, 5, 1).expand(1, 5, 2), **F64)
    gen = torch.Generator().manual_seed(2)
    a = torch.rand(2, 7, 3, generator=gen, dtype=torch.float64).requires_grad_()
    b = torch.randn(2, 7, 3, generator=gen, dtype=torch.float64)
    b[:, 2], b[0, :, 0] = 0.0, 0.0
    b.requires_grad_()
    h0 = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 7, 3, generator=gen, dtype=torch.float64)
    h, loop = h0, []
    for t in range(7):
        h = a[:, t] * h + b[:, t]
        loop.append(h)
    want = torch.autograd.grad((torch.stack(loop, 1) * w).sum(), [a, b, h0])
    for scan in (lambda: log_scan(a.log(), b, h0, chunk=3), lambda: associative_scan(a, b, h0)):
        for g, w_ in zip(torch.autograd.grad((scan() * w).sum(), [a, b, h0]), want):
            torch.testing.assert_close(g, w_, **F64)
    with pytest.raises(ValueError, match="do not fit"):
        log_scan(torch.zeros(1, 5, 2), torch.zeros(1, 5, 3), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="do not fit"):
        associative_scan(torch.zeros(1, 5, 2), torch.zeros(1, 5, 2), torch.zeros(2, 2))


def test_the_associative_scan_takes_complex_decays_as_a_rotation_and_shrink_each_step():
    """a_t = r e^{iθ} (the LRU's λ): the scan equals the loop, and with b = 0 after step 0 h_t = a^t h_0."""
    gen = torch.Generator().manual_seed(1)
    a = torch.polar(torch.rand(2, 37, 3, generator=gen, dtype=torch.float64) * 0.5 + 0.5,
                    torch.rand(2, 37, 3, generator=gen, dtype=torch.float64) * 6.28)
    b = torch.complex(*torch.randn(2, 2, 37, 3, generator=gen, dtype=torch.float64))
    h0 = torch.complex(*torch.randn(2, 2, 3, generator=gen, dtype=torch.float64))
    h, loop = h0, []
    for t in range(37):
        h = a[:, t] * h + b[:, t]
        loop.append(h)
    torch.testing.assert_close(associative_scan(a, b, h0), torch.stack(loop, 1), **F64)
    lam = a[:, :1].expand(-1, 37, -1)
    free = associative_scan(lam, torch.zeros_like(b), h0)
    torch.testing.assert_close(free[:, -1], lam[:, 0] ** 37 * h0, **F64)


def test_the_exact_law_from_the_decays_is_the_measured_jacobian_and_is_drawn_beside_it():
    from rnnviz.analysis import diagonal_jacobian_by_lag, jacobian_by_lag
    from rnnviz.plots.gradients import jacobian_figure
    from rnnviz.plots.spectra import decay_figure

    for arch in REFS:
        trace = probe(model_for(arch, 2), torch.randn(N, 8, D))
        for layer in (0, 1):
            measured, exact = jacobian_by_lag(trace, layer), diagonal_jacobian_by_lag(trace, layer)
            torch.testing.assert_close(torch.from_numpy(exact.norm), torch.from_numpy(measured.norm), **F32)
        fig = jacobian_figure(trace, None, layer=1)
        drawn = {t.name: t for t in fig.data}
        named = [n for n in drawn if n.startswith("exact from the decays a<sub>t</sub> = ")]  # says what a_t is
        assert len(named) == 1 and not any("ρ" in n for n in drawn), list(drawn)
        law = named[0].removeprefix("exact from the decays a<sub>t</sub> = ")
        assert "′" not in law or re.search("′<sub>t</sub> = .*[fσ]", law), f"{arch}: {law} leaves f′ undefined"
        assert "has no W<sub>hh</sub>" in fig.layout.title.subtitle.text
        heat = decay_figure(trace, layer=1, sample=2).data[0]
        from rnnviz.plots.gates import gate_heatmaps, gate_lines
        axes = {t.name: t.coloraxis for t in gate_heatmaps(trace).data}
        assert axes["n"] == "coloraxis2" and gate_heatmaps(trace).layout.coloraxis2.cmin is None  # linear: unclipped
        assert "linear: unbounded" in gate_lines(trace).layout.title.subtitle.text
        assert "Gates: bright, open (1)" in gate_heatmaps(trace).layout.title.subtitle.text  # z is a gate
        torch.testing.assert_close(torch.tensor(heat.z), trace["decay"][1, 2].T, **F32)
        assert (heat.zmin, heat.zmax) == (0.0, 1.0)
    with pytest.raises(ValueError, match="needs W_hh's spectral radius"):
        jacobian_figure(probe(model_for("rnn_tanh"), torch.randn(N, 8, D)), None)


def test_the_pascanu_regulariser_reaches_a_linear_cells_weights_through_its_input_gates():
    """Ω asks each step's Jacobian to keep the error's norm; for minGRU that Jacobian is diag(1 − z_t), set by W_ih:
    Ω must change W_ih's gradient (it would not if the input projection were cut from the graph)."""
    from rnnviz.penalties import pascanu_penalty

    model = RNNModel(ModelConfig(arch="mingru", input_size=D, hidden_size=H, output_size=2))
    x = torch.randn(N, 8, D)
    out, _, tapes, _ = model.forward_traced(x)
    loss = out[:, -1].pow(2).sum()
    omega = pascanu_penalty(model.rnn, tapes[""], loss)
    assert omega.requires_grad and float(omega.detach()) > 0
    w = model.rnn.weight_ih_l0
    plain, = torch.autograd.grad(loss, w, retain_graph=True)
    both, = torch.autograd.grad(loss + 100 * omega, w)
    assert float((both - plain).abs().max()) > 1e-3


def test_the_pascanu_regulariser_is_the_recorded_decays_law_for_s6_alone_and_in_mambas_block():
    """For a diagonal cell ∂h_{k+1}/∂h_k = diag(a_{k+1}), the decays the trace records, so Ω is written out here
    from them and dL/dh: mean over layers of mean_k (||g_{k+1} ⊙ a_{k+1}|| / ||g_{k+1}|| − 1)². Mamba's block
    re-reads its convolution's window and its normalised, residual input to get there."""
    from rnnviz.penalties import pascanu_penalty

    for arch in ("s6", "mamba"):
        model = RNNModel(ModelConfig(arch=arch, input_size=D, hidden_size=H, num_layers=2, output_size=2))
        x = torch.randn(N, 8, D)
        out, _, tapes, _ = model.forward_traced(x)
        loss = out[:, -1].pow(2).sum()
        omega = pascanu_penalty(model.rnn, tapes[""], loss)
        terms = []
        for steps in tapes[""].steps:
            g = torch.autograd.grad(loss, [r["h"] for r in steps], retain_graph=True)
            a = [r["decay"] for r in steps]
            ratio = torch.stack([(g[k + 1] * a[k + 1]).norm(dim=-1) / g[k + 1].norm(dim=-1) for k in range(7)])
            terms.append((ratio - 1).pow(2).mean())
        torch.testing.assert_close(omega, torch.stack(terms).mean(), rtol=1e-4, atol=1e-7)
        assert torch.autograd.grad(omega, model.rnn.weight_x_l0)[0].abs().max() > 0  # Δ_t is chosen by W_Δ


def test_what_needs_w_hh_is_refused_in_one_sentence_and_the_rest_works():
    from rnnviz.analysis import (ablated, recurrent_weights, scaled_lambda, scaled_recurrent, with_forget_bias,
                                 with_forget_clamped, with_update_held)
    from rnnviz.linear_cells import lru_lambda
    from rnnviz.checkpoints import Loaded, summarize
    from rnnviz.run import RunSpec

    gru, lstm = model_for("mingru", 2), model_for("minlstm")
    with pytest.raises(ValueError, match="mingru has no W_hh to scale"):
        scaled_recurrent(gru, 2.0)
    with pytest.raises(ValueError, match="mingru has no W_hh matrix"):
        recurrent_weights(gru)
    with pytest.raises(ValueError, match="normalised.*set its bias instead"):
        with_forget_clamped(lstm)
    biased = with_forget_bias(lstm, 3.0)
    assert torch.equal(biased.rnn.bias_ih_l0[:H], torch.full((H,), 3.0))  # b_f: the f block comes first
    x = torch.randn(N, T, D)
    for m in (gru, lstm):  # a silenced unit stays exactly 0 from a zero start, through the scan and the loop
        cut = ablated(m, 2, layer=m.rnn.num_layers - 1)
        for out in (cut.rnn(x)[0], cut.rnn.forward_traced(x)[0]):
            assert out[..., 2].abs().max() == 0 and out[..., 1].abs().max() > 0
    cut = ablated(model_for("lru", 2), 4, layer=1)  # H = 6: state unit 4 is Im of complex unit 1, silenced whole
    states = torch.stack([r["h"] for r in cut.rnn.forward_traced(x)[2].steps[1]], 1)
    assert states[..., [1, 4]].abs().max() == 0 and states[..., 0].abs().max() > 0
    assert cut.rnn(x)[1][0][1][:, [1, 4]].abs().max() == 0  # the scan's last state too
    with pytest.raises(ValueError, match="no W_hh matrix for the 'spectral' initialisation"):
        RunSpec(task="first_symbol", arch="mingru", init="spectral").resolved()
    assert RunSpec(task="first_symbol", arch="minlstm", forget_bias=1.0).resolved().forget_bias == 1.0
    held = with_update_held(gru, 0.25)  # minGRU's z held: a fixed leak h_t = 0.75 h_(t−1) + 0.25 n_t
    z = probe(held, x)["gate.z"]
    torch.testing.assert_close(z, torch.full_like(z, 0.25), **F32)
    with pytest.raises(ValueError, match="minlstm has no minGRU update gate"):
        with_update_held(lstm, 0.5)
    lru = model_for("lru")
    lam = lambda m: torch.complex(*lru_lambda(m.rnn.layer(0)[2])[:2])  # noqa: E731
    for f in (0.5, 1.5):  # |λ| scaled and kept inside the circle, the phase untouched
        moved = scaled_lambda(lru, f)
        torch.testing.assert_close(lam(moved).abs(), (lam(lru).abs() * f).clamp(max=1 - 1e-6), **F32)
        torch.testing.assert_close(lam(moved).angle(), lam(lru).angle(), **F32)
    with pytest.raises(ValueError, match="mingru has no λ to scale"):
        scaled_lambda(gru, 0.9)
    summary = summarize(Loaded(gru, gru.cfg, "rnnviz"))
    assert summary["layers"] == [{"spectral_radius": None, "max_singular_value": None}] * 2


def test_every_view_page_opens_on_a_linear_cell_and_says_what_has_no_w_hh():
    """minGRU on the view pages that change for a cell without W_hh, the others where they differ from it (every
    view page of every cell opens: checked by hand; this keeps the suite short); the what-if offers only the edits
    that apply: no W_hh to scale, no forget gate to clamp when it is normalised, and each cell's own edit draws."""
    from test_app import assert_no_exception, views_of_untrained

    for arch, views in (("mingru", ["graph", "gradients", "checkpoints"]),
                        ("minlstm", ["gradients"]), ("lru", ["gradients"]), ("s6", ["gates"]), ("mamba", ["graph"])):
        for path, at, titles in views_of_untrained(arch, H, views, embed=D):
            if path == "gradients":  # what the cell has in place of W_hh's spectrum
                shown = "The LRU's λ" if arch == "lru" else "Decay a<sub>t</sub>"  # S6: exp(Δ_t A), input-chosen
                assert shown in titles and "Eigenvalues of W<sub>hh</sub>" not in titles
                kinds = at.radio(key="whatif.kind").options
                assert kinds == {"mingru": ["Hold the update gate z", "Ablate one unit"],
                                 "minlstm": ["Set the forget-gate bias", "Ablate one unit"],
                                 "lru": ["Scale the LRU's |λ|", "Ablate one unit"], "s6": ["Ablate one unit"]}[arch]
                if arch in ("mingru", "lru"):  # the cell's own edit, drawn before and after
                    own = {"mingru": "hold", "lru": "lambda"}[arch]  # the radio's values are keys
                    at.radio(key="whatif.kind").set_value(own).run()
                    assert_no_exception(at)
                    assert not at.error and any(c.value.startswith("Loss on the probe: before") for c in at.caption)
            if path == "graph":  # the scan beside the loop, on the traced sequence
                assert "Step by step and as one scan" in titles
            if arch == "mamba":  # the graph's nodes say what the block passes on: its out-projection, without
                shown = " ".join(json.dumps(f, ensure_ascii=False)  # x_t (D ≠ H: no residual;
                                 for f in figures(at))  # test_analysis has the H-wide case)
                assert "y<sub>t</sub> = W<sub>out</sub>" in shown and "the layer's input is not H wide" in shown
                assert "y<sub>t</sub> = x<sub>t</sub> + W<sub>out</sub>" not in shown
            if path in ("graph", "checkpoints"):
                assert any("has no W_hh" in c.value for c in at.caption), f"/{path} does not say why there is no W_hh"
            if path == "gates" and arch == "s6":
                assert any("no sigmoid gates, so there is no saturation" in c.value for c in at.caption)
                assert "Gate saturation" not in titles and "Δ" in at.markdown[1].value



@pytest.mark.parametrize("arch", ["mingru", "lru", "s6", "mamba"])
def test_a_saved_linear_cell_loads_back_equal_and_inspect_states_its_recurrence(arch, tmp_path, capsys):
    from rnnviz.checkpoints import load_checkpoint, save_checkpoint
    from rnnviz.cli import main

    model = model_for(arch, 2).eval()
    path = tmp_path / f"{arch}.safetensors"
    trace = probe(model, torch.randn(2, T, D))
    saved_meta = trace.meta
    save_checkpoint(path, model, traces=[trace])
    loaded = load_checkpoint(str(path))
    x = torch.randn(N, T, D)
    torch.testing.assert_close(loaded.model(x)[0], model(x)[0], **F32)
    assert "decay" in loaded.traces[0]
    if arch == "lru":  # λ at probe time travels with the trace
        assert loaded.traces[0].meta["lambda"] == saved_meta["lambda"]
    assert main(["inspect", str(path)]) == 0
    text = capsys.readouterr().out
    assert text.count(f"no W_hh: a diagonal recurrence, {SPECS[arch].equation('h')}") == 2
    assert main(["inspect", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"] == [{"spectral_radius": None, "max_singular_value": None}] * 2
    bare = tmp_path / "bare.pt"  # its state_dict alone: the cell cannot be told from shapes without W_hh
    torch.save(model.state_dict(), bare)
    with pytest.raises(ValueError, match="have no weight_hh .* opens from rnnviz's own .safetensors checkpoint"):
        load_checkpoint(str(bare))


def test_the_scan_and_the_loop_agree_on_the_traced_sequence_and_are_timed_and_drawn():
    from rnnviz.analysis.parallel import LONG, scan_vs_loop
    from rnnviz.plots.parallel import scan_figure

    for arch in ("minlstm", "lru", "s6", "mamba"):
        model = model_for(arch, 2)
        x = torch.randn(N, T, D)
        r = scan_vs_loop(model, x, repeats=1)
        assert r.loop.shape == r.scan.shape == (N, T, H) and r.max_difference < 1e-5
        torch.testing.assert_close(r.scan, model(x)[0], **F32)  # what the model outputs is the scan
        assert min(r.loop_ms, r.scan_ms, r.long_loop_ms, r.long_scan_ms) > 0
        fig = scan_figure(r, sample=1, units=(0, 2))
        assert [t.name for t in fig.data] == ["unit 0, step by step", "unit 0, one scan", "unit 2, step by step",
                                               "unit 2, one scan"]
        torch.testing.assert_close(torch.tensor(fig.data[3].y), r.scan[1, :, 2], **F32)
        assert f"{LONG} steps" in fig.layout.title.subtitle.text
    with pytest.raises(ValueError, match="lstm has no parallel form"):
        scan_vs_loop(model_for("lstm"), torch.randn(N, T, D))


def test_s6s_step_size_is_drawn_as_a_step_size_not_a_gate():
    """S6 records Δ_t where other cells record gates: its heat map says what bright and dark mean for a step size
    (they said "open" and "shut", over a colour bar running 0 to 0.13)."""
    from rnnviz.plots.gates import gate_heatmaps

    for arch in ("s6", "mamba"):
        trace = probe(model_for(arch), torch.randn(N, 8, D))
        fig = gate_heatmaps(trace)
        assert [t.name for t in fig.data] == ["dt"]
        torch.testing.assert_close(torch.tensor(fig.data[0].z), trace["gate.dt"][0, 0].T, **F32)
        assert fig.layout.title.text.startswith("The step size Δ<sub>t</sub> of every unit of " + arch)
        note = fig.layout.title.subtitle.text
        assert "large step" in note and "open" not in note and "shut" not in note, note


def test_every_exact_law_defines_the_decay_it_names():
    """The mLSTM's and minLSTM's legends read "a_t = f′_t", and f′ was defined nowhere on the page; S6's read
    "exp(Δ_t A)", and neither Δ nor A was."""
    from rnnviz.plots.gradients import _DECAYS

    for arch, law in _DECAYS.items():
        assert "′" not in law or len(law.split(" = ")) == 3, f"{arch}'s law {law!r} names f′ without defining it"
        assert "Δ" not in law or ("step size Δ" in law and "rates A" in law), f"{arch}'s law {law!r}: Δ, A undefined"
