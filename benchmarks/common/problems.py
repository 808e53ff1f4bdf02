"""The benchmark test functions on the Optuna side: the same formulas as problems.ts, in the same order of operations.

Search spaces, optima and check points come from problems.json beside this file. `suggest` draws a trial's parameters
with Optuna's define-by-run API, in the spec's order (log-scale floats with suggest_float(log=True), ints with
suggest_int, categoricals with suggest_categorical). `distributions` gives the same space for ask()/add_trial.
"""
import json
import math
import os

import optuna

SPEC_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "problems.json")


def load_problems():
    with open(SPEC_FILE, encoding="utf-8") as f:
        problems = json.load(f)["functions"]
    for p in problems:
        if p["name"] not in FORMULAS:
            raise ValueError(f"{SPEC_FILE}: function {p['name']!r} has no formula in problems.py; known: {', '.join(FORMULAS)}")
    return {p["name"]: p for p in problems}


def _vector(x, d):
    return [float(x[f"x{i + 1}"]) for i in range(d)]


def branin(x):
    x1 = float(x["x1"])
    x2 = float(x["x2"])
    b = 5.1 / (4 * math.pi * math.pi)
    c = 5 / math.pi
    t = 1 / (8 * math.pi)
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2]
HARTMANN_A = [
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
]
HARTMANN_P = [
    [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
    [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
    [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.665],
    [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
]


def hartmann6(x):
    v = _vector(x, 6)
    outer = 0.0
    for i in range(4):
        inner = 0.0
        for j in range(6):
            inner += HARTMANN_A[i][j] * (v[j] - HARTMANN_P[i][j]) ** 2
        outer += HARTMANN_ALPHA[i] * math.exp(-inner)
    return -outer


def rosenbrock(x, d):
    v = _vector(x, d)
    s = 0.0
    for i in range(d - 1):
        a, b = v[i], v[i + 1]
        s += 100 * (b - a * a) ** 2 + (a - 1) ** 2
    return s


def ackley(x, d):
    v = _vector(x, d)
    sq = 0.0
    cos = 0.0
    for xi in v:
        sq += xi * xi
        cos += math.cos(2 * math.pi * xi)
    return -20 * math.exp(-0.2 * math.sqrt(sq / d)) - math.exp(cos / d) + 20 + math.e


def levy(x, d):
    w = [1 + (xi - 1) / 4 for xi in _vector(x, d)]
    s = math.sin(math.pi * w[0]) ** 2
    for i in range(d - 1):
        s += (w[i] - 1) ** 2 * (1 + 10 * math.sin(math.pi * w[i] + 1) ** 2)
    return s + (w[d - 1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[d - 1]) ** 2)


MIXED_LR_CENTER = {"sgd": -1.5, "adam": -3.5, "rmsprop": -2.5}
MIXED_PENALTY = {"sgd": 0.3, "adam": 0.0, "rmsprop": 0.15}


def mixed(x):
    optimizer = x["optimizer"]
    layers = float(x["layers"])
    d = math.log10(float(x["lr"])) - (MIXED_LR_CENTER[optimizer] - 0.1 * (layers - 5))
    dropout = float(x["dropout"])
    return (
        0.25 * d * d
        + 0.05 * (1 - math.cos(2 * math.pi * d))
        + 0.06 * (layers - 5) ** 2
        + 8 * (dropout - 0.04 * layers) ** 2
        + MIXED_PENALTY[optimizer]
    )


FORMULAS = {
    "branin": branin,
    "hartmann6": hartmann6,
    "rosenbrock4": lambda x: rosenbrock(x, 4),
    "ackley5": lambda x: ackley(x, 5),
    "levy4": lambda x: levy(x, 4),
    "mixed": mixed,
}


def evaluate(name, x):
    return FORMULAS[name](x)


def distributions(problem):
    """The problem's space as Optuna distributions, in the spec's order."""
    out = {}
    for p in problem["parameters"]:
        fs = p["feasibleSpace"]
        kind = p["parameterType"]
        if kind == "double":
            out[p["name"]] = optuna.distributions.FloatDistribution(float(fs["min"]), float(fs["max"]), log=fs.get("distribution") == "logUniform")
        elif kind == "int":
            out[p["name"]] = optuna.distributions.IntDistribution(int(fs["min"]), int(fs["max"]), log=fs.get("distribution") == "logUniform")
        elif kind == "categorical":
            out[p["name"]] = optuna.distributions.CategoricalDistribution(list(fs["list"]))
        else:
            raise ValueError(f"parameter {p['name']}: parameterType {kind!r} is not used by the benchmarks")
    return out


def suggest(trial, problem):
    """Draws the problem's parameters with the define-by-run API (what a user writes); returns name -> value."""
    x = {}
    for p in problem["parameters"]:
        fs = p["feasibleSpace"]
        name = p["name"]
        kind = p["parameterType"]
        log = fs.get("distribution") == "logUniform"
        if kind == "double":
            x[name] = trial.suggest_float(name, float(fs["min"]), float(fs["max"]), log=log)
        elif kind == "int":
            x[name] = trial.suggest_int(name, int(fs["min"]), int(fs["max"]), log=log)
        elif kind == "categorical":
            x[name] = trial.suggest_categorical(name, list(fs["list"]))
        else:
            raise ValueError(f"parameter {name}: parameterType {kind!r} is not used by the benchmarks")
    return x


def check_points(problems):
    """The values at every function's minimiser and check points, in problems.ts's checkPointsOf order."""
    out = []
    for p in problems.values():
        for point in [p["minimizer"], *p["checkPoints"]]:
            out.append(evaluate(p["name"], point))
    return out
