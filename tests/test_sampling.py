"""Generation: temperature 0 is greedy, probabilities are the ones sampled from, bad input is refused."""
import pytest
import torch

from rnnviz.build import build_model
from rnnviz.models import ModelConfig
from rnnviz.sampling import encode, generate_text, generate_values

VOCAB = list("abcde\n")


def char_model():
    return build_model(ModelConfig(arch="lstm", vocab_size=6, embed_size=4, hidden_size=8, output_size=6), seed=0)


def test_temperature_zero_is_greedy():
    m = char_model()
    gen = generate_text(m, VOCAB, "ab", 12, temperature=0.0)
    ids = encode("ab", VOCAB)
    for ch in gen.chars:  # replay: each chosen character is the argmax given everything before it
        logits = m(torch.tensor([ids]))[0][0, -1]
        assert VOCAB[int(logits.argmax())] == ch
        ids.append(VOCAB.index(ch))
    assert gen.text == "ab" + "".join(gen.chars)
    assert gen.chars == generate_text(m, VOCAB, "ab", 12, temperature=0.0, seed=99).chars  # no randomness


def test_sampling_probabilities_and_topk():
    m = char_model()
    gen = generate_text(m, VOCAB, "a", 30, temperature=1.5, top_k=3, seed=1)
    assert len(gen.chars) == len(gen.probs) == len(gen.top) == 30
    for ch, p, top in zip(gen.chars, gen.probs, gen.top):
        assert len(top) == 3 and [q for _, q in top] == sorted([q for _, q in top], reverse=True)
        assert 0 < p <= top[0][1] + 1e-7 and sum(q for _, q in top) <= 1 + 1e-6
    assert gen.chars == generate_text(m, VOCAB, "a", 30, temperature=1.5, top_k=3, seed=1).chars  # seeded
    assert gen.chars != generate_text(m, VOCAB, "a", 30, temperature=1.5, top_k=3, seed=2).chars


def test_bad_generation_input():
    m = char_model()
    with pytest.raises(ValueError, match="no 'z'"):
        generate_text(m, VOCAB, "az", 5)
    with pytest.raises(ValueError, match="temperature -1"):
        generate_text(m, VOCAB, "a", 5, temperature=-1)
    with pytest.raises(ValueError, match="character model"):
        generate_text(m, VOCAB[:3], "a", 5)


def test_closed_loop_values():
    m = build_model(ModelConfig(arch="gru", input_size=1, hidden_size=8, output_size=1), seed=0)
    prime = torch.linspace(0, 1, 10).unsqueeze(-1)
    preds = generate_values(m, prime, 5)
    assert preds.shape == (5, 1)
    y, state = m(prime.unsqueeze(0))
    first = y[0, -1]
    torch.testing.assert_close(preds[0], first.detach())
    second = m(first.view(1, 1, 1), state=state)[0][0, -1]
    torch.testing.assert_close(preds[1], second.detach())
