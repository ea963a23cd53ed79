"""An experiment for tests/Pester/NewUser.Tests.ps1 that says exactly what it is told to.

Config (from RAYRUNNER_TASK_INPUT): "sleep" seconds to wait; "line", a line to print verbatim at
the end (any RAYRUNNER_RESULT text, well-formed or not); "report", metrics to report after a
"loss" of lr * seed; with neither, it reports the wall-clock times it started and ended as
metrics, so a test can tell which runs overlapped.
"""
import json
import os
import sys
import time

started = time.time()
config = json.loads(os.environ["RAYRUNNER_TASK_INPUT"])["config"]
time.sleep(float(config.get("sleep", 0)))
if "line" in config:
    print(config["line"], flush=True)
elif "report" in config:
    metrics = {"loss": round(config.get("lr", 1) * config.get("seed", 1), 9)}
    metrics.update(config["report"])
    print("RAYRUNNER_RESULT " + json.dumps({"metrics": metrics}), flush=True)
else:
    print("RAYRUNNER_RESULT " + json.dumps({"metrics": {"started": started, "ended": time.time()}}), flush=True)
sys.exit(0)
