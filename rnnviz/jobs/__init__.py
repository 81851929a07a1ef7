"""Training in the background: a pool of worker processes under a machine-wide cap (pool.py) and the worker
each runs (worker.py). Not UI: no streamlit here; the app holds one pool per server and reads RunStates."""
from rnnviz.jobs.pool import ACTIVE, RunState, WorkerPool, prune_runs_dir

__all__ = ["ACTIVE", "RunState", "WorkerPool", "prune_runs_dir"]
