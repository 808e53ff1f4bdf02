"""Optuna's MedianPruner and HyperbandPruner on the early-stopping benchmark's curve family.

Called by benchmarks/early-stopping/run.ts (run it with the system interpreter, /usr/bin/python3, which has
Debian's python3-optuna):

    /usr/bin/python3 benchmarks/early-stopping/optuna_pruners.py --input FAMILY.json --output RESULT.json [--processes N]

FAMILY.json (written by run.ts) holds the curve family -- parameters, coefficients, noise -- and the run settings:
seeds, budget, cap, f* and the target regret. This script re-implements curves.ts's formulas from those numbers
(same operations in the same order, same hash-based noise), first checks them against the reference values
run.ts computed, then runs one sequential study per (pruner, seed) with RandomSampler(seed=seed): each trial
samples the four hyperparameters, "trains" epoch by epoch, reports the observed loss at step = epoch
(1 ... maxEpochs) and asks should_prune() after every report. A pruned trial costs the epochs it reported. A study
stops once it has spent `cap` epochs, or once it is past `budget` with the incumbent (the complete trial with the
lowest reported loss) within the target regret -- the same rule as the TypeScript runs; run.ts recomputes every
metric from the trial log written here.
"""

import argparse
import json
import math
import multiprocessing
import struct
import sys
import time

import optuna

MASK = 0xFFFFFFFF


def mix32(x):
    h = x & MASK
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & MASK
    h ^= h >> 16
    return h


class Family:
    """curves.ts in Python: the same formulas, evaluated in the same order."""

    def __init__(self, spec):
        self.k = spec["coefficients"]
        self.params = spec["parameters"]
        self.max_epochs = spec["maxEpochs"]
        self.relative = spec["noise"]["relative"]

    def shape(self, h):
        k = self.k
        lr, batch, wd, dropout = (float(x) for x in h)
        ln10 = math.log(10.0)
        ln2 = math.log(2.0)
        u = math.log(lr) / ln10
        v = math.log(batch) / ln2
        w = math.log(wd) / ln10
        du = u - (k["lrOpt"] + k["lrPerBatchDoubling"] * (v - k["v0"]))
        v_min = math.log(16) / ln2
        v_max = math.log(512) / ln2
        a = (
            k["aMin"]
            + k["aLr"] * du * du * (k["aLrHighFactor"] if du > 0 else 1)
            + k["aWd"] * (w - k["wdOpt"]) * (w - k["wdOpt"])
            + k["aDrop"] * (dropout - k["dropOpt"]) * (dropout - k["dropOpt"])
            + (k["aBatch"] * (v - v_min)) / (v_max - v_min)
        )
        c = min(k["cMax"], max(k["cMin"], k["c0"] * math.exp(k["cLr"] * du - k["cDrop"] * dropout - k["cBatch"] * (v - k["v0"]))))
        w_min = math.log(1e-6) / ln10
        w_max = math.log(1e-1) / ln10
        slow_start = math.exp(k["bDrop"] * dropout + (k["bWd"] * (w - w_min)) / (w_max - w_min))
        b = (k["start"] - a) * (1 - math.exp(-math.pow(2, -c) * slow_start))
        return a, b, c

    def true_loss(self, h, t):
        a, b, c = self.shape(h)
        return a + b * math.pow(t, -c)

    def final_loss(self, h):
        return self.true_loss(h, self.max_epochs)

    @staticmethod
    def noise(h, epoch, seed):
        words = [seed & MASK, epoch & MASK]
        for x in h:
            lo, hi = struct.unpack("<II", struct.pack("<d", float(x)))
            words += [lo, hi]
        acc = 0x811C9DC5
        for w in words:
            acc = mix32(acc ^ w)
        total = 0.0
        for j in range(1, 5):
            total += mix32(acc ^ ((0x9E3779B9 * j) & MASK)) / 4294967296
        return (total - 2) * math.sqrt(3)

    def observe(self, h, epoch, seed):
        return self.true_loss(h, epoch) * (1 + self.relative * self.noise(h, epoch, seed))


def check(family, checks):
    """The largest relative difference from run.ts's reference values (true and observed losses)."""
    worst = 0.0
    for c in checks:
        h, t, seed = c["config"], c["epoch"], c["seed"]
        for mine, theirs in ((family.true_loss(h, t), c["trueLoss"]), (family.observe(h, t, seed), c["observed"])):
            worst = max(worst, abs(mine - theirs) / abs(theirs))
    return worst


def make_pruner(name, max_epochs):
    if name == "median":
        return optuna.pruners.MedianPruner()  # defaults: n_startup_trials=5, n_warmup_steps=0, interval_steps=1
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs, reduction_factor=3)
    raise SystemExit(f"unknown pruner {name!r}; use median or hyperband")


def run_study(family, pruner_name, seed, run):
    best_final, target, budget, cap = run["bestFinal"], run["target"], run["budget"], run["cap"]
    events = []
    progress = {"spent": 0, "incumbent": None, "reached": False}

    def objective(trial):
        h = []
        for p in family.params:
            if p["type"] == "int":
                h.append(trial.suggest_int(p["name"], int(p["min"]), int(p["max"]), log=p["log"]))
            else:
                h.append(trial.suggest_float(p["name"], p["min"], p["max"], log=p["log"]))
        best = math.inf
        for epoch in range(1, family.max_epochs + 1):
            value = family.observe(h, epoch, seed)
            best = min(best, value)
            progress["spent"] += 1
            trial.report(value, epoch)
            if trial.should_prune():
                events.append({"spent": progress["spent"], "full": False, "config": h, "objective": best})
                raise optuna.TrialPruned()
        events.append({"spent": progress["spent"], "full": True, "config": h, "objective": best})
        inc = progress["incumbent"]
        if inc is None or best < inc[0]:
            progress["incumbent"] = (best, family.final_loss(h) - best_final)
        if progress["incumbent"][1] <= target:
            progress["reached"] = True
        return value

    def stop_when_done(study, _trial):
        spent = progress["spent"]
        if spent >= cap or (spent >= budget and progress["reached"]):
            study.stop()

    # A fixed study name: HyperbandPruner assigns trials to brackets by a hash of the study's name and the trial
    # number, and the default name is a random UUID, which would make the runs irreproducible.
    study = optuna.create_study(
        study_name=f"early-stopping-{pruner_name}-{seed}",
        direction="minimize",
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=make_pruner(pruner_name, family.max_epochs),
    )
    started = time.perf_counter()
    study.optimize(objective, callbacks=[stop_when_done])
    return {"pruner": pruner_name, "seed": seed, "seconds": time.perf_counter() - started, "events": events}


def run_study_args(args):
    return run_study(*args)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="the family and run settings written by run.ts")
    parser.add_argument("--output", required=True, help="where to write the trial logs (JSON)")
    parser.add_argument("--processes", type=int, default=1, help="worker processes; each takes the next (pruner, seed) study when it is free (default 1)")
    args = parser.parse_args()
    with open(args.input, encoding="utf-8") as f:
        spec = json.load(f)
    family = Family(spec["family"])
    run = spec["run"]
    worst = check(family, spec["checks"])
    if worst > 1e-12:
        raise SystemExit(f"the Python curves differ from curves.ts by up to {worst:.3g} (relative); keep optuna_pruners.py's formulas in step with curves.ts")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.processes < 1:
        raise SystemExit(f"--processes must be at least 1 (got {args.processes})")
    studies = [(family, p, seed, run) for p in run["pruners"] for seed in run["seeds"]]
    runs = []
    # Studies differ a lot in length (one that never reaches the target runs to the cap), so workers take the next
    # study when they are free rather than a fixed share.
    with multiprocessing.Pool(args.processes) as pool:
        for result in pool.imap_unordered(run_study_args, studies):
            runs.append(result)
            print(f"optuna {result['pruner']} seed {result['seed']}: {len(result['events'])} trials, {result['seconds']:.1f}s", file=sys.stderr, flush=True)
    runs.sort(key=lambda r: (run["pruners"].index(r["pruner"]), r["seed"]))
    out = {
        "optuna": optuna.__version__,
        "python": sys.version.split()[0],
        "sampler": "RandomSampler(seed=seed)",
        "pruners": {
            "median": "MedianPruner() (n_startup_trials=5, n_warmup_steps=0, interval_steps=1)",
            "hyperband": f"HyperbandPruner(min_resource=1, max_resource={family.max_epochs}, reduction_factor=3)",
        },
        "checkMaxRelativeDifference": worst,
        "runs": runs,
    }
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
