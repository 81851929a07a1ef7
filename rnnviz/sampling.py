"""Generation from a trained model: characters by temperature with the top-k alternatives at each step, and
value sequences by feeding each prediction back in. Not training, not plotting."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

MAX_GENERATE = 5000  # characters or values per call: enough for a page of text


@dataclass
class Generated:
    prime: str
    chars: list[str] = field(default_factory=list)  # the generated characters, in order
    probs: list[float] = field(default_factory=list)  # probability of each chosen character
    top: list[list[tuple[str, float]]] = field(default_factory=list)  # top-k (character, probability) per step
    sep: str = ""  # between generated tokens: "" for characters, " " for words

    @property
    def text(self) -> str:
        return self.prime + "".join(self.sep + t for t in self.chars)


SPECIAL = re.compile(r"<[^<>\s]+>|\[[A-Za-z_]+\]")  # <unk>, <eos>, [PAD]: one token in a character vocabulary


def char_level(vocab: list[str]) -> bool:
    """Whether every token is one character (specials like <unk> aside): text is split into characters, else
    into whitespace-separated words."""
    return all(len(t) == 1 or SPECIAL.fullmatch(t) for t in vocab) and any(len(t) == 1 for t in vocab)


def split_text(text: str, vocab: list[str]) -> list[str]:
    """Text as the vocabulary's own units: characters (a special token of the vocabulary, typed as written, is
    one unit), or whitespace-separated words for a word vocabulary."""
    if not char_level(vocab):
        return text.split()
    specials = sorted((t for t in vocab if len(t) > 1), key=len, reverse=True)
    if not specials:
        return list(text)
    return re.findall("|".join(map(re.escape, specials)) + "|.", text, re.S)


def join_tokens(tokens: list[str], vocab: list[str]) -> str:
    """The inverse of split_text: characters run together, words are joined with spaces."""
    return ("" if char_level(vocab) else " ").join(tokens)


def encode(text: str, vocab: list[str]) -> list[int]:
    index = {t: i for i, t in enumerate(vocab)}
    pieces = split_text(text, vocab)
    missing = sorted({p for p in pieces if p not in index})
    if missing:
        shown = ", ".join(repr(c) for c in missing[:5])
        unit = "characters" if char_level(vocab) else "words"
        raise ValueError(f"the model's vocabulary has no {shown}; use only {unit} it was trained on")
    return [index[p] for p in pieces]


@torch.no_grad()
def generate_text(model: nn.Module, vocab: list[str], prime: str = "", length: int = 200, temperature: float = 1.0,
                  top_k: int = 5, seed: int = 0) -> Generated:
    """Continue `prime` by `length` characters. temperature 0 is greedy (always the most likely); higher
    values flatten the distribution. Probabilities shown are those the choice was drawn from."""
    if not 0 <= length <= MAX_GENERATE:
        raise ValueError(f"length {length} is out of range; use 0 to {MAX_GENERATE}")
    if not 0 <= temperature <= 10:
        raise ValueError(f"temperature {temperature} is out of range; use 0 (greedy) to 10")
    if len(vocab) != model.cfg.vocab_size or model.cfg.output_size != model.cfg.vocab_size:
        raise ValueError("text generation needs a character model whose outputs are its own vocabulary")
    if model.cfg.bidirectional:
        raise ValueError("a bidirectional model cannot write text: each step's output also reads the tokens after "
                         "it, which do not exist yet")
    start = prime if split_text(prime, vocab) else ("\n" if "\n" in vocab else vocab[0])
    ids = torch.tensor([encode(start, vocab)], device=_device(model))
    was = model.training
    model.eval()
    logits, state = model(ids)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    out = Generated(prime, sep="" if char_level(vocab) else " ")
    k = max(1, min(top_k, len(vocab)))
    for _ in range(length):
        p = torch.softmax(logits[0, -1].float().cpu() / (temperature or 1.0), -1)
        nxt = int(p.argmax()) if temperature == 0 else int(torch.multinomial(p, 1, generator=gen))
        tp, ti = p.topk(k)
        out.chars.append(vocab[nxt])
        out.probs.append(float(p[nxt]))
        out.top.append([(vocab[int(i)], float(q)) for q, i in zip(tp, ti)])
        logits, state = model(torch.tensor([[nxt]], device=ids.device), state=state)
    model.train(was)
    return out


@torch.no_grad()
def generate_values(model: nn.Module, prime: Tensor, length: int) -> Tensor:
    """Closed-loop forecast: run the model over prime (T0, D), then feed each prediction back for `length`
    steps. Returns the (length, D) predictions. Needs output_size == input_size (next-value models)."""
    cfg = model.cfg
    if cfg.tokens or cfg.output_size != cfg.input_size:
        raise ValueError("closed-loop generation needs a model that predicts its own next input")
    if not 0 <= length <= MAX_GENERATE:
        raise ValueError(f"length {length} is out of range; use 0 to {MAX_GENERATE}")
    was = model.training
    model.eval()
    y, state = model(prime.float().unsqueeze(0).to(_device(model)))
    preds = []
    nxt = y[:, -1:]
    for _ in range(length):
        preds.append(nxt[0, 0])
        y, state = model(nxt, state=state)
        nxt = y[:, -1:]
    model.train(was)
    return torch.stack(preds).cpu() if preds else torch.zeros(0, cfg.input_size)


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device
