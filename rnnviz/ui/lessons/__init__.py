"""Lesson pages: the idea, what to look at, a cold view that costs nothing (demos, untrained models), and a
button that trains the lesson's presets live. Bodies per lesson live in basics.py, dynamics.py, language.py and
recurrence.py.
"""
from __future__ import annotations

import dataclasses

import streamlit as st
import torch

from rnnviz.analysis.equations import to_html
from rnnviz.build import build_model
from rnnviz.init import InitConfig, apply_init
from rnnviz.lessons import BY_SLUG, Lesson
from rnnviz.run import progress_text
from rnnviz.subject import Subject
from rnnviz.ui import safe, state, widgets
from rnnviz.jobs import ACTIVE, RunState


@st.cache_resource(show_spinner=False)
def untrained(task_name: str, arch: str, hidden: int = 32, seq_len: int | None = None, init: str = "default",
              radius: float = 1.0, attention: str | None = None, seed: int = 0,
              forget_bias: float | None = None) -> Subject:
    """An untrained model on a task, probed once: instant, and shared read-only by every session."""
    from rnnviz.tasks import get_task

    task = get_task(task_name, **({} if seq_len is None else {"seq_len": seq_len}))
    cfg = task.model_config(arch, hidden, 1, **({"attention": attention} if attention else {}))
    model = build_model(cfg, device="cpu", seed=seed)
    if (init != "default" or forget_bias is not None) and arch != "esn":
        apply_init(model.rnn, InitConfig(init, spectral_radius=radius, gain=radius, forget_bias=forget_bias),
                   torch.Generator().manual_seed(seed))
    subject = Subject(f"untrained {arch}", model.eval(), task, task.input_vocab, task.output_vocab, source="lesson")
    subject.traces.append(subject.probe())
    return subject


def runs(lesson: Lesson) -> list[RunState]:
    """This session's runs started by this lesson."""
    return [r for r in state.my_runs() if r.spec.lesson == lesson.slug]


def _start(lesson: Lesson) -> None:
    """The lesson's Train button's callback: every preset as a run in the worker pool (queued beyond the cap)."""
    if any(r.status in ACTIVE for r in runs(lesson)):
        return  # a second click before the button redrew as disabled
    for preset in lesson.presets:
        state.start_run(preset, select_it=False)


def show(slug: str) -> None:
    """The whole lesson page."""
    from rnnviz.ui.lessons import basics, dynamics, language, recurrence

    lesson = BY_SLUG[slug]
    st.title(f"Lesson {lesson.number}: {lesson.title}")
    # the lessons' own text, notation made HTML (h_{t−1} -> h<sub>t−1</sub>, W_hh -> W<sub>hh</sub>): written
    # raw, the braces showed and an underscore pair could turn into italics
    st.markdown(to_html(lesson.idea), unsafe_allow_html=True)
    with st.container(border=True):
        st.markdown("**What to look at**\n" + "\n".join(f"- {to_html(item)}" for item in lesson.look_at),
                    unsafe_allow_html=True)
    body = {1: basics.sequence_types, 2: basics.vanilla_rnn, 3: dynamics.vanishing, 4: basics.lstm_gates,
            5: dynamics.variants, 6: dynamics.long_term, 7: language.char_rnn, 8: language.attention,
            9: recurrence.came_back}[lesson.number]
    body(lesson)


def preset_label(run: RunState) -> str:
    """The preset a lesson run came from: its label without the " · run N" a second click adds."""
    return run.label.split(" · run ")[0]


def newest(lesson: Lesson) -> list[RunState]:
    """The newest run of each of the lesson's presets (a second click trains a fresh set)."""
    latest: dict[str, RunState] = {}
    for r in runs(lesson):
        key = preset_label(r)
        if key not in latest or r.created > latest[key].created:
            latest[key] = r
    return list(latest.values())


def progress(lesson: Lesson) -> list[RunState]:
    """One line of progress per lesson run, or one line for them all when there are more than a few (a
    comparison of 27 runs would otherwise push its figure off the screen); returns the runs."""
    mine = newest(lesson)
    if len(mine) > 4:
        counts = {s: sum(r.status == s for r in mine) for s in ("finished", "running", "queued", "diverged", "stopped")}
        steps = sum(min(r.step, r.spec.steps) for r in mine) / max(1, sum(r.spec.steps for r in mine))
        st.progress(steps, text=f"{len(mine)} runs: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
        return mine
    for r in mine:
        total = r.spec.steps
        pos = state.pool().queue_position(r.id)
        where = f"queued, position {pos}" if pos else r.status
        st.progress(min(1.0, r.step / total), text=f"{r.label}: {progress_text(where, r.step, total, r.message)}")
    return mine


def verdicts(lesson: Lesson, mine: list[RunState]) -> None:
    """Once every run of the comparison has ended: each claim the lesson makes, and whether these runs show it
    (rnnviz.lesson_claims; the same check tests/test_lesson_claims.py runs at the presets' seeds)."""
    from rnnviz.lesson_claims import CHECKS, check

    if lesson.slug not in CHECKS or len(mine) < len(lesson.presets) or any(r.status in ACTIVE for r in mine):
        return
    if any(r.status == "stopped" for r in mine):
        st.caption("A run was stopped before the end, so these runs cannot test the lesson's claims.")
        return
    with state.pool().lock:  # judged as the presets they came from, whichever click trained them
        outcomes = [(dataclasses.replace(r.spec, label=preset_label(r)), r.record) for r in mine]
    try:
        claims = check(lesson.slug, outcomes)
    except (ValueError, KeyError, IndexError) as e:
        st.caption(f"These runs cannot be checked against the lesson's claims: {safe.plain(str(e))}")
        return
    lines = [f"- **{'✓' if c.held else '✗ Not shown by these runs:'}** {c.says} *({safe.plain(c.shows)})*"
             for c in claims]
    with st.container(border=True):
        st.markdown("**What these runs showed**\n" + "\n".join(lines))


def live_section(lesson: Lesson, draw) -> None:
    """The lesson's Train button, a progress line per run, and draw(runs) once any run has history to draw
    (None: progress only), in a fragment that redraws each second while the page is open.

    The button lives in the fragment, so it is disabled while the runs train and enabled after, with no rerun of
    the whole page: a full rerun while fragments poll blanks the page now and then under load (Streamlit 1.67's
    frontend throws "Bad delta path index"; tests/e2e/test_load.py caught it). Figures drawn with live_figure are
    rebuilt only when a run moves on, so an idle lesson page costs little."""

    def body():
        mine = runs(lesson)
        for r in mine:
            widgets.heartbeat(r.id)
        if lesson.presets:
            st.button(lesson.train_label, type="primary", key=f"{lesson.slug}.train", on_click=_start, args=(lesson,),
                      disabled=any(r.status in ACTIVE for r in mine),
                      help=f"{len(lesson.presets)} small run(s), trained live on the server; results appear below.")
        mine = progress(lesson)
        if draw is not None and any(r.history for r in mine):
            draw(mine)
        verdicts(lesson, mine)

    st.fragment(body, run_every=1.0)()


def live_figure(mine: list[RunState], build, key: str, data=None, name: str | None = None) -> None:
    """widgets.figure(build(), ...), with the figure rebuilt only when one of the runs has moved on (or the
    presentation mode changed): building one costs ~0.3 s and the live section redraws each second."""
    cache = st.session_state.setdefault("lessons.figures", {})
    version = (widgets.presenting(), tuple((r.id, r.version) for r in mine))
    if key not in cache or cache[key][0] != version:
        cache[key] = (version, build())
    widgets.figure(cache[key][1], key, data, name)
