"""The lessons: one idea each, told in a few plain sentences, with what to look at and the runs that show it.

Data only (no streamlit, no figures): rnnviz/ui/lessons/ draws them. Every preset trains in seconds on
two CPU cores; a lesson's cold view draws from the bundled demos or from untrained models, which cost nothing.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from rnnviz.run import RunSpec


def preset(label: str, task: str, arch: str, hidden: int = 32, steps: int = 300, lr: float = 0.01,
           probe_every: int | None = None, **knobs) -> RunSpec:
    """One run a lesson can start: a RunSpec sized to finish in seconds, probed ~20 times unless the lesson
    draws only its final numbers (probe_every=steps: probed at the first and last step)."""
    return RunSpec(task=task, arch=arch, hidden=hidden, layers=1, steps=steps, lr=lr, label=label,
                   probe_every=probe_every or max(10, steps // 20), **knobs)


@dataclass(frozen=True)
class Lesson:
    number: int
    slug: str  # the page's URL path
    title: str
    idea: str  # 2 to 4 plain sentences; a longer story in short paragraphs ("\n\n"), one idea each
    look_at: tuple[str, ...]  # where to look in the figures
    presets: tuple[RunSpec, ...] = field(default_factory=tuple)  # each run's RunSpec (its lesson field set below)
    train_label: str = "Train the comparison"


ARCHS_RACE = tuple(preset(f"{a} on parity", "parity", a, 32, 500, 0.01, seq_len=12)
                   for a in ("rnn_tanh", "lstm", "gru"))
VARIANTS = ("lstm", "lstm_peephole", "lstm_nig", "lstm_nfg", "lstm_nog", "lstm_cifg", "lstm_niaf", "lstm_noaf", "gru")
SEEDS = (0, 1, 2)  # every comparison a lesson draws is run at several seeds: a claim must hold for each, not one
VARIANT_SEEDS = SEEDS[:2]  # nine variants are slower (step-by-step cells): two seeds keep the race under 30 s
LAGS = (5, 20, 50)
LAG_STEPS = 300  # lesson 6's budget: 400 showed the same in 15 nudged runs a cell and lag, and took longer
LAG_ARCHS = {"rnn_tanh": "tanh RNN", "lstm": "LSTM (f ≈ 0.95)", "gru": "GRU"}
LINEAR_LAG = LAGS[-1]  # lesson 9 trains at lesson 6's longest lag
LINEAR_ARCHS = {"lru": "LRU", "mlstm": "mLSTM", "mingru": "minGRU"}
SELECT_ARCHS = {"s6": "S6 alone", "mamba": "S6 in Mamba's block"}  # lesson 9's recall: the same scan, with and
RECALL_LEN = 12  # without the block's convolution; 12 steps, one layer of 16: each run trains in 1 to 2 s

LESSONS = (
    Lesson(1, "lesson-sequence-types", "Sequence types",
           "A recurrent network reads and writes sequences in five shapes: one input to one output (no recurrence "
           "needed), one to many (generate from a seed), many to one (classify a sequence), many to many in step "
           "(tag every step) and many to many through an encoder and a decoder (translate). The same cell serves "
           "all five; only where inputs go in and losses come out changes.",
           ("In each graph, count the x nodes (inputs) and the L nodes (losses): that is the sequence type.",
            "The h row is the same in all five: one cell, unrolled, with the same W_hh on every h→h arrow "
            "(one-to-one is a single step: no arrow).")),
    Lesson(2, "lesson-vanilla-rnn", "The vanilla RNN",
           "h_t = tanh(W_hh h_{t−1} + W_xh x_t + b) and y_t = W_hy h_t: one small network applied at every step, "
           "carrying its memory in h. The loss is the sum of every step's loss, and because the same W_hh is used at every "
           "step, its gradient is the sum of every step's contribution.",
           ("The graph: W_hh labels every h→h arrow; it is one matrix, not T of them.",
            "The bars: the size of each step's share of dL/dW_hh. Each share is a matrix, and the matrices add up "
            "to the gradient the optimiser uses.",
            "The first step's share is zero: there is no h before it for W_hh to multiply. Every later step adds "
            "its own share; in this forecasting task every step has its own loss nearby.",
            "After training (Train it, below): the error falls far below the grey dotted line of ignoring the input."),
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
            "training (300 steps are too few to solve the task: its error stays near the dotted line of always "
            "guessing the mean, an MSE of about 1/6)."),
           (preset("relu RNN ρ=1.5, no clipping", "adding", "rnn_relu", 64, 300, 0.01, seq_len=50, init="spectral",
                   radius=1.5, optimizer="sgd", seed=1),
            preset("relu RNN ρ=1.5, clipped at 1", "adding", "rnn_relu", 64, 300, 0.01, seq_len=50, init="spectral",
                   radius=1.5, optimizer="sgd", seed=1, clip=1.0)), "Watch it explode, then clip it"),
    Lesson(4, "lesson-lstm-gates", "The LSTM, gate by gate",
           "An LSTM keeps a cell state c_t that only changes by gated addition: the forget gate f decides how much "
           "of the old cell to keep, the input gate i how much of the new candidate g to write, and the output gate "
           "o how much of the cell to show as h_t. Because c_t = f·c_{t−1} + i·g, the gradient along c is "
           "multiplied by f, not by a weight matrix, so it can survive many steps.",
           ("Step through the text: at each character, the bars show each gate's opening for a few units.",
            "Watch f stay near 1 while a unit holds a memory, and i open when something worth writing arrives.")),
    Lesson(5, "lesson-lstm-variants", "LSTM variants and the GRU",
           "Greff et al. (2015) removed one piece of the LSTM at a time and trained every variant on the same tasks: "
           "most pieces can go with little loss, and the forget gate matters most. Here all nine learn to predict "
           "code for 120 steps, same size, data and seeds. Without a forget gate (NFG) the LSTM ends clearly worst in "
           "every seed: its cell can only add, never let go. Removing the output activation (NOAF), which hurt in "
           "Greff et al.'s long runs, does not hurt at this size. The GRU merges the cell into h and couples its "
           "gates: with fewer parameters, it ends in the better half.",
           ("The scores: each variant's bits per character after training, one dot per seed; lower is better, and "
            "the grey dotted line is what ignoring the input scores.",
            "After training, saturation: how often each variant's gates sit fully open or shut."),
           tuple(preset(f"{a} seed {seed}", "code_lm", a, 32, 120, 0.01, probe_every=120, seq_len=48, seed=seed)
                 for a in VARIANTS for seed in VARIANT_SEEDS), "Train all nine"),
    Lesson(6, "lesson-long-term", "Long-term dependencies",
           "Bengio, Simard & Frasconi (1994) showed that storing information in a recurrent network makes its "
           "gradients vanish: the longer the lag, the harder to learn. Here the first symbol (A to D) is the answer "
           "and a lag of random distractors (w to z) follows, as in Hochreiter & Schmidhuber (1997). Trained live at "
           "lags 5, 20 and 50, three seeds each, same hidden size, steps and learning rate: at lag 5 all three "
           "learn it; at lag 20 the LSTM and the GRU learn it in every seed, the tanh RNN does not; at lag 50 "
           "each of the three misses it in at least one seed, and which seeds get there is luck (the same run on "
           "another computer can end either way).",
           ("Connectivity: how strongly the final output depends on each input step; the true cause is marked.",
            "After training: accuracy against lag, one dot per seed; the tanh RNN is the first to miss it. The LSTM "
            "starts with its forget gate open (bias 3, f ≈ 0.95), as lesson 3 showed it needs."),
           tuple(preset(f"{name}, lag {lag}, seed {seed}", "first_symbol", a, 32, LAG_STEPS, 0.01,
                        probe_every=LAG_STEPS, seq_len=lag, seed=seed, **({"forget_bias": 3.0} if a == "lstm" else {}))
                 for lag in LAGS for a, name in LAG_ARCHS.items() for seed in SEEDS), "Train across lags"),
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
           ("The map: each output row puts its weight on the input token it copies (a square), or on the one just "
            "after it, whose encoder state has read that token too; reversing draws an anti-diagonal.",
            "After training, the race: with attention the accuracy rises sooner than without."),
           (preset("reverse, no attention", "reverse", "gru", 64, 300, 0.01, attention="none"),
            preset("reverse, additive attention", "reverse", "gru", 64, 300, 0.01, attention="additive")),
           "Train with and without"),
    Lesson(9, "lesson-recurrence-returns", "Why recurrence came back",
           "Since 2023 the recurrent networks that scale are linear in their state: their gates read only the input, "
           "so h_t = a_t ⊙ h_{t−1} + b_t, with no W_hh (minGRU, the LRU, Mamba's S6, xLSTM's mLSTM). Lesson 3's "
           "story then becomes exact: the gradient through time is the product of the decays a_t and nothing else, "
           "and it cannot explode while every |a_t| < 1, which the LRU guarantees by keeping its eigenvalues λ "
           "inside the unit circle. Being linear in h, the minGRU and the LRU compute the whole sequence as one "
           "parallel scan, the mLSTM in parallel chunks.\n\n"
           "Memory needs decays near 1. Trained live at lag 50, three seeds each: the LRU starts its largest λ near"
           " the rim and learns the first symbol in every seed; the minGRU's decays stay near 0.6, so it keeps "
           "almost nothing across the lag and stays near chance, like lesson 3's LSTM at its default bias. The "
           "mLSTM chooses from the input: one head keeps nearly all of its memory across the lag, and its "
           "exponential input gate, which reads only the token, learns to open for some class symbols far wider "
           "than for any distractor, so a first symbol it opens for fills most of what that head reads at the end.\n\n"
           "Choosing from the input needs to know what came just before, too: on induction "
           f"heads ({RECALL_LEN} random symbols; answer with the one that followed the trigger '>' earlier on), S6 "
           "alone gets under half right in every seed, because its Δ_t, B_t and C_t read only the current input "
           "and the key is an ordinary symbol; the same S6 in Mamba's block, whose causal convolution shows each "
           "step the inputs just before it, learns it in every seed (Gu & Dao 2023; the 'shift' H3 added for this "
           "recall).",
           ("How far back the gradient reaches at initialisation, on the same input (a symbol, then "
            f"{LINEAR_LAG} distractors): the cells whose decays start near 1 carry it back to the first symbol.",
            "The LRU's Jacobian against lag, with the exact law from its decays drawn beside it: no W_hh, no guess.",
            "The scan: the same outputs step by step and all at once, and the time each takes.",
            "After training: accuracy, and how much of its state each cell's best unit keeps across the lag.",
            "The LRU's λ during training: the largest moves toward the rim, and none leaves the circle. The mLSTM's "
            "input gate for each token, and how much of its memory at the last step each step wrote: a first symbol "
            "it opens for is most of it; the symbols it leaves shut it tells apart by other means.",
            "Induction heads: S6 alone against S6 in Mamba's block, the same size (one layer, 16 wide) and training "
            "(300 steps, gradients clipped at norm 1), one dot per seed; the grey dotted line is what ignoring the "
            "input scores: chance, one right answer among the 8 symbols it may give."),
           tuple(preset(f"{name}, lag {LINEAR_LAG}, seed {seed}", "first_symbol", a, 32, 400, 0.01, probe_every=50,
                        seq_len=LINEAR_LAG, seed=seed)  # 9 probes: enough for λ's path, and each costs
                 for a, name in LINEAR_ARCHS.items() for seed in SEEDS)
           + tuple(preset(f"{name}, induction heads, seed {seed}", "induction_heads", a, 16, 300, 0.01,
                          probe_every=300, seq_len=RECALL_LEN, seed=seed, clip=1.0)  # unclipped, Adam's late
                   # jolts left one block run in eight at 0.84 after 1.00 (32 seeds clipped: every one 0.99 or more)
                   for a, name in SELECT_ARCHS.items() for seed in SEEDS), "Train the comparisons"),
)

LESSONS = tuple(dataclasses.replace(lesson, presets=tuple(dataclasses.replace(p, lesson=lesson.slug)
                                                          for p in lesson.presets)) for lesson in LESSONS)
BY_SLUG = {lesson.slug: lesson for lesson in LESSONS}
