"""Every lesson's live comparison, trained headless at its presets' fixed seeds (as the lesson's button would),
must show what the lesson's text says: rnnviz.lesson_claims judges the runs, and every claim must hold.

The runs (about 100 CPU-seconds) go two at a time in worker processes at the lowest CPU priority, started with the
first test that is not a browser test (tests/conftest.py), with these tests moved to the end of the suite: they use
what CPU the rest of the suite leaves idle. Under pytest-xdist one worker trains them for all, and these tests run
on the browser tests' worker, after them (tests/conftest.py says why)."""
from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import re
import time
from pathlib import Path

import pytest
import torch

from rnnviz.lesson_claims import CHECKS, check
from rnnviz.lessons import BY_SLUG
from rnnviz.run import RunRecord, RunSpec


def _train(spec: RunSpec) -> tuple[RunSpec, RunRecord]:
    from rnnviz.training import Trainer

    torch.set_num_threads(1)
    trainer = Trainer.from_spec(spec)
    for _ in trainer.reports():
        pass
    return spec, trainer.record


_BACKGROUND: dict = {}
TIMEOUT = 600  # s: every lesson's runs, on one core at the lowest priority, on a busy machine


def _shared() -> Path | None:
    """Under pytest-xdist: the folder this run's workers share (tests/conftest.py); None when pytest runs alone."""
    folder = os.environ.get("RNNVIZ_TEST_SHARED")
    return Path(folder) if folder and os.environ.get("PYTEST_XDIST_WORKER") else None


def start_in_background() -> None:
    """Starts every live lesson's runs in a low-priority worker process, once per test run: under pytest-xdist the
    first worker to get here trains for all, and leaves the outcomes in the shared folder for the others."""
    if _BACKGROUND:
        return
    shared = _shared()
    if shared is not None:
        try:
            (shared / "claims-owner").mkdir()  # atomic: exactly one worker trains
        except FileExistsError:
            _BACKGROUND["shared"] = shared
            return
    specs = [p for slug in CHECKS for p in BY_SLUG[slug].presets]
    specs.sort(key=lambda s: (s.task != "code_lm", -s.steps))  # the slowest first: the pool stays busy to the end
    pool = mp.get_context("spawn").Pool(2, initializer=os.nice, initargs=(19,))  # what the suite leaves idle

    def leave(result) -> None:  # in the pool's result thread, before the result is marked ready
        if shared is not None:
            with open(shared / "claims.tmp", "wb") as f:
                pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(shared / "claims.tmp", shared / "claims.pkl")

    def failed(error: BaseException) -> None:
        if shared is not None:
            (shared / "claims.failed").write_text(f"{type(error).__name__}: {error}")

    _BACKGROUND.update(pool=pool, result=pool.map_async(_train, specs, chunksize=1, callback=leave,
                                                        error_callback=failed))


def finish_background() -> None:
    """Waits for the runs this process trains (other workers may still need them), then ends the pool."""
    pool = _BACKGROUND.pop("pool", None)
    if pool is not None:
        _BACKGROUND.pop("result").wait(TIMEOUT)
        pool.terminate()
    _BACKGROUND.clear()


def _from_the_owner(shared: Path) -> list:
    deadline = time.monotonic() + TIMEOUT
    while not (shared / "claims.pkl").exists():
        if (shared / "claims.failed").exists():
            raise RuntimeError("the lesson runs failed: " + (shared / "claims.failed").read_text())
        if time.monotonic() > deadline:
            raise TimeoutError(f"the lesson runs were not done within {TIMEOUT} s")
        time.sleep(0.5)
    with open(shared / "claims.pkl", "rb") as f:
        return pickle.load(f)


@pytest.fixture(scope="module")
def outcomes() -> dict[str, list]:
    start_in_background()  # already running unless this file was run alone
    if "pool" in _BACKGROUND:
        done = _BACKGROUND["result"].get(timeout=TIMEOUT)
    else:
        done = _from_the_owner(_BACKGROUND["shared"])
    by_lesson: dict[str, list] = {}
    for spec, record in done:
        by_lesson.setdefault(spec.lesson, []).append((spec, record))
    return by_lesson


@pytest.mark.parametrize("slug", list(CHECKS))
def test_the_lesson_shows_what_it_says(outcomes, slug):
    claims = check(slug, outcomes[slug])
    assert claims, "a live lesson states at least one claim"
    failed = [f"{c.says} ({c.shows})" for c in claims if not c.held]
    assert not failed, f"{slug}'s own runs contradict it:\n" + "\n".join(failed)


def test_lesson_3_says_where_its_run_diverged_in_one_phrase(outcomes):
    """"diverged after 3 steps (the loss became nan at step 4)" read as two different steps: the numbers that
    decide the claim now say it once, as the run recorded it."""
    shows = check("lesson-vanishing-gradients", outcomes["lesson-vanishing-gradients"])[0].shows
    assert re.fullmatch(r"diverged: the (loss|gradient norm) became \S+( \(exploding gradients\))? at step \d+",
                        shows), shows


def test_a_claim_fails_when_its_runs_do_not_show_it(outcomes):
    """The checks can fail: swap the tanh RNN's lag-5 results with its lag-50 ones and lesson 6 must object."""
    runs = outcomes["lesson-long-term"]
    swapped = [(s, r) for s, r in runs]
    short = [i for i, (s, _) in enumerate(runs) if s.arch == "rnn_tanh" and s.seq_len == 5]
    long = [i for i, (s, _) in enumerate(runs) if s.arch == "rnn_tanh" and s.seq_len == 50]
    for i, j in zip(short, long):
        swapped[i], swapped[j] = (runs[i][0], runs[j][1]), (runs[j][0], runs[i][1])
    held = {c.says: c.held for c in check("lesson-long-term", swapped)}
    assert not held["At lag 5 all three learn it."]
    assert not held["At lag 50 each of the three misses it in at least one seed."]
    with pytest.raises(ValueError, match="need all its runs"):
        check("lesson-long-term", runs[:-1])


def test_lesson_9_objects_when_the_minGRU_and_the_LRU_trade_runs(outcomes):
    """Lesson 9's checks can fail: give the minGRU's runs to the LRU (and back) and both cells' claims object."""
    runs = outcomes["lesson-recurrence-returns"]
    by_arch = {a: [r for s, r in runs if s.arch == a] for a in ("mingru", "lru")}
    swapped, seen = [], {"mingru": 0, "lru": 0}
    for s, r in runs:
        if s.arch in seen:
            other = "lru" if s.arch == "mingru" else "mingru"
            r = by_arch[other][seen[s.arch]]
            seen[s.arch] += 1
        swapped.append((s, r))
    held = [c.held for c in check("lesson-recurrence-returns", swapped)]
    assert held == [False, False, False, True, True]


def test_lesson_9_objects_when_s6_and_mambas_block_trade_runs(outcomes):
    """Give S6 alone the block's recall runs and the block S6's: the induction-heads claim objects, and only it."""
    runs = outcomes["lesson-recurrence-returns"]
    records = {a: [r for s, r in runs if s.arch == a] for a in ("s6", "mamba")}
    assert len(records["s6"]) == len(records["mamba"]) == 3
    seen = {"s6": 0, "mamba": 0}
    swapped = []
    for s, r in runs:
        if s.arch in seen:
            r = records["mamba" if s.arch == "s6" else "s6"][seen[s.arch]]
            seen[s.arch] += 1
        swapped.append((s, r))
    assert [c.held for c in check("lesson-recurrence-returns", swapped)] == [True, True, True, True, False]


def test_lesson_9_objects_when_the_mlstm_did_not_learn_to_choose(outcomes):
    """Give one mLSTM run the probe of its own untrained network (input gates that read nothing yet): the claim
    that it chooses from the input must object, and only that one."""
    import dataclasses

    from rnnviz.training import Trainer

    runs = list(outcomes["lesson-recurrence-returns"])
    k = next(i for i, (s, _) in enumerate(runs) if s.arch == "mlstm")
    spec, record = runs[k]
    untrained = Trainer.from_spec(spec).probe()
    runs[k] = (spec, dataclasses.replace(record, traces=record.traces[:-1] + [untrained]))
    assert [c.held for c in check("lesson-recurrence-returns", runs)] == [True, True, True, False, True]


def test_lesson_9_says_in_a_sentence_when_a_run_was_never_probed(outcomes):
    from rnnviz.run import RunRecord

    runs = list(outcomes["lesson-recurrence-returns"])
    runs[0] = (runs[0][0], RunRecord("diverged", [{"step": 1}]))
    with pytest.raises(ValueError, match="was never probed \\(diverged at step 1\\)"):
        check("lesson-recurrence-returns", runs)
