"""A run as one type (rnnviz/run.py): RunSpec resolves task defaults and the attention rule once, round-trips
through plain data and names every knob as the link and the CLI do; RunRecord keeps one retention rule; a probe
trace carries its own inputs and targets through the trainer, a checkpoint and a reload."""
import dataclasses

import pytest
import torch

from rnnviz.checkpoints import checkpoint_bytes, load_checkpoint
from rnnviz.run import RunRecord, RunSpec, spec_of
from rnnviz.subject import from_checkpoint
from rnnviz.training import Trainer


def tiny(**knobs) -> RunSpec:
    return RunSpec(**{"task": "adding", "seq_len": 6, "arch": "gru", "hidden": 4, "steps": 3, "batch": 4,
                      "eval_batch": 8, "probe_every": 1, "seed": 3, **knobs})


def test_resolving_fills_the_task_defaults_once():
    spec = RunSpec(task="parity").resolved()
    from rnnviz.tasks import get_task

    d = get_task("parity").defaults
    assert (spec.arch, spec.hidden, spec.layers, spec.steps, spec.batch, spec.lr) == \
           (d.arch, d.hidden_size, d.num_layers, d.steps, d.batch_size, d.lr)
    assert spec.resolved() == spec  # idempotent
    assert spec.label == f"{d.arch} h{d.hidden_size} on parity (seed 0)"


def test_attention_only_for_encoder_decoders_and_forget_bias_only_with_a_forget_gate():
    assert RunSpec(task="parity", attention="dot").resolved().attention is None
    from rnnviz.tasks import get_task

    assert RunSpec(task="reverse", attention="none").resolved().attention == "none"
    assert RunSpec(task="reverse").resolved().attention == get_task("reverse").defaults.attention != "none"
    assert RunSpec(task="parity", arch="gru", forget_bias=2.0).resolved().forget_bias is None
    assert RunSpec(task="parity", arch="lstm", forget_bias=2.0).resolved().forget_bias == 2.0


@pytest.mark.parametrize("bad, message", [({"lr": -1.0}, "learning rate"), ({"arch": "nope"}, "unknown architecture"),
                                          ({"task": "nope"}, "nope"), ({"task": "reverse", "tbptt": 5}, "truncated")])
def test_a_spec_that_cannot_train_says_why(bad, message):
    with pytest.raises(ValueError, match=message):
        RunSpec(**{"task": "parity", **bad}).resolved()


def test_spec_round_trips_through_plain_data_and_refuses_unknown_settings():
    spec = tiny().resolved()
    assert RunSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ValueError, match="unknown run setting 'hiden'"):
        RunSpec.from_dict({"task": "adding", "hiden": 3})


def test_link_and_cli_names_are_the_spec_s_fields():
    from rnnviz.cli import build_parser

    fields = {f.name for f in dataclasses.fields(RunSpec)}
    args = vars(build_parser().parse_args(["train", "--task", "adding", "--arch", "gru"]))
    assert {k for k in args if k in fields} >= fields - {"label", "lesson"}
    with pytest.MonkeyPatch.context():
        from rnnviz.ui.train_form import params, task_param

        names = {p.name for p in params("adding")} | {task_param().name}
    assert names <= fields, names - fields


def test_trainer_built_from_a_spec_uses_its_knobs():
    tr = Trainer.from_spec(tiny(lr=0.05, clip=0.5))
    assert (tr.cfg.lr, tr.cfg.clip_norm, tr.cfg.seed, tr.model_cfg.hidden_size) == (0.05, 0.5, 3, 4)
    assert tr.spec.seq_len == 6


def test_every_probe_records_the_batch_the_trainer_probed():
    tr = Trainer.from_spec(tiny())
    for _ in tr.reports():
        pass
    x, y = tr.probe_batch
    for trace in tr.traces:
        torch.testing.assert_close(trace.inputs, x)
        torch.testing.assert_close(trace.targets, y)
    assert tr.traces[-1].meta["inputs"] == "vectors"


def test_token_ids_survive_a_compact_checkpoint_exactly(tmp_path):
    tr = Trainer.from_spec(RunSpec(task="code_lm", arch="lstm", hidden=4, steps=2, batch=2, eval_batch=4,
                                   probe_every=1, seq_len=20, seed=1))
    for _ in tr.reports():
        pass
    tr.save(tmp_path / "run.safetensors", compact=True)
    loaded = load_checkpoint(tmp_path / "run.safetensors")
    trace = loaded.traces[-1]
    assert trace.inputs.dtype == torch.int64
    assert torch.equal(trace.inputs, tr.probe_batch[0]) and torch.equal(trace.targets, tr.probe_batch[1])
    assert trace.meta["input_vocab"] == tr.task.input_vocab  # stored once, given back to every trace
    assert spec_of(loaded) == tr.spec


def test_traces_saved_without_inputs_get_the_batch_the_trainer_probed(tmp_path):
    """Checkpoints from before traces recorded their inputs: the subject regenerates the trainer's own batch."""
    tr = Trainer.from_spec(tiny())
    for _ in tr.reports():
        pass
    for t in tr.traces:
        for name in ("input", "target"):
            t.tensors.pop(name)
            t.dims.pop(name)
    data = checkpoint_bytes(tr.model, task=tr.task.describe(), train_config=dataclasses.asdict(tr.cfg),
                            traces=tr.traces)
    subject = from_checkpoint(load_checkpoint(data), "old")
    torch.testing.assert_close(subject.latest.inputs, tr.probe_batch[0])


def test_record_keeps_the_newest_whole_and_thins_evenly():
    from rnnviz.trace import Trace

    def trace(step):
        t = torch.zeros(1, 1, 2, 1)
        return Trace("gru", {"h": t, "gate.z": t, "preact.z": t, "output": t[0]},
                     {"h": ("layer", "sample", "step", "unit"), "gate.z": ("layer", "sample", "step", "unit"),
                      "preact.z": ("layer", "sample", "step", "unit"), "output": ("sample", "step", "unit")},
                     {"train_step": step})

    record = RunRecord(max_traces=4)
    for step in range(1, 7):
        record.add_trace(trace(step), (step, [1.0]))
    assert record.traces[-1].meta["train_step"] == 6 and "preact.z" in record.traces[-1]
    assert all("preact.z" not in t for t in record.traces[:-1])  # older ones are snapshots
    assert len(record.traces) <= 4 and len(record.grad_heat) == 6


def test_a_run_autosaved_mid_training_comes_back_stopped_and_says_why(tmp_path):
    import queue

    from rnnviz.jobs import worker

    class Outbox(queue.Queue):
        def cancel_join_thread(self):
            pass

    class Flag:  # the worker saves at its first step; the server is killed right after its fourth
        value = worker.RUN

    tr = Trainer.from_spec(tiny(steps=50))
    steps = iter(range(1000))
    original = tr.step
    tr.step = lambda: original() if next(steps) < 4 else (_ for _ in ()).throw(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        worker._loop(tr, Outbox(), Flag(), str(tmp_path / "run.safetensors"))
    tr.save(tmp_path / "run.safetensors")  # what the last autosave held: a run in the middle of training
    record = RunRecord.from_checkpoint(load_checkpoint(tmp_path / "run.safetensors"))
    assert record.status == "stopped" and "stopped at step 4 by a server restart" in record.message


def test_an_orphaned_worker_saves_and_stops_by_itself(tmp_path, monkeypatch):
    """When the app's server dies, the worker saves what it has, says why it stopped, and ends instead of training
    (and rewriting its autosave) for nobody."""
    import queue

    from rnnviz.jobs import worker

    class Outbox(queue.Queue):
        def cancel_join_thread(self):
            pass

    class Flag:
        value = worker.RUN

    alive = iter([True] * 3 + [False] * 1000)  # the server answers three times, then is gone
    monkeypatch.setattr(worker, "_alive", lambda pid: next(alive))
    tr = Trainer.from_spec(tiny(steps=10_000))
    worker._loop(tr, Outbox(), Flag(), str(tmp_path / "run.safetensors"), server=12345)
    assert tr.status == "stopped" and tr.step_count == 3
    saved = RunRecord.from_checkpoint(load_checkpoint(tmp_path / "run.safetensors"))
    assert saved.status == "stopped" and "the server it trained for stopped" in saved.message


def test_a_run_started_from_a_save_has_its_weights_and_a_wrong_network_gets_one_sentence(tmp_path):
    """Issue #15's "continue it": RunSpec.start_from loads a save's weights into the new run's model (checked against
    the saved tensors), is refused in one sentence when the network differs, and before the file exists."""
    spec = RunSpec(task="parity", arch="gru", hidden=8, steps=20)
    first = Trainer.from_spec(spec)
    for _ in first.reports():
        pass
    first.save(tmp_path / "first.safetensors")
    cont = Trainer.from_spec(dataclasses.replace(spec, seed=5, start_from=str(tmp_path / "first.safetensors")))
    fresh = Trainer.from_spec(dataclasses.replace(spec, seed=5))
    for name, saved in first.model.state_dict().items():
        torch.testing.assert_close(cont.model.state_dict()[name], saved, rtol=0, atol=0)
    assert any(not torch.allclose(fresh.model.state_dict()[n], t) for n, t in first.model.state_dict().items())
    with pytest.raises(ValueError, match="do not fit this network.*keep the task, architecture"):
        dataclasses.replace(spec, hidden=16, start_from=str(tmp_path / "first.safetensors")).resolved()
    with pytest.raises(ValueError, match="no saved weights yet"):
        dataclasses.replace(spec, start_from=str(tmp_path / "none.safetensors")).resolved()
