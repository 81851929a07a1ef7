"""Encoder-decoder (Sutskever et al. 2014) from any cell, with optional attention that records its weights.

Not the cells or loops (cells.py, stack.py). Attention:
  additive (Bahdanau, Cho & Bengio 2015): e_tj = v^T tanh(W_q s_{t-1} + W_k h_j), α_t = softmax_j e_t,
      c_t = Σ_j α_tj h_j; the decoder reads [emb(y_{t-1}); c_t] and the head sees [s_t; c_t].
  dot (Luong, Pham & Manning 2015): e_tj = s_t · h_j, c_t as above, h̃_t = tanh(W_c [s_t; c_t]) -> head.
Targets are ids in [0, output_size) with -100 for padding; the start token is id output_size.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnviz.models import ModelConfig, embed_input, freeze_input, make_input_layer
from rnnviz.cells import get_spec
from rnnviz.init import init_reservoir
from rnnviz.stack import Recurrent, Tape

PAD = -100  # torch's cross_entropy ignore_index


class AdditiveAttention(nn.Module):
    def __init__(self, H: int):
        super().__init__()
        self.query, self.key, self.v = nn.Linear(H, H, bias=False), nn.Linear(H, H), nn.Linear(H, 1, bias=False)

    def forward(self, s: Tensor, enc: Tensor, keys: Tensor) -> tuple[Tensor, Tensor]:
        """s (B, H) decoder state, enc (B, S, H) encoder states, keys = self.key(enc) -> (context, α (B, S))."""
        e = self.v(torch.tanh(keys + self.query(s).unsqueeze(1))).squeeze(-1)  # (B, S)
        alpha = torch.softmax(e, -1)
        return torch.bmm(alpha.unsqueeze(1), enc).squeeze(1), alpha


def dot_attention(s: Tensor, enc: Tensor) -> tuple[Tensor, Tensor]:
    """s (B, T, H) decoder states, enc (B, S, H) -> contexts (B, T, H), α (B, T, S)."""
    alpha = torch.softmax(torch.bmm(s, enc.transpose(1, 2)), -1)
    return torch.bmm(alpha, enc), alpha


class Seq2Seq(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg.validate()
        self.spec = get_spec(cfg.arch)
        H, E, O = cfg.hidden_size, cfg.embed_size, cfg.output_size
        make_input_layer(self, cfg)
        self.encoder = Recurrent(cfg.arch, cfg.cell_input_size, H, cfg.num_layers, cfg.dropout, cfg.bias,
                                 cfg.leak_rate)
        self.target_embedding = nn.Embedding(O + 1, E)  # + the start token
        dec_in = E + (H if cfg.attention == "additive" else 0)
        self.decoder = Recurrent(cfg.arch, dec_in, H, cfg.num_layers, cfg.dropout, cfg.bias, cfg.leak_rate)
        if cfg.attention == "additive":
            self.attention = AdditiveAttention(H)
        if cfg.attention == "dot":
            self.combine = nn.Linear(2 * H, H)  # W_c
        self.head = nn.Linear(2 * H if cfg.attention == "additive" else H, O)
        if self.spec.family == "esn":
            for rnn in (self.encoder, self.decoder):
                init_reservoir(rnn, cfg.spectral_radius, cfg.input_scaling)
            freeze_input(self)
            self.target_embedding.requires_grad_(False)

    @property
    def start_token(self) -> int:
        return self.cfg.output_size

    def decoder_inputs(self, y: Tensor) -> Tensor:
        """Teacher forcing: [start, y_0, ..., y_{T-2}], padding read as the start token."""
        prev = torch.cat([torch.full_like(y[:, :1], self.start_token), y[:, :-1]], 1)
        return self.target_embedding(prev.masked_fill(prev < 0, self.start_token))

    def forward(self, x: Tensor, y: Tensor | None = None, state=None):
        """x source (B, S) ids or (B, S, D); y targets (B, T) -> logits (B, T, O), final decoder state.
        `state` is accepted for the one call signature and must be None (the encoder makes the decoder's)."""
        self.check_targets(y, state)
        enc, state = self.encoder(embed_input(self, self.cfg, x))
        emb = self.decoder_inputs(y)
        if self.cfg.attention == "additive":
            logits, state, _ = self._decode_steps(enc, state, emb, None)
            return logits, state
        s, state = self.decoder(emb, state)
        return self._readout(s, enc)[0], state

    def _readout(self, s: Tensor, enc: Tensor) -> tuple[Tensor, Tensor | None]:
        if self.cfg.attention == "dot":
            ctx, alpha = dot_attention(s, enc)
            return self.head(torch.tanh(self.combine(torch.cat([s, ctx], -1)))), alpha
        return self.head(s), None

    def _decode_steps(self, enc: Tensor, state, emb: Tensor | None, tape: Tape | None, steps: int = 0):
        """Step-by-step decoding (additive attention feeds c_t back in); emb None: greedy, feeding argmax."""
        h, c = list(state[0].unbind(0)), (list(state[1].unbind(0)) if state[1] is not None else
                                          [None] * self.cfg.num_layers)
        keys = self.attention.key(enc) if self.cfg.attention == "additive" else None
        T = emb.shape[1] if emb is not None else steps
        prev = torch.full((enc.shape[0],), self.start_token, dtype=torch.long, device=enc.device)
        logits, alphas, inputs = [], [], []
        for t in range(T):
            e_t = emb[:, t] if emb is not None else self.target_embedding(prev)
            if keys is not None:
                ctx, alpha = self.attention(h[-1], enc, keys)
                e_t = torch.cat([e_t, ctx], -1)
                alphas.append(alpha)
            inputs.append(e_t)
            s, h, c = self.decoder.step(e_t, h, c, tape)
            if keys is not None:
                out = self.head(torch.cat([s, ctx], -1))
            else:
                out, alpha = self._readout(s.unsqueeze(1), enc)
                out = out.squeeze(1)
                if alpha is not None:
                    alphas.append(alpha.squeeze(1))
            logits.append(out)
            prev = out.argmax(-1)
        if tape is not None:
            tape.inputs = [torch.stack(inputs, 1)] + [torch.stack([r["h"] for r in tape.steps[k]], 1)
                                                      for k in range(self.cfg.num_layers - 1)]
        final = (torch.stack(h), torch.stack(c) if c[0] is not None else None)
        return torch.stack(logits, 1), final, (torch.stack(alphas, 1) if alphas else None)

    def forward_traced(self, x: Tensor, y: Tensor | None = None, state=None):
        """(logits, state, tapes={"enc.": Tape, "dec.": Tape}, extras={"x", "attention" (B, T, S)})."""
        self.check_targets(y, state)
        xe = embed_input(self, self.cfg, x)
        if not xe.requires_grad:
            xe = xe.detach().requires_grad_()
        enc, state, enc_tape = self.encoder.forward_traced(xe)
        dec_tape = Tape()
        # the decoder starts from the encoder's final state as the graph has it, so gradients reach the encoder
        logits, state, alpha = self._decode_steps(enc, state, self.decoder_inputs(y), dec_tape)
        extras = {"x": xe}
        if alpha is not None:
            extras["attention"] = alpha
        return logits, state, {"enc.": enc_tape, "dec.": dec_tape}, extras

    @torch.no_grad()
    def generate(self, x: Tensor, steps: int) -> tuple[Tensor, Tensor, Tensor | None]:
        """Greedy decoding: (tokens (B, steps), logits (B, steps, O), attention (B, steps, S) or None)."""
        enc, state = self.encoder(embed_input(self, self.cfg, x))
        logits, _, alpha = self._decode_steps(enc, state, None, None, steps)
        return logits.argmax(-1), logits, alpha

    def check_targets(self, y: Tensor | None, state=None) -> None:
        O = self.cfg.output_size
        if y is None:
            raise ValueError("an encoder-decoder needs its target sequence y to run (teacher forcing); "
                             "use generate() to decode without one")
        if state is not None:
            raise ValueError("an encoder-decoder starts from its encoder's final state; pass no state")
        if y.dim() != 2 or y.dtype != torch.long:
            raise ValueError(f"targets must be integer ids of shape (batch, time); got {y.dtype} {tuple(y.shape)}")
        bad = (y >= O) | ((y < 0) & (y != PAD))
        if bool(bad.any()):
            raise ValueError(f"target ids must lie in 0..{O - 1} (or {PAD} for padding)")
