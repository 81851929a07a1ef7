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
