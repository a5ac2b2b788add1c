#!/usr/bin/env python3
"""The integration cluster's restart back-end, run by the leader as
RESTART_COMMAND="python3 relaunch.py <statedir> {name}".

It behaves like `docker restart`: kill the node's recorded process if it is
still running, then start a new one with the same environment. It first
records its argv exactly as received, so the harness can check that a name
full of shell metacharacters arrived as one literal argument.

sys.argv is read directly (no argparse): a name such as "--rm" must be data."""

import json
import os
import signal
import sys
import time

import nodeproc

EXIT_USAGE, EXIT_UNKNOWN_NAME, EXIT_CLOSED, EXIT_STUCK = 2, 3, 4, 5
KILL_WAIT_S = 5.0


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
        if old and nodeproc.signal_if_running(old["pid"], old["ticks"], signal.SIGKILL):
            if not nodeproc.wait_gone(old["pid"], old["ticks"], KILL_WAIT_S):
                print(f"relaunch: pid {old['pid']} survived SIGKILL", file=sys.stderr)
                return EXIT_STUCK
        record = nodeproc.start_node(state_dir, name, started_by="relaunch")
    print(f"relaunch: started {json.dumps(name)} as pid {record['pid']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
