"""The Optuna side of bench/sweeps. Reads {"jobs": [...]} from stdin, writes JSON lines tagged with
the job's index to stdout.

Quality job: {"mode": "quality", "function", "algorithm": "tpe"|"random", "seeds", "trials", "batch"}
  -> per seed {"seed", "values": [value of trial 0, 1, ...], "best_params"}.
Latency job: {"mode": "latency", "history": [100, 1000], "dims": 6, "repeats": n}
  -> {"history", "ms": [ask+tell wall milliseconds, ...], "cpu_ms": [process CPU milliseconds, ...]}.
Functions match functions.ts (run.ts re-evaluates the best params on its side).
"""

import json
import math
import sys
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)

A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
     [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
ALPHA = [1, 1.2, 3, 3.2]


def branin(t):
    x1, x2 = t.suggest_float("x1", -5, 10), t.suggest_float("x2", 0, 15)
    b, c = 5.1 / (4 * math.pi ** 2), 5 / math.pi
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def hartmann6(t):
    x = [t.suggest_float(f"x{i}", 0, 1) for i in range(6)]
    s = 0.0
    for i in range(4):
        inner = 0.0
        for j in range(6):
            inner += A[i][j] * (x[j] - P[i][j] * 1e-4) ** 2
        s += ALPHA[i] * math.exp(-inner)
    return -s


def rosenbrock4(t):
    x = [t.suggest_float(f"x{i}", -5, 10) for i in range(4)]
    s = 0.0
    for i in range(3):
        s += 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def lr_search(t):
    # Suggested in functions.ts's sorted-name order is irrelevant to Optuna; names and ranges match.
    lr = t.suggest_float("lr", 1e-5, 1, log=True)
    wd = t.suggest_float("weight_decay", 1e-6, 1e-1, log=True)
    width = t.suggest_int("width", 16, 512, step=16)
    layers = t.suggest_int("layers", 1, 8)
    batch = t.suggest_int("batch", 8, 1024, log=True)
    opt = t.suggest_categorical("optimizer", ["sgd", "adam", "rmsprop"])
    base = {"sgd": 0.02, "adam": 0.0, "rmsprop": 0.05}[opt]
    lr_best = {"sgd": -1.5, "adam": -3.0, "rmsprop": -3.5}[opt] + 0.25 * math.log2(batch / 64)
    v = base + 0.5 * (math.log10(lr) - lr_best) ** 2
    v += 0.1 * (math.log10(wd) + 4) ** 2
    v += 0.075 * (math.log2(width) - 8) ** 2
    v += 0.05 * (layers - 3) ** 2
    v += 0.02 * (math.log2(batch) - 6) ** 2
    if opt == "sgd":
        v += 2 * (t.suggest_float("momentum", 0, 0.99) - 0.9) ** 2
    return v


FUNCTIONS = {"branin": branin, "hartmann6": hartmann6, "rosenbrock4": rosenbrock4, "lr-search": lr_search}


def sampler(algorithm, seed):
    if algorithm == "tpe":
        return optuna.samplers.TPESampler(seed=seed)  # Optuna 5 defaults: multivariate, constant liar
    return optuna.samplers.RandomSampler(seed=seed)


def quality(job):
    f = FUNCTIONS[job["function"]]
    for seed in job["seeds"]:
        study = optuna.create_study(sampler=sampler(job["algorithm"], seed))
        values = []
        while len(values) < job["trials"]:
            batch = min(job["batch"], job["trials"] - len(values))
            asked = [study.ask() for _ in range(batch)]
            results = [f(t) for t in asked]  # suggest all (running together), then tell all
            for t, v in zip(asked, results):
                study.tell(t, v)
                values.append(v)
        print(json.dumps({"job": job["id"], "seed": seed, "values": values, "best_params": study.best_params}), flush=True)


def latency(job):
    dims = job["dims"]
    dist = optuna.distributions.FloatDistribution(0, 1)
    import random

    rnd = random.Random(0)
    for n in job["history"]:
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1))
        trials = []
        for _ in range(n):
            params = {f"x{i}": rnd.random() for i in range(dims)}
            trials.append(optuna.trial.create_trial(
                params=params, distributions={k: dist for k in params}, value=sum((v - 0.3) ** 2 for v in params.values())))
        study.add_trials(trials)
        ms, cpu_ms = [], []
        for _ in range(job["repeats"]):
            t0, c0 = time.perf_counter(), time.process_time()
            t = study.ask()
            v = sum((t.suggest_float(f"x{i}", 0, 1) - 0.3) ** 2 for i in range(dims))
            study.tell(t, v)
            ms.append((time.perf_counter() - t0) * 1000)
            cpu_ms.append((time.process_time() - c0) * 1000)
        print(json.dumps({"job": job["id"], "history": n, "ms": ms, "cpu_ms": cpu_ms}), flush=True)


if __name__ == "__main__":
    for i, job in enumerate(json.loads(sys.stdin.read())["jobs"]):
        job["id"] = i
        (quality if job["mode"] == "quality" else latency)(job)
