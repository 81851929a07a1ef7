"""rnnviz.analysis against independent computations: torch norms and eigvals, autograd Jacobians, planted
structure (low-rank trajectories, a unit copying a feature), hand-counted saturation, and fresh probes of the
what-if copies."""
import numpy as np
import pytest
import torch

from rnnviz import analysis as A
from rnnviz.analysis.unrolled import MAX_GRAPH_STEPS
from rnnviz.build import build_model
from rnnviz.models import ModelConfig
from rnnviz.sampling import Generated
from rnnviz.trace import LAYERED, Trace, probe

V, H, B, T = 7, 6, 3, 5


def token_model(arch="lstm", layers=1, **kw):
    return build_model(ModelConfig(arch=arch, vocab_size=V, hidden_size=H, output_size=V, num_layers=layers, **kw))


def tokens(b=B, t=T):
    return torch.randint(0, V, (b, t))


def seq2seq(arch="gru", attention="additive"):
    m = build_model(ModelConfig(arch=arch, vocab_size=V, hidden_size=H, output_size=5, seq2seq=True,
                                attention=attention))
    return m, tokens(2, 6), torch.randint(0, 5, (2, 4))


def fake_trace(arch="lstm", **tensors) -> Trace:
    """A Trace built by hand: (layer, sample, step, unit) tensors, meta as probe writes it."""
    dims = {k: LAYERED for k in tensors}
    gates = [k.split(".")[1] for k in tensors if k.startswith("gate.")]
    return Trace(arch, {k: v.float() for k, v in tensors.items()}, dims,
                 {"prefixes": [""], "gates": gates, "loss": 1.0, "train_step": None})


# -- gradients ---------------------------------------------------------------------------------------------
def test_grad_norms_are_the_norm_over_units():
    tr = probe(token_model(layers=2), tokens())
    expected = tr["grad.h"].double().norm(dim=-1)  # (L, B, T)
    np.testing.assert_allclose(A.grad_norms(tr), expected.mean(1).numpy(), rtol=1e-5)
    np.testing.assert_allclose(A.grad_norms(tr, sample=2), expected[:, 2].numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="sample 3 is out of range"):
        A.grad_norms(tr, sample=3)


def test_jacobian_by_lag_reverses_and_drops_thinned_steps():
    j = torch.tensor([[0.1, float("nan"), 0.5, 2.0]])
    tr = Trace("rnn_tanh", {"jacobian": j}, {"jacobian": ("layer", "step")}, {"prefixes": [""]})
    curve = A.jacobian_by_lag(tr)
    np.testing.assert_array_equal(curve.lag, [0, 1, 3])
    np.testing.assert_allclose(curve.norm, [2.0, 0.5, 0.1], rtol=1e-6)


def test_geometric_rate_is_anchor_times_rho_to_the_lag():
    np.testing.assert_allclose(A.geometric_rate([0, 1, 2, 5], 0.5, 3.0), [3.0, 1.5, 0.75, 3.0 / 32])


def test_block_spectra_match_torch_per_gate_block():
    m = token_model("gru")
    w = A.recurrent_weights(m)
    spectra = A.block_spectra(w, list(m.spec.blocks))
    assert list(spectra) == ["r", "z", "n"]
    for j, g in enumerate("rzn"):
        ev = torch.linalg.eigvals(w[j * H:(j + 1) * H].double()).numpy()
        np.testing.assert_allclose(np.sort_complex(spectra[g]["eigenvalues"]), np.sort_complex(ev), atol=1e-5)
        assert spectra[g]["spectral_radius"] == pytest.approx(np.abs(ev).max(), rel=1e-5)
    with pytest.raises(ValueError, match="expected"):
        A.block_spectra(w[:-1], ["r", "z", "n"])


def test_tbptt_windows_and_grad_heat_padding():
    assert A.tbptt_windows(7, 3) == [(0, 3), (3, 6), (6, 7)]
    steps, z = A.grad_heat_matrix([(10, [1.0, 2.0]), (20, [3.0])])
    np.testing.assert_array_equal(steps, [10, 20])
    assert z.shape == (2, 2) and np.isnan(z[1, 1]) and z[1, 0] == 3.0
    with pytest.raises(ValueError, match="no gradient history"):
        A.grad_heat_matrix([])


# -- what-if copies ------------------------------------------------------------------------------------------
def _state(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


def _unchanged(m, before):
    return all(torch.equal(v, before[k]) for k, v in m.state_dict().items())


def test_scaling_w_hh_doubles_the_spectral_radius_and_leaves_the_original():
    m = token_model("rnn_tanh", layers=2)
    before, rho = _state(m), A.spectral_radius(m, layer=1)
    doubled = A.scaled_recurrent(m, 2.0)
    assert A.spectral_radius(doubled, layer=1) == pytest.approx(2 * rho, rel=1e-5)
    assert _unchanged(m, before)
    one = A.scaled_recurrent(m, 2.0, layer=0)
    assert A.spectral_radius(one, layer=1) == pytest.approx(rho, rel=1e-6)


def test_forget_bias_copy_sets_the_total_bias():
    m = token_model("lstm")
    before = _state(m)
    b = A.with_forget_bias(m, 3.0)
    f = slice(H, 2 * H)  # i, f, g, o
    assert torch.all(b.rnn.bias_ih_l0[f] + b.rnn.bias_hh_l0[f] == 3.0)
    assert probe(b, tokens())["gate.f"].mean() > probe(m, tokens())["gate.f"].mean()
    assert _unchanged(m, before)
    with pytest.raises(ValueError, match="no forget-gate weights"):
        A.with_forget_bias(token_model("gru"), 1.0)


@pytest.mark.parametrize("arch", ["lstm", "lstm_peephole", "lstm_noaf"])
def test_clamped_forget_gate_is_exactly_one_in_a_new_probe(arch):
    m = token_model(arch, layers=2)
    before = _state(m)
    x = tokens()
    assert probe(m, x)["gate.f"].min() < 0.99
    clamped = probe(A.with_forget_clamped(m), x)
    assert torch.all(clamped["gate.f"] == 1.0)
    assert _unchanged(m, before)


@pytest.mark.parametrize("arch", ["gru", "lstm_cifg", "lstm_nfg"])
def test_clamping_needs_forget_weights(arch):
    with pytest.raises(ValueError, match="no forget-gate weights"):
        A.with_forget_clamped(token_model(arch))


@pytest.mark.parametrize("arch", ["rnn_tanh", "lstm", "gru", "lstm_nig", "esn"])
def test_ablated_unit_stays_zero_and_the_original_is_untouched(arch):
    m = token_model(arch, layers=2)
    before = _state(m)
    tr = probe(A.ablated(m, unit=2, layer=1), tokens())
    assert torch.all(tr["h"][1, :, :, 2] == 0)
    if "c" in tr:
        assert torch.all(tr["c"][1, :, :, 2] == 0)
    assert tr["h"][1, :, :, 3].abs().max() > 0 and tr["h"][0, :, :, 2].abs().max() > 0
    assert _unchanged(m, before)
    with pytest.raises(ValueError, match="unit 6 is out of range"):
        A.ablated(m, unit=H)


def test_ablation_reaches_through_an_encoder_decoder():
    m, x, y = seq2seq("lstm")
    tr = probe(A.ablated(m, unit=1), x, y)
    assert torch.all(tr["enc.h"][..., 1] == 0) and torch.all(tr["dec.h"][..., 1] == 0)


def test_probe_pair_traces_before_and_after():
    m = token_model("rnn_tanh")
    before, after = A.probe_pair(m, lambda mm: A.scaled_recurrent(mm, 0.0), tokens())
    assert not torch.equal(before["h"], after["h"])


# -- connectivity --------------------------------------------------------------------------------------------
def test_input_connectivity_matches_an_autograd_jacobian():
    m = build_model(ModelConfig(arch="gru", input_size=3, hidden_size=H, output_size=4))
    x = torch.randn(2, T, 3)
    got = A.input_connectivity(m, x, sample=1)
    out = m(x[1:2])[0][0, -1]
    k = int(out.argmax())
    jac = torch.autograd.functional.jacobian(lambda xi: m(xi.unsqueeze(0))[0][0, -1, k], x[1])  # (T, 3)
    np.testing.assert_allclose(got, jac.norm(dim=-1).numpy(), rtol=1e-4, atol=1e-7)
    norm = A.input_connectivity(m, x, target="norm")
    assert norm.shape == (T,) and np.all(norm >= 0)


def test_without_recurrence_only_the_last_input_connects():
    m = A.scaled_recurrent(token_model("rnn_tanh"), 0.0)
    c = A.input_connectivity(m, tokens())
    assert np.all(c[:-1] == 0) and c[-1] > 0


def test_connectivity_of_an_encoder_decoder_needs_targets():
    m, x, y = seq2seq()
    assert A.input_connectivity(m, x, y).shape == (6,)
    with pytest.raises(ValueError, match="target sequence"):
        A.input_connectivity(m, x)


def test_trace_connectivity_is_the_norm_of_grad_x():
    tr = probe(token_model(), tokens())
    np.testing.assert_allclose(A.trace_connectivity(tr, 1), tr["grad.x"][1].norm(dim=-1).numpy(), rtol=1e-6)


# -- hidden states -------------------------------------------------------------------------------------------
def test_pca_recovers_the_variance_of_a_planted_plane():
    t = np.arange(40) * 2 * np.pi / 40
    latent = np.stack([3 * np.cos(t), np.sin(t)], 1)  # orthogonal, zero mean: variances 9/2 and 1/2
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(8, 2)))
    res = A.pca(latent @ q.T + 5.0, k=3)
    np.testing.assert_allclose(res.ratio, [0.9, 0.1, 0.0], atol=1e-6)
    np.testing.assert_allclose(np.abs(res.coords[:, 0]), np.abs(latent[:, 0]), atol=1e-5)


def test_unit_orders():
    rng = np.random.default_rng(1)
    a, b = np.sin(np.arange(50) / 3), rng.normal(size=50)
    states = np.stack([a, b, 2 * a, -b * 0.1 + 0.01 * rng.normal(size=50), a + 0.01 * rng.normal(size=50)], 1)
    assert list(A.unit_order(states, "variance")[:2]) == [2, 1]
    order = list(A.cluster_order(states))
    assert sorted(order) == [0, 1, 2, 3, 4]
    spots = {u: order.index(u) for u in order}
    assert max(spots[0], spots[2], spots[4]) - min(spots[0], spots[2], spots[4]) == 2  # the sine units together
    assert sorted(A.unit_order(states, "pc1")) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="unknown unit order"):
        A.unit_order(states, "alphabetical")


def test_unit_finder_ranks_the_planted_unit_first():
    rng = np.random.default_rng(2)
    feature = (np.arange(60) % 7 < 3).astype(float)
    states = rng.normal(size=(60, 10))
    states[:, 6] = feature + 0.05 * rng.normal(size=60)
    states[:, 2] = 0.5  # constant: correlation defined as 0
    df = A.unit_correlations(states, {"in quotes": feature, "noise": rng.normal(size=60)})
    assert list(df.columns) == ["feature", "unit", "correlation"]
    assert (df.iloc[0]["feature"], df.iloc[0]["unit"]) == ("in quotes", 6) and df.iloc[0]["correlation"] > 0.95
    assert np.all(np.diff(df["correlation"].abs().to_numpy()) <= 1e-12)
    assert df[(df.feature == "in quotes") & (df.unit == 2)]["correlation"].item() == 0.0
    assert len(A.unit_correlations(states, {"f": feature}, top=3)) == 3
    with pytest.raises(ValueError, match="one per step"):
        A.unit_correlations(states, {"short": feature[:10]})


def test_token_pattern_and_visible_labels():
    np.testing.assert_array_equal(A.token_pattern(list("a(b)"), "()"), [0, 1, 0, 1])
    assert A.visible("<") == "&lt;" and A.visible(" ") == "␣" and A.visible("\n") == "↵"


# -- gates ----------------------------------------------------------------------------------------------------
def test_saturation_fractions_counted_by_hand():
    gi = torch.tensor([0.05, 0.5, 0.95, 0.99, 0.0, 0.2, 0.2, 0.2]).view(1, 2, 4, 1)  # 2 samples x 4 steps
    gi = torch.cat([gi, torch.full_like(gi, 0.5)], -1)  # unit 1 never saturates
    gg = torch.full_like(gi, -0.99)  # tanh candidate: not a gate, not counted
    tr = fake_trace(**{"gate.i": gi, "gate.g": gg, "h": torch.zeros(1, 2, 4, 2)})
    df = A.saturation(tr)
    assert list(df["gate"]) == ["i", "i"]
    np.testing.assert_allclose(df["frac_low"], [2 / 8, 0], rtol=1e-6)
    np.testing.assert_allclose(df["frac_high"], [2 / 8, 0], rtol=1e-6)
    both = A.saturation_many([tr, tr], ["a", "b"])
    assert list(both["label"]) == ["a", "a", "b", "b"]
    xl = fake_trace("slstm", **{"gate.i": gi, "gate.f": gi, "h": torch.zeros(1, 2, 4, 2)})  # exp(ĩ − m) is no gate
    assert list(A.saturation(xl)["gate"]) == ["f", "f"]
    with pytest.raises(ValueError, match="no sigmoid gates"):
        A.saturation(probe(token_model("rnn_tanh"), tokens()))


# -- the unrolled graph ---------------------------------------------------------------------------------------
def _count(g, kind):
    return int((g.nodes["kind"] == kind).sum())


@pytest.mark.parametrize("seq, xs, ys, step_losses", [
    ("many-to-one", T, 1, 0), ("many-to-many-sync", T, T, T), ("one-to-many", 1, T, T)])
def test_topology_follows_the_sequence_type(seq, xs, ys, step_losses):
    g = A.unrolled_graph(probe(token_model("gru"), tokens()), seq)
    assert (_count(g, "x"), _count(g, "h"), _count(g, "y"), _count(g, "L_t"), _count(g, "L")) == \
        (xs, T, ys, step_losses, 1)
    assert _count(g, "c") == 0
    assert (g.edges["kind"] == "recurrent").sum() == T - 1


def test_one_to_one_is_a_single_column():
    g = A.unrolled_graph(probe(token_model("rnn_tanh"), tokens(t=1)), "one-to-one")
    assert (_count(g, "x"), _count(g, "h"), _count(g, "y"), _count(g, "L")) == (1, 1, 1, 1)


def test_layers_stack_rows_and_edges_carry_the_recorded_gradient():
    tr = probe(token_model("lstm", layers=2), tokens())
    g = A.unrolled_graph(tr, "many-to-many-sync", sample=1, tokens=list("ab<de"))
    assert _count(g, "h") == 2 * T and _count(g, "c") == 2 * T
    assert g.nodes[g.nodes.kind == "h"].groupby("layer")["y"].nunique().to_dict() == {0: 1, 1: 1}
    e = g.edges.set_index(["src", "dst"])
    assert e.loc[("h1@2", "h1@3"), "grad"] == pytest.approx(float(tr["grad.h"][1, 1, 2].norm()), rel=1e-5)
    assert e.loc[("x@4", "h0@4"), "grad"] == pytest.approx(float(tr["grad.x"][1, 4].norm()), rel=1e-5)
    node = g.nodes.set_index("id")
    assert node.loc["h0@3", "value"] == pytest.approx(float(tr["h"][0, 1, 3].norm()), rel=1e-5)
    assert node.loc["x@2", "label"] == "&lt;"
    assert node.loc["L", "value"] == pytest.approx(tr.meta["loss"])


@pytest.mark.parametrize("embed", [8, 16])
def test_a_mamba_layer_says_it_adds_its_input_only_where_the_residual_exists(embed):
    """Mamba's block adds x_t to W_out y_t only where x_t is H wide (stack.Recurrent.layer_input): layer 0 fed
    8-wide embeddings at hidden 16 passes on W_out(..) alone, and its node's hover must not claim the residual."""
    model = build_model(ModelConfig(arch="mamba", vocab_size=V, hidden_size=16, output_size=V, num_layers=2,
                                    embed_size=embed))
    hover = A.unrolled_graph(probe(model, tokens()), "many-to-one").nodes.set_index("id")["hover"]
    residual = "y<sub>t</sub> = x<sub>t</sub> + W<sub>out</sub>"
    assert residual in hover["h1@2"]  # layer 1's input is layer 0's 16-wide output
    if embed == 16:
        assert residual in hover["h0@2"] and "no residual" not in hover["h0@2"]
    else:
        assert residual not in hover["h0@2"] and "y<sub>t</sub> = W<sub>out</sub>" in hover["h0@2"]
        assert "no residual: the layer's input is not H wide" in hover["h0@2"]


@pytest.mark.parametrize("arch", ["lru", "mlstm"])
def test_a_reads_out_cell_passes_y_on_to_the_next_layer_and_the_head(arch):
    model = build_model(ModelConfig(arch=arch, vocab_size=V, hidden_size=16, output_size=V, num_layers=2))
    g = A.unrolled_graph(probe(model, tokens()), "many-to-one")
    e = g.edges.set_index(["src", "dst"])
    assert e.loc[("h0@2", "h1@2"), "weight"].endswith("y<sub>t</sub>") and e.loc[
        (f"h1@{T - 1}", f"y@{T - 1}"), "weight"].endswith("y<sub>t</sub>")
    assert "passes on y<sub>t</sub> =" in g.nodes.set_index("id").loc["h0@2", "hover"]
    plain = A.unrolled_graph(probe(token_model("gru", layers=2), tokens()), "many-to-one").edges
    assert not plain["weight"].str.contains("y<sub>t</sub>").any()  # h_t itself goes on


def test_bptt_step_lights_only_what_the_backward_pass_reached():
    tr = probe(token_model("rnn_tanh"), tokens())
    e0 = A.unrolled_graph(tr, "many-to-many-sync", bptt_step=0).edges.set_index(["src", "dst"])
    e1 = A.unrolled_graph(tr, "many-to-many-sync", bptt_step=1).edges.set_index(["src", "dst"])
    assert not e0.loc[("h0@3", "h0@4"), "lit"] and e1.loc[("h0@3", "h0@4"), "lit"]
    assert not e1.loc[("h0@2", "h0@3"), "lit"]
    assert A.unrolled_graph(tr, "many-to-many-sync").edges["lit"].all()


def test_window_keeps_only_its_steps():
    tr = probe(token_model("lstm"), tokens(t=30))
    g = A.unrolled_graph(tr, "many-to-one", start=10, steps=4)
    assert sorted(g.nodes[g.nodes.kind == "h"]["t"]) == [10, 11, 12, 13]
    assert _count(g, "y") == 0 and _count(g, "L") == 1
    assert A.unrolled_graph(tr, "many-to-one").window == (18, 30)
    with pytest.raises(ValueError, match="out of range"):
        A.unrolled_graph(tr, "many-to-one", steps=MAX_GRAPH_STEPS + 1)


@pytest.mark.parametrize("attention", ["additive", "dot", "none"])
def test_encoder_decoder_rows_and_attention_edges(attention):
    m, x, y = seq2seq("lstm", attention)
    tr = probe(m, x, y)
    g = A.unrolled_graph(tr, "many-to-many-async", sample=1, steps=20)
    h = g.nodes[g.nodes.kind == "h"]
    assert (h.part == "encoder").sum() == 6 and (h.part == "decoder").sum() == 4
    assert _count(g, "y") == 4 and _count(g, "L_t") == 4
    att = g.edges[g.edges.kind == "attention"]
    assert len(att) == (0 if attention == "none" else 24)
    if attention != "none":
        alpha = tr["attention"][1].numpy()  # (T', S)
        row = att[att.dst == "dec.h0@2"].sort_values("src")
        np.testing.assert_allclose(row["alpha"].to_numpy(), alpha[2], rtol=1e-6)
    assert (g.edges.kind == "bridge").sum() == 2  # h and c
    rec = g.edges[g.edges.kind == "recurrent"]  # one label is one matrix: the two stacks' W_hh are different ones
    enc = rec.src.str.startswith("enc.")
    assert set(rec[enc].weight) == {"W<sub>hh</sub><sup>(enc)</sup>"}
    assert set(rec[~enc].weight) == {"W<sub>hh</sub><sup>(dec)</sup>"}
    inputs = g.edges[g.edges.kind == "input"]
    assert set(inputs.weight) == {"W<sub>xh</sub><sup>(enc)</sup>", "W<sub>xh</sub><sup>(dec)</sup>"}
    with pytest.raises(ValueError, match="draw it as many-to-many-async"):
        A.unrolled_graph(tr, "many-to-one")


def test_unknown_sequence_type():
    with pytest.raises(ValueError, match="unknown sequence type"):
        A.unrolled_graph(probe(token_model(), tokens()), "sideways")


# -- generation -------------------------------------------------------------------------------------------------
def test_topk_table():
    gen = Generated("ab", ["c", "d"], [0.5, 0.9], [[("c", 0.5), ("x", 0.3)], [("d", 0.9), ("c", 0.05)]])
    df = A.topk_table(gen)
    assert list(df.columns) == ["step", "chosen", "prob", "alt1", "p1", "alt2", "p2"]
    assert df.loc[1, "alt2"] == "c" and df.loc[0, "p2"] == 0.3


def test_the_unrolled_graph_of_a_bidirectional_stack_draws_its_backward_direction_right_to_left():
    """Each layer's backward row: its node at position t is h←_t (the trace keeps it at step T−1−t), its recurrent
    edges join t+1 to t under its own W_hh^(←); each direction of layer 1 reads both directions of layer 0 at t, and
    y_t reads both top directions."""
    from rnnviz.analysis.unrolled import unrolled_graph

    torch.manual_seed(0)
    cfg = ModelConfig(arch="gru", vocab_size=5, embed_size=3, hidden_size=4, num_layers=2, output_size=5,
                      bidirectional=True)
    trace = probe(build_model(cfg, "cpu").eval(), torch.randint(0, 5, (2, 6)))
    g = unrolled_graph(trace, "many-to-many-sync", sample=1)
    nodes, edges = g.nodes.set_index("id"), g.edges
    T = 6
    for k in range(2):
        for t in range(T):
            want = float(trace["bwd.h"][k, 1, T - 1 - t].norm())
            assert nodes.loc[f"bwd.h{k}@{t}", "value"] == pytest.approx(want, rel=1e-5)
            assert nodes.loc[f"bwd.h{k}@{t}", "x"] > nodes.loc[f"h{k}@{t}", "x"]  # beside its forward twin
    back = edges[(edges["kind"] == "recurrent") & edges["src"].str.startswith("bwd.")]
    assert len(back) == 2 * (T - 1)
    for src, dst, weight in zip(back["src"], back["dst"], back["weight"]):
        assert int(src.split("@")[1]) == int(dst.split("@")[1]) + 1 and "←" in weight
    into = lambda dst: set(edges.loc[edges["dst"] == dst, "src"])  # noqa: E731
    for t in range(T):
        assert into(f"h1@{t}") >= {f"h0@{t}", f"bwd.h0@{t}"} and into(f"bwd.h1@{t}") >= {f"h0@{t}", f"bwd.h0@{t}"}
        assert into(f"y@{t}") == {f"h1@{t}", f"bwd.h1@{t}"}
    one_way = probe(build_model(ModelConfig(arch="gru", vocab_size=5, embed_size=3, hidden_size=4, output_size=5),
                                "cpu").eval(), torch.randint(0, 5, (1, 6)))
    assert not unrolled_graph(one_way, "many-to-many-sync").nodes["id"].str.startswith("bwd.").any()


def test_what_if_edits_reach_a_bidirectional_models_backward_direction():
    """stack "bwd." edits the *_reverse weights only: an ablated backward unit stays 0 at every step and the forward
    direction of that layer is untouched; W_hh^(←) scaled by 0 leaves W_hh^(→) as it was."""
    torch.manual_seed(1)
    cfg = ModelConfig(arch="lstm", vocab_size=5, embed_size=3, hidden_size=4, num_layers=2, output_size=5,
                      bidirectional=True)
    model = build_model(cfg, "cpu").eval()
    x = torch.randint(0, 5, (2, 6))
    before, after = probe(model, x), probe(A.ablated(model, 2, layer=0, stack="bwd."), x)
    assert after["bwd.h"][0, :, :, 2].abs().max() == 0 and before["bwd.h"][0, :, :, 2].abs().max() > 0
    torch.testing.assert_close(after["h"][0], before["h"][0], atol=1e-6, rtol=0)
    zero = A.scaled_recurrent(model, 0.0, layer=1, stack="bwd.")
    assert zero.rnn.weight_hh_l1_reverse.abs().max() == 0
    torch.testing.assert_close(zero.rnn.weight_hh_l1, model.rnn.weight_hh_l1)


def test_notation_subscripts_symbols_and_leaves_words_alone():
    """to_html writes the notation of lesson text and cell summaries: symbols get their subscripts, while a word
    before an underscore (Keras's reset_after, a task's name) stays as written."""
    from rnnviz.analysis.equations import to_html

    assert to_html("h_{t−1} + W_hh x_t") == "h<sub>t−1</sub> + W<sub>hh</sub> x<sub>t</sub>"
    assert to_html("dL/dW_hh, w_conv ∗ ũ_t") == "dL/dW<sub>hh</sub>, w<sub>conv</sub> ∗ ũ<sub>t</sub>"
    assert to_html("Keras reset_after=False on first_symbol") == "Keras reset_after=False on first_symbol"
    assert to_html("<b>x_t</b>") == "&lt;b&gt;x<sub>t</sub>&lt;/b&gt;"
