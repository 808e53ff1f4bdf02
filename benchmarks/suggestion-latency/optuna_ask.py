"""Optuna's side of the suggestion-latency benchmark: the time of ask() + tell() on a study holding N finished trials.

Run by benchmarks/suggestion-latency/run.ts with Debian's python3-optuna (/usr/bin/python3), or by hand:
    /usr/bin/python3 benchmarks/suggestion-latency/optuna_ask.py HISTORIES REPS SAMPLERS
    e.g. `optuna_ask.py 10,100,1000 20 tpe,cmaes`
For each sampler and history size N: a fresh in-memory study gets N completed trials (add_trials of
create_trial, points drawn uniformly from the space, values of the `mixed` test function), then one untimed-for-the-
median warm-up and REPS timed rounds of ask(fixed_distributions) + tell. ask() with fixed distributions samples every
parameter, as the first suggest_* calls of a define-by-run objective would. Prints one JSON object.

Samplers: random, tpe, multivariate-tpe, cmaes, qmc (QMCSampler(scramble=True)), each seeded with 0.
"""
import json
import math
import os
import random
import sys
import time
import warnings

import optuna

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import problems as problem_defs  # noqa: E402

SAMPLERS = {
    "random": lambda: optuna.samplers.RandomSampler(seed=0),
    "tpe": lambda: optuna.samplers.TPESampler(seed=0),
    "multivariate-tpe": lambda: optuna.samplers.TPESampler(seed=0, multivariate=True),
    "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=0),
    "qmc": lambda: optuna.samplers.QMCSampler(seed=0, scramble=True),
}


def random_point(rng, dists):
    x = {}
    for name, d in dists.items():
        if isinstance(d, optuna.distributions.CategoricalDistribution):
            x[name] = rng.choice(d.choices)
        elif isinstance(d, optuna.distributions.IntDistribution):
            x[name] = rng.randint(d.low, d.high)
        elif d.log:
            x[name] = math.exp(rng.uniform(math.log(d.low), math.log(d.high)))
        else:
            x[name] = rng.uniform(d.low, d.high)
    return x


def measure(sampler_name, problem, history, reps):
    dists = problem_defs.distributions(problem)
    study = optuna.create_study(direction="minimize", sampler=SAMPLERS[sampler_name]())
    rng = random.Random(history)
    trials = []
    for _ in range(history):
        x = random_point(rng, dists)
        trials.append(optuna.trial.create_trial(params=x, distributions=dists, value=problem_defs.evaluate(problem["name"], x)))
    study.add_trials(trials)
    times = []
    for _ in range(reps + 1):
        start = time.perf_counter()
        trial = study.ask(fixed_distributions=dists)
        asked = time.perf_counter()
        value = problem_defs.evaluate(problem["name"], trial.params)
        told_start = time.perf_counter()
        study.tell(trial, value)
        end = time.perf_counter()
        times.append(((asked - start) + (end - told_start)) * 1000)
    return {"sampler": sampler_name, "history": history, "warmupMs": times[0], "timesMs": times[1:]}


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        sys.exit(2)
    histories = [int(h) for h in sys.argv[1].split(",")]
    reps = int(sys.argv[2])
    samplers = sys.argv[3].split(",")
    for s in samplers:
        if s not in SAMPLERS:
            sys.stderr.write(f"unknown sampler {s!r}; choose from {', '.join(SAMPLERS)}\n")
            sys.exit(2)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.simplefilter("ignore")
    problem = problem_defs.load_problems()["mixed"]
    results = [measure(s, problem, h, reps) for s in samplers for h in histories]
    print(json.dumps({"optuna": optuna.__version__, "results": results}))


if __name__ == "__main__":
    main()
