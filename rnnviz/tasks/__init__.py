"""The task catalogue: every task by name, in teaching order, from one step without memory to language.

Not the tasks themselves (one module per family beside this file) and not training.
"""
from __future__ import annotations

from rnnviz.tasks.base import PAD, SEQUENCE_TYPES, Task, TaskInfo, TaskParams, TrainDefaults
from rnnviz.tasks.baseline import Circle
from rnnviz.tasks.classification import Majority, Parity
from rnnviz.tasks.generation import PatternGen, SineGen
from rnnviz.tasks.language import CodeLM, TextLM
from rnnviz.tasks.long_term import Adding, CopyMemory, FirstSymbol, Latching
from rnnviz.tasks.selection import InductionHeads, SelectiveCopy
from rnnviz.tasks.sentiment import Sentiment
from rnnviz.tasks.seq2seq_tasks import Reverse, SortDigits, SpellNumbers, sequence_accuracy
from rnnviz.tasks.tagging import BracketDepth
from rnnviz.tasks.text import load_text
from rnnviz.tasks.time_series import NoisySine, Sines

TASKS: dict[str, type[Task]] = {cls.info.name: cls for cls in (
    Circle,  # one-to-one: what a single step does, the contrast for everything below
    SineGen, PatternGen,  # one-to-many: the state unrolls a sequence from one input
    Parity, Majority, Sentiment,  # many-to-one: read it all, answer once
    BracketDepth,  # many-to-many synchronous tagging
    Reverse, SortDigits, SpellNumbers,  # many-to-many asynchronous: encoder-decoder and attention
    Adding, CopyMemory, Latching, FirstSymbol,  # long-term dependencies: where gates matter
    SelectiveCopy, InductionHeads,  # where the data sits varies: selection (S6) against time-invariant ones (LRU)
    NoisySine, Sines,  # time series forecasting
    CodeLM, TextLM,  # character language models
)}

__all__ = ["PAD", "SEQUENCE_TYPES", "TASKS", "Task", "TaskInfo", "TaskParams", "TrainDefaults", "get_task",
           "list_tasks", "load_text", "sequence_accuracy"]


def get_task(name: str, **params) -> Task:
    """A task instance by name; params go to its Params dataclass and are checked against its limits."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    return TASKS[name](**params)


def list_tasks() -> list[dict]:
    """One row per task, in catalogue order, for `python -m rnnviz list --json` and the task picker."""
    keys = ("name", "sequence_type", "teaches", "inputs", "outputs", "metric")
    return [{k: getattr(cls.info, k) for k in keys} for cls in TASKS.values()]
