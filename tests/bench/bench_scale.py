#!/usr/bin/env python3
"""make bench-scale: how vigil holds 20, 50, 100 and 200 real nodes on the one
local broker, with the library's default timeouts (heartbeat 2 s, timeout 6 s,
election 3 s). Each size starts every node at once (as `docker compose up`
would) and prints:

  agreed      start -> every node names the highest one, which leads and hears all
  held        the same leader all through the hold (HOLD, 60 s by default)
  restarts    restarts issued from the start to the end of the hold (must be 0:
              every node is alive)
  node CPU    CPU of one idle node over the hold, % of one core (median, max);
              an idle node's main loop wakes once a second only to pulse
  node RSS    resident memory per node: all of it, and its anonymous part
              (what the process added beyond the shared binary and libraries)
  leader CPU  the leader's CPU over the hold, %
  broker CPU  the broker's CPU (beam.smp) over the hold, %
  frames      frames the broker sent to the nodes per heartbeat interval,
              per node (a delivery is 3 frames; AMQP heartbeats are 1)
  kill 10%    kill -9 of a tenth of the nodes at once (a seeded sample) ->
              every victim runs again (relaunched by the `command` back-end)
              and follows the leader

Then the idle cost alone: 20 nodes that write no status file (the harness's
JSON status, rewritten every second, costs more than the library), CPU and
wake-ups per second (voluntary context switches of all threads) of a follower.

Figures, not asserts: it fails only if the harness itself cannot run.

    bench_scale.py --node build/tests/integration/vigil_test_node [--sizes 20,50,100,200] [--hold 60s]
"""

import argparse
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from cluster import ClusterError, broker_reachable, highest, idle_cluster  # noqa: E402
from probes import agreed_in_logs, broker_pid, cpu_seconds, idle_sample, median_max, memory_kib  # noqa: E402

HEARTBEAT_INTERVAL_S = 2.0  # the library's default, which every node here runs with
IDLE_SIZE = 20
IDLE_WINDOW_S = 60.0


def parse_seconds(text):
    text = text.strip().lower()
    for suffix, scale in (("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * scale
    return float(text)


def broker_frames_sent():
    """Frames the broker has sent on all its connections, or None without rabbitmqctl."""
    try:
        out = subprocess.run(["rabbitmqctl", "list_connections", "send_cnt", "--quiet", "--no-table-headers"],
                             capture_output=True, text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return sum(int(word) for word in out.split() if word.isdigit())


def pids_of(cluster):
    return {name: (cluster.pid_record(name) or {}).get("pid") for name in cluster.names}


def back_and_following(cluster, victims, old_pids, leader):
    return all(pids_of(cluster)[name] != old_pids[name] and cluster.follows(name, leader) for name in victims) \
        and cluster.agreed_leader() == leader


def run_size(binary, size, hold_s, seed):
    names = [f"node-{index:03d}" for index in range(size)]
    leader = highest(names)
    row = {"nodes": size}
    cluster = idle_cluster(binary, names, f"vigil-scale-{size}")
    try:
        started = time.monotonic()
        cluster.start()
        try:
            cluster.wait_for(f"all {size} agree on {leader}",
                             lambda: cluster.agreed_leader() == leader and cluster.leader_hears_all(leader),
                             120 + size * 0.5, poll_s=0.5)
            row["agreed_s"] = time.monotonic() - started
        except ClusterError:
            row["agreed_s"] = None
            return row
        pids = pids_of(cluster)
        bpid = broker_pid()
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        broker_before = cpu_seconds(bpid) if bpid else None
        frames_before = broker_frames_sent()
        hold_start = time.monotonic()
        breaks = 0
        for _ in range(int(hold_s) + 2):
            if time.monotonic() - hold_start >= hold_s:
                break
            time.sleep(1.0)
            if cluster.agreed_leader() != leader:
                breaks += 1
        elapsed = time.monotonic() - hold_start
        frames_after = broker_frames_sent()
        usage = {}
        for name, pid in pids.items():
            after = cpu_seconds(pid)
            if after is not None and cpu_before[name] is not None:
                usage[name] = (after - cpu_before[name]) / elapsed * 100
        row["held"] = breaks == 0
        row["breaks"] = breaks
        row["restarts"] = len(cluster.relaunches())
        row["node_cpu"] = median_max([value for name, value in usage.items() if name != leader])
        row["leader_cpu"] = usage.get(leader, float("nan"))
        memory = [m for m in (memory_kib(pid) for pid in pids.values()) if m and m[0] and m[1]]
        row["rss_mib"] = median_max([m[0] / 1024 for m in memory])
        row["anon_mib"] = median_max([m[1] / 1024 for m in memory])
        if broker_before is not None:
            row["broker_cpu"] = (cpu_seconds(bpid) - broker_before) / elapsed * 100
        if frames_before is not None and frames_after is not None:
            row["frames"] = (frames_after - frames_before) / (elapsed / HEARTBEAT_INTERVAL_S) / size
        victims = random.Random(seed).sample(names, max(1, size // 10))
        old_pids = {name: pids[name] for name in victims}
        killed_at = time.monotonic()
        for name in victims:
            cluster.signal(name, signal.SIGKILL)
        try:
            cluster.wait_for(f"{len(victims)} killed nodes back and following {leader}",
                             lambda: back_and_following(cluster, victims, old_pids, leader), 180, poll_s=0.5)
            row["kill_back_s"] = time.monotonic() - killed_at
        except ClusterError:
            row["kill_back_s"] = None
        return row
    finally:
        cluster.close()
        cluster.remove_files()


def idle_cost(binary, size, window_s):
    """CPU and wake-ups of idle nodes that write no status file (the harness's
    status files cost more than the library): agreement is read off the logs."""
    names = [f"idle-{index:03d}" for index in range(size)]
    leader = highest(names)
    cluster = idle_cluster(binary, names, "vigil-idle", status_file=False)
    try:
        cluster.start()
        cluster.wait_for(f"{size} idle nodes agree (logs)", lambda: agreed_in_logs(cluster, leader), 120, poll_s=0.5)
        time.sleep(HEARTBEAT_INTERVAL_S * 3)  # past the new leader's first judgements
        followers = {name: pid for name, pid in pids_of(cluster).items() if name != leader}
        usage = idle_sample(followers, window_s).values()
        return {"nodes": size, "cpu": median_max([u["cpu"] for u in usage]),
                "wakeups": median_max([u["wakeups"] for u in usage]), "restarts": len(cluster.relaunches())}
    finally:
        cluster.close()
        cluster.remove_files()


def show(value, fmt, unit=""):
    if value is None:
        return "no"
    if isinstance(value, float) and value != value:
        return "?"
    return format(value, fmt) + unit


def print_table(rows, hold_s):
    print(f"\n| nodes | one leader agreed | held {hold_s:.0f} s | restarts | node CPU % (median / max) "
          "| node RSS MiB (median / max) | of it anonymous MiB | leader CPU % | broker CPU % "
          "| frames per node per interval | kill -9 10 % -> all back |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        if row.get("agreed_s") is None:
            print(f"| {row['nodes']} | **no** (within {120 + row['nodes'] * 0.5:.0f} s) | | | | | | | | | |")
            continue
        cpu, rss, anon = row["node_cpu"], row["rss_mib"], row["anon_mib"]
        held = "yes" if row["held"] else f"**no** ({row['breaks']} samples without one leader)"
        print(f"| {row['nodes']} | {row['agreed_s']:.1f} s | {held} | {row['restarts']} "
              f"| {cpu[0]:.3f} / {cpu[1]:.3f} | {rss[0]:.1f} / {rss[1]:.1f} | {anon[0]:.1f} / {anon[1]:.1f} "
              f"| {show(row['leader_cpu'], '.2f')} | {show(row.get('broker_cpu'), '.1f')} "
              f"| {show(row.get('frames'), '.1f')} | {show(row['kill_back_s'], '.1f', ' s')} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--node", required=True, help="path to vigil_test_node")
    parser.add_argument("--sizes", default="20,50,100,200")
    parser.add_argument("--hold", default="60s", help="how long to watch the agreed leader (60s, 10m, ...)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not broker_reachable():
        sys.exit("bench-scale: no RabbitMQ broker on 127.0.0.1:5672 (make broker)")
    hold_s = parse_seconds(args.hold)
    rows = []
    for size in (int(word) for word in args.sizes.split(",") if word.strip()):
        print(f"bench-scale: {size} nodes, hold {hold_s:.0f} s ...", flush=True)
        rows.append(run_size(args.node, size, hold_s, args.seed))
        print(f"  {rows[-1]}", flush=True)
    print(f"bench-scale: idle cost, {IDLE_SIZE} nodes without status files, {IDLE_WINDOW_S:.0f} s ...", flush=True)
    idle = idle_cost(args.node, IDLE_SIZE, IDLE_WINDOW_S)
    print(f"\nbench-scale on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, library default timeouts")
    print_table(rows, hold_s)
    print(f"\nIdle follower ({idle['nodes']} nodes, no status file, main loop pulsing once a second): "
          f"CPU {idle['cpu'][0]:.3f} % median, {idle['cpu'][1]:.3f} % max; "
          f"wake-ups {idle['wakeups'][0]:.1f}/s median, {idle['wakeups'][1]:.1f}/s max (all threads, "
          f"the main loop's 1/s included); restarts {idle['restarts']}")


if __name__ == "__main__":
    main()
