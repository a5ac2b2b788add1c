#!/usr/bin/env python3
"""Latency probe: how fast the integration cluster (5 real vigil_test_node
processes, the local broker, the integration timeouts: heartbeat 200 ms,
timeout 1 s, election 500 ms) notices and heals a crash. Prints, over several
trials, median and max of:

  kill-to-DEAD          kill -9 of a follower -> the leader's DEAD line
                        (the line's own log timestamp, ms resolution)
  kill-to-rejoined      kill -9 of a follower -> its relaunched process is
                        connected and follows the leader (its status file)
  leader-kill-to-agreed kill -9 of the leader -> every survivor's status file
                        names the highest survivor, which says it leads
  leader-kill-to-restored  ... -> the relaunched old leader leads again, all agree

Status files are rewritten every ~100 ms from a view refreshed every 200 ms
(or at once on a change), so the status-based figures carry up to ~0.3 s of
observation lag. Each trial uses a fresh cluster and waits out the grace a
node gives everyone after connecting, so it measures the steady state.

    latency_probe.py --node build/tests/integration/vigil_test_node [--trials 5]
"""

import argparse
import os
import statistics
import sys
import time

from probes import crash_trial

NAMES = ["Zulu", "alpha", "b", "charlie_long_name", "d9"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--node", required=True, help="path to vigil_test_node")
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    if not 1 <= args.trials <= 100:
        parser.error("--trials must be 1..100")

    started = time.monotonic()
    samples = {}
    for trial in range(args.trials):
        result = crash_trial(os.path.abspath(args.node), NAMES, trial, "vigil-probe")
        print(f"trial {trial + 1}: " + "  ".join(f"{k} {v:.3f} s" for k, v in result.items()), flush=True)
        for metric, value in result.items():
            samples.setdefault(metric, []).append(value)

    print(f"\n{args.trials} trials, 5 nodes, heartbeat 200 ms / timeout 1 s / election 500 ms "
          f"({time.monotonic() - started:.0f} s)")
    print(f"{'metric':<26}{'median':>10}{'max':>10}")
    for metric, values in samples.items():
        print(f"{metric:<26}{statistics.median(values):>9.3f}s{max(values):>9.3f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
