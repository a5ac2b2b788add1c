#!/usr/bin/env python3
"""vigil end to end: real containers under Docker Compose, real `docker kill`s.

    tests/e2e/run.sh                    # images, then this (what `make e2e` runs)
    tests/e2e/test_e2e.py [--only basic,server-kill,partition,chaos]

Four fresh deployments, one after the other (container names are fixed, so only one
exists at a time), each torn down with `down -v` whatever happens:
  basic        1 normal operation, 2 worker failure, 3 leader failure, 4 hang,
               a frozen container (docker pause), graceful stop (also across a
               leader change), 5a SIGUSR1 with the chaos monkey disabled
  server-kill  6 the server killed mid-run, restarted, resumes, exact result
  partition    a follower, then the leader, cut off the network (docker network
               disconnect) for 3 heartbeat timeouts: only the cut one may be restarted
  chaos        5 the chaos monkey every CHAOS_INTERVAL during a whole pipeline run
Ends with the measured figures and a line `N passed, M failed`; exits 1 on any failure.
Environment: VIGIL_E2E_DIR (work folder, default build/e2e), VIGIL_E2E_CHAOS_SEED.
"""
import argparse
import os
import random
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scenarios  # noqa: E402
from steps import Context  # noqa: E402

from cluster import CheckFailed, Metrics  # noqa: E402
from deployment import REPO_ROOT, Deployment, DockerError, daemon_clock_offset  # noqa: E402


def plans(chaos_seed):
    return [
        ("basic", {}, [
            ("1 normal operation", scenarios.normal_operation),
            ("2 worker failure", scenarios.worker_failure),
            ("3 leader failure", scenarios.leader_failure),
            ("3b leader and a follower at once", scenarios.leader_and_follower_failure),
            ("4 hang -> apoptosis -> restart", scenarios.hang),
            ("frozen (docker pause) -> restart", scenarios.frozen),
            ("graceful stop is not resurrected", scenarios.graceful_stop),
            ("graceful stop survives a leader change", scenarios.graceful_stop_across_leader_change),
            ("5a SIGUSR1 kills one at once", scenarios.chaos_signal),
        ]),
        ("server-kill", {}, [
            ("6 server killed mid-run", scenarios.server_killed_mid_run),
        ]),
        # About 90 s of pipeline: the follower is cut mid-run (tasks in flight), the
        # leader after the pipeline has finished; the result must be exact after both.
        ("partition", {"WORKLOAD_SIZE": "900", "WORK_DELAY_MS": "300"}, [
            ("follower cut off (docker network disconnect)", scenarios.follower_cut_off),
            ("leader cut off (docker network disconnect)", scenarios.leader_cut_off),
        ]),
        # Longer than the others (about 90 s without faults), so that the monkey gets in
        # a dozen kills or more while tasks are in flight.
        ("chaos", {"CHAOS_ENABLED": "true", "CHAOS_INTERVAL": "8", "CHAOS_SEED": str(chaos_seed),
                   "WORKLOAD_SIZE": "900", "WORK_DELAY_MS": "300"}, [
            ("5 chaos", scenarios.chaos),
        ]),
    ]


class Results:
    def __init__(self):
        self.passed, self.failed = [], []

    def record(self, name, ok, detail):
        (self.passed if ok else self.failed).append(name)
        print(f"[{'PASS' if ok else 'FAIL'}] {name}: {detail}", flush=True)


def run_plan(label, overrides, steps, work_root, results, metrics, offset):
    print(f"\n=== deployment '{label}' ===", flush=True)
    dep = Deployment(label, work_root, overrides)
    failed_before = len(results.failed)
    try:
        began = time.monotonic()
        try:
            dep.up()
        except Exception as error:  # noqa: BLE001 - whatever it is, these scenarios cannot run
            for name, *_ in steps:
                results.record(name, False, f"deployment did not come up: {error}")
            return
        print(f"up in {time.monotonic() - began:.0f} s ({dep.compose_file})", flush=True)
        for name, step in steps:
            ctx = Context(dep, metrics, offset)
            began = time.monotonic()
            try:
                detail = step(ctx)
                results.record(name, True, f"{detail} [{time.monotonic() - began:.0f} s]")
            except (CheckFailed, DockerError) as error:
                results.record(name, False, f"{error} [{time.monotonic() - began:.0f} s]")
            except Exception:  # a bug in the test itself still counts, and is shown
                results.record(name, False, "unexpected error:\n" + traceback.format_exc())
            for note in ctx.notes:
                print(f"  note: {note}", flush=True)
    finally:
        if len(results.failed) > failed_before:
            print(f"--- container logs of '{label}' (tails; full logs in {dep.dir}/logs) ---")
            dep.dump_tails()
        began = time.monotonic()
        dep.down()
        print(f"down in {time.monotonic() - began:.0f} s; logs kept in {dep.dir}/logs", flush=True)


def interrupt(_signum, _frame):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated deployments: basic,server-kill,partition,chaos")
    args = parser.parse_args()
    # SIGTERM (a CI timeout) unwinds like Ctrl-C, so every `finally` tears down.
    signal.signal(signal.SIGTERM, interrupt)

    work_root = os.environ.get("VIGIL_E2E_DIR") or os.path.join(REPO_ROOT, "build", "e2e")
    seed_text = os.environ.get("VIGIL_E2E_CHAOS_SEED", "")
    chaos_seed = int(seed_text) if seed_text else random.randrange(1, 2**31)
    wanted = [item for item in args.only.split(",") if item]
    selected = [plan for plan in plans(chaos_seed) if not wanted or plan[0] in wanted]
    if wanted and len(selected) != len(wanted):
        parser.error(f"unknown deployment in --only {args.only}")

    began = time.monotonic()
    results, metrics = Results(), Metrics()
    offset = daemon_clock_offset()
    print(f"vigil e2e: {', '.join(plan[0] for plan in selected)}; chaos seed {chaos_seed} "
          f"(VIGIL_E2E_CHAOS_SEED to replay); docker clock offset {offset * 1000:+.0f} ms", flush=True)
    try:
        for label, overrides, steps in selected:
            run_plan(label, overrides, steps, work_root, results, metrics, offset)
    except KeyboardInterrupt:
        results.record("run", False, "interrupted")
    print()
    print(metrics.report())
    print(f"e2e runtime {time.monotonic() - began:.0f} s", end="")
    if os.environ.get("VIGIL_E2E_STARTED", "").isdigit():
        print(f" ({time.time() - int(os.environ['VIGIL_E2E_STARTED']):.0f} s with the images)", end="")
    print()
    if results.failed:
        print("failed: " + "; ".join(results.failed))
    print(f"{len(results.passed)} passed, {len(results.failed)} failed", flush=True)
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
