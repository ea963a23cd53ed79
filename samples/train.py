#!/usr/bin/env python3
"""A toy experiment for RayRunner, in plain Python (standard library only).

It "trains" a one-weight linear model y = w*x with SGD on synthetic data, using the
config's learning rate (lr), number of epochs and seed, prints its progress, and ends
with the line RayRunner reads:

    RAYRUNNER_RESULT {"status": "completed", "metrics": {"loss": ...}}

Config comes as Hydra-style overrides on the command line (lr=0.01 epochs=5 seed=1),
which is what RayRunner's {overrides} placeholder produces, or as one JSON argument after
--config ({config_json}); with no arguments it reads the config from RAYRUNNER_TASK_INPUT. Run it by hand: python3 train.py lr=0.1 seed=2
"""
import json
import math
import os
import random
import sys
import time

DEFAULTS = {"lr": 0.01, "epochs": 5, "seed": 0, "epoch_seconds": 0.05}


def parse_value(text):
    """A Hydra override value: quoted string, number, bool, null, or plain string."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].replace("\\" + text[0], text[0]).replace("\\\\", "\\")
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_config(argv):
    config = dict(DEFAULTS)
    if len(argv) == 2 and argv[0] == "--config":
        # The whole config as one JSON argument: RayRunner's {config_json} placeholder.
        config.update(json.loads(argv[1]))
    elif argv:
        for arg in argv:
            key, sep, value = arg.partition("=")
            if not sep:
                sys.exit(f"train.py: expected key=value overrides, got {arg!r}")
            config[key.lstrip("+~")] = parse_value(value)
    elif os.environ.get("RAYRUNNER_TASK_INPUT"):
        config.update(json.loads(os.environ["RAYRUNNER_TASK_INPUT"]).get("config", {}))
    return config


def train(lr, epochs, seed, epoch_seconds):
    rng = random.Random(seed)
    true_w = 3.0
    data = [(x, true_w * x + rng.gauss(0, 0.1)) for x in (rng.random() for _ in range(64))]
    w = rng.uniform(-1, 1)
    loss = float("nan")
    for epoch in range(1, epochs + 1):
        try:
            for x, y in data:
                w -= lr * 2 * (w * x - y) * x
            loss = sum((w * x - y) ** 2 for x, y in data) / len(data)
        except OverflowError:
            loss = float("inf")  # a learning rate this large makes the weights blow up
        print(f"epoch {epoch}/{epochs}  loss={loss:.6g}  w={w:.4g}", flush=True)
        if not math.isfinite(loss):
            break
        time.sleep(epoch_seconds)
    return loss, w


def main():
    config = read_config(sys.argv[1:])
    run_id = os.environ.get("RAYRUNNER_RUN_ID", "manual")
    lr, epochs, seed = float(config["lr"]), int(config["epochs"]), int(config["seed"])
    print(f"run {run_id}: lr={lr} epochs={epochs} seed={seed}", flush=True)
    loss, w = train(lr, epochs, seed, float(config["epoch_seconds"]))
    result = {"metrics": {"loss": loss, "w": w}}
    if math.isfinite(loss):
        result["status"] = "completed"
    else:
        result["status"] = "failed"
        result["error_message"] = f"training diverged with lr={lr}"
    print("RAYRUNNER_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
