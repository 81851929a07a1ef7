"""The Gradient flow page's what-if: edit a copy of the model (scale W_hh or the LRU's |λ|, set or clamp the forget
gate, hold minGRU's update gate, ablate a unit), re-probe at once without retraining, and draw before and after."""
from __future__ import annotations

import streamlit as st

from rnnviz.analysis import (ablated, probe_pair, scaled_lambda, scaled_recurrent, with_forget_bias,
                             with_forget_clamped, with_update_held)
from rnnviz.analysis.whatif import can_clamp_forget
from rnnviz.subject import Subject
from rnnviz.ui import widgets
from rnnviz.ui.safe import plain

EDITS = {"scale": "Scale W_hh", "lambda": "Scale the LRU's |λ|", "bias": "Set the forget-gate bias",
         "clamp": "Clamp the forget gate to 1", "hold": "Hold the update gate z", "ablate": "Ablate one unit"}


def draw(subject: Subject, layer: int, prefix: str, sample: int = 0) -> None:
    from rnnviz.plots.gradients import before_after

    spec = subject.model.spec
    applies = {"scale": spec.has_w_hh, "lambda": spec.family == "lru", "bias": "f" in spec.blocks,
               "clamp": can_clamp_forget(spec), "hold": spec.name == "mingru", "ablate": True}
    choices = [k for k in EDITS if applies[k]]
    what = st.radio("What if we…", choices, format_func=EDITS.get, horizontal=True, key="whatif.kind",
                    help="Each edit changes a copy; the trained model is untouched.")
    stack = prefix
    if what == "scale":
        f = st.slider("Multiply W_hh by", 0.1, 3.0, 1.5, 0.1, key="whatif.scale",
                      help="Above 1 the recurrence amplifies, below 1 it forgets faster.")
        edit, label = (lambda m: scaled_recurrent(m, f, layer, stack)), f"W_hh × {f:g}"
    elif what == "lambda":
        f = st.slider("Multiply every |λ| by", 0.5, 1.1, 0.9, 0.01, key="whatif.lambda",
                      help="Below 1 every unit forgets faster; above 1 they move toward the rim (never past it).")
        edit, label = (lambda m: scaled_lambda(m, f, layer, stack)), f"|λ| × {f:g}"
    elif what == "hold":
        v = st.slider("Hold z at", 0.01, 0.99, 0.1, 0.01, key="whatif.hold",
                      help="z near 0 keeps h_(t−1) (long memory, little input); near 1 writes the candidate (no memory).")
        edit, label = (lambda m: with_update_held(m, v, layer, stack)), f"z held at {v:g}"
    elif what == "bias":
        b = st.slider("Forget-gate bias", -5.0, 10.0, 5.0, 0.5, key="whatif.bias",
                      help="Large positive: the gate stays open and the cell remembers.")
        edit, label = (lambda m: with_forget_bias(m, b, layer, stack)), f"forget bias {b:g}"
    elif what == "clamp":
        edit, label = (lambda m: with_forget_clamped(m, layer, stack)), "forget gate = 1"
    else:
        n = subject.model.spec.state_per_unit  # S6's N states per channel, the mLSTM's row of C per value channel
        u = st.number_input("Unit", 0, subject.cfg.hidden_size - 1, 0, key="whatif.unit", help=None if n == 1 else
                            f"Unit u is channel u of the layer's {subject.cfg.hidden_size}; its {n} state numbers are "
                            f"rows {n}·u to {n}·u + {n - 1} of the Hidden-states heat map.")
        edit, label = (lambda m: ablated(m, int(u), layer, stack)), f"unit {u} ablated"
    x, y = subject.traced_batch()  # the latest probe's own sequences: "before" is the curve drawn above
    loss_fn = subject.task.loss if subject.task is not None and y is not None else None
    try:
        before, after = probe_pair(subject.model, edit, x, y, loss_fn)
    except ValueError as e:
        st.error(plain(e))
        return
    fig = before_after(before, after, label, layer=layer, theme=widgets.theme(), sample=sample, prefix=prefix)
    widgets.figure(fig, "whatif.fig", after.frame(prefix + "grad.h"), name=f"what if {label}")
    st.caption(f"Loss on the probe: before {before.meta['loss']:.4g}, after {after.meta['loss']:.4g}.")
