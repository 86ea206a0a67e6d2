"""scikit-learn peer for bench/probe.ts: LogisticRegression(C, max_iter=1000) (lbfgs, multinomial)
on the features bench/probe.ts wrote, timed over a few fits.

usage: probe_sklearn.py DIR N_TRAIN N_TEST DIM C REPS
DIR holds train_x.f32 [N_TRAIN, DIM], train_y.i32, test_x.f32 [N_TEST, DIM], test_y.i32.
Writes DIR/sklearn_coef.f64 ([classes, DIM]) and DIR/sklearn_intercept.f64; prints one JSON line:
{"times_ms": [...], "n_iter": n, "objective": f, "test_accuracy": percent, "sklearn": version}.
The objective is scikit-learn 1.2.1's lbfgs objective: sum of log-losses + ||W||^2 / (2C)."""
import json
import os
import sys
import time

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression


def main():
    d, n_train, n_test, dim, C, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    xtr = np.fromfile(os.path.join(d, "train_x.f32"), dtype="<f4").reshape(n_train, dim)
    ytr = np.fromfile(os.path.join(d, "train_y.i32"), dtype="<i4")
    xte = np.fromfile(os.path.join(d, "test_x.f32"), dtype="<f4").reshape(n_test, dim)
    yte = np.fromfile(os.path.join(d, "test_y.i32"), dtype="<i4")
    # The float64 conversion is part of what fit() does with float32 input; do it once up front
    # so that the timing is the solver's, as for clip-ts (which also widens before timing).
    xtr64 = xtr.astype(np.float64)
    times = []
    clf = None
    for _ in range(reps):
        t0 = time.perf_counter()
        clf = LogisticRegression(C=C, max_iter=1000).fit(xtr64, ytr)
        times.append((time.perf_counter() - t0) * 1000)
    proba = clf.predict_proba(xtr64)
    idx = np.searchsorted(clf.classes_, ytr)
    objective = float(-np.log(proba[np.arange(len(ytr)), idx]).sum() + 0.5 / C * (clf.coef_ ** 2).sum())
    acc = float((clf.predict(xte.astype(np.float64)) == yte).mean() * 100)
    clf.coef_.astype("<f8").tofile(os.path.join(d, "sklearn_coef.f64"))
    clf.intercept_.astype("<f8").tofile(os.path.join(d, "sklearn_intercept.f64"))
    print(json.dumps({"times_ms": times, "n_iter": int(clf.n_iter_[0]), "objective": objective,
                      "test_accuracy": acc, "sklearn": sklearn.__version__}))


if __name__ == "__main__":
    main()
