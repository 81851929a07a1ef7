"""The state-space cells against their papers' equations, written out here: the LRU (Orvieto et al. 2023) in
torch's complex numbers, and S6 (Gu & Dao 2023) with a plain loop over channels and state numbers. Both paths
(the scan and the traced step loop), float64 gradients, what a probe records, and what each is built to keep:
the LRU's |λ| < 1 whatever the optimiser does, S6's input-chosen forgetting exp(Δ_t A) in (0, 1).
"""
import copy

import pytest
import torch

from rnnviz.models import ModelConfig, RNNModel
from rnnviz.trace import probe
from test_linear_cells import D, F32, F64, H, N, T, model_for, params


# -- the LRU (Orvieto et al. 2023), in complex arithmetic ---------------------------------------------------------

def lru_naive(P, x, h0, conj=False):
    """The paper's equations with torch's complex numbers, layer by layer: (out, h_n as [Re, Im], |λ| per layer).
    conj=True is the near miss: the state turns the other way (conj λ)."""
    L, inp, hs = h0.shape[0], x, []
    for k in range(L):
        g = lambda n: P[f"{n}_l{k}"]  # noqa: E731
        lam = torch.exp(-torch.exp(g("nu_log")) + 1j * torch.exp(g("theta_log")))
        lam = lam.conj() if conj else lam
        gamma, W, b, Wc = torch.exp(g("gamma_log")), g("weight_ih"), g("bias_ih"), g("weight_c")
        N = lam.shape[0]
        B, Bb = torch.complex(W[:N], W[N:2 * N]), torch.complex(b[:N], b[N:2 * N])
        C = torch.complex(Wc[:, :N], -Wc[:, N:])  # weight_c = [Re C | −Im C]
        s, outs = torch.complex(h0[k, :, :N], h0[k, :, N:]), []
        for t in range(inp.shape[1]):
            s = lam * s + gamma * (inp[:, t].to(B.dtype) @ B.T + Bb)
            outs.append(torch.nn.functional.gelu((s @ C.T).real + inp[:, t] @ W[2 * N:].T + b[2 * N:]))
        inp = torch.stack(outs, 1)
        hs.append(torch.cat([s.real, s.imag], -1))
    return inp, torch.stack(hs)


def test_the_lru_matches_its_papers_equations_on_both_paths_and_in_float64_gradients():
    model = model_for("lru", 2)
    x, h0 = torch.randn(N, T, D), torch.randn(2, N, H)
    P = params(model.rnn)
    out, h_n = lru_naive(P, x, h0)
    for got_out, (got_h, got_c) in (model(x, state=h0), model.forward_traced(x, state=h0)[:2]):
        torch.testing.assert_close(got_out, out, **F32)
        torch.testing.assert_close(got_h, h_n, **F32)
    miss, _ = lru_naive(P, x, h0, conj=True)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(model(x, state=h0)[0], miss, **F32)
    rec = copy.deepcopy(model.rnn).double()
    weights = dict(rec.named_parameters())
    xd = x.double().requires_grad_()
    hd = h0.double().requires_grad_()
    w_out = torch.randn(N, T, H, dtype=torch.float64)
    Pd = params(rec, grad=True)
    out, h_n = lru_naive(Pd, xd, hd)
    want = torch.autograd.grad((out * w_out).sum() + h_n.sum(), [xd, hd, *Pd.values()])
    for path in ("scan", "traced"):
        out, (h_n, _) = rec(xd, hd)[:2] if path == "scan" else rec.forward_traced(xd, hd)[:2]
        leaves = [xd, hd] if path == "scan" else [xd]
        got = torch.autograd.grad((out * w_out).sum() + h_n.sum(), [*leaves, *weights.values()])
        for name, g, w in zip([*["x", "h0"][:len(leaves)], *weights], got, [*want[:len(leaves)], *want[2:]]):
            torch.testing.assert_close(g, w, **F64, msg=lambda m, name=name: f"{path} d/d{name}: {m}")


def test_the_lru_stays_inside_the_unit_circle_through_training_and_its_jacobian_is_exact():
    """|λ| = exp(−exp(ν)) < 1 whatever the optimiser does (a large learning rate pushes hard); the recorded decays
    are |λ| and give the measured Jacobian norms exactly: each complex unit is a turning, shrinking 2×2 block."""
    from rnnviz.analysis import diagonal_jacobian_by_lag, jacobian_by_lag
    from rnnviz.linear_cells import lru_lambda

    torch.manual_seed(0)
    model = RNNModel(ModelConfig(arch="lru", input_size=1, hidden_size=8, output_size=1))
    opt = torch.optim.Adam(model.parameters(), lr=0.5)
    x = torch.randn(16, 30, 1)
    y = x.cumsum(1)  # a running sum wants |λ| = 1 exactly: the optimiser pushes λ onto the circle
    re, im, _ = lru_lambda(model.rnn.layer(0)[2])
    start = float(re.hypot(im).max().detach())
    probes = []
    for step in range(150):
        opt.zero_grad()
        (model(x)[0] - y).pow(2).mean().backward()
        opt.step()
        re, im, _ = lru_lambda(model.rnn.layer(0)[2])
        top = float(re.hypot(im).max().detach())
        assert top < 1.0
        if step % 50 == 0:  # each probe keeps λ as it was then
            probes.append((probe(model, x[:2], train_step=step), re.detach().clone(), im.detach().clone()))
    assert top > 0.99 > start  # pushed from 0.88 to the circle's edge, and stayed inside
    from rnnviz.plots.spectra import lambda_figure

    dots = lambda_figure([t for t, _, _ in probes]).data[0]  # λ over training, one dot per unit per probe
    torch.testing.assert_close(torch.tensor(dots.x), torch.cat([r for _, r, _ in probes]), **F32)
    torch.testing.assert_close(torch.tensor(dots.y), torch.cat([i for _, _, i in probes]), **F32)
    assert list(dots.marker.color) == [0] * 4 + [50] * 4 + [100] * 4  # coloured by the probe's training step
    trace = probe(model, torch.randn(2, 12, 1))
    re, im, _ = lru_lambda(model.rnn.layer(0)[2])
    torch.testing.assert_close(trace["decay"][0, 0, 0], torch.cat([re.hypot(im)] * 2).detach(), **F32)
    torch.testing.assert_close(torch.from_numpy(diagonal_jacobian_by_lag(trace).norm),
                               torch.from_numpy(jacobian_by_lag(trace).norm), rtol=1e-4, atol=1e-6)
    from rnnviz.plots.gradients import jacobian_figure
    exact = [t.name for t in jacobian_figure(trace, None).data if t.name.startswith("exact")]
    assert exact == ["exact from the decays a<sub>t</sub> = |λ| (constant)"]  # "the decays a_t" alone hid that a_t = λ
    with pytest.raises(ValueError, match="must be even"):
        RNNModel(ModelConfig(arch="lru", input_size=1, hidden_size=7))


# -- S6, Mamba's selective state space (Gu & Dao 2023), one channel and one state number at a time -------------

def s6_naive(P, x, h0, selective=True, c0=None, flip=False):
    """Every channel d and state number n written out; h as (B, H, N). selective=False is the near miss: Δ, B and C
    fixed at their values for a zero input, a time-invariant system (what the LRU and S4 are).
    In Mamba's block (the `mamba` cell: P has conv_l0), each layer's input is RMS-normalised (gain g) before W_ih,
    ũ = the u rows' projection is convolved causally over its last K values (c0: the K values before the sequence,
    oldest first; zeros if None), and the layer outputs x_t + W_out y_t (W_out y_t where x_t is not H wide).
    flip=True is the block's near miss: the kernel read newest first. Returns (out, h_n, the windows at the end)."""
    L, inp, hs, windows = h0.shape[0], x, [], []
    block = "conv_l0" in P
    for k in range(L):
        g = lambda n: P[f"{n}_l{k}"]  # noqa: E731
        A, Dk, Wx, b_dt = -torch.exp(g("A_log")), g("D"), g("weight_x"), g("bias_dt")
        W, b = g("weight_ih"), g("bias_ih")
        Hk, Nk = A.shape
        h = h0[k].reshape(h0.shape[1], Hk, Nk).clone()
        if block:
            kernel = g("conv").flip(1) if flip else g("conv")
            K = kernel.shape[1]
            past = list(c0[k].reshape(-1, K, Hk).unbind(1)) if c0 is not None else [inp.new_zeros(inp.shape[0], Hk)] * K
        outs = []
        for t in range(inp.shape[1]):
            x_t = inp[:, t]
            if block:  # RMSNorm: x / sqrt(mean(x²) + ε), times its gain
                x_t = x_t / torch.sqrt(x_t.pow(2).mean(-1, keepdim=True) + 1e-5) * g("norm")
            pre = x_t @ W.T + b
            u_pre, z = pre[:, :Hk], pre[:, Hk:]
            if block:
                past = past[1:] + [u_pre]
                u_pre = sum(kernel[:, j] * past[j] for j in range(K)) + g("conv_bias")
            u = torch.nn.functional.silu(u_pre)
            sel = u if selective else torch.zeros_like(u)
            proj = sel @ Wx.T
            dt = torch.nn.functional.softplus(proj[:, :Hk] + b_dt)
            Bt, Ct = proj[:, Hk:Hk + Nk], proj[:, Hk + Nk:]
            rows, y = [], []
            for d in range(Hk):
                row = [torch.exp(dt[:, d] * A[d, n]) * h[:, d, n] + dt[:, d] * Bt[:, n] * u[:, d] for n in range(Nk)]
                y.append(sum(r * Ct[:, n] for n, r in enumerate(row)) + Dk[d] * u[:, d])
                rows.append(torch.stack(row, -1))
            h = torch.stack(rows, 1)
            y = torch.stack(y, -1) * torch.nn.functional.silu(z)
            if block:
                y = (inp[:, t] if inp.shape[-1] == Hk else 0) + y @ g("weight_out").T
            outs.append(y)
        inp = torch.stack(outs, 1)
        hs.append(h.flatten(1))
        if block:
            windows.append(torch.cat(past, -1))
    return inp, torch.stack(hs), (torch.stack(windows) if block else None)


def test_s6_matches_its_equations_on_both_paths_and_in_float64_gradients():
    model = model_for("s6", 2)
    S = H * model.rnn.spec.state_per_unit
    x, h0 = torch.randn(N, T, D), torch.randn(2, N, S)
    P = params(model.rnn)
    out, h_n, _ = s6_naive(P, x, h0)
    for got_out, (got_h, _) in (model(x, state=h0), model.forward_traced(x, state=h0)[:2]):
        torch.testing.assert_close(got_out, out, **F32)
        torch.testing.assert_close(got_h, h_n, **F32)
    miss, _, _ = s6_naive(P, x, h0, selective=False)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(model(x, state=h0)[0], miss, **F32)
    rec = copy.deepcopy(model.rnn).double()
    weights = dict(rec.named_parameters())
    xd, hd = x.double().requires_grad_(), h0.double().requires_grad_()
    w_out = torch.randn(N, T, H, dtype=torch.float64)
    Pd = params(rec, grad=True)
    out, h_n, _ = s6_naive(Pd, xd, hd)
    want = torch.autograd.grad((out * w_out).sum() + h_n.sum(), [xd, hd, *Pd.values()])
    out, (h_n, _) = rec(xd, hd)
    got = torch.autograd.grad((out * w_out).sum() + h_n.sum(), [xd, hd, *weights.values()])
    for name, g_, w in zip(["x", "h0", *weights], got, want):
        torch.testing.assert_close(g_, w, **F64, msg=lambda m, name=name: f"scan d/d{name}: {m}")


@pytest.mark.parametrize("width", [D, H])
def test_mambas_block_matches_its_equations_on_both_paths_and_in_float64_gradients(width):
    """S6 in Mamba's block: RMSNorm, the causal convolution (its window carried in the c slot, so a sequence can be
    continued), the out-projection and the residual connection, on the first layer too where its input is H wide."""
    model = RNNModel(ModelConfig(arch="mamba", input_size=width, hidden_size=H, num_layers=2))
    spec = model.rnn.spec
    S, C = H * spec.state_per_unit, H * spec.conv
    x, h0, c0 = torch.randn(N, T, width), torch.randn(2, N, S), torch.randn(2, N, C)
    P = params(model.rnn)
    out, h_n, c_n = s6_naive(P, x, h0, c0=c0)
    for path, (got_out, (got_h, got_c)) in (("scan", model(x, state=(h0, c0))),
                                            ("traced", model.forward_traced(x, state=(h0, c0))[:2])):
        for name, got, want in (("out", got_out, out), ("h_n", got_h, h_n), ("window", got_c, c_n)):
            torch.testing.assert_close(got, want, **F32, msg=lambda m, n=name, p=path: f"{p} {n}: {m}")
    first, (h_half, c_half) = model(x[:, :2], state=(h0, c0))  # continued from the carried state: the same outputs
    torch.testing.assert_close(torch.cat([first, model(x[:, 2:], state=(h_half, c_half))[0]], 1), out, **F32)
    for near_miss in (dict(flip=True), dict(selective=False)):
        miss = s6_naive(P, x, h0, c0=c0, **near_miss)[0]
        with pytest.raises(AssertionError):
            torch.testing.assert_close(model(x, state=(h0, c0))[0], miss, **F32)
    rec = copy.deepcopy(model.rnn).double()
    weights = dict(rec.named_parameters())
    assert {"conv_l1", "conv_bias_l1", "norm_l1", "weight_out_l1"} <= set(weights)
    xd, hd, cd = x.double().requires_grad_(), h0.double().requires_grad_(), c0.double().requires_grad_()
    w_out = torch.randn(N, T, H, dtype=torch.float64)
    Pd = params(rec, grad=True)
    out, h_n, c_n = s6_naive(Pd, xd, hd, c0=cd)
    want = torch.autograd.grad((out * w_out).sum() + h_n.sum() + c_n.sum(), [xd, hd, cd, *Pd.values()])
    for path in ("scan", "traced"):
        out, (h_n, c_n) = rec(xd, (hd, cd))[:2] if path == "scan" else rec.forward_traced(xd, (hd, cd))[:2]
        leaves = [xd, hd, cd] if path == "scan" else [xd]  # the traced loop starts from detached copies
        got = torch.autograd.grad((out * w_out).sum() + h_n.sum() + c_n.sum(), [*leaves, *weights.values()])
        for name, g_, w in zip([*["x", "h0", "c0"][:len(leaves)], *weights], got, [*want[:len(leaves)], *want[3:]]):
            torch.testing.assert_close(g_, w, **F64, msg=lambda m, name=name, p=path: f"{p} d/d{name}: {m}")


def test_mambas_probe_records_s6s_quantities_and_an_ablated_channel_stays_zero():
    """The block changes what feeds the recurrence, not the recurrence: Δ_t, exp(Δ_t A) and the exact Jacobian law
    as for bare S6; ablating channel u silences its N state numbers (its convolution's bias included)."""
    from rnnviz.analysis import ablated, diagonal_jacobian_by_lag, jacobian_by_lag

    model = model_for("mamba", 2)
    NS = model.rnn.spec.state_per_unit
    trace = probe(model, torch.randn(2, 12, D))
    assert trace["h"].shape == (2, 2, 12, H * NS) and trace["gate.dt"].shape == (2, 2, 12, H) and "c" not in trace
    for layer in (0, 1):
        torch.testing.assert_close(torch.from_numpy(diagonal_jacobian_by_lag(trace, layer).norm),
                                   torch.from_numpy(jacobian_by_lag(trace, layer).norm), rtol=1e-4, atol=1e-6)
    x = torch.randn(N, T, D)
    cut = ablated(model, 2, layer=1)
    for h in (torch.stack([r["h"] for r in cut.rnn.forward_traced(x)[2].steps[1]], 1), cut.rnn(x)[1][0][1]):
        assert h[..., 2 * NS:3 * NS].abs().max() == 0 and h[..., :NS].abs().max() > 0


def test_s6_forgets_as_its_input_chooses_and_its_jacobian_is_exact():
    """The probe records Δ_t (gate.dt) and the decays exp(Δ_t A): inside (0, 1), different from step to step (the
    selection), and their products give the measured Jacobian norms; the state is H·N wide."""
    from rnnviz.analysis import diagonal_jacobian_by_lag, jacobian_by_lag

    model = model_for("s6", 2)
    trace = probe(model, torch.randn(2, 12, D))
    NS = model.rnn.spec.state_per_unit
    assert trace["h"].shape == (2, 2, 12, H * NS) and trace["gate.dt"].shape == (2, 2, 12, H)
    decay = trace["decay"]
    assert float(decay.min()) > 0 and float(decay.max()) < 1
    A = -torch.exp(model.rnn.A_log_l1.detach())
    torch.testing.assert_close(decay[1], torch.exp(trace["gate.dt"][1].unsqueeze(-1) * A).flatten(-2), **F32)
    assert float(decay[1, 0].std(0).max()) > 1e-4  # it changes over time: the input selects
    for layer in (0, 1):
        torch.testing.assert_close(torch.from_numpy(diagonal_jacobian_by_lag(trace, layer).norm),
                                   torch.from_numpy(jacobian_by_lag(trace, layer).norm), rtol=1e-4, atol=1e-6)


def test_cells_that_read_their_output_from_the_state_are_refused_for_an_encoder_decoder():
    from rnnviz.run import RunSpec

    for arch in ("s6", "lru", "mamba"):
        with pytest.raises(ValueError, match=f"output is its state, and {arch} reads"):
            RunSpec(task="reverse", arch=arch).resolved()
    assert RunSpec(task="reverse", arch="mingru").resolved().arch == "mingru"


def test_weight_decay_leaves_s6s_a_alone_and_compact_checkpoints_keep_decays_exact(tmp_path):
    """L2 decays S6's projections but not A = −exp(A_log) (Mamba keeps it out, or every A drifts toward −1); a
    compact (bfloat16) checkpoint keeps the decays float32, since the exact Jacobian law multiplies them."""
    from rnnviz.checkpoints import load_checkpoint, save_checkpoint
    from rnnviz.run import RunSpec
    from rnnviz.training import Trainer

    after = {}
    for l2 in (0.0, 1.0):
        trainer = Trainer.from_spec(RunSpec(task="first_symbol", arch="s6", hidden=8, steps=1, l2=l2, seed=3))
        for _ in trainer.reports():
            pass
        after[l2] = dict(trainer.model.named_parameters())
    torch.testing.assert_close(after[1.0]["rnn.A_log_l0"], after[0.0]["rnn.A_log_l0"], rtol=0, atol=0)
    assert not torch.allclose(after[1.0]["rnn.weight_x_l0"], after[0.0]["rnn.weight_x_l0"])  # the rest decays
    model = model_for("s6")
    trace = probe(model, torch.randn(2, T, D))
    path = tmp_path / "compact.safetensors"
    save_checkpoint(path, model, traces=[trace], trace_dtype="bfloat16")
    kept = load_checkpoint(str(path)).traces[0]
    torch.testing.assert_close(kept["decay"], trace["decay"], rtol=0, atol=0)
    assert not torch.equal(kept["h"], trace["h"])  # the rest is compact


def test_s6s_step_size_has_its_own_colour_scale_and_its_gates_are_h_wide():
    from rnnviz.plots.gates import gate_heatmaps, gate_lines

    trace = probe(model_for("s6"), torch.randn(2, T, D))
    fig = gate_heatmaps(trace)
    assert fig.data[0].coloraxis == "coloraxis3" and fig.layout.coloraxis3.colorbar.title.text == "step Δ"
    lines = gate_lines(trace, [H - 1])
    assert "Δ<sub>t</sub> is a step size, not a gate" in lines.layout.title.subtitle.text
    assert lines.layout.title.text.startswith("The step size Δ<sub>t</sub> of s6")  # not "Gates of s6"
    assert fig.layout.title.text.startswith("The step size Δ<sub>t</sub> of every unit of s6")  # not the same title
    with pytest.raises(ValueError, match="unit"):  # H channels have a Δ, not the H·N state numbers
        gate_lines(trace, [H])


def test_the_default_initialisation_of_the_lru_and_s6_is_their_papers():
    """apply_init's "default" redraws every weight as Recurrent makes it: for these two, their papers' schemes."""
    from rnnviz.init import InitConfig, apply_init
    from rnnviz.linear_cells import lru_lambda

    for arch in ("lru", "s6", "mamba"):
        rnn = model_for(arch).rnn
        apply_init(rnn, InitConfig("default"), torch.Generator().manual_seed(0))
        assert float(rnn.bias_ih_l0.detach().abs().max()) == 0.0
        if arch != "lru":  # S4D-real: A = −(1, 2, .., N) in every channel
            N = rnn.spec.state_per_unit
            torch.testing.assert_close(rnn.A_log_l0, torch.log(torch.arange(1.0, N + 1)).expand(H, N))
        if arch == "mamba":  # the norm's gain 1, the convolution as torch's Conv1d(H, H, K, groups=H) draws it
            assert torch.equal(rnn.norm_l0.detach(), torch.ones(D))
            assert 0.3 < float(rnn.conv_l0.detach().abs().max()) <= rnn.spec.conv ** -0.5
        if arch == "lru":  # γ = sqrt(1 − |λ|²)
            re, im, gamma = lru_lambda(rnn.layer(0)[2])
            torch.testing.assert_close(gamma, (1 - re ** 2 - im ** 2).sqrt(), **F32)
