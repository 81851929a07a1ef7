"""The trainer against hand-computed cases: clipping, truncated BPTT, the divergence guard, L2, the regulariser."""
import math

import pytest
import torch

from rnnviz.bptt import tbptt_backward
from rnnviz.build import build_model
from rnnviz.models import ModelConfig
from rnnviz.run import progress_text
from rnnviz.tasks import get_task
from rnnviz.trace import probe
from rnnviz.training import TrainConfig, Trainer


def trainer(task="parity", arch="gru", hidden=8, seq_len=6, **train):
    t = get_task(task, seq_len=seq_len)
    cfg = dict(steps=50, batch_size=8, eval_batch=16, probe_every=10, eval_every=5) | train
    return Trainer(t, t.model_config(arch, hidden), TrainConfig(**cfg), device="cpu")


def gradient(tr, batch):
    """The plain gradient of the task loss on `batch`, by autograd (the reference)."""
    tr.model.zero_grad()
    x, y = batch
    tr.task.loss(tr.model(x)[0], y).backward()
    return [p.grad.clone() for p in tr.params]


@pytest.mark.parametrize("clip", [1e-3, 1e3])
def test_clip_by_norm(clip):
    tr = trainer(optimizer="sgd", momentum=0.0, lr=1.0, clip_norm=clip)
    batch = tr.task.batch(8, torch.Generator().manual_seed(5))
    g = gradient(tr, batch)
    norm = math.sqrt(sum(float(x.pow(2).sum()) for x in g))
    before = [p.detach().clone() for p in tr.params]
    report = tr.step(batch)
    scale = min(1.0, clip / (norm + 1e-6))
    assert report.grad_norm == pytest.approx(norm, rel=1e-5)
    assert report.clipped == (norm > clip)
    for p, b, gi in zip(tr.params, before, g):
        torch.testing.assert_close(p.detach(), b - scale * gi, atol=1e-6, rtol=1e-5)


def test_clip_by_value():
    tr = trainer(optimizer="sgd", momentum=0.0, lr=1.0, clip_value=1e-3)
    batch = tr.task.batch(8, torch.Generator().manual_seed(5))
    g = gradient(tr, batch)
    before = [p.detach().clone() for p in tr.params]
    assert tr.step(batch).clipped
    for p, b, gi in zip(tr.params, before, g):
        torch.testing.assert_close(p.detach(), b - gi.clamp(-1e-3, 1e-3), atol=1e-7, rtol=1e-5)


def linear_rnn(w, u):
    """A 1-unit relu RNN with positive inputs is linear: h_t = w h_{t-1} + u x_t, y_t = h_t."""
    m = build_model(ModelConfig(arch="rnn_relu", input_size=1, hidden_size=1, output_size=1), device="cpu")
    with torch.no_grad():
        m.rnn.weight_hh_l0.fill_(w)
        m.rnn.weight_ih_l0.fill_(u)
        m.rnn.bias_ih_l0.zero_()
        m.rnn.bias_hh_l0.zero_()
        m.head.weight.fill_(1.0)
        m.head.bias.zero_()
    return m


def test_tbptt_against_hand_computed_gradient():
    w, u = 0.5, 1.0
    x = torch.tensor([[[1.0], [2.0], [3.0], [4.0]]])
    y = torch.zeros(1, 4, 1)
    h1 = u * 1
    h2 = w * h1 + u * 2
    h3 = w * h2 + u * 3
    h4 = w * h3 + u * 4
    half_sq = lambda out, y: 0.5 * (out - y).pow(2).sum()  # noqa: E731  dL/dh_t = e_t = h_t
    # TBPTT(2, 2): the window [3, 4] starts from a detached h2, so dh3/dw = h2 and dh4/dw = h3 + w h2
    expected = h2 * h1 + h3 * h2 + h4 * (h3 + w * h2)
    full = h2 * h1 + h3 * (h2 + w * h1) + h4 * (h3 + w * (h2 + w * h1))
    m = linear_rnn(w, u)
    loss, _ = tbptt_backward(m, x, y, half_sq, k1=2)
    assert float(m.rnn.weight_hh_l0.grad) == pytest.approx(expected)
    assert float(loss) == pytest.approx(0.5 * (h1**2 + h2**2 + h3**2 + h4**2))
    m = linear_rnn(w, u)
    tbptt_backward(m, x, y, half_sq, k1=4)  # one window: full BPTT
    assert float(m.rnn.weight_hh_l0.grad) == pytest.approx(full)
    m = linear_rnn(w, u)
    tbptt_backward(m, x, y, half_sq, k1=2, k2=4)  # each window reaches back 4 steps: full BPTT here too
    assert float(m.rnn.weight_hh_l0.grad) == pytest.approx(full)


def test_tbptt_gradients_stop_at_the_window():
    """Many-to-one: the loss sits at the last step, so inputs before the last window get no gradient."""
    m = build_model(ModelConfig(arch="lstm", input_size=2, hidden_size=5, output_size=1), device="cpu")
    x = torch.randn(3, 7, 2, requires_grad=True)
    last = lambda out, y: out[:, -1].pow(2).sum()  # noqa: E731
    tbptt_backward(m, x, None, last, k1=3, last_only=True)
    assert torch.count_nonzero(x.grad[:, :6]) == 0  # windows [0,3), [3,6) carry nothing; [6,7) starts at 6
    assert torch.count_nonzero(x.grad[:, 6:]) > 0
    x.grad = None
    tbptt_backward(m, x, None, last, k1=3, k2=6, last_only=True)  # reach 6 from the window's end (9): step 3
    assert torch.count_nonzero(x.grad[:, :3]) == 0 and torch.count_nonzero(x.grad[:, 3:]) > 0


def test_tbptt_refused_for_encoder_decoder():
    t = get_task("reverse")
    with pytest.raises(ValueError, match="encoder-decoder"):
        Trainer(t, t.model_config("gru", 8), TrainConfig(tbptt=2), device="cpu")


def test_divergence_guard_keeps_the_last_good_weights():
    tr = trainer(arch="rnn_relu", optimizer="sgd", lr=10.0, init="spectral", init_radius=3.0, steps=500)
    reports = list(tr.reports())
    last = reports[-1]
    assert tr.status == "diverged" and last.diverged and f"step {last.step + 1}" in last.diverged
    assert all(torch.isfinite(p).all() for p in tr.params)
    assert all(torch.equal(p.detach(), g) for p, g in zip(tr.params, tr.good))
    # the restored weights can still be probed
    assert torch.isfinite(tr.probe()["h"]).all()
    with pytest.raises(ValueError, match="diverged"):
        tr.step()
    # the progress line says the diverging step and the kept weights' step once each, not "step 3 (… at step 4)"
    said = progress_text(tr.record.status, tr.record.step, 500, tr.record.message)
    assert said.count(f"step {last.step + 1}") == 1 and said.endswith(f"after step {last.step} of 500"), said


def test_clipping_cures_the_explosion():
    """The README's claim at tiny size: relu RNN at radius 1.5 diverges without clipping, trains with it."""
    base = dict(arch="rnn_relu", init="spectral", init_radius=1.5, lr=0.01, optimizer="sgd", steps=40, seed=1,
                batch_size=32, seq_len=50, hidden=64)
    wild = trainer(task="adding", **base)
    list(wild.reports())
    tame = trainer(task="adding", clip_norm=1.0, **base)
    list(tame.reports())
    assert wild.status == "diverged"
    assert tame.status == "finished" and math.isfinite(tame.summary()["val_loss"])


def test_vanishing_gradient_is_geometric_at_radius_half():
    t = get_task("adding", seq_len=30)
    tr = Trainer(t, t.model_config("rnn_tanh", 32), TrainConfig(init="spectral", init_radius=0.5), device="cpu")
    trace = tr.probe()
    g = trace["grad.h"][0].norm(dim=-1).mean(0)  # (T,)
    ratios = g[1:20] / g[2:21]  # each step back toward the start shrinks the gradient
    assert float(ratios.max()) < 0.75
    assert float(g[0] / g[-1]) < 1e-4


def test_l2_adds_the_weight_to_the_gradient():
    tr = trainer(optimizer="sgd", momentum=0.0, lr=1.0, l2=0.1)
    batch = tr.task.batch(8, torch.Generator().manual_seed(5))
    g = gradient(tr, batch)
    before = [p.detach().clone() for p in tr.params]
    tr.step(batch)
    for p, b, gi in zip(tr.params, before, g):
        expected = b - (gi + 0.1 * b if b.dim() > 1 else gi)
        torch.testing.assert_close(p.detach(), expected, atol=1e-6, rtol=1e-5)


def test_pascanu_regulariser_runs_and_is_positive():
    tr = trainer(task="adding", arch="rnn_tanh", pascanu=1.0, init="spectral", init_radius=0.5, steps=3)
    reports = list(tr.reports())
    assert all(r.penalty is not None and r.penalty > 0 for r in reports)


def test_reports_history_probes_and_pause():
    tr = trainer(steps=25)
    gen = tr.reports()
    first = next(gen)
    assert first.step == 1 and first.trace is not None and first.val_loss is not None
    tr.pause()
    assert list(gen) == []  # a paused run yields nothing more
    tr.resume()
    rest = list(tr.reports())
    assert [r.step for r in rest] == list(range(2, 26)) and tr.status == "finished"
    assert [h["step"] for h in tr.history] == list(range(1, 26))
    assert [t.meta["train_step"] for t in tr.traces] == [1, 10, 20, 25]
    assert [s for s, _ in tr.grad_heat] == [1, 10, 20, 25]
    assert set(first.grad_norms) == set(tr.names)


def test_same_seed_same_run():
    a, b = trainer(steps=5, seed=3), trainer(steps=5, seed=3)
    la = [r.loss for r in a.reports()]
    lb = [r.loss for r in b.reports()]
    assert la == lb


@pytest.mark.parametrize("bad,message", [
    (dict(lr=0.0), "learning rate 0.0"), (dict(optimizer="rmsprop"), "unknown optimizer 'rmsprop'"),
    (dict(steps=0), "steps 0"), (dict(clip_norm=-1.0), "clip norm -1.0"), (dict(init="xavier"), "xavier"),
    (dict(tbptt=3, tbptt_back=4), "multiple of the window"),
])
def test_bad_training_settings(bad, message):
    with pytest.raises(ValueError, match=message):
        trainer(**bad)


def test_probe_on_restored_weights_matches_probe_function():
    tr = trainer(steps=3)
    list(tr.reports())
    x, y = tr.probe_batch
    torch.testing.assert_close(tr.probe()["h"], probe(tr.model, x, y, tr.task.loss)["h"])
