#!/usr/bin/env python3
"""The integration cluster's restart back-end, run by the leader as
RESTART_COMMAND="python3 relaunch.py <statedir> {name}".

It behaves like `docker restart`: stop the node's recorded process if it is
still running, then start a new one with the same environment. It first
records its argv exactly as received, so the harness can check that a name
full of shell metacharacters arrived as one literal argument.

How it stops the old process comes from its own environment (the restarting
node's, so a cluster sets it through the nodes' env):
  RELAUNCH_STOP_SIGNAL=KILL  (default) SIGKILL at once
  RELAUNCH_STOP_SIGNAL=TERM  as `docker restart` does: SIGTERM (then SIGCONT,
                             so a SIGSTOPped process gets it too), up to
                             TERM_WAIT_S for it to exit, SIGKILL after that.
                             The node answers SIGTERM with its goodbye.
Each stop is recorded in stops.jsonl: pid, signal, whether SIGKILL was needed.

sys.argv is read directly (no argparse): a name such as "--rm" must be data."""

import json
import os
import signal
import sys
import time

import nodeproc

EXIT_USAGE, EXIT_UNKNOWN_NAME, EXIT_CLOSED, EXIT_STUCK = 2, 3, 4, 5
KILL_WAIT_S = 5.0
# docker restart waits 10 s; ours must end well within RESTART_TIMEOUT (10 s
# in cluster.py) even when SIGKILL follows: 3 + KILL_WAIT_S.
TERM_WAIT_S = 3.0
STOP_SIGNALS = ("KILL", "TERM")


def stop(state_dir, name, old, how):
    """Stops the old process (pid record `old`) if it still runs; False if it
    survived SIGKILL. Every stop of a running process goes to stops.jsonl."""
    pid, ticks = old["pid"], old["ticks"]
    started = time.monotonic()
    if how == "TERM":
        if not nodeproc.signal_if_running(pid, ticks, signal.SIGTERM):
            return True  # already gone
        nodeproc.signal_if_running(pid, ticks, signal.SIGCONT)  # a SIGSTOPped process acts on it now
        if nodeproc.wait_gone(pid, ticks, TERM_WAIT_S):
            record_stop(state_dir, name, pid, how, started, killed=False)
            return True
    if not nodeproc.signal_if_running(pid, ticks, signal.SIGKILL):
        if how == "TERM":  # it ended just now, on the SIGTERM
            record_stop(state_dir, name, pid, how, started, killed=False)
        return True
    gone = nodeproc.wait_gone(pid, ticks, KILL_WAIT_S)
    record_stop(state_dir, name, pid, how, started, killed=True)
    return gone


def record_stop(state_dir, name, pid, how, started, killed):
    nodeproc.append_jsonl(os.path.join(state_dir, "stops.jsonl"),
                          {"t": time.time(), "name": name, "pid": pid, "signal": how, "killed": killed,
                           "took_s": round(time.monotonic() - started, 3)})


def main(argv):
    if len(argv) < 2:
        print("usage: relaunch.py <statedir> <name>", file=sys.stderr)
        return EXIT_USAGE
    state_dir = argv[1]
    # Recorded before any check: the harness wants every call, even a bad one.
    nodeproc.append_jsonl(os.path.join(state_dir, "relaunch.jsonl"),
                          {"t": time.time(), "pid": os.getpid(), "argv": argv[1:]})
    if len(argv) != 3:
        print(f"relaunch: expected exactly one name, got {json.dumps(argv[2:])}", file=sys.stderr)
        return EXIT_USAGE
    name = argv[2]
    how = os.environ.get("RELAUNCH_STOP_SIGNAL", "KILL").upper()
    if how not in STOP_SIGNALS:
        print(f"relaunch: RELAUNCH_STOP_SIGNAL must be one of {STOP_SIGNALS}, not {json.dumps(how)}",
              file=sys.stderr)
        return EXIT_USAGE
    cluster = nodeproc.read_json(os.path.join(state_dir, "cluster.json"))
    if cluster is None or name not in cluster["nodes"]:
        print(f"relaunch: unknown node {json.dumps(name)}", file=sys.stderr)
        return EXIT_UNKNOWN_NAME

    with nodeproc.LaunchLock(state_dir):
        if os.path.exists(os.path.join(state_dir, "closed")):
            print("relaunch: the cluster is shutting down", file=sys.stderr)
            return EXIT_CLOSED
        index = cluster["nodes"][name]["index"]
        old = nodeproc.read_json(nodeproc.pid_record_path(state_dir, index))
        if old and not stop(state_dir, name, old, how):
            print(f"relaunch: pid {old['pid']} survived SIGKILL", file=sys.stderr)
            return EXIT_STUCK
        record = nodeproc.start_node(state_dir, name, started_by="relaunch")
    print(f"relaunch: started {json.dumps(name)} as pid {record['pid']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
