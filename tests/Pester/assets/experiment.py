"""A tiny experiment for the Pester suite: follows RayRunner's experiment contract.

Reads its config from RAYRUNNER_TASK_INPUT, echoes its arguments (so tests can see that config
values arrive intact, as separate arguments), sleeps for config "sleep" seconds, then reports a
result line. config "fail" = true reports a failed run and exits 1; config "fail_unless" = a path
fails the same way while that file does not exist. config "count_file" = a path gets one line per
start ("<run id> <config as JSON>"), so tests can count how often each config really ran.
"""
import json
import os
import sys
import time

task = json.loads(os.environ["RAYRUNNER_TASK_INPUT"])
config = task["config"]
print("ARGS " + json.dumps(sys.argv[1:]), flush=True)
print("RUN " + os.environ.get("RAYRUNNER_RUN_ID", "?"), flush=True)
if config.get("count_file"):
    with open(config["count_file"], "a") as counter:
        counter.write(task["run_id"] + " " + json.dumps(config, sort_keys=True) + "\n")
time.sleep(float(config.get("sleep", 0)))
if config.get("fail") or (config.get("fail_unless") and not os.path.exists(config["fail_unless"])):
    print("RAYRUNNER_RESULT " + json.dumps({"status": "failed", "error_message": "asked to fail"}), flush=True)
    sys.exit(1)
lr = float(config.get("lr", 0.1))
result = {
    "status": "completed",
    "metrics": {"loss": round(lr * 10, 6), "acc": round(1 - lr, 6)},
    "checkpoint_uri": "file:///tmp/rayrunner-pester/" + task["run_id"],
}
print("RAYRUNNER_RESULT " + json.dumps(result), flush=True)
