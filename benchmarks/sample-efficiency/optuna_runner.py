"""Optuna's side of the sample-efficiency benchmark: the best value found by each sampler within each budget.

Run by benchmarks/sample-efficiency/run.ts with Debian's python3-optuna (/usr/bin/python3), or by hand:
    /usr/bin/python3 benchmarks/sample-efficiency/optuna_runner.py check
        prints the functions' values at the check points of benchmarks/common/problems.json (JSON list)
    /usr/bin/python3 benchmarks/sample-efficiency/optuna_runner.py run SAMPLER FUNCTION SEEDS TRIALS
        e.g. `run tpe branin 0-4 50`; prints one JSON object (see run_job)
    /usr/bin/python3 benchmarks/sample-efficiency/optuna_runner.py serve
        reads one job per line on stdin ({"sampler", "function", "seeds", "trials", "parallel"?}), answers one line each

Samplers (each seeded with the run's seed, otherwise Optuna's defaults): random = RandomSampler, tpe = TPESampler,
multivariate-tpe = TPESampler(multivariate=True), cmaes = CmaEsSampler, qmc = QMCSampler(scramble=True). QMC is
scrambled because unscrambled (Optuna's default) the seed changes nothing, every run is the same sequence, and its
second point is the centre of the box; our `sobol` scrambles by default too. Trials run one at a time
(study.optimize, n_jobs=1) with the define-by-run API, as a user writes them. With "parallel" K > 1 (run.ts
--parallel), K trials run at once in the order run.ts runs ours: study.ask() K times, then, each time the oldest
running trial is told, one more ask, until "trials" were asked; the TPE samplers then get constant_liar=True, which
Optuna recommends for parallel optimisation.
"""
import json
import os
import sys
import time
import warnings

import optuna

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import problems as problem_defs  # noqa: E402

SAMPLERS = {
    "random": lambda seed, parallel: optuna.samplers.RandomSampler(seed=seed),
    "tpe": lambda seed, parallel: optuna.samplers.TPESampler(seed=seed, constant_liar=parallel > 1),
    "multivariate-tpe": lambda seed, parallel: optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=parallel > 1),
    "cmaes": lambda seed, parallel: optuna.samplers.CmaEsSampler(seed=seed),
    "qmc": lambda seed, parallel: optuna.samplers.QMCSampler(seed=seed, scramble=True),
}


def optimize_parallel(study, objective, trials, parallel):
    """Keeps `parallel` trials running, telling the oldest first; returns the values in the order they were told."""
    running = [study.ask() for _ in range(min(parallel, trials))]
    asked = len(running)
    values = []
    while running:
        trial = running.pop(0)
        value = objective(trial)
        study.tell(trial, value)
        values.append(value)
        if asked < trials:
            running.append(study.ask())
            asked += 1
    return values


def run_job(problems, job):
    """Runs job["sampler"] on job["function"] for each seed; returns per seed the running best of every trial."""
    sampler_name = job["sampler"]
    if sampler_name not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler_name!r}; choose from {', '.join(SAMPLERS)}")
    problem = problems.get(job["function"])
    if problem is None:
        raise ValueError(f"unknown function {job['function']!r}; choose from {', '.join(problems)}")
    trials = int(job["trials"])
    parallel = int(job.get("parallel", 1))
    runs = []
    for seed in job["seeds"]:
        study = optuna.create_study(direction="minimize", sampler=SAMPLERS[sampler_name](int(seed), parallel))

        def objective(trial):
            return problem_defs.evaluate(problem["name"], problem_defs.suggest(trial, problem))

        start = time.perf_counter()
        if parallel == 1:
            study.optimize(objective, n_trials=trials)
            values = [t.value for t in study.trials]
        else:
            values = optimize_parallel(study, objective, trials, parallel)
        seconds = time.perf_counter() - start
        best = float("inf")
        trace = []
        for v in values:
            if v is not None and v < best:
                best = v
            trace.append(best)
        runs.append({"seed": int(seed), "trace": trace, "seconds": seconds})
    return {"sampler": sampler_name, "function": problem["name"], "runs": runs, "optuna": optuna.__version__}


def parse_seeds(text):
    if "-" in text:
        lo, hi = text.split("-", 1)
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",") if s != ""]


def main():
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.simplefilter("ignore")
    problems = problem_defs.load_problems()
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "check":
        print(json.dumps(problem_defs.check_points(problems)))
    elif command == "run" and len(sys.argv) == 6:
        job = {"sampler": sys.argv[2], "function": sys.argv[3], "seeds": parse_seeds(sys.argv[4]), "trials": int(sys.argv[5])}
        print(json.dumps(run_job(problems, job)))
    elif command == "serve":
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                reply = run_job(problems, json.loads(line))
            except Exception as e:  # reported to the caller, which names the job
                reply = {"error": f"{type(e).__name__}: {e}"}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
