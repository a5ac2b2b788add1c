"""Measurement code the benches share (latency_probe.py, bench_scale.py,
bench_peers.py). Standard library only.

  crash_trial       one fresh 5-node cluster: kill -9 a follower -> the leader's
                    DEAD line ("restart issued") -> the victim's new process
                    follows; kill -9 the leader -> the survivors agree on the
                    highest of them -> the relaunched old leader leads again
  idle_sample       CPU % of one core, RSS and anonymous RSS, wake-ups per
                    second of given pids over an idle window (/proc)
  broker_lock       the exclusive flock on /tmp/vigil-broker.lock that a bench
                    holds while it uses the shared local broker
"""

import contextlib
import fcntl
import os
import re
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from cluster import RECONNECT_GRACE_S, Cluster, ClusterError, highest, log_time  # noqa: E402

CONNECTED_LINE = re.compile(r"^\[([0-9-]+ [0-9:.]+)\] .*connected to broker", re.M)
LEADER_LINE = re.compile(r"^\[([0-9-]+ [0-9:.]+)\] .*(?:leader is (\S+) \(term|(I am the leader))", re.M)
PROBE_POLL_S = 0.01
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BROKER_LOCK = "/tmp/vigil-broker.lock"


# --- vigil: crash and heal ---------------------------------------------------

def wait_settled(cluster, leader, grace_s=RECONNECT_GRACE_S):
    """Until the leader's post-connect grace is over: a kill during it would
    measure the grace, not the detector."""
    def settled():
        stamps = CONNECTED_LINE.findall(cluster.log_text(leader))
        return stamps and time.time() > log_time(stamps[-1]) + grace_s + 0.3
    cluster.wait_for("the leader's connect grace to pass", settled, grace_s + 10)


def new_process_follows(cluster, name, old_pid, leader):
    record = cluster.pid_record(name)
    return record and record["pid"] != old_pid and cluster.follows(name, leader)


def follower_trial(cluster, leader, victim, wait_s):
    """kill -9 victim -> (seconds to the leader's DEAD line, by its own log
    stamp; seconds until the relaunched process follows the leader)."""
    offsets = cluster.log_offsets()
    killed, killed_wall, killed_mono = cluster.signal(victim, signal.SIGKILL)
    dead = cluster.wait_for(f"DEAD line for {victim}", lambda: [
        stamp for _, name, stamp in cluster.dead_lines(offsets) if name == victim], wait_s, PROBE_POLL_S)
    cluster.wait_for(f"{victim} rejoined", lambda: new_process_follows(cluster, victim, killed["pid"], leader),
                     wait_s, PROBE_POLL_S)
    rejoined_s = time.monotonic() - killed_mono
    cluster.wait_for("all agree again", lambda: cluster.agreed_leader() == leader, wait_s)
    return dead[0] - killed_wall, rejoined_s


def named_leader_at(cluster, name, since, leader):
    """The log stamp of name's first line since the offset that names leader
    (`leader is <leader>`, or `I am the leader` from leader itself), or None."""
    for match in LEADER_LINE.finditer(cluster.log_text(name, since)):
        if match.group(2) == leader or (match.group(3) and name == leader):
            return log_time(match.group(1))
    return None


def all_named_at(cluster, names, offsets, leader):
    """When the last of names first named leader since offsets (log stamps), or None."""
    stamps = [named_leader_at(cluster, name, offsets.get(name, 0), leader) for name in names]
    return None if None in stamps else max(stamps)


def leader_trial(cluster, leader, wait_s):
    """kill -9 the leader -> (seconds until every survivor has logged that the
    highest survivor leads, by the log stamps, which status files would blur
    by up to 0.3 s; seconds until the relaunched old leader and every other
    node have logged that it leads again)."""
    survivors = [name for name in cluster.names if name != leader]
    successor = highest(survivors)
    offsets = cluster.log_offsets()
    killed, killed_wall, _ = cluster.signal(leader, signal.SIGKILL)
    agreed = cluster.wait_for(f"survivors agree on {successor}",
                              lambda: all_named_at(cluster, survivors, offsets, successor), wait_s, PROBE_POLL_S)
    cluster.wait_for(f"{leader} relaunched", lambda: new_process_follows(cluster, leader, killed["pid"], leader),
                     wait_s, PROBE_POLL_S)
    # A relaunched process appends to the same log.
    restored = cluster.wait_for(f"all agree on {leader} again",
                                lambda: all_named_at(cluster, cluster.names, offsets, leader), wait_s, PROBE_POLL_S)
    return agreed - killed_wall, restored - killed_wall


def crash_trial(binary, names, trial, label, timeouts=None, grace_s=RECONNECT_GRACE_S, wait_s=20.0,
                converge_s=30.0, keep_failed=True):
    """One trial on a fresh cluster (so it measures the steady state, past the
    connect grace): the follower kill, then the leader kill. timeouts as for
    Cluster (None: the integration timings, {}: the library's defaults);
    converge_s bounds the start, wait_s every later wait. On a failure the
    processes are killed, the files kept (keep_failed) or removed, and the
    error goes on up."""
    cluster = Cluster(binary, names, label=label, timeouts=timeouts)
    try:
        leader = cluster.start_and_converge(timeout_s=converge_s)
        wait_settled(cluster, leader, grace_s)
        followers = [name for name in names if name != leader]
        to_dead, to_rejoined = follower_trial(cluster, leader, followers[trial % len(followers)], wait_s)
        # The relaunched follower restarts nobody's grace but its own: the
        # leader is still settled, so the leader trial can follow at once.
        to_agreed, to_restored = leader_trial(cluster, leader, wait_s)
    except BaseException:
        cluster.close()
        if keep_failed:
            print(f"trial {trial + 1} failed; logs kept in {cluster.dir}", file=sys.stderr)
        else:
            cluster.remove_files()
        raise
    cluster.close()
    cluster.remove_files()
    return {"kill-to-DEAD": to_dead, "kill-to-rejoined": to_rejoined,
            "leader-kill-to-agreed": to_agreed, "leader-kill-to-restored": to_restored}


def agreed_in_logs(cluster, leader):
    """For nodes that write no status file: the leader logged that it leads,
    every other node that it follows the leader."""
    logs = {name: cluster.log_text(name) for name in cluster.names}
    return "I am the leader" in logs[leader] and all(
        f"leader is {leader}" in text for name, text in logs.items() if name != leader)


# --- /proc ---------------------------------------------------------------------

def cpu_seconds(pid):
    """utime + stime of the whole process, in seconds, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_kib(pid):
    """(VmRSS, RssAnon) in KiB, or None."""
    found = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon"):
                    found[key] = int(value.split()[0])
    except OSError:
        return None
    return found.get("VmRSS"), found.get("RssAnon")


def wakeups(pid):
    """Voluntary context switches of all the process's threads: one per sleep."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
    except OSError:
        return None
    return total


def idle_sample(pids, window_s):
    """{key: {"cpu": % of one core, "wakeups": per second, "rss_kib", "anon_kib"}}
    over window_s for {key: pid}; memory is read at the end of the window. A
    process gone meanwhile is left out."""
    before = {key: (cpu_seconds(pid), wakeups(pid)) for key, pid in pids.items()}
    started = time.monotonic()
    time.sleep(window_s)
    elapsed = time.monotonic() - started
    found = {}
    for key, pid in pids.items():
        cpu_after, wakes_after, memory = cpu_seconds(pid), wakeups(pid), memory_kib(pid)
        if None in (cpu_after, wakes_after, memory, *before[key]):
            continue
        found[key] = {"cpu": (cpu_after - before[key][0]) / elapsed * 100,
                      "wakeups": (wakes_after - before[key][1]) / elapsed,
                      "rss_kib": memory[0], "anon_kib": memory[1]}
    return found


def broker_pid():
    out = subprocess.run(["pgrep", "-x", "beam.smp"], capture_output=True, text=True, check=False).stdout.split()
    return int(out[0]) if out else None


def median_max(values):
    values = [value for value in values if value is not None]
    return (statistics.median(values), max(values)) if values else (float("nan"), float("nan"))


# --- the shared broker -----------------------------------------------------------

@contextlib.contextmanager
def broker_lock(wait_s, path=BROKER_LOCK, say=print):
    """Holds an exclusive flock on path (created if missing) for the body;
    waits for it at most wait_s, polling, then raises TimeoutError. The lock
    goes with the file descriptor, so it is released even if we die."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + wait_s
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"{path} still held by another run after {wait_s:.0f} s") from None
                if not said:
                    say(f"waiting (at most {wait_s:.0f} s) for the broker lock {path}, held by another run ...")
                    said = True
                time.sleep(1.0)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
