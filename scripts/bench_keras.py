"""Keras 3 side of the benchmark, run in its own process (a process has one Keras backend).

usage: python scripts/bench_keras.py BACKEND HIDDEN STEPS REPEATS  -> JSON list of steps/s
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    backend, hidden, steps, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    os.environ["KERAS_BACKEND"] = backend
    import keras
    import numpy as np

    units = [int(u) for u in hidden.split(",")]
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (50, 1)).astype("float32")
    y = np.sin(3 * x).astype("float32")
    model = keras.Sequential(
        [keras.Input((1,)), *(keras.layers.Dense(u, activation="relu") for u in units)]
        + [keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(x, y, batch_size=50, epochs=3, verbose=0)  # build and compile outside the timing
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=50, epochs=steps, verbose=0)
        rates.append(steps / (time.perf_counter() - t0))
    print(json.dumps(rates))


if __name__ == "__main__":
    main()
