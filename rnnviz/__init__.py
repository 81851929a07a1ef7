"""rnnviz: instrumented recurrent networks, identical to torch.nn where torch has the cell, traced at full speed.

    from rnnviz import ModelConfig, build_model, probe, get_task, Trainer, TrainConfig
    task = get_task("adding")
    trainer = Trainer(task, task.model_config("lstm"), TrainConfig(steps=500))
    for report in trainer.reports(): ...
    trace = probe(trainer.model, *trainer.probe_batch, task.loss)   # h, c, gates, dL/dh_t, ||dh_T/dh_t||, ...
"""
from rnnviz.build import build_model
from rnnviz.cells import SPECS, CellSpec, get_spec
from rnnviz.init import InitConfig, apply_init, layer_spectra
from rnnviz.models import ModelConfig, RNNModel, default_device, num_parameters
from rnnviz.seq2seq import Seq2Seq
from rnnviz.stack import Recurrent
from rnnviz.trace import Trace, probe, weight_grad_share

__all__ = ["SPECS", "CellSpec", "InitConfig", "ModelConfig", "RNNModel", "Recurrent", "Seq2Seq", "Trace",
           "TrainConfig", "Trainer", "apply_init", "build_model", "default_device", "get_spec", "get_task",
           "layer_spectra", "load_checkpoint", "num_parameters", "probe", "save_checkpoint", "weight_grad_share"]


def __getattr__(name):
    """The heavier parts (tasks, training, checkpoints) load on first use, so `import rnnviz` stays light."""
    if name in ("Trainer", "TrainConfig"):
        from rnnviz import training

        return getattr(training, name)
    if name == "get_task":
        from rnnviz.tasks import get_task

        return get_task
    if name in ("load_checkpoint", "save_checkpoint"):
        from rnnviz import checkpoints

        return getattr(checkpoints, name)
    raise AttributeError(f"module 'rnnviz' has no attribute {name!r}")
