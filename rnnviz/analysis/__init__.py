"""Derived quantities for the views: pure functions of a Trace, a model's weights or a run's history.

Not figures (rnnviz/plots draws these), not training, not streamlit. One module per question:
    traces        which stack, layer, sample and unit a view means; token labels
    gradients     ||dL/dh_t|| per step, Jacobian norms by lag (and a linear recurrence's exact law), W_hh
                  spectra, gradient heat, TBPTT windows
    whatif        edited copies of a model: W_hh or the LRU's |λ| scaled, forget bias set or clamped to 1, minGRU's
                  update gate held, a unit ablated
    connectivity  |dy_T/dx_s| for every input step s
    hidden        unit orderings, PCA of the trajectory, the unit finder
    memory        what a linear recurrence keeps of its past (the mLSTM: its forget gate, its writes' shares)
    gates         gate saturation, comparable across architectures
    unrolled      the unrolled computation graph as node and edge tables
    generation    the top-k table of generated text
"""
from rnnviz.analysis.connectivity import input_connectivity, trace_connectivity
from rnnviz.analysis.gates import saturation, saturation_many
from rnnviz.analysis.generation import topk_table
from rnnviz.analysis.gradients import (block_spectra, diagonal_jacobian_by_lag, geometric_rate, grad_heat_matrix,
                                       grad_norms, jacobian_by_lag, recurrent_weights, spectral_radius, tbptt_windows)
from rnnviz.analysis.hidden import cluster_order, pca, token_pattern, unit_correlations, unit_order
from rnnviz.analysis.traces import gates, layered, resolve_prefix, visible
from rnnviz.analysis.unrolled import unrolled_graph
from rnnviz.analysis.whatif import (ablated, probe_pair, scaled_lambda, scaled_recurrent, with_forget_bias,
                                    with_forget_clamped, with_update_held)

__all__ = [
    "ablated", "block_spectra", "cluster_order", "diagonal_jacobian_by_lag", "gates", "geometric_rate",
    "grad_heat_matrix", "grad_norms",
    "input_connectivity", "jacobian_by_lag", "layered", "pca", "probe_pair", "recurrent_weights",
    "resolve_prefix", "saturation", "saturation_many", "scaled_recurrent", "spectral_radius", "tbptt_windows",
    "token_pattern", "topk_table", "trace_connectivity", "unit_correlations", "unit_order", "unrolled_graph",
    "visible", "with_forget_bias", "with_forget_clamped", "scaled_lambda", "with_update_held",
]
