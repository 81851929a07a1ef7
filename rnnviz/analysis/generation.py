"""Generated text as a table: each step's chosen character, its probability and the top-k alternatives the
model weighed (from rnnviz.sampling.Generated). Not generation itself and not a figure."""
from __future__ import annotations

import pandas as pd


def topk_table(gen) -> pd.DataFrame:
    """One row per generated step: step, chosen, prob, then alt1, p1, alt2, p2, ... (most likely first)."""
    if len(gen.chars) != len(gen.probs) or len(gen.chars) != len(gen.top):
        raise ValueError(f"inconsistent generation: {len(gen.chars)} characters, {len(gen.probs)} probabilities "
                         f"and {len(gen.top)} top-k lists; generate again")
    rows = []
    for t, (ch, p, top) in enumerate(zip(gen.chars, gen.probs, gen.top)):
        row = {"step": t, "chosen": ch, "prob": p}
        for r, (alt, q) in enumerate(top, 1):
            row[f"alt{r}"], row[f"p{r}"] = alt, q
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["step", "chosen", "prob"])
