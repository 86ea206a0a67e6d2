#!/usr/bin/python3
"""Reference solutions of scikit-learn 1.2.1's LogisticRegression (lbfgs) for test/eval.

Run with Debian's python3 (python3-sklearn):  /usr/bin/python3 tools/make_probe_reference.py
Writes test/data/probe/reference.json: small generated problems (features, labels) and, for each
C, sklearn's coef_, intercept_, n_iter_, predict_proba on a held-out set, and the objective value
sum(log-loss) + ||W||^2 / (2C) at its solution.
"""
import json
import os
import sys

import numpy as np
import scipy
import sklearn
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression


def objective(clf, X, y, C):
    proba = clf.predict_proba(X)
    idx = np.searchsorted(clf.classes_, y)
    loss = -np.log(proba[np.arange(len(y)), idx]).sum()
    return float(loss + 0.5 / C * (clf.coef_ ** 2).sum())


def clusters(rng, n_classes, per_class, dim, spread):
    centres = rng.normal(size=(n_classes, dim)) * spread
    X = np.concatenate([centres[c] + rng.normal(size=(per_class, dim)) for c in range(n_classes)])
    y = np.repeat(np.arange(n_classes), per_class)
    order = rng.permutation(len(y))
    return X[order], y[order]


def problem(name, seed, n_classes, per_class, dim, spread, Cs):
    rng = np.random.RandomState(seed)
    X, y = clusters(rng, n_classes, per_class * 2, dim, spread)
    X = X.astype(np.float32).astype(np.float64)  # features are float32 in clip-ts
    n_train = len(y) // 2
    Xtr, ytr, Xte = X[:n_train], y[:n_train], X[n_train:]
    fits = []
    for C in Cs:
        clf = LogisticRegression(C=C, max_iter=1000).fit(Xtr, ytr)
        fits.append({
            "C": C,
            "coef": clf.coef_.tolist(),
            "intercept": clf.intercept_.tolist(),
            "n_iter": int(clf.n_iter_[0]),
            "objective": objective(clf, Xtr, ytr, C),
            "test_proba": clf.predict_proba(Xte).tolist(),
        })
    return {
        "name": name, "num_classes": n_classes, "dim": dim,
        "train_features": Xtr.tolist(), "train_labels": ytr.tolist(),
        "test_features": Xte.tolist(), "test_labels": y[n_train:].tolist(),
        "fits": fits,
    }


def rosenbrock(x):
    """Extended Rosenbrock function and gradient (pairs (x[2i], x[2i+1]))."""
    x = np.asarray(x, dtype=np.float64)
    a, b = x[0::2], x[1::2]
    f = (100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2).sum()
    g = np.zeros_like(x)
    g[0::2] = -400.0 * a * (b - a * a) - 2.0 * (1.0 - a)
    g[1::2] = 200.0 * (b - a * a)
    return f, g


def lbfgs_runs():
    runs = []
    for n in (2, 10):
        x0 = np.tile([-1.2, 1.0], n // 2)
        for gtol in (1e-5, 1e-8):
            r = minimize(rosenbrock, x0, jac=True, method="L-BFGS-B", options={"gtol": gtol, "maxiter": 15000})
            runs.append({"n": n, "x0": x0.tolist(), "gtol": gtol, "nit": int(r.nit), "nfev": int(r.nfev),
                         "x": r.x.tolist(), "f": float(r.fun), "message": str(r.message)})
    return runs


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "data", "probe", "reference.json")
    problems = [
        problem("multinomial-4", 0, 4, 30, 8, 1.0, [0.01, 0.316, 10.0]),
        problem("multinomial-3-separable", 1, 3, 20, 5, 6.0, [0.001, 1.0]),
        problem("binary", 2, 2, 40, 6, 0.7, [0.05, 3.0]),
    ]
    doc = {
        "doc": "scikit-learn LogisticRegression(C, max_iter=1000) (lbfgs, multi_class auto) on generated "
               "Gaussian clusters; made by tools/make_probe_reference.py",
        "sklearn": sklearn.__version__, "numpy": np.__version__,
        "python": sys.version.split()[0],
        "scipy": scipy.__version__,
        "problems": problems,
        "lbfgs_rosenbrock": lbfgs_runs(),
    }
    with open(out + ".tmp", "w") as f:
        json.dump(doc, f)
    os.replace(out + ".tmp", out)
    print(out)


if __name__ == "__main__":
    main()
