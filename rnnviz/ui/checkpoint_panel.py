"""The Checkpoints page's parts: open a file someone brings (safely), say what it is, show its weights and
spectra, and run typed input through it. Refusals are one sentence on the page, never a traceback."""
from __future__ import annotations

from collections.abc import MutableMapping

import pandas as pd
import streamlit as st

from rnnviz.checkpoints.reading import MAX_FILE_BYTES
from rnnviz.model_stacks import BACKWARD, STACK_WORDS, recurrent_stacks
from rnnviz.subject import Subject, from_checkpoint
from rnnviz.ui import state, widgets
from rnnviz.ui.pickers import BACKWARD_NOTE
from rnnviz.ui.safe import plain


def upload() -> None:
    """File uploaders; a file that loads becomes this session's upload and the current subject."""
    c1, c2, c3 = st.columns([3, 2, 1])
    limit = MAX_FILE_BYTES // 2 ** 20  # the loader's, so the uploader states the same limit and keeps to it
    f = c1.file_uploader(f"A checkpoint, any format above, up to {limit} MB", key="ckpt.file", max_upload_size=limit,
                         help="Told by its content, whatever its name (.pt, .pth, .pth.tar, .ckpt, .net, .safetensors, "
                         ".keras, .h5, .onnx, .npz). Nothing in the file is executed. A bigger file: save only the "
                         "recurrent part and its head (torch.save(model.state_dict(), 'model.pt')).")
    v = c2.file_uploader("Vocabulary (optional)", key="ckpt.vocab", max_upload_size=limit,  # as its checkpoint's
                         help="A JSON list (or map) of tokens; a text file of one token per line, read in its order; "
                         "or the training text, whose distinct characters sorted by code point form the vocabulary.")
    relu = c3.toggle("relu RNN", key="ckpt.relu", help="Plain nn.RNN weights cannot tell tanh from relu: a whole "
                     "pickled model says which; otherwise tanh is assumed unless this is on.")
    if f is None:  # the page was left and came back to: the uploaders are empty, the model loaded stays current
        if v is not None:
            st.warning(f"{plain(v.name)} was not read: a vocabulary is read with its checkpoint, so upload the "
                       "checkpoint file again beside it.")
        return
    token = (f.file_id, getattr(v, "file_id", None), relu)
    if st.session_state.get("ckpt.loaded") == token:
        return
    from rnnviz.checkpoints import load_checkpoint

    try:
        loaded = load_checkpoint(f.getvalue(), filename=f.name, nonlinearity="relu" if relu else None,
                                 vocab_file=(v.getvalue(), v.name) if v is not None else None)
    except ValueError as e:
        st.error(plain(e))
        return
    forget_per_model(st.session_state, f.name)  # a new file under an old name: not the old one's typed text
    state.uploads()[f.name] = from_checkpoint(loaded, f.name)
    st.session_state["ckpt.loaded"] = token
    st.session_state["ckpt.summary." + f.name] = (loaded.unmatched_keys, loaded.notes)
    state.select(f"upload:{f.name}")
    st.rerun()


PER_MODEL = ("ckpt.input.", "generate.prime.")  # widget keys that end in the model's name: what was typed for it


def forget_per_model(session: MutableMapping, name: str) -> None:
    """Drops what was typed for an earlier model of the same name (its text may not fit the new vocabulary)."""
    for key in [p + name for p in PER_MODEL if p + name in session]:
        del session[key]


def summary(subject: Subject) -> None:
    from rnnviz.init import layer_spectra
    from rnnviz.models import num_parameters

    cfg = subject.cfg
    rows = {"cell": cfg.arch, "layers": f"{cfg.num_layers}, bidirectional (each also reads from the end)"
            if cfg.bidirectional else cfg.num_layers, "hidden size": cfg.hidden_size,
            "input": (f"tokens, vocabulary {cfg.vocab_size}, embedded in {cfg.embed_size} (W_ih's columns)"
                      if cfg.tokens else f"vectors of {cfg.input_size}"),
            "outputs": cfg.output_size or "none (hidden states)", "parameters": f"{num_parameters(subject.model):,}",
            "encoder-decoder": f"yes, attention {cfg.attention}" if cfg.seq2seq else "no"}
    st.table(pd.DataFrame({"": list(rows), "value": [str(v) for v in rows.values()]}).set_index(""))
    spectra = [(STACK_WORDS[p], k, s) for p, rnn in recurrent_stacks(subject.model).items() if rnn.spec.has_w_hh
               for k, s in enumerate(layer_spectra(rnn))]
    if not subject.model.spec.has_w_hh:
        spec = subject.model.spec
        st.caption(f"{cfg.arch} has no W_hh: its recurrence is diagonal, {spec.equation(spec.state_symbol)}; "
                   "Gradient flow shows what each unit keeps per step.")
    else:
        # a gated cell's W_hh is its gate blocks stacked (4H × H for an LSTM): its eigenvalues are the blocks', and
        # the figures below draw each block's; σ_max is of the whole matrix, at least every block's own
        one = subject.model.spec.num_blocks == 1
        rho, sigma = (("spectral radius of W_hh", "largest singular value of W_hh") if one
                      else ("spectral radius (the largest gate block's)", "largest singular value (all of W_hh)"))
        # a plain table, not st.dataframe, whose canvas keeps its 14 px on a projector
        st.table(pd.DataFrame([{"stack": n, "layer": k, rho: f"{s['spectral_radius']:.4g}",
                                sigma: f"{s['max_singular_value']:.4g}"} for n, k, s in spectra]).set_index("stack"))
    unmatched, notes = st.session_state.get("ckpt.summary." + subject.label, ([], subject.notes))
    for note in notes:
        st.caption(f":material/info: {plain(note)}")
    if unmatched:
        st.warning(f"Keys in the file that no part of the model took: {plain(', '.join(unmatched), 600)}")


def weights(subject: Subject) -> None:
    from rnnviz.plots.spectra import eigenvalue_figure, singular_value_figure
    from rnnviz.plots.weights import weight_blocks

    stacks = recurrent_stacks(subject.model)
    picks = [(p, k) for p, rnn in stacks.items() for k in range(rnn.num_layers)]
    p, k = st.selectbox("Layer", picks, key="ckpt.layer", format_func=lambda pk: f"{STACK_WORDS[pk[0]]} layer {pk[1]}")
    rnn = stacks[p]
    w_ih, _, w = rnn.layer(int(k))
    theme, blocks = widgets.theme(), list(rnn.spec.blocks)
    if w.weight_hh is None:  # minGRU, minLSTM, LRU, S6, mLSTM: every gate reads x_t only
        rows = [rnn.spec.block_width(b, rnn.hidden_size) for b in blocks]
        widgets.figure(weight_blocks(w_ih, blocks, "W_ih", theme, rows=rows), "ckpt.wih", name="W_ih")
        st.caption(f"{rnn.spec.name} has no W_hh, so no recurrent spectrum: every block above reads x_t only.")
        return
    widgets.figure(weight_blocks(w.weight_hh, blocks, "W_hh", theme), "ckpt.whh", name="W_hh")
    widgets.figure(weight_blocks(w_ih, blocks, "W_ih", theme), "ckpt.wih", name="W_ih")
    left, right = widgets.side_by_side(2)
    with left:
        widgets.figure(eigenvalue_figure(w.weight_hh, blocks, theme), "ckpt.eig", name="eigenvalues")
    with right:
        widgets.figure(singular_value_figure(w.weight_hh, blocks, theme), "ckpt.sv", name="singular values")


def try_input(subject: Subject) -> None:
    """Type text (or token ids) and see the hidden states it produces."""
    from rnnviz.checkpoints.inputs import from_ids, from_text, parse_tokens
    from rnnviz.plots.hidden import state_heatmap
    from rnnviz.sampling import join_tokens

    cfg = subject.cfg
    if cfg.seq2seq or not cfg.tokens and not subject.vocab:
        st.caption("Typed input needs a token model (with a vocabulary for text); the views use the probe batch.")
        return
    ids = subject.input_ids(subject.latest, 0) or []
    if subject.vocab:  # the traced input's first tokens, whole ones only, within the box's 400 characters
        tokens = [subject.vocab[i] for i in ids[:60] if 0 <= i < len(subject.vocab)]
        while len(join_tokens(tokens, subject.vocab)) > 400:
            tokens.pop()
        default = join_tokens(tokens, subject.vocab)
    else:
        default = ",".join(map(str, ids[:20])) or "0,1,2,3"
    text = st.text_input("Type an input" + (" (text)" if subject.vocab else " (token ids, comma separated)"),
                         default, key=f"ckpt.input.{subject.label}", max_chars=400)  # per model: text for
    # another model's vocabulary would be refused
    try:
        x = from_text(text, cfg, subject.vocab) if subject.vocab else from_ids(parse_tokens(text), cfg, subject.vocab)
        trace = subject.probe(x, None)
    except ValueError as e:
        st.error(plain(e))
        return
    tokens = subject.input_labels(trace, 0)
    widgets.figure(state_heatmap(trace, "h", cfg.num_layers - 1, 0, tokens=tokens, theme=widgets.theme()),
                   "ckpt.trace", trace.frame("h", sample=0), name="hidden states of your input")
    if cfg.bidirectional:  # its backward direction, in the order it read the input (pickers.BACKWARD_NOTE)
        st.caption(BACKWARD_NOTE)
        widgets.figure(state_heatmap(trace, "h", cfg.num_layers - 1, 0, BACKWARD, tokens=tokens[::-1],
                                     theme=widgets.theme()),
                       "ckpt.trace.bwd", trace.frame(BACKWARD + "h", sample=0), name="backward hidden states")
