"""Controls the view pages share (which stack, layer, sample and snapshot to look at) and the live redraw
that keeps a view current while its run trains. Not figures (rnnviz.plots) and not page layout.
"""
from __future__ import annotations

from typing import Callable

import streamlit as st

from rnnviz.jobs import ACTIVE
from rnnviz.model_stacks import BACKWARD
from rnnviz.subject import Subject
from rnnviz.trace import Trace
from rnnviz.ui import links, state, widgets
from rnnviz.ui.safe import plain

LIVE_SECONDS = 2.0  # views redraw this often while their run trains
BACKWARD_NOTE = ("The backward direction is drawn in the order it reads: its first step is the sequence's last "
                 "token, so the time axis runs from the end of the text to its start.")


def live_run_id() -> str | None:
    """The current subject's run id while it trains (None for checkpoints and finished runs)."""
    key = state.current_key()
    if not key.startswith("run:"):
        return None
    run = state.pool().get(key[4:])
    return run.id if run is not None and run.status in ACTIVE else None


def live(draw: Callable[..., None], *args) -> None:
    """Runs draw(*args) in a fragment that reruns every LIVE_SECONDS while the current run trains. Pass what the
    fragment depends on (the layer and sequence picked outside it) as args, not through the page's globals:
    a fragment's rerun sees the page's globals as the last full run left them, reassigned names included."""
    run_id = live_run_id()

    def body():
        widgets.heartbeat(run_id)
        draw(*args)

    st.fragment(body, run_every=LIVE_SECONDS if run_id else None)()


def stack(subject: Subject, page: str) -> str:
    """"" for a plain model; "enc." or "dec." (chosen here) for an encoder-decoder; "" or "bwd." (its forward or
    backward direction) for a bidirectional one."""
    if subject.cfg.bidirectional:
        return direction(page)
    if not subject.cfg.seq2seq:
        return ""
    p = links.Param("stack", f"{page}.stack", "dec.", ("enc.", "dec."))
    links.seed([p])
    st.radio("Part", ["enc.", "dec."], key=p.key, horizontal=True,
             format_func=lambda s: {"enc.": "Encoder", "dec.": "Decoder"}[s],
             help="An encoder-decoder has two recurrent stacks: the encoder reads, the decoder writes.")
    links.write_back([p])
    return st.session_state[p.key]


def direction(page: str) -> str:
    """A bidirectional model's direction to show: "" (forward) or "bwd." (backward), bound to the link."""
    p = links.Param("stack", f"{page}.stack", "", ("", BACKWARD))
    links.seed([p])
    st.radio("Direction", ["", BACKWARD], key=p.key, horizontal=True,
             format_func={"": "Forward → (reads first to last)", BACKWARD: "Backward ← (reads last to first)"}.get,
             help="A bidirectional network runs two recurrences over the sequence, one from each end, and each layer "
                  "above (and the head) reads both at every step.")
    links.write_back([p])
    if st.session_state[p.key] == BACKWARD:
        st.caption(BACKWARD_NOTE)
    return st.session_state[p.key]


def layer_sample(subject: Subject, page: str, by_layer: bool = True) -> tuple[int, int]:
    """Layer and probe sequence to show, bound to the link. Drawn outside the live fragment, so that a change
    reruns every section of the page that depends on it, not only the fragment (Streamlit reruns just the
    fragment a widget sits in). by_layer=False: a page that draws every layer at once offers no Layer slider."""
    trace = subject.latest
    layers, samples = trace.meta["num_layers"] if by_layer else 1, trace.samples
    ps = [links.Param("layer", f"{page}.layer", 0, lo=0, hi=layers - 1),
          links.Param("sample", f"{page}.sample", 0, lo=0, hi=samples - 1)]
    links.seed(ps)
    c1, c2 = st.columns(2)
    if layers > 1:
        c1.slider("Layer", 0, layers - 1, key=ps[0].key, help="0 is the layer that reads the input.")
    if samples > 1:
        c2.slider("Probe sequence", 0, samples - 1, key=ps[1].key,
                  help="The held-out sequences the probe traced; each shows the same network on different input.")
    links.write_back(ps)
    return min(links.value(ps[0]), layers - 1), min(links.value(ps[1]), samples - 1)


def tokens(subject: Subject, trace: Trace, sample: int, prefix: str = "") -> list[str]:
    """Axis labels for the traced sequence's steps, read from the trace itself: its input tokens, or for the
    decoder its targets, or for a backward direction its input tokens in the order it reads them (last first)."""
    if prefix == "dec.":
        labels = subject.target_labels(trace, sample)
        if labels is not None:
            return labels
    labels = subject.input_labels(trace, sample)
    return labels[::-1] if prefix == BACKWARD else labels


def view(subject: Subject, page: str, prefix: str, layer: int, sample: int) -> tuple[Trace, int, int, list[str]]:
    """What a view page draws from: the chosen snapshot, and the chosen layer and sequence's labels."""
    trace = snapshot(subject, page)
    layer, sample = min(layer, trace.meta["num_layers"] - 1), min(sample, trace.samples - 1)
    return trace, layer, sample, tokens(subject, trace, sample, prefix)


def snapshot(subject: Subject, page: str) -> Trace:
    """The probe a view draws. While its run trains, "Follow training" (on by default) shows each new probe as it
    arrives; turned off, a slider picks among the probes there were at that moment, and the pick stays put.
    The slider's options never change while it is on screen: Streamlit resets a widget whose options change,
    and a widget rebuilt on every probe drops the user's drag (both happened: the view froze on step 1)."""
    traces = subject.traces or [subject.latest]
    if len(traces) < 2:
        return traces[-1]
    steps = [t.meta.get("train_step") for t in traces]
    frozen = f"{page}.snapshot.steps"
    if live_run_id() is not None:
        if st.toggle("Follow training", value=True, key=f"{page}.follow",
                     help="On: the figures show each new probe as it arrives. Off: pick an earlier probe; it stays."):
            st.session_state.pop(frozen, None)
            st.caption(f"Showing the newest probe: training step {steps[-1]}.")
            return traces[-1]
        options = st.session_state.setdefault(frozen, steps)  # the probes there were when following stopped
    else:
        options = steps
    step = st.select_slider("Training snapshot", options, value=options[-1], key=f"{page}.snapshot.{len(options)}.{options[-1]}",
                            format_func=lambda s: f"step {s}" if s is not None else "untrained",
                            help="Probes saved during training: slide back to see the network before it learned.")
    # the nearest probe still kept (the run thins old probes as it goes)
    return min(traces, key=lambda t: abs((t.meta.get("train_step") or 0) - (step or 0)))


def fallback(subject: Subject, ok: bool, demo: str, why: str, quiet: bool = False) -> Subject:
    """`subject` if it can be shown here, else a bundled demo that can, saying why (unless quiet)."""
    if ok:
        return subject
    if not quiet:
        name = state.DEMOS[demo][1].removeprefix("Demo: ")  # not "shows demo: gru encoder-decoder…"
        st.info(f"{plain(subject.label)} {why}, so this page shows the demo “{name}” instead.")
    return state.demo_subject(demo)


def gated(subject: Subject, quiet: bool = False) -> Subject:
    return fallback(subject, bool(subject.model.spec.gates), "char-lstm", "has no gates", quiet)


def attentive(subject: Subject, quiet: bool = False) -> Subject:
    return fallback(subject, subject.cfg.attention != "none", "attention", "has no attention", quiet)


def writer(subject: Subject, quiet: bool = False) -> Subject:
    """A character model that can continue text: a language-model task's, or (task unknown, as for an imported
    state_dict) a token model whose outputs are its own vocabulary. A classifier whose class count happens to equal
    its vocabulary size (parity: 2 and 2) is not one."""
    cfg = subject.cfg
    if cfg.bidirectional:  # its backward direction reads tokens not yet written
        return fallback(subject, False, "char-lstm", "is bidirectional: each step's output also reads the tokens "
                        "after it, which do not exist yet while text is written, so it cannot write text", quiet)
    ok = bool(subject.vocab) and cfg.tokens and cfg.output_size == cfg.vocab_size and not cfg.seq2seq
    if subject.task is not None:
        ok = ok and subject.task.info.family == "language model"
    return fallback(subject, ok, "char-lstm", "does not write text", quiet)


def default_prime(subject: Subject) -> str:
    """A priming text the model can read: "def " for a character model that can spell it, else its first word."""
    from rnnviz.sampling import char_level

    vocab = subject.vocab or []
    if char_level(vocab):
        return "def " if all(c in vocab for c in "def ") else ""
    return next((t for t in vocab if t.isalpha()), vocab[0] if vocab else "")


def output_labels(subject: Subject, y_row, steps: int) -> list[str] | None:
    """Labels for the outputs at every step, when the task has one target per output step (else None)."""
    if subject.task is None or y_row is None or subject.task.info.outputs == "vectors":
        return None
    labels = subject.task.describe_output(y_row)
    return labels if len(labels) == steps else None


def marked_step() -> int | None:
    """The step another page asked us to look at (?step=t in the link), if any."""
    try:
        return int(st.query_params["step"]) if "step" in st.query_params else None
    except ValueError:
        return None


def mark_step(fig, prefix: str = "", steps: int = 0):
    """Draws the linked step (?step=t) as a dotted line on every panel of a time-axis figure; on a backward
    direction's figure (its steps in the order it reads, `steps` of them) at the place it read position t."""
    t = marked_step()
    if t is not None and prefix == BACKWARD:
        t = steps - 1 - t if 0 <= t < steps else None
    if t is not None:
        fig.add_vline(x=t, line_dash="dot", line_width=3, line_color="#000000", row="all", col="all",
                      exclude_empty_subplots=True)
    return fig


def link_params(**extra) -> dict:
    """Query parameters a link to another page should carry: the run, presentation mode, plus `extra`."""
    keep = {k: st.query_params[k] for k in ("run", "present") if k in st.query_params}
    return keep | {k: str(v) for k, v in extra.items()}


def per_step_loss(subject: Subject, prefix: str = "") -> bool:
    """Whether every step of this stack has its own loss term (taggers, language models, generators, decoders)."""
    if prefix.startswith(("enc", "dec")):
        return prefix.startswith("dec")
    return subject.task is not None and subject.task.info.sequence_type in ("many-to-many-sync", "one-to-many")
