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
import re
import signal
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from cluster import RECONNECT_GRACE_S, Cluster, ClusterError, highest, log_time  # noqa: E402

NAMES = ["Zulu", "alpha", "b", "charlie_long_name", "d9"]
CONNECTED_LINE = re.compile(r"^\[([0-9-]+ [0-9:.]+)\] .*connected to broker", re.M)
PROBE_POLL_S = 0.01


def wait_settled(cluster, leader):
    """Until the leader's post-connect grace is over: a kill during it would
    measure the grace, not the detector."""
    def settled():
        stamps = CONNECTED_LINE.findall(cluster.log_text(leader))
        return stamps and time.time() > log_time(stamps[-1]) + RECONNECT_GRACE_S + 0.3
    cluster.wait_for("the leader's connect grace to pass", settled, RECONNECT_GRACE_S + 10)


def new_process_follows(cluster, name, old_pid, leader):
    record = cluster.pid_record(name)
    return record and record["pid"] != old_pid and cluster.follows(name, leader)


def follower_trial(cluster, leader, victim):
    offsets = cluster.log_offsets()
    killed, killed_wall, killed_mono = cluster.signal(victim, signal.SIGKILL)
    dead = cluster.wait_for(f"DEAD line for {victim}", lambda: [
        stamp for _, name, stamp in cluster.dead_lines(offsets) if name == victim], 15, PROBE_POLL_S)
    cluster.wait_for(f"{victim} rejoined", lambda: new_process_follows(cluster, victim, killed["pid"], leader),
                     20, PROBE_POLL_S)
    rejoined_s = time.monotonic() - killed_mono
    cluster.wait_for("all agree again", lambda: cluster.agreed_leader() == leader, 15)
    return dead[0] - killed_wall, rejoined_s


def leader_trial(cluster, leader):
    survivors = [name for name in NAMES if name != leader]
    successor = highest(survivors)
    killed, _, killed_mono = cluster.signal(leader, signal.SIGKILL)
    cluster.wait_for(f"survivors agree on {successor}", lambda: cluster.agreed_leader(survivors) == successor,
                     15, PROBE_POLL_S)
    agreed_s = time.monotonic() - killed_mono
    cluster.wait_for(f"{leader} relaunched and leading", lambda: new_process_follows(
        cluster, leader, killed["pid"], leader) and cluster.agreed_leader() == leader, 20, PROBE_POLL_S)
    return agreed_s, time.monotonic() - killed_mono


def run_trial(binary, trial):
    cluster = Cluster(binary, NAMES, label="vigil-probe")
    try:
        leader = cluster.start_and_converge()
        wait_settled(cluster, leader)
        followers = [name for name in NAMES if name != leader]
        to_dead, to_rejoined = follower_trial(cluster, leader, followers[trial % len(followers)])
        # The relaunched follower restarts nobody's grace but its own: the
        # leader is still settled, so the leader trial can follow at once.
        to_agreed, to_restored = leader_trial(cluster, leader)
    except ClusterError:
        cluster.close()
        print(f"trial {trial + 1} failed; logs kept in {cluster.dir}", file=sys.stderr)
        raise
    cluster.close()
    cluster.remove_files()
    return {"kill-to-DEAD": to_dead, "kill-to-rejoined": to_rejoined,
            "leader-kill-to-agreed": to_agreed, "leader-kill-to-restored": to_restored}


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
        result = run_trial(os.path.abspath(args.node), trial)
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
