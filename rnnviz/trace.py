"""Trace: everything one instrumented forward and backward computed, as named float32 tensors; and probe().

Not analysis (rnnviz/analysis derives quantities) and not plotting. Names, with dimensions:
    h, c, gate.<g>, preact.<g>, grad.h, grad.c   (layer, sample, step, unit)  per recurrent stack
    grad.gh       (layer, sample, step, unit)  dL/d(W_hh h_{t-1} + b_hh): step t's share of dL/dW_hh is
                                               grad.gh[t]^T h_{t-1}, summed over samples (weight_grad_share)
    hh_in         (layer, sample, step, unit)  what each row block of W_hh read, side by side, for a cell whose
                                               blocks read different vectors (GRU reset-before: h, h, r ⊙ h);
                                               the share then takes each block's own input
    dW_hh.norm    (layer, step)                ||that share||_F
    decay         (layer, sample, step, unit)  a_t of a linear recurrence h_t = a_t ⊙ h_{t−1} + b_t (minGRU,
                                               minLSTM): ∂h_t/∂h_{t−1} = diag(a_t), so a_t are its eigenvalues
    n, m          (layer, sample, step, unit)  xLSTM's normaliser and stabiliser (xlstm_cells.py)
    jacobian      (layer, step)                ||∂h_{T-1}/∂h_t||_F for the first sample (jacobian.py)
    input         (sample, step) token ids, or (sample, step, unit) vectors: the probe's own raw input,
                                               stored as float32 (ids are exact up to 2^24); `trace.inputs`
                                               gives them back as the model takes them
    target        (sample, ...) the probe's targets (ids or values), when it had any; `trace.targets`
    x, grad.x     (sample, step, unit)         the cell input (embedded) and dL/dx_t
    output        (sample, step, unit)         the model's outputs (logits or values)
    attention     (sample, step, source)       encoder-decoder only
An encoder-decoder's stack names carry a prefix: enc.h, dec.gate.i, dec.jacobian, ...; a bidirectional stack's
backward direction is bwd.h, bwd.gate.i, ..., its steps in the order it reads them: step s is position T−1−s.
grad.* are total derivatives through time (every path from that tensor to L), not one step's direct share.
meta["input_vocab"] / meta["output_vocab"] name the ids when known: every label on screen is read from
the trace it draws (its own inputs and targets), never from a batch generated again. An LRU's trace keeps its
λ at probe time, meta["lambda"][prefix][layer] = [Re λ, Im λ] (lists of H/2), so λ can be drawn over training.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnviz.jacobian import jacobian_norms
from rnnviz.linear_cells import lru_lambda
from rnnviz.model_stacks import BACKWARD, STACKS, stack_of
from rnnviz.stack import Tape

STACK_PREFIXES = tuple(p for p in STACKS if p)  # "enc.", "dec.", "bwd."

LAYERED = ("layer", "sample", "step", "unit")
# with gate.*, what older probes keep: enough to scrub states, gates and gradients through training at half the size
SNAPSHOT = {"h", "c", "n", "m", "grad.h", "jacobian", "dW_hh.norm", "decay", "x", "output", "attention", "input",
            "target"}


@dataclass
class Trace:
    arch: str
    tensors: dict[str, Tensor]  # name -> float32 CPU tensor
    dims: dict[str, tuple[str, ...]]  # name -> its dimension names
    meta: dict = field(default_factory=dict)  # loss, prefixes, gates, train_step, jacobian method, ...

    def __getitem__(self, name: str) -> Tensor:
        if name not in self.tensors:
            raise KeyError(f"this trace has no {name!r}; it has {', '.join(self.tensors)}")
        return self.tensors[name]

    def __contains__(self, name: str) -> bool:
        return name in self.tensors

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: tuple(v.shape) for k, v in self.tensors.items()}

    @property
    def steps(self) -> int:
        return int(self.tensors["output"].shape[1])

    @property
    def inputs(self) -> Tensor:
        """The probe's raw inputs as the model takes them: int64 token ids (sample, step) or float vectors."""
        x = self["input"]
        return x.round().long() if self.meta.get("inputs") == "tokens" else x

    @property
    def targets(self) -> Tensor | None:
        """The probe's targets as the loss took them (int64 ids, -100 for padding, or float values), or None."""
        if "target" not in self.tensors:
            return None
        y = self.tensors["target"]
        return y.round().long() if self.meta.get("targets") == "ids" else y

    @property
    def samples(self) -> int:
        return int(self.tensors["output"].shape[0])

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors.values())

    def frame(self, name: str, sample: int | None = None) -> pd.DataFrame:
        """Long form: one row per value, columns step, layer, unit, quantity, value (and sample)."""
        t, dims = self[name], list(self.dims[name])
        if sample is not None and "sample" in dims:
            t = t.select(dims.index("sample"), sample)
            dims.remove("sample")
        dims = ["unit" if d == "source" else d for d in dims]
        index = pd.MultiIndex.from_product([range(n) for n in t.shape], names=dims)
        df = pd.DataFrame({"value": t.numpy().ravel()}, index=index).reset_index()
        for col in ("step", "layer", "unit"):
            if col not in df:
                df[col] = 0
        df["quantity"] = name
        cols = ["step", "layer", "unit", "quantity", "value"] + (["sample"] if "sample" in df else [])
        return df[cols]

    def frames(self, names: list[str] | None = None, sample: int | None = None) -> pd.DataFrame:
        return pd.concat([self.frame(n, sample) for n in (names or list(self.tensors))], ignore_index=True)

    def snapshot(self) -> "Trace":
        """This trace reduced to SNAPSHOT's quantities (any stack prefix), for the history of probes."""
        base = {n: base_name(n) for n in self.tensors}
        return self.select([n for n, b in base.items() if b in SNAPSHOT or b.startswith("gate.")])

    def select(self, names: list[str]) -> "Trace":
        """A smaller trace holding only `names` (for snapshots kept in a run's history)."""
        keep = [n for n in names if n in self.tensors]
        return Trace(self.arch, {n: self.tensors[n] for n in keep}, {n: self.dims[n] for n in keep}, dict(self.meta))


def in_position_order(trace: Trace) -> Trace:
    """The same trace with a backward direction's tensors (bwd.*) flipped along their steps, so that step t is
    the sequence's position t, as for everything else (its states then read x_{T−1} down to x_t). For exports;
    the views keep the order the direction reads in."""
    tensors = {n: (t.flip(trace.dims[n].index("step")) if n.startswith(BACKWARD) and "step" in trace.dims[n] else t)
               for n, t in trace.tensors.items()}
    return Trace(trace.arch, tensors, dict(trace.dims), dict(trace.meta))


def base_name(name: str) -> str:
    """A trace tensor's name without its stack prefix: "dec.gate.i" -> "gate.i", "bwd.h" -> "h"."""
    for p in STACK_PREFIXES:
        if name.startswith(p):
            return name[len(p):]
    return name


def default_loss(output: Tensor, has_head: bool) -> Tensor:
    """With a head: cross-entropy of the last step's output against its own argmax; without: 0.5 ||h_T||²."""
    last = output[:, -1]
    if has_head:
        return F.cross_entropy(last, last.argmax(-1).detach())
    return 0.5 * last.pow(2).sum(-1).mean()


def probe(model: nn.Module, x: Tensor, y: Tensor | None = None, loss_fn=None, *, jacobian: bool = True,
          train_step: int | None = None, vocab: list[str] | None = None,
          output_vocab: list[str] | None = None) -> Trace:
    """One instrumented forward and backward on a few samples (eval mode, no dropout; weights untouched).

    loss_fn(output, y) -> scalar; None uses default_loss. Gradients go to the recorded tensors only, never
    into the parameters' .grad, so a probe can run between training steps. The trace keeps x and y
    themselves (and the vocabularies, when given) so that its figures label exactly what was traced.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            out, _, tapes, extras = model.forward_traced(x, y)
            loss = loss_fn(out, y) if loss_fn is not None else default_loss(out, model.cfg.output_size > 0)
            jac = {p: [jacobian_norms(stack_of(model, p), tape, k) for k in range(len(tape.steps))]
                   for p, tape in tapes.items()} if jacobian else {}
            wanted = _wanted(tapes, extras)
            grads = torch.autograd.grad(loss, list(wanted.values()), allow_unused=True)
    finally:
        model.train(was_training)
    grad_of = {k: (g if g is not None else torch.zeros_like(v)) for (k, v), g in zip(wanted.items(), grads)}
    trace = _assemble(model, out, loss, tapes, extras, grad_of, jac, train_step)
    record_io(trace, x, y, vocab, output_vocab)
    return trace


def record_io(trace: Trace, x: Tensor, y: Tensor | None, vocab=None, output_vocab=None) -> None:
    """Stores the probe's own input and targets (and what names their ids) in the trace."""
    tokens = not x.is_floating_point()
    trace.tensors["input"] = x.detach().float().cpu().contiguous()
    trace.dims["input"] = ("sample", "step") if tokens else ("sample", "step", "unit")
    trace.meta["inputs"] = "tokens" if tokens else "vectors"
    if y is not None:
        ids = not y.is_floating_point()
        trace.tensors["target"] = y.detach().float().cpu().contiguous()
        trace.dims["target"] = {1: ("sample",), 2: ("sample", "step" if ids else "unit"),
                                3: ("sample", "step", "unit")}[y.dim()]
        trace.meta["targets"] = "ids" if ids else "values"
    if vocab is not None:
        trace.meta["input_vocab"] = list(vocab)
    if output_vocab is not None:
        trace.meta["output_vocab"] = list(output_vocab)


def _wanted(tapes: dict[str, Tape], extras: dict[str, Tensor]) -> dict[tuple, Tensor]:
    """Every recorded tensor whose dL/d(.) the trace keeps, keyed (prefix, layer, step, name)."""
    wanted = {("", -1, -1, "x"): extras["x"]}
    for p, tape in tapes.items():
        for k, steps in enumerate(tape.steps):
            for t, rec in enumerate(steps):
                for name in ("h", "c", "gh"):
                    value = rec.get(name)
                    if isinstance(value, tuple):  # W_hh applied in parts: each part's gradient, joined later
                        for j, part in enumerate(value):
                            wanted[(p, k, t, f"{name}.{j}")] = part
                    elif value is not None:
                        wanted[(p, k, t, name)] = value
    return wanted


def _grad(grad_of: dict, p: str, k: int, t: int, name: str, parts) -> Tensor:
    """dL/d(name) at one step: joined across its parts when the step recorded it in parts."""
    if isinstance(parts, tuple):
        return torch.cat([grad_of[(p, k, t, f"{name}.{j}")] for j in range(len(parts))], -1)
    return grad_of[(p, k, t, name)]


def _stack(per_layer: list[list[Tensor]]) -> Tensor:
    """[layer][step] of (B, U) -> (layer, sample, step, unit) float32 on the CPU."""
    return torch.stack([torch.stack(steps, 1) for steps in per_layer]).detach().float().cpu()


def _assemble(model, out, loss, tapes, extras, grad_of, jac, train_step) -> Trace:
    tensors: dict[str, Tensor] = {}
    dims: dict[str, tuple[str, ...]] = {}

    def put(name, t, d):
        tensors[name], dims[name] = t.detach().float().cpu().contiguous(), d

    for p, tape in tapes.items():
        first = tape.steps[0][0]
        for name in [n for n in first if n != "gh" and first[n] is not None]:
            put(p + name, _stack([[r[name] for r in steps] for steps in tape.steps]), LAYERED)
        for name in ("h", "c", "gh"):
            if first.get(name) is not None:
                put(f"{p}grad.{name}", _stack([[_grad(grad_of, p, k, t, name, steps[t][name])
                                                for t in range(len(steps))]
                                               for k, steps in enumerate(tape.steps)]), LAYERED)
        if p + "grad.gh" in tensors:  # a cell without W_hh (its spec's has_w_hh) has no share of dL/dW_hh
            h0 = torch.stack(tape.h0).detach().float().cpu().unsqueeze(2)
            h_prev = tensors.get(p + "hh_in")
            if h_prev is None:
                h_prev = torch.cat([h0, tensors[p + "h"][:, :, :-1]], 2)
            put(p + "dW_hh.norm", share_norms(tensors[p + "grad.gh"], h_prev, tensors[p + "h"].shape[-1]),
                ("layer", "step"))
        if p in jac:
            put(p + "jacobian", torch.stack([j for j, _ in jac[p]]), ("layer", "step"))
    put("x", extras["x"], ("sample", "step", "unit"))
    put("grad.x", grad_of[("", -1, -1, "x")], ("sample", "step", "unit"))
    put("output", out, ("sample", "step", "unit"))
    if "attention" in extras:
        put("attention", extras["attention"], ("sample", "step", "source"))
    cfg = model.cfg
    lam = {p: [[t.tolist() for t in lru_lambda(stack_of(model, p).layer(k)[2])[:2]] for k in range(len(tape.steps))]
           for p, tape in tapes.items() if stack_of(model, p).spec.family == "lru"}
    meta = {"loss": float(loss.detach()), "prefixes": list(tapes), "gates": list(model.spec.gates),
            "blocks": list(model.spec.blocks), "hidden_size": cfg.hidden_size, "num_layers": cfg.num_layers,
            "train_step": train_step, "jacobian": {p: j[0][1] for p, j in jac.items()}}
    if lam:
        meta["lambda"] = lam
    return Trace(cfg.arch, tensors, dims, meta)


def share_norms(grad_gh: Tensor, h_in: Tensor, hidden: int | None = None) -> Tensor:
    """||Σ_b grad_gh[t, b]^T h_in[t, b]||_F per layer and step, without building the (G*H, H) matrices:
    ||A^T P||_F² = Σ (A A^T) ⊙ (P P^T) over the sample axis. h_in is h_{t-1} (..., H), read by every block of
    W_hh, or hh_in (..., G*H): each block's own input, whose squares add up block by block."""
    L, B, T, _ = grad_gh.shape
    H = hidden or h_in.shape[-1]
    a = grad_gh.permute(0, 2, 1, 3).reshape(L * T, B, -1).double()
    q = h_in.permute(0, 2, 1, 3).reshape(L * T, B, -1).double()
    pairs = [(a, q)] if q.shape[-1] == H else list(zip(a.split(H, -1), q.split(H, -1)))
    sq = sum((torch.bmm(x, x.transpose(1, 2)) * torch.bmm(y, y.transpose(1, 2))).sum((1, 2)) for x, y in pairs)
    return sq.clamp_min(0).sqrt().view(L, T).float()


def weight_grad_share(trace: Trace, layer: int = 0, prefix: str = "", h0: Tensor | None = None) -> Tensor:
    """Each step's share of dL/dW_hh for one layer: (T, G*H, H), summing over t to the full gradient.
    The first step's previous state is h0 (zeros unless given); a cell whose blocks read different vectors
    (hh_in) has each block's share taken with its own input."""
    g = trace[prefix + "grad.gh"][layer]  # (B, T, G*H)
    h = trace[prefix + "h"][layer]  # (B, T, H)
    if prefix + "hh_in" in trace:
        H = h.shape[-1]
        h_in = trace[prefix + "hh_in"][layer]
        return torch.cat([torch.einsum("btg,bth->tgh", a, b) for a, b in zip(g.split(H, -1), h_in.split(H, -1))], 1)
    first = torch.zeros_like(h[:, :1]) if h0 is None else h0.reshape(h.shape[0], 1, -1).float()
    h_prev = torch.cat([first, h[:, :-1]], 1)
    return torch.einsum("btg,bth->tgh", g, h_prev)
