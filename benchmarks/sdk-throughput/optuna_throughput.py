"""Optuna's side of the SDK throughput benchmark: trials/s of study.optimize with a trivial objective.

Run by benchmarks/sdk-throughput/run.ts (or by hand) with Debian's python3-optuna:
    /usr/bin/python3 benchmarks/sdk-throughput/optuna_throughput.py CASE TRIALS [SQLITE_FILE]
CASE is random-memory, random-sqlite or tpe-memory. Prints one JSON object: case, trials, seconds (wall clock),
cpu_seconds (this process's CPU time), trials_per_s (by wall clock), optuna version. Logging is silenced so that it costs nothing, as our side logs nothing either.
"""
import json
import os
import sys
import time

import optuna


def objective(trial):
    x = trial.suggest_float("x", -10.0, 10.0)
    y = trial.suggest_float("y", -10.0, 10.0)
    return (x - 2.0) ** 2 + (y + 1.0) ** 2


def main():
    case, trials = sys.argv[1], int(sys.argv[2])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = None
    if case == "random-sqlite":
        path = sys.argv[3]
        if os.path.exists(path):
            os.remove(path)
        storage = f"sqlite:///{path}"
    if case.startswith("tpe"):
        sampler = optuna.samplers.TPESampler(seed=1)
    else:
        sampler = optuna.samplers.RandomSampler(seed=1)
    study = optuna.create_study(direction="minimize", sampler=sampler, storage=storage)
    start, cpu_start = time.perf_counter(), time.process_time()
    study.optimize(objective, n_trials=trials)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    done = len(study.trials)
    print(json.dumps({"case": case, "trials": done, "seconds": seconds, "cpu_seconds": cpu_seconds, "trials_per_s": done / seconds, "optuna": optuna.__version__}))


if __name__ == "__main__":
    main()
