"""Text for the character models: the generated code corpus, its exact features, and a user's own text."""
import numpy as np
import pytest
import torch

from rnnviz.tasks import get_task, load_text
from rnnviz.tasks.code_corpus import CODE_VOCAB, code_corpus, features_of_text
from rnnviz.tasks.text import DEFAULT_TEXT, MAX_TEXT_BYTES, MIN_TEXT_CHARS

B = 6


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# -- the code corpus and its features ---------------------------------------------------------------------------
def test_features_of_handmade_code():
    text = 'f(a, "x(y\\"z") # (no "\nb = [1]'
    f = features_of_text(text)
    q, d, c = f["inside quotes"], f["bracket depth"], f["position in line"]
    opening, closing = text.index('"'), text.rindex('"', 0, text.index("#"))
    assert q.tolist() == [int(opening <= t < closing) for t in range(len(text))]  # the escaped quote stays inside
    assert d[text.index("(")] == 1 and d[closing] == 1 and d[text.index(")", closing)] == 0
    assert d[len(text) - 3:].tolist() == [1, 1, 0] and d[text.index("\n")] == 0  # the comment's "(" did not count
    assert c[0] == 0 and c[text.index("\n") + 1] == 0 and c[-1] == len("b = [1]") - 1
    g = features_of_text("x = 1  // it's [\n'a' {", depth=2)
    assert g["bracket depth"].tolist()[-1] == 3 and g["inside quotes"].tolist()[-6:] == [0, 1, 1, 0, 0, 0]


def test_code_corpus_vocabulary_and_determinism():
    text = code_corpus(0)
    assert 200_000 < len(text) < 400_000
    assert len(CODE_VOCAB) == 65 and set(text) == set(CODE_VOCAB)
    assert code_corpus(1)[:2000] != text[:2000]
    task = get_task("code_lm")
    assert task.output_size == 65 and task.model_config().vocab_size == 65
    assert task.sample_text(50) == text[:50] and len(task.sample_text(80, gen())) == 80


def test_code_features_of_batch_windows_are_exact():
    task = get_task("code_lm", seq_len=300)
    truth = features_of_text(task.text)
    offsets = task.offsets(40, gen(5)).tolist()
    x, _ = task.batch(40, gen(5))
    for row, start in zip(x, offsets):
        assert task.decode(row) == task.text[start:start + 300]
        got = task.features(row)
        for key, values in truth.items():
            np.testing.assert_array_equal(got[key], values[start:start + 300], err_msg=key)


# -- user text -----------------------------------------------------------------------------------------------
def test_load_text_accepts_utf8_and_refuses_the_rest():
    assert load_text("\ufeffline one\r\nline two " * 10).startswith("line one\nline two")
    assert load_text(("héllo wörld " * 20).encode("utf-8")) == "héllo wörld " * 20
    with pytest.raises(ValueError, match="not UTF-8 .*byte 5 is 0xff"):
        load_text(b"hello\xff" + b"x" * 200)
    with pytest.raises(ValueError, match="empty"):
        load_text(b"   \n ")
    with pytest.raises(ValueError, match=f"only 5 characters; give at least {MIN_TEXT_CHARS}"):
        load_text("short")
    with pytest.raises(ValueError, match="limit is 2 MB"):
        load_text(b"a" * (MAX_TEXT_BYTES + 1))
    with pytest.raises(ValueError, match="binary"):
        load_text("a\x00" * 100)
    with pytest.raises(ValueError, match="string or UTF-8 bytes"):
        load_text(123)


def test_text_task_uses_the_texts_own_characters():
    text = "abc abd abe\n" * 20
    task = get_task("text_lm", text=text, seq_len=30)
    assert task.input_vocab == sorted(set(text)) == ["\n", " ", "a", "b", "c", "d", "e"] and task.output_size == 7
    x, y = task.batch(B, gen())
    assert torch.equal(x[:, 1:], y[:, :-1]) and task.decode(x[0]) in text
    assert get_task("text_lm").text == DEFAULT_TEXT
    assert task.describe()["params"]["text"] == "240 characters" and task.describe_input(x[0])
    with pytest.raises(ValueError, match="seq_len 500 is too long for a text of 240 characters"):
        get_task("text_lm", text=text, seq_len=500)
    with pytest.raises(ValueError, match="'é' is not in"):
        task.encode("é")


@pytest.mark.parametrize("name, params", [("code_lm", {"seq_len": 50}), ("text_lm", {"seq_len": 20})])
def test_validation_windows_are_text_training_never_reads(name, params):
    from rnnviz.tasks import get_task

    task = get_task(name, **params)
    span = task.params.seq_len + 1
    train = task.offsets(2000, torch.Generator().manual_seed(1))
    held = task.offsets(2000, torch.Generator().manual_seed(1), held_out=True)
    assert int((train + span).max()) <= int(held.min()), "a validation window overlaps text the model trains on"
    assert int(held.min()) >= int(len(task.text) * 0.9) - 1
    x, y = task.held_out(8, torch.Generator().manual_seed(3))
    x2, _ = task.held_out(8, torch.Generator().manual_seed(3))
    assert x.shape == (8, task.params.seq_len) and torch.equal(x, x2) and torch.equal(x[:, 1:], y[:, :-1])


def test_a_text_too_short_to_set_a_tenth_aside_still_validates():
    from rnnviz.tasks import get_task

    task = get_task("text_lm", text="abc" * 40, seq_len=20)  # 120 characters: its last tenth holds no window
    x, _ = task.held_out(4, torch.Generator().manual_seed(0))
    assert x.shape == (4, 20)


def test_bits_per_char_from_the_loss_equals_the_metric():
    from rnnviz.tasks import get_task

    task = get_task("code_lm", seq_len=30)
    x, y = task.batch(4, torch.Generator().manual_seed(0))
    out = torch.randn(4, 30, len(task.input_vocab), generator=torch.Generator().manual_seed(1))
    assert task.metric_from_loss(float(task.loss(out, y))) == pytest.approx(task.metric(out, y), rel=1e-6)
