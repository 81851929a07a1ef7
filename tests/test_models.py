"""Models: fast and traced paths agree, variants learn, the ESN reservoir stays fixed, configs are checked."""
import pytest
import torch
from torch import nn

from rnnviz.build import build_model
from rnnviz.cells import SPECS
from rnnviz.init import InitConfig, apply_init, layer_spectra, set_forget_bias
from rnnviz.models import ModelConfig, num_parameters

N, T, D, H, O = 3, 5, 4, 16, 2  # H a multiple of 16: the mLSTM has heads of 16


def mse(out, y):
    return (out - y).pow(2).mean()


@pytest.mark.parametrize("arch", list(SPECS))
@pytest.mark.parametrize("tokens", [False, True])
def test_fast_and_traced_paths_agree(arch, tokens):
    cfg = ModelConfig(arch=arch, input_size=D, vocab_size=9 if tokens else 0, embed_size=4, hidden_size=H,
                      num_layers=2, output_size=O)
    m = build_model(cfg)
    x = torch.randint(0, 9, (N, T)) if tokens else torch.randn(N, T, D)
    y = torch.randn(N, T, O)
    params = [p for p in m.parameters() if p.requires_grad]
    fast = mse(m(x)[0], y)
    g_fast = torch.autograd.grad(fast, params)
    traced = mse(m.forward_traced(x)[0], y)
    g_traced = torch.autograd.grad(traced, params)
    assert float(fast.detach()) == pytest.approx(float(traced.detach()), abs=1e-6)
    for a, b in zip(g_fast, g_traced):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def delay_task(n=32, t=6):
    """y_t = x_{t-1}: needs one step of memory; every variant should learn it."""
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 2, (n, t, 1), generator=g).float() * 2 - 1
    y = torch.cat([torch.zeros(n, 1, 1), x[:, :-1]], 1)
    return x, y


def train(m, x, y, steps=150, lr=0.03):
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr)
    with torch.no_grad():
        first = float(mse(m(x)[0], y))
    for _ in range(steps):
        opt.zero_grad()
        loss = mse(m(x)[0], y)
        loss.backward()
        opt.step()
    return first, float(loss.detach())


@pytest.mark.parametrize("arch", [a for a in SPECS if a.startswith("lstm_")] + ["gru", "rnn_tanh", "mingru", "minlstm"])
def test_each_variant_learns_a_tiny_task(arch):
    m = build_model(ModelConfig(arch=arch, input_size=1, hidden_size=8, output_size=1), seed=0)
    x, y = delay_task()
    first, last = train(m, x, y)
    assert last < 0.25 * first, (first, last)


def test_esn_reservoir_fixed_readout_learns():
    m = build_model(ModelConfig(arch="esn", input_size=1, hidden_size=32, output_size=1, spectral_radius=0.9))
    assert [n for n, p in m.named_parameters() if p.requires_grad] == ["head.weight", "head.bias"]
    reservoir = {k: v.clone() for k, v in m.rnn.state_dict().items()}
    assert layer_spectra(m.rnn)[0]["spectral_radius"] == pytest.approx(0.9, rel=1e-4)
    x, y = delay_task()
    first, last = train(m, x, y, steps=200)
    assert last < 0.5 * first
    assert all(torch.equal(reservoir[k], v) for k, v in m.rnn.state_dict().items())
    assert num_parameters(m) == sum(v.numel() for v in m.state_dict().values())


def test_esn_leak_rate_integrates():
    fast = build_model(ModelConfig(arch="esn", input_size=1, hidden_size=8, leak_rate=1.0), seed=0)
    slow = build_model(ModelConfig(arch="esn", input_size=1, hidden_size=8, leak_rate=0.1), seed=0)
    x = torch.zeros(1, 10, 1)
    x[0, 0] = 1.0
    h_fast, h_slow = fast(x)[0][0], slow(x)[0][0]
    assert h_slow[1].abs().sum() < h_fast[1].abs().sum()  # a small leak moves slowly...
    assert h_slow[-1].abs().sum() > 0  # ...and still remembers


def test_dropout_only_between_layers_and_only_in_training():
    m = build_model(ModelConfig(arch="lstm", input_size=D, hidden_size=H, num_layers=2, dropout=0.5))
    x = torch.randn(N, T, D)
    m.eval()
    torch.testing.assert_close(m(x)[0], m(x)[0])
    m.train()
    assert not torch.equal(m(x)[0], m(x)[0])


@pytest.mark.parametrize("scheme", ["orthogonal", "identity", "spectral"])
@pytest.mark.parametrize("arch", ["rnn_tanh", "lstm", "gru"])
def test_init_schemes_and_spectra(scheme, arch):
    m = build_model(ModelConfig(arch=arch, input_size=D, hidden_size=H, num_layers=2))
    apply_init(m.rnn, InitConfig(scheme=scheme, spectral_radius=0.5, gain=1.0), torch.Generator().manual_seed(0))
    for layer in layer_spectra(m.rnn):
        assert set(layer["blocks"]) == set(m.rnn.spec.blocks)
        for s in layer["blocks"].values():
            assert s["eigenvalues"].shape == (H,) and s["singular_values"].shape == (H,)
            expected = {"orthogonal": 1.0, "identity": 1.0, "spectral": 0.5}[scheme]
            assert s["spectral_radius"] == pytest.approx(expected, rel=1e-4)
            if scheme != "spectral":
                assert s["singular_values"].max() == pytest.approx(1.0, rel=1e-4)


def test_forget_bias():
    m = build_model(ModelConfig(arch="lstm", input_size=D, hidden_size=H))
    set_forget_bias(m.rnn, 0, 2.0)
    total = m.rnn.bias_ih_l0 + m.rnn.bias_hh_l0
    torch.testing.assert_close(total[H:2 * H], torch.full((H,), 2.0))
    with pytest.raises(ValueError, match="no forget-gate"):
        set_forget_bias(build_model(ModelConfig(arch="gru", input_size=D, hidden_size=H)).rnn, 0, 1.0)


@pytest.mark.parametrize("bad,message", [
    (dict(arch="nope"), "unknown architecture 'nope'"),
    (dict(hidden_size=2048), "hidden size 2048"),
    (dict(num_layers=0), "0 layers"),
    (dict(attention="dot"), "needs an encoder-decoder"),
    (dict(seq2seq=True), "output_size"),
    (dict(attention="luong", seq2seq=True, output_size=3), "unknown attention 'luong'"),
    (dict(vocab_size=-1), "vocabulary size -1"),
])
def test_config_errors_name_the_value(bad, message):
    with pytest.raises(ValueError, match=message):
        build_model(ModelConfig(**bad))


def test_token_and_shape_errors():
    m = build_model(ModelConfig(arch="gru", vocab_size=5, hidden_size=H, output_size=2))
    with pytest.raises(ValueError, match=r"0\.\.4"):
        m(torch.tensor([[1, 7]]))
    with pytest.raises(ValueError, match="integer ids"):
        m(torch.randn(1, 2, 3))
    v = build_model(ModelConfig(arch="gru", input_size=3, hidden_size=H))
    with pytest.raises(ValueError, match=r"\(batch, time, 3\)"):
        v(torch.randn(1, 2, 4))


def test_config_round_trip():
    cfg = ModelConfig(arch="lstm_cifg", vocab_size=11, hidden_size=7, output_size=11, num_layers=3)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown model settings"):
        ModelConfig.from_dict({"arch": "lstm", "colour": "red"})


def test_seq2seq_generate_and_padding():
    m = build_model(ModelConfig(arch="lstm", vocab_size=6, hidden_size=H, output_size=4, seq2seq=True,
                                attention="additive"))
    tokens, logits, attention = m.generate(torch.randint(0, 6, (2, 5)), 3)
    assert tokens.shape == (2, 3) and logits.shape == (2, 3, 4) and attention.shape == (2, 3, 5)
    with pytest.raises(ValueError, match="target ids"):
        m(torch.randint(0, 6, (2, 5)), torch.tensor([[1, 9, 0], [0, 0, 0]]))
    out = m(torch.randint(0, 6, (2, 5)), torch.tensor([[1, 2, -100], [0, 3, 1]]))[0]
    assert torch.isfinite(nn.functional.cross_entropy(out.reshape(-1, 4), torch.tensor([1, 2, -100, 0, 3, 1])))


@pytest.mark.parametrize("head", [0, 3])
def test_a_double_model_takes_float32_vectors_at_its_own_precision(head):
    """A .double() copy (the float64 gradient checks) casts float32 input to float64, with or without a head."""
    m = build_model(ModelConfig(arch="gru", input_size=4, hidden_size=5, output_size=head)).double()
    x = torch.randn(2, 3, 4)
    out, _ = m(x)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, m(x.double())[0], rtol=1e-12, atol=1e-12)  # no float32 detour
