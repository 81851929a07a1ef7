"""Gradient flow: how far back in time the error signal reaches, why it vanishes or explodes, and the cures."""
import streamlit as st

from rnnviz.analysis import input_connectivity, recurrent_weights, spectral_radius
from rnnviz.plots.connectivity import connectivity_figure
from rnnviz.plots.gradients import grad_curve, grad_heat_figure, jacobian_figure
from rnnviz.plots.spectra import (decay_figure, eigenvalue_figure, kept_figure, lambda_figure,
                                  singular_value_figure)
from rnnviz.ui import pickers, race, state, whatif_panel, widgets

st.title("Gradient flow through time")
st.markdown("Backpropagation through time multiplies one Jacobian per step. When their norms sit below 1 the "
            "gradient **vanishes** toward early steps, so the network cannot learn long dependencies; above 1 it "
            "**explodes**. Gates, clipping, truncation and initialisation are the cures.")
subject = state.current_subject()
prefix = pickers.stack(subject, "gradients")
layer, sample = pickers.layer_sample(subject, "gradients")


def draw(layer: int, sample: int):
    s = state.current_subject()
    trace, layer, sample, tokens = pickers.view(s, "gradients", prefix, layer, sample)
    theme = widgets.theme()
    widgets.figure(grad_curve(trace, sample=sample, prefix=prefix, tokens=tokens, theme=theme,
                              per_step_loss=pickers.per_step_loss(s, prefix)),
                   "gradients.curve", trace.frame(prefix + "grad.h", sample=sample), name="dL-dh over time")
    left, right = widgets.side_by_side(2)
    has_w_hh = s.model.spec.has_w_hh
    rho = spectral_radius(s.model, prefix, layer) if has_w_hh else None
    with left:
        widgets.figure(jacobian_figure(trace, rho, layer=layer, prefix=prefix, theme=theme),
                       "gradients.jacobian", trace.frame(prefix + "jacobian"), name="jacobian by lag")
    with right:
        if s.grad_heat:
            widgets.figure(grad_heat_figure(s.grad_heat, theme=theme), "gradients.heat", name="dL-dh over training")
        else:
            st.info("The map of ||dL/dh_t|| over training needs probes from a training run; train one on the "
                    "Train page.")
    if s.model.spec.family == "lru":  # one λ per unit: where it sits in the disk says how long it remembers
        widgets.figure(lambda_figure(s.traces or [trace], layer, prefix, theme), "gradients.lambda", name="lambda")
        return
    if not has_w_hh:  # a linear recurrence: its step Jacobian's eigenvalues are the decays the input sets
        widgets.figure(decay_figure(trace, layer, sample, prefix, tokens, theme), "gradients.decay",
                       trace.frame(prefix + "decay", sample=sample), name="decays")
        if s.model.spec.family == "mlstm":  # f′ above is of its rescaled stored memory; what it keeps is σ(f̃)
            widgets.figure(kept_figure(trace, layer, sample, prefix, tokens, theme), "gradients.kept",
                           trace.frame(prefix + "gate.f", sample=sample), name="forget gates")
        return
    w = recurrent_weights(s.model, prefix, layer)
    left, right = widgets.side_by_side(2)
    with left:
        widgets.figure(eigenvalue_figure(w, s.model.spec.blocks, theme=theme), "gradients.eig", name="eigenvalues")
    with right:
        widgets.figure(singular_value_figure(w, s.model.spec.blocks, theme=theme), "gradients.sv",
                       name="singular values")


pickers.live(draw, layer, sample)

st.header("Which inputs reach the output?")
x, y = subject.traced_batch()  # the newest probe's own sequences, labelled as traced
values = input_connectivity(subject.model, x, y, sample=sample)
dependency = subject.task.dependency(x[sample]) if subject.task is not None else None
widgets.figure(connectivity_figure(values, dependency, tokens=subject.input_labels(subject.latest, sample), log=True,
                                   theme=widgets.theme()), "gradients.connectivity", name="input connectivity")

st.header("What if…")
whatif_panel.draw(subject, layer, prefix, sample)

race.section((subject.train_config or {}).get("tbptt") or None)
