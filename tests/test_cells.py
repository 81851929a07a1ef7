"""Every torch-equivalent cell equals torch.nn within 1e-5, on both paths, with state_dicts moving both ways."""
import pytest
import torch
from torch import nn

from rnnviz.stack import Recurrent

TORCH = {"rnn_tanh": lambda *a, **k: nn.RNN(*a, **k), "rnn_relu": lambda *a, **k: nn.RNN(*a, nonlinearity="relu", **k),
         "lstm": nn.LSTM, "gru": nn.GRU}
N, T, D, H = 3, 4, 5, 6  # torch-rnn's tiny sizes


def pair(arch, layers, bias=True):
    ours = Recurrent(arch, D, H, layers, bias=bias)
    ref = TORCH[arch](D, H, layers, batch_first=True, bias=bias)
    return ours, ref


def run_ref(ref, x, state=None):
    out, s = ref(x, state)
    return out, (s if isinstance(s, tuple) else (s, None))


@pytest.mark.parametrize("arch", list(TORCH))
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("batch,steps", [(1, 1), (N, T), (2, 9)])
def test_matches_torch_both_directions(arch, layers, batch, steps):
    ours, ref = pair(arch, layers)
    x = torch.randn(batch, steps, D)
    ref.load_state_dict(ours.state_dict())  # rnnviz -> torch
    expected, (eh, ec) = run_ref(ref, x)
    for fn in (ours.forward, lambda x: ours.forward_traced(x)[:2]):
        out, (h, c) = fn(x)
        torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
        torch.testing.assert_close(h, eh, atol=1e-5, rtol=0)
        if ec is not None:
            torch.testing.assert_close(c, ec, atol=1e-5, rtol=0)
    fresh = TORCH[arch](D, H, layers, batch_first=True)  # torch -> rnnviz
    ours.load_state_dict(fresh.state_dict())
    torch.testing.assert_close(ours(x)[0], fresh(x)[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("arch", list(TORCH))
def test_initial_state_and_no_bias(arch):
    ours, ref = pair(arch, 2, bias=False)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(N, T, D)
    h0 = torch.randn(2, N, H)
    state = (h0, torch.randn(2, N, H)) if arch == "lstm" else h0
    torch.testing.assert_close(ours(x, state)[0], ref(x, state)[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.forward_traced(x, state)[0], ref(x, state)[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("arch", list(TORCH))
def test_gradients_match_torch(arch):
    """The fast path's backward (the hand-written GRU BPTT included) equals torch.nn's autograd."""
    ours, ref = pair(arch, 2)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(N, 7, D, requires_grad=True)
    w = torch.randn(N, 7, H)
    g_ours = torch.autograd.grad((ours(x)[0] * w).sum(), [x, *ours.parameters()])
    g_ref = torch.autograd.grad((ref(x)[0] * w).sum(), [x, *ref.parameters()])
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_gru_initial_state_gradient():
    ours, ref = pair("gru", 1)
    ref.load_state_dict(ours.state_dict())
    h0 = torch.randn(1, N, H, requires_grad=True)
    x = torch.randn(N, T, D)
    a = torch.autograd.grad(ours(x, h0)[0].pow(2).sum(), h0)[0]
    b = torch.autograd.grad(ref(x, h0)[0].pow(2).sum(), h0)[0]
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_parameter_names_are_torchs():
    ours, ref = pair("lstm", 2)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}


@pytest.mark.parametrize("bad", [dict(arch="transformer"), dict(hidden_size=0), dict(hidden_size=5000),
                                 dict(num_layers=5), dict(dropout=1.5)])
def test_bad_sizes_name_the_value(bad):
    args = dict(arch="lstm", input_size=D, hidden_size=H, num_layers=1, dropout=0.0) | bad
    with pytest.raises(ValueError) as e:
        Recurrent(**args)
    assert str(list(bad.values())[0]) in str(e.value)


def test_wrong_input_size_is_refused():
    with pytest.raises(ValueError, match=r"expected \(batch, time, 5\)"):
        Recurrent("gru", D, H)(torch.randn(2, 3, 4))


# Each spec describes itself: the views read equations, gate meanings, W_hh and the transition from it.
from rnnviz.analysis import equations as eq  # noqa: E402
from rnnviz.cells import RHO_TRANSITIONS, SPECS, TRANSITIONS, CellSpec  # noqa: E402

GREFF = {"lstm_nig": "c", "lstm_nfg": "c", "lstm_nog": "h", "lstm_cifg": "c", "lstm_niaf": "g", "lstm_noaf": "h"}


@pytest.mark.parametrize("arch", list(SPECS))
def test_every_spec_declares_what_views_need(arch):
    spec = SPECS[arch]
    assert spec.equations and all(e.strip() for e in spec.equations)
    assert spec.equation(spec.state_symbol) is not None, "every cell says how its state h_t (mLSTM: C_t) is formed"
    assert (spec.equation("c") is not None) == spec.has_cell
    if spec.family == "lru":  # its blocks are the matrices B and D, named in its lines
        assert all(f"{b} x_t" in " ".join(spec.equations) for b in spec.blocks)
    else:
        assert all(spec.equation(b) for b in spec.blocks), "every row block of W_hh has its line"
    assert spec.transition in TRANSITIONS
    assert spec.has_w_hh or spec.transition not in RHO_TRANSITIONS, "a ρ(W_hh) rate needs a W_hh"
    meanings = dict(spec.gate_meanings)
    assert set(spec.gates) <= set(meanings) and len(meanings) == len(spec.gate_meanings)
    assert all(": " in m and m.split(":")[1].strip() for m in meanings.values()), "\"name: what it does\""
    assert spec.memory_gate == "" or spec.memory_gate in spec.gates
    assert hash(spec) == hash(SPECS[arch])  # still usable as a dict key
    assert eq.hidden_equation(spec).startswith(f"{spec.state_symbol}<sub>t</sub> =")


def test_transitions_and_gate_words_say_what_they_should():
    assert {a for a, s in SPECS.items() if s.rho_sets_rate} == {"rnn_tanh", "rnn_relu", "esn"}
    assert SPECS["esn"].transition == "leaky" and SPECS["gru"].transition == "gated"
    assert SPECS["lstm"].gate_meaning("f").startswith("forget gate")
    assert SPECS["gru"].gate_label("z") == "update gate z" and SPECS["gru"].memory_gate == "z"
    assert "forget" not in " ".join(m for _, m in SPECS["gru"].gate_meanings)
    with pytest.raises(ValueError, match="gru.*'f'"):
        SPECS["gru"].gate_meaning("f")
    labels = {}
    for s in SPECS.values():  # one letter, one name across cells, so mixed-cell legends agree
        for g in s.gates:
            assert labels.setdefault(g, s.gate_label(g)) == s.gate_label(g)


@pytest.mark.parametrize("arch,line", list(GREFF.items()))
def test_greff_variants_change_exactly_their_one_line(arch, line):
    base, variant = set(SPECS["lstm"].equations), SPECS[arch].equations
    added = set(variant) - base
    assert len(added) == 1 and next(iter(added)).startswith(f"{line}_t =")
    dropped = {e.split(" =")[0] for e in base - set(variant)} - {f"{line}_t"}
    assert dropped <= {"i_t", "f_t", "o_t"} and len(dropped) <= 1  # only the gate the variant has not got
    assert dropped == {f"{g}_t" for g in "ifo" if g not in SPECS[arch].blocks}


def test_variant_equations_read_as_the_papers():
    assert SPECS["lstm_noaf"].equation("h") == "h_t = o_t ⊙ c_t"
    assert "tanh" not in SPECS["lstm_noaf"].equation("h") and "tanh" in SPECS["lstm"].equation("h")
    assert "(1 − i_t) ⊙ c_{t−1}" in SPECS["lstm_cifg"].equation("c")
    assert "tanh" not in SPECS["lstm_niaf"].equation("g")
    assert SPECS["lstm_nog"].equation("h") == "h_t = tanh(c_t)"
    assert "p_i ⊙ c_{t−1}" in SPECS["lstm_peephole"].equation("i")
    assert eq.cell_equation(SPECS["lstm_cifg"]) == \
        "c<sub>t</sub> = (1 − i<sub>t</sub>) ⊙ c<sub>t−1</sub> + i<sub>t</sub> ⊙ g<sub>t</sub>"


def test_a_spec_without_equations_is_refused_not_drawn_as_an_lstm():
    bare = CellSpec("mingru", "mingru", ("z", "h"), ("z",), None, transition="diagonal", has_w_hh=False)
    with pytest.raises(ValueError, match="mingru.*no equations"):
        eq.hidden_equation(bare)
    with pytest.raises(ValueError, match="mingru"):
        eq.cell_equation(bare)
    only_h = CellSpec("mingru", "mingru", ("z", "h"), ("z",), None,
                      equations=("h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ g_t",))
    assert "z<sub>t</sub>" in eq.hidden_equation(only_h)
    with pytest.raises(ValueError, match=r"mingru.*c_t"):
        eq.cell_equation(only_h)
    assert eq.gate_glossary(only_h) == ["<b>z</b>: the mingru spec does not say what this gate does"]
    assert not only_h.rho_sets_rate and not bare.rho_sets_rate


def test_list_json_carries_what_each_cell_declares(capsys):
    import json

    from rnnviz.cli import main
    assert main(["list", "--json"]) == 0
    archs = {a["name"]: a for a in json.loads(capsys.readouterr().out)["archs"]}
    assert set(archs) == set(SPECS)
    for name, a in archs.items():
        spec = SPECS[name]
        assert a["equations"] == list(spec.equations) and a["gate_meanings"] == dict(spec.gate_meanings)
        assert a["has_w_hh"] is spec.has_w_hh and a["transition"] == spec.transition
    assert archs["gru"]["gate_meanings"]["z"].startswith("update gate") and archs["esn"]["transition"] == "leaky"


def test_the_jacobian_view_says_why_a_cell_without_w_hh_has_no_rho_line():
    from rnnviz.plots.gradients import _rate_note
    diag = CellSpec("lru", "lru", ("h",), (), None, equations=("h_t = λ ⊙ h_{t−1} + B x_t",), has_w_hh=False,
                    transition="diagonal")
    said = _rate_note(diag, "lru", 0.9, "measured: ×0.8 per step", drawn=False)
    assert "lru has no W<sub>hh</sub>" in said and "diag(a<sub>t</sub>)" in said and "×0.8 per step" in said
    assert "no ρ line applies" in said and "exact norm" in _rate_note(diag, "lru", None, "measured", False, exact=True)
    assert "Gated gru" in _rate_note(SPECS["gru"], "gru", 0.9, "measured", drawn=False)
    assert "leak" in _rate_note(SPECS["esn"], "esn", 0.9, "measured", drawn=True)
