"""The lessons: one idea each, told in a few plain sentences, with what to look at and the runs that show it.

Data only (no streamlit, no figures): rnnviz/ui/lessons/ draws them. Every preset trains in seconds on
two CPU cores; a lesson's cold view draws from the bundled demos or from untrained models, which cost nothing.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from rnnviz.run import RunSpec


def preset(label: str, task: str, arch: str, hidden: int = 32, steps: int = 300, lr: float = 0.01, **knobs) -> RunSpec:
    """One run a lesson can start: a RunSpec sized to finish in seconds, probed ~20 times."""
    return RunSpec(task=task, arch=arch, hidden=hidden, layers=1, steps=steps, lr=lr, label=label,
                   probe_every=max(10, steps // 20), **knobs)


@dataclass(frozen=True)
class Lesson:
    number: int
    slug: str  # the page's URL path
    title: str
    idea: str  # 2 to 4 plain sentences
    look_at: tuple[str, ...]  # where to look in the figures
    presets: tuple[RunSpec, ...] = field(default_factory=tuple)  # each run's RunSpec (its lesson field set below)
    train_label: str = "Train the comparison"


ARCHS_RACE = tuple(preset(f"{a} on parity", "parity", a, 32, 500, 0.01, seq_len=12)
                   for a in ("rnn_tanh", "lstm", "gru"))
VARIANTS = ("lstm", "lstm_peephole", "lstm_nig", "lstm_nfg", "lstm_nog", "lstm_cifg", "lstm_niaf", "lstm_noaf", "gru")

LESSONS = (
    Lesson(1, "lesson-sequence-types", "Sequence types",
           "A recurrent network reads and writes sequences in five shapes: one input to one output (no recurrence "
           "needed), one to many (generate from a seed), many to one (classify a sequence), many to many in step "
           "(tag every step) and many to many through an encoder and a decoder (translate). The same cell serves "
           "all five; only where inputs go in and losses come out changes.",
           ("In each graph, count the x nodes (inputs) and the L nodes (losses): that is the sequence type.",
            "The h row is the same in all five: one cell, unrolled, with the same W_hh on every arrow.")),
    Lesson(2, "lesson-vanilla-rnn", "The vanilla RNN",
           "h_t = tanh(W_hh h_{t-1} + W_xh x_t) and y_t = W_hy h_t: one small network applied at every step, carrying "
           "its memory in h. The loss is the sum of every step's loss, and because the same W_hh is used at every "
           "step, its gradient is the sum of every step's contribution.",
           ("The graph: W_hh labels every h→h arrow; it is one matrix, not T of them.",
            "The bars: each step's share of dL/dW_hh; they add up to the gradient the optimiser uses.",
            "Early steps' shares are small: their error signal had to travel furthest back."),
           (preset("rnn_tanh on noisy sine", "noisy_sine", "rnn_tanh", 32, 300, 0.01),), "Train it"),
    Lesson(3, "lesson-vanishing-gradients", "Vanishing and exploding gradients",
           "Backpropagation through time multiplies one Jacobian per step. If W_hh's spectral radius is below 1 "
           "the product shrinks geometrically, so early inputs stop influencing learning (vanishing); above 1 it "
           "can grow until the numbers overflow (exploding). Clipping tames explosions; gates, orthogonal or identity "
           "initialisation, echo state reservoirs and truncation each change what flows back.",
           ("Top: ||dL/dh_t|| on a log scale; a straight slope is geometric decay, steeper for smaller radius.",
            "Cures: orthogonal and identity W_hh keep the signal; an LSTM keeps it once its forget gate starts "
            "open (bias 3), not at torch's default (f ≈ 0.5).",
            "Trained on the adding problem, the GRU's gradient reaches the first steps; the tanh RNN's does not.",
            "Live: without clipping the relu RNN diverges within a few steps; with clipping it stays finite and keeps "
            "training (300 steps are too few to solve the task: its error sits near the 1/6 of always guessing the "
            "mean)."),
           (preset("relu RNN ρ=1.5, no clipping", "adding", "rnn_relu", 64, 300, 0.01, seq_len=50, init="spectral",
                   radius=1.5, optimizer="sgd", seed=1),
            preset("relu RNN ρ=1.5, clipped at 1", "adding", "rnn_relu", 64, 300, 0.01, seq_len=50, init="spectral",
                   radius=1.5, optimizer="sgd", seed=1, clip=1.0)), "Watch it explode, then clip it"),
    Lesson(4, "lesson-lstm-gates", "The LSTM, gate by gate",
           "An LSTM keeps a cell state c_t that only changes by gated addition: the forget gate f decides how much "
           "of the old cell to keep, the input gate i how much of the new candidate g to write, and the output gate "
           "o how much of the cell to show as h_t. Because c_t = f·c_{t-1} + i·g, the gradient along c is "
           "multiplied by f, not by a weight matrix, so it can survive many steps.",
           ("Step through the text: at each character, the bars show each gate's opening for a few units.",
            "Watch f stay near 1 while a unit holds a memory, and i open when something worth writing arrives.")),
    Lesson(5, "lesson-lstm-variants", "LSTM variants and the GRU",
           "Greff et al. (2015) removed one piece of the LSTM at a time and trained every variant on the same tasks. "
           "Most pieces can go with little loss; the forget gate and the output activation matter most. The GRU "
           "merges the cell into h and couples its gates, with fewer parameters.",
           ("The race: each variant's loss on the same task and seed; who falls first, who stalls?",
            "Saturation: how often each variant's gates sit fully open or shut."),
           tuple(preset(f"{a}", "bracket_depth", a, 24, 250, 0.01) for a in VARIANTS), "Train all nine"),
    Lesson(6, "lesson-long-term", "Long-term dependencies",
           "Bengio, Simard & Frasconi (1994) showed that storing a bit reliably in a recurrent network makes its "
           "gradients vanish: the longer the lag, the harder to learn. In latching, the class is set in the first "
           "steps and followed by noise; the network must hold it to the end.",
           ("Connectivity: how strongly the final output depends on each input step; the true cause is marked.",
            "After training: accuracy against lag for each architecture; the tanh RNN falls to chance first."),
           tuple(preset(f"{a} lag {lag}", "latching", a, 32, 400, 0.01, seq_len=lag)
                 for lag in (5, 20, 60) for a in ("rnn_tanh", "lstm", "gru")), "Train across lags"),
    Lesson(7, "lesson-char-rnn", "Practical intuition: a character model",
           "Trained only to predict the next character of code-like text, an LSTM learns to close brackets and "
           "quotes without being told what they are (Karpathy, Johnson & Fei-Fei 2015). Some single units end up "
           "tracking whether we are inside a quote, or how deep the brackets are.",
           ("The generated text: does it open and close brackets and quotes in pairs?",
            "The unit finder: the units best correlated with 'inside quotes' and 'bracket depth'; read the text "
            "through one of them.")),
    Lesson(8, "lesson-attention", "Attention",
           "An encoder-decoder without attention must squeeze the whole input into one vector before writing. "
           "With attention the decoder looks back at every encoder state at every step, weighting them by "
           "relevance. Reversing a string, it learns to look at the mirror position.",
           ("The map: each output row puts its weight on the input column it copies; reversing draws an "
            "anti-diagonal.", "The race: with attention the accuracy rises sooner than without."),
           (preset("reverse, no attention", "reverse", "gru", 64, 300, 0.01, attention="none"),
            preset("reverse, additive attention", "reverse", "gru", 64, 300, 0.01, attention="additive")),
           "Train with and without"),
)

LESSONS = tuple(dataclasses.replace(lesson, presets=tuple(dataclasses.replace(p, lesson=lesson.slug)
                                                          for p in lesson.presets)) for lesson in LESSONS)
BY_SLUG = {lesson.slug: lesson for lesson in LESSONS}
