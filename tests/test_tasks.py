"""The task catalogue: metadata, shapes, determinism, each task's own rule checked independently, and learning."""
import math

import pytest
import torch

from rnnviz.build import build_model
from rnnviz.tasks import PAD, SEQUENCE_TYPES, TASKS, get_task, list_tasks, sequence_accuracy
from rnnviz.tasks.long_term import MEAN_PREDICTOR_MSE
from rnnviz.tasks.sentiment import NEGATIVE, POSITIVE, WORDS
from rnnviz.tasks.seq2seq_tasks import spell

ALL = list(TASKS)
B = 6


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def forward(model, task, x, y):
    return model(x, y)[0] if task.info.sequence_type == "many-to-many-async" else model(x)[0]


# -- every task -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_metadata_is_complete(name):
    task = get_task(name)
    i = task.info
    assert i.name == name and i.sequence_type in SEQUENCE_TYPES
    assert i.inputs in ("tokens", "vectors") and i.outputs in ("tokens", "classes", "vectors")
    assert i.metric and i.family
    assert i.teaches.endswith(".") and ". " not in i.teaches and len(i.teaches.split()) >= 8
    assert i.higher_is_better == (i.metric not in ("mse", "bits per char"))
    assert task.defaults.attention in ("none", "additive", "dot") and task.defaults.steps > 0
    for field, (lo, hi) in task.limits.items():
        assert lo <= getattr(task.params, field) <= hi
    numeric = {k for k, v in task.describe()["params"].items() if isinstance(v, (int, float))}
    assert numeric <= set(task.limits), f"{name}: parameters without limits: {numeric - set(task.limits)}"
    if i.inputs == "tokens":
        assert task.input_vocab and all(isinstance(s, str) for s in task.input_vocab)
    if i.outputs in ("tokens", "classes"):
        assert len(task.output_vocab) == task.output_size


def test_list_tasks_rows():
    rows = list_tasks()
    assert [r["name"] for r in rows] == ALL
    assert all(set(r) == {"name", "sequence_type", "teaches", "inputs", "outputs", "metric"} for r in rows)
    assert {r["sequence_type"] for r in rows} == set(SEQUENCE_TYPES)


def check_ids(t, size, name):
    assert t.dtype == torch.int64, name
    assert int(t.min()) >= 0 and int(t.max()) < size, name


@pytest.mark.parametrize("name", ALL)
def test_batch_shapes_and_types(name):
    task = get_task(name)
    x, y = task.batch(B, gen())
    kind, outputs = task.info.sequence_type, task.info.outputs
    if task.info.inputs == "tokens":
        assert x.dim() == 2 and x.shape[0] == B
        check_ids(x, len(task.input_vocab), name)
    else:
        assert x.dim() == 3 and x.shape[0] == B and x.shape[2] == task.input_size and x.dtype == torch.float32
    if kind == "one-to-one":
        assert x.shape[1] == 1
    if kind in ("one-to-one", "many-to-one"):
        assert y.shape == ((B,) if outputs == "classes" else (B, task.output_size))
    elif kind == "many-to-many-async":
        assert y.dim() == 2 and y.shape[0] == B and y.shape[1] == task.target_len
        check_ids(y.masked_fill(y == PAD, 0), task.output_size, name)
    else:
        T = x.shape[1]
        assert y.shape == ((B, T) if outputs == "tokens" else (B, T, task.output_size))
    if outputs == "vectors":
        assert y.dtype == torch.float32
    elif kind != "many-to-many-async":
        check_ids(y, task.output_size, name)
    assert len(task.describe_input(x[0])) == x.shape[1]
    assert all(isinstance(s, str) and s for s in task.describe_output(y[0]))


@pytest.mark.parametrize("name", ALL)
def test_batches_are_deterministic(name):
    task = get_task(name)
    x1, y1 = task.batch(B, gen(3))
    x2, y2 = task.batch(B, gen(3))
    x3, y3 = task.batch(B, gen(4))
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not (torch.equal(x1, x3) and torch.equal(y1, y3))
    assert torch.equal(task.batch(B, gen(3))[0], get_task(name).batch(B, gen(3))[0])  # not per-instance


@pytest.mark.parametrize("name", ALL)
def test_default_model_fits_and_a_few_steps_fit_one_batch(name):
    task = get_task(name)
    model = build_model(task.model_config(hidden_size=16), device="cpu", seed=0)
    x, y = task.batch(16, gen())
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(6):
        loss = task.loss(forward(model, task, x, y), y)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0], f"{name}: {losses}"
    assert math.isfinite(task.metric(forward(model, task, x, y), y))


@pytest.mark.parametrize("attention", ["none", "additive", "dot"])
@pytest.mark.parametrize("name", [n for n in ALL if TASKS[n].info.sequence_type == "many-to-many-async"])
def test_seq2seq_tasks_work_with_every_attention(name, attention):
    task = get_task(name)
    cfg = task.model_config(hidden_size=8, attention=attention)
    assert cfg.seq2seq and cfg.attention == attention
    model = build_model(cfg, device="cpu", seed=0)
    x, y = task.batch(B, gen())
    out = model(x, y)[0]
    assert out.shape == (B, y.shape[1], task.output_size)
    task.loss(out, y).backward()
    tokens, _, _ = model.generate(x, task.target_len)
    assert tokens.shape == y.shape


@pytest.mark.parametrize("name", ["reverse", "sort_digits"])
def test_copies_names_where_each_target_token_sits_in_the_source(name):
    """Task.copies, the attention map's squares: every position it names holds the token that step must write,
    every position holding it is named, and the end token copies nothing."""
    task = get_task(name, seq_len=6)
    x, y = task.batch(4, gen())
    for xs, ys in zip(x, y):
        copies = task.copies(xs)
        assert len(copies) == len(ys) and copies[-1] == []
        for t, where in enumerate(copies[:-1]):
            assert where == [j for j in range(len(xs)) if int(xs[j]) == int(ys[t])] or \
                (name == "reverse" and where == [len(xs) - 1 - t] and int(xs[where[0]]) == int(ys[t]))
    assert get_task("spell_numbers").copies(torch.tensor([1, 2])) is None  # it writes words, not source tokens


# -- learning (a representative subset; the bench trains every task's defaults) -----------------------------
def train(task, steps, hidden=24, lr=1e-2, batch=32, arch=None):
    model = build_model(task.model_config(arch=arch, hidden_size=hidden), device="cpu", seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = gen(1)
    for _ in range(steps):
        x, y = task.batch(batch, g)
        loss = task.loss(forward(model, task, x, y), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = task.batch(256, gen(99))
    with torch.no_grad():
        return task.metric(forward(model, task, x, y), y)


@pytest.mark.parametrize("name, kwargs, steps, useful", [
    ("sentiment", {}, 150, 0.95),  # chance 0.5
    ("bracket_depth", {"seq_len": 20}, 150, 0.9),  # the most common depth is ~0.35
    ("parity", {"seq_len": 10}, 250, 0.95),  # chance 0.5; the leading-zero curriculum at work
    ("pattern_gen", {}, 200, 0.8),  # chance 0.25
    ("reverse", {"seq_len": 5}, 200, 0.8),  # chance 1/9
])
def test_tasks_learn_at_tiny_sizes(name, kwargs, steps, useful):
    assert train(get_task(name, **kwargs), steps) >= useful


def test_sines_forecast_beats_repeating_the_last_value():
    task = get_task("sines", seq_len=30)
    x, y = task.batch(512, gen(99))
    persistence = float(((x - y) ** 2).mean())
    assert train(task, 150) < 0.5 * persistence


# -- each task's rule, checked independently ----------------------------------------------------------------
def test_adding_mean_predictor_scores_a_sixth_and_targets_are_the_marked_sum():
    task = get_task("adding", seq_len=50)
    x, y = task.batch(20000, gen())
    assert float(((y - 1.0) ** 2).mean()) == pytest.approx(MEAN_PREDICTOR_MSE, abs=0.005)
    assert task.metric(torch.ones(20000, 50, 1), y) == pytest.approx(1 / 6, abs=0.005)
    assert task.lag == 50 and not task.info.higher_is_better
    for b in range(20):
        first, second = task.dependency(x[b])
        assert first < 25 <= second
        assert float(y[b]) == pytest.approx(float(x[b, first, 0] + x[b, second, 0]))


def test_copy_memory_layout_and_memoryless_baseline():
    task = get_task("copy_memory", seq_len=7, n_memorize=3, n_symbols=5)
    x, y = task.batch(B, gen())
    assert x.shape == y.shape == (B, 7 + 6) and task.lag == 10
    assert torch.equal(y[:, -3:], x[:, :3]) and (x[:, :3] >= 1).all() and (x[:, :3] <= 5).all()
    assert (x[:, 9] == 6).all() and (x[:, 3:9] == 0).all() and (x[:, 10:] == 0).all()
    assert (y[:, :-3] == 0).all()
    logits = torch.full((B, 13, 6), -1e4)  # sure of blanks, then uniform over the 5 symbols
    logits[:, :-3, 0] = 0
    logits[:, -3:, 1:] = 0
    assert float(task.loss(logits, y)) == pytest.approx(task.baseline_loss, rel=1e-4)
    assert task.metric(torch.nn.functional.one_hot(y, 6).float(), y) == 1.0
    assert task.metric(torch.nn.functional.one_hot(torch.zeros_like(y), 6).float(), y) == 0.0  # blanks score 0


def test_selective_copy_scatters_the_symbols_and_asks_for_them_in_order():
    task = get_task("selective_copy", seq_len=9, n_memorize=3, n_symbols=5)
    x, y = task.batch(64, gen())
    assert x.shape == y.shape == (64, 12) and (x[:, 9:] == 6).all() and (y[:, :9] == 0).all()
    for xs, ys in zip(x, y):  # exactly 3 symbols among blanks, replayed in the order they came
        held = xs[:9][xs[:9] != 0]
        assert held.numel() == 3 and torch.equal(ys[9:], held)
        assert task.dependency(xs) == (xs[:9] != 0).nonzero().flatten().tolist()
    places = {tuple(task.dependency(xs)) for xs in x}
    assert len(places) > 20  # where the symbols sit changes from sequence to sequence: not copy_memory's fixed start
    loss, recall = task.baseline()
    assert loss == pytest.approx(task.baseline_loss, rel=0.02) and recall == pytest.approx(1 / 5, abs=0.05)
    with pytest.raises(ValueError, match="do not fit among 2 places"):
        get_task("selective_copy", seq_len=2, n_memorize=3)


def test_induction_heads_asks_for_the_symbol_after_the_earlier_trigger():
    task = get_task("induction_heads", seq_len=10, n_symbols=5)
    x, y = task.batch(256, gen())
    assert x.shape == (256, 10) and y.shape == (256,) and task.output_size == 5 and task.input_vocab[5] == ">"
    for xs, ys in zip(x, y):  # the trigger (id 5) exactly twice: once before the end, with a symbol after it, and last
        first = (xs == 5).nonzero().flatten().tolist()
        assert len(first) == 2 and first[1] == 9 and first[0] <= 7
        assert int(ys) == int(xs[first[0] + 1]) and task.dependency(xs) == [first[0], first[0] + 1, 9]
        assert task.describe_input(xs)[first[0]] == ">" and task.describe_output(ys) == [task.output_vocab[int(ys)]]
    assert len({task.dependency(xs)[0] for xs in x}) == 8  # the pair sits anywhere from 0 to T − 3
    _, accuracy = task.baseline()
    assert accuracy == pytest.approx(1 / 5, abs=0.05)  # chance: the key is uniform over the symbols
    with pytest.raises(ValueError, match="out of range"):
        get_task("induction_heads", seq_len=2)


def test_chance_is_scored_on_sequences_the_predictor_was_not_fitted_to():
    """The input-ignored accuracy is chance for balanced classes: fitted and scored on one sample it came out 0.26
    for first_symbol's 4 classes and 0.55 for parity (the commonest class of that sample, scored on it)."""
    for name, chance in (("first_symbol", 1 / 4), ("parity", 1 / 2), ("induction_heads", 1 / 8)):
        assert get_task(name).baseline()[1] == pytest.approx(chance, abs=0.006), name


def test_the_input_ignored_baseline_matches_each_closed_form():
    """Task.baseline(): the best predictor that never reads its input, measured; checked against the formulas."""
    loss, mse = get_task("adding", seq_len=50).baseline()
    assert loss == pytest.approx(MEAN_PREDICTOR_MSE, abs=0.02) and mse == pytest.approx(loss)
    copy = get_task("copy_memory", seq_len=7, n_memorize=3, n_symbols=5)
    loss, recall = copy.baseline()
    assert loss == pytest.approx(copy.baseline_loss, rel=0.02)  # k ln n / (T + 2k)
    assert recall == pytest.approx(1 / 5, abs=0.05)
    loss, acc = get_task("first_symbol", seq_len=10, n_classes=4).baseline()
    assert loss == pytest.approx(math.log(4), rel=0.01) and acc == pytest.approx(0.25, abs=0.04)
    loss, acc = get_task("parity", seq_len=10).baseline()
    assert loss == pytest.approx(math.log(2), rel=0.01) and acc == pytest.approx(0.5, abs=0.04)
    bits = get_task("text_lm", text="aab" * 300).baseline()[1]  # the unigram entropy, in bits per character
    assert bits == pytest.approx(-(2 / 3) * math.log2(2 / 3) - (1 / 3) * math.log2(1 / 3), abs=0.05)


def test_first_symbol_answer_is_the_first_token_and_distractors_follow():
    task = get_task("first_symbol", seq_len=12, n_classes=3, n_distractors=2)
    x, y = task.batch(B, gen())
    assert x.shape == (B, 13) and torch.equal(x[:, 0], y) and (x[:, 1:] >= 3).all() and (x[:, 1:] < 5).all()
    assert task.input_vocab == ["A", "B", "C", "y", "z"] and task.output_vocab == ["A", "B", "C"]
    assert task.lag == 12 and task.dependency(x[0]) == [0]
    assert set(x[:, 1:].flatten().tolist()) == {3, 4}


def test_parity_majority_and_bracket_labels():
    x, y = get_task("parity", seq_len=12).batch(200, gen())
    assert torch.equal(y, x.sum(1) % 2)
    assert len(set(x.sum(1).tolist())) > 5  # leading zeros vary the number of live bits
    x, y = get_task("majority", seq_len=9).batch(200, gen())
    assert torch.equal(y, (x.sum(1) >= 5).long())
    task = get_task("bracket_depth", seq_len=60, max_depth=3)
    x, y = task.batch(50, gen())
    steps = (x == 0).long() - (x == 1).long()
    assert torch.equal(y, steps.cumsum(1)) and int(y.min()) == 0 and int(y.max()) == 3


def rule_sentiment(words):
    """Independent statement of the grammar's rule: the last clause decides, 'not' flips its adjective."""
    clause = words[max([i for i, w in enumerate(words) if w == "but"] + [-1]) + 1:]
    adjective = [w for w in clause if w in POSITIVE or w in NEGATIVE][-1]
    return int((adjective in POSITIVE) != ("not" in clause))


def test_sentiment_labels_follow_negation_and_but():
    task = get_task("sentiment")
    x, y = task.batch(300, gen())
    for row, label in zip(x, y):
        words = [WORDS[int(i)] for i in row]
        n_pad = words.count("·")
        assert words[:n_pad] == ["·"] * n_pad and "·" not in words[n_pad:]  # padded at the start only
        assert rule_sentiment(words[n_pad:]) == int(label)
    assert 0.35 < float(y.float().mean()) < 0.65
    ids = task.encode("the movie was not very good")
    assert ids.shape == (1, task.params.seq_len)
    assert task.dependency(ids[0]) == [task.params.seq_len - 3, task.params.seq_len - 1]
    with pytest.raises(ValueError, match="'superb'"):
        task.encode("the movie was superb")


def test_seq2seq_targets():
    x, y = get_task("reverse", seq_len=5, n_letters=4).batch(B, gen())
    assert torch.equal(y[:, :5], x.flip(1)) and (y[:, 5] == 4).all()
    x, y = get_task("sort_digits", seq_len=6).batch(B, gen())
    assert torch.equal(y[:, :6], x.sort(1).values) and (y[:, 6] == 10).all()
    assert spell(0) == ["zero"] and spell(42) == ["forty", "two"] and spell(1005) == ["one", "thousand", "five"]
    assert " ".join(spell(999_999)) == "nine hundred ninety nine thousand nine hundred ninety nine"
    task = get_task("spell_numbers", seq_len=3)
    x, y = task.batch(100, gen())
    for src, tgt in zip(x, y):
        number = int("".join(task.input_vocab[int(i)] for i in src if int(i) < 10))
        words = [task.output_vocab[int(i)] for i in tgt if int(i) != PAD]
        assert words == spell(number) + ["<end>"]
        assert (tgt[len(words):] == PAD).all()


def test_sequence_accuracy_counts_whole_sequences():
    y = torch.tensor([[1, 2, PAD], [0, 1, 1]])
    logits = torch.nn.functional.one_hot(torch.tensor([[1, 2, 0], [0, 1, 2]]), 3).float()
    assert sequence_accuracy(logits, y) == 0.5  # the pad is ignored; one wrong token sinks row 2
    assert get_task("reverse").metric(logits, y) == pytest.approx(4 / 5)


def test_latching_sines_circle_and_generation():
    task = get_task("latching", seq_len=5, n_classes=4, noise=0.0)
    x, y = task.batch(B, gen())
    assert torch.equal(x[:, :3, 0], task.patterns[y]) and (x[:, 3:] == 0).all() and task.dependency(x[0]) == [0, 1, 2]
    x, y = get_task("sines").batch(B, gen())
    assert torch.allclose(y[:, :-1], x[:, 1:])  # noise-free: the target is the next input
    x, y = get_task("circle").batch(4000, gen())
    assert torch.equal(y, (x[:, 0].norm(dim=-1) < math.sqrt(2 / math.pi)).long())
    assert 0.45 < float(y.float().mean()) < 0.55
    x, y = get_task("sine_gen").batch(B, gen())
    assert (x[:, 1:] == 0).all() and (x[:, 0].abs() <= 1).all() and (y.abs() <= 1).all()


# -- parameters and errors -------------------------------------------------------------------------------------
def test_unknown_names_and_bad_parameters_raise_valueerror():
    with pytest.raises(ValueError, match="'nope'.*adding"):
        get_task("nope")
    with pytest.raises(ValueError, match="seq_len 5000 is out of range for adding; use 2 to 1000"):
        get_task("adding", seq_len=5000)
    with pytest.raises(ValueError, match="noise -1"):
        get_task("latching", noise=-1.0)
    with pytest.raises(ValueError, match="'lag'"):
        get_task("latching", lag=10)
    with pytest.raises(ValueError, match="seq_len 2.5 must be a whole number"):
        get_task("parity", seq_len=2.5)
    with pytest.raises(ValueError, match="max_depth"):
        get_task("bracket_depth", max_depth=0)
