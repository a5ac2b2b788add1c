#!/usr/bin/env python3
"""make bench-peers: vigil side by side with HashiCorp Serf and etcd, in one
run on this machine, everything on 127.0.0.1 with ports of its own, each
system with its default timings. Figures, not asserts: it fails only if the
harness cannot run (a part that cannot start, or never heals within its bound).

vigil (5 vigil_test_node processes on the local broker, the library's
default timeouts: heartbeat 2 s, timeout 6 s, election 3 s; the `command`
back-end relaunches killed nodes, as in the integration tests; a fresh
cluster per trial, probes.crash_trial, as `make bench` but with the defaults):
  kill -9 a follower -> restart issued   the leader's "Node X is DEAD.
                                         Restarting..." line, by its own log
                                         stamp (ms) minus the kill's wall time
                  -> rejoined            the relaunched process is connected and
                                         follows the leader (its status file,
                                         rewritten every 100 ms)
  kill -9 the leader -> all agree        every survivor's status names the
                                         highest survivor, which says it leads
                  -> old leader leads    the relaunched old leader leads again,
                                         all agree

Serf (5 `serf agent`s, the default `lan` profile, joined through the first):
  kill -9 one agent -> failed            the first survivor, and every
                                         survivor, logs "serf: EventMemberFailed:
                                         <victim>": each agent's output is read
                                         through a pipe by a thread that stamps
                                         every line with the wall time it
                                         arrives (Serf's own log stamps have
                                         1 s resolution); the member list
                                         (`serf members -status=failed`) is
                                         checked afterwards, not timed

etcd (3 members, a static cluster, default --heartbeat-interval 100 ms and
--election-timeout 1000 ms, data in a temp dir; a fresh cluster per trial):
  kill -9 the leader -> new leader       the first survivor, and every survivor,
                                         logs "raft.node: <id> elected leader
                                         <new id> at term <n>", stamped on
                                         arrival as above; `etcdctl endpoint
                                         status` of the survivors is checked
                                         afterwards, not timed

Idle cost (each system on its own, after it has agreed, over --idle-window
seconds): CPU % of one core (utime + stime from /proc/<pid>/stat) and, at the
window's end, VmRSS and RssAnon (/proc/<pid>/status) of every vigil node (5,
the leader included; nodes that pulse once a second and write no status
file, as bench-scale's idle figure), every Serf agent (5), every etcd member
(3). The broker that vigil needs is shown on its own row: it serves every
vigil node (and whatever else uses it), so it is counted for no node.

The comparable pairs: vigil's follower kill -> restart issued vs Serf's
kill -> first agent marks it failed (one member's verdict each); vigil's
leader kill -> all agree vs etcd's leader kill -> every survivor reports the
new leader; idle CPU and memory per node vs each.

The broker is shared with other people's runs: the vigil part holds an
exclusive flock on /tmp/vigil-broker.lock (probes.broker_lock) all through its
trials and its idle window, waiting at most --lock-wait seconds for it.
Serf and etcd need no broker and no lock.

    bench_peers.py --node build/tests/integration/vigil_test_node [--trials 5]
                   [--idle-window 60] [--skip-vigil] [--skip-serf] [--skip-etcd]
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from probes import CLOCK_TICKS, agreed_in_logs, broker_lock, broker_pid, crash_trial, idle_sample, median_max
from cluster import highest, idle_cluster  # noqa: E402 (probes puts tests/integration on the path)

VIGIL_NAMES = [f"vigil-{index}" for index in range(5)]
VIGIL_RECONNECT_MAX_S = 5.0  # BROKER_RECONNECT_MAX's default: the grace every node gives the others after connecting
VIGIL_WAIT_S = 60.0          # bound of each wait in a vigil trial (the defaults heal in about 10-20 s)
SERF_AGENTS = 5
ETCD_MEMBERS = 3
PEER_WAIT_S = 60.0           # bound of each wait in a Serf or etcd trial
SETTLE_S = 2.0               # after agreement, before a kill or an idle window
POLL_S = 0.02
# Only our own processes see these variables: none of the caller's may change their defaults.
CLEAN_ENV = {key: value for key, value in os.environ.items() if not key.startswith(("ETCD", "SERF"))}


class HarnessError(RuntimeError):
    """A part could not run (or did not heal within its bound)."""


def wait_until(what, predicate, timeout_s, poll_s=POLL_S, diagnostics=lambda: ""):
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / poll_s) + 2):
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            break
        time.sleep(poll_s)
    raise HarnessError(f"timed out after {timeout_s:.0f} s waiting for: {what}{diagnostics()}")


def free_ports(count, udp_too=False):
    """count distinct free loopback ports (free for UDP as well if udp_too).
    The sockets are held until all are chosen, then closed."""
    held, ports = [], []
    try:
        for _ in range(count * 20):
            if len(ports) == count:
                break
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(tcp)
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            if udp_too:
                udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                held.append(udp)
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            ports.append(port)
    finally:
        for sock in held:
            sock.close()
    if len(ports) != count:
        raise HarnessError(f"could not find {count} free loopback ports")
    return ports


# --- processes we start ---------------------------------------------------------

class Proc:
    """A child in its own session whose stdout+stderr a thread reads line by
    line, stamping each with the wall time it arrived. Signalled only through
    its Popen (never once reaped, so never a reused pid)."""

    def __init__(self, name, argv, cwd=None):
        self.name = name
        self.lines = []  # (wall time, text)
        self._lock = threading.Lock()
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, cwd=cwd, env=CLEAN_ENV, start_new_session=True)
        self.pid = self.popen.pid
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in iter(self.popen.stdout.readline, b""):
            stamp = time.time()
            with self._lock:
                self.lines.append((stamp, raw.decode("utf-8", errors="replace").rstrip("\n")))

    def mark(self):
        with self._lock:
            return len(self.lines)

    def lines_since(self, mark):
        with self._lock:
            return self.lines[mark:]

    def first(self, pattern, since=0):
        """(wall time, match) of the first line from index since that matches."""
        for stamp, text in self.lines_since(since):
            match = pattern.search(text)
            if match:
                return stamp, match
        return None

    def running(self):
        return self.popen.poll() is None

    def kill9(self):
        """kill -9; returns the wall time just before the signal."""
        if not self.running():
            raise HarnessError(f"{self.name} is not running, cannot kill it{self.tail()}")
        stamp = time.time()
        self.popen.send_signal(signal.SIGKILL)
        return stamp

    def stop(self):
        if self.running():
            self.popen.send_signal(signal.SIGKILL)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(timeout=2)
        self.popen.stdout.close()

    def tail(self, count=8):
        with self._lock:
            lines = self.lines[-count:]
        return "".join(f"\n    [{self.name}] {text}" for _, text in lines)


class Group:
    """The processes of one peer cluster and its temp dir; close() kills
    every one of them and removes the dir."""

    def __init__(self, label):
        self.procs = []
        self.dir = tempfile.mkdtemp(prefix=f"vigil-peers-{label}-")

    def start(self, name, argv):
        proc = Proc(name, argv, cwd=self.dir)
        self.procs.append(proc)
        return proc

    def diagnostics(self):
        return "".join(proc.tail() + f"\n    [{proc.name}] running={proc.running()}" for proc in self.procs)

    def close(self):
        for proc in self.procs:
            proc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def run_json(argv, timeout_s=5.0):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False,
                              env={**CLEAN_ENV, "ETCDCTL_API": "3"}, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        return None
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        return None


# --- Serf ---------------------------------------------------------------------------

class SerfCluster(Group):
    def __init__(self, size=SERF_AGENTS):
        super().__init__("serf")
        try:
            ports = free_ports(2 * size, udp_too=True)  # gossip binds TCP and UDP; RPC only TCP
            self.binds, self.rpcs = ports[:size], ports[size:]
            for index in range(size):
                argv = ["serf", "agent", f"-node=serf-{index}", f"-bind=127.0.0.1:{self.binds[index]}",
                        f"-rpc-addr=127.0.0.1:{self.rpcs[index]}"]
                if index:
                    argv.append(f"-join=127.0.0.1:{self.binds[0]}")
                proc = self.start(f"serf-{index}", argv)
                if not index:  # the others join through it
                    wait_until("serf-0 running", lambda: proc.first(re.compile(r"Serf agent running")),
                               PEER_WAIT_S, diagnostics=self.diagnostics)
            wait_until(f"all {size} Serf agents list {size} alive members", self.all_alive, PEER_WAIT_S, 0.2,
                       self.diagnostics)
        except BaseException:
            self.close()
            raise

    def members(self, index, status=None):
        argv = ["serf", "members", f"-rpc-addr=127.0.0.1:{self.rpcs[index]}", "-format=json"]
        reply = run_json(argv + ([f"-status={status}"] if status else []))
        return None if reply is None else [member["name"] for member in reply.get("members") or []]

    def all_alive(self):
        return all(len(self.members(index, "alive") or []) == len(self.procs) for index in range(len(self.procs)))


def serf_trial(trial):
    with SerfCluster() as serf:
        time.sleep(SETTLE_S)
        victim_index = 1 + trial % (len(serf.procs) - 1)
        victim = serf.procs[victim_index]
        survivors = [proc for proc in serf.procs if proc is not victim]
        failed_line = re.compile(r"serf: EventMemberFailed: " + re.escape(victim.name) + r"\b")
        marks = {proc.name: proc.mark() for proc in survivors}
        killed_at = victim.kill9()
        stamps = wait_until(f"every Serf survivor marks {victim.name} failed", lambda: (lambda found: found if all(
            found) else None)([proc.first(failed_line, marks[proc.name]) for proc in survivors]),
            PEER_WAIT_S, diagnostics=serf.diagnostics)
        times = [stamp - killed_at for stamp, _ in stamps]
        survivor_index = 0 if victim_index else 1
        wait_until(f"serf members -status=failed lists {victim.name}",
                   lambda: victim.name in (serf.members(survivor_index, "failed") or []), 10, 0.2, serf.diagnostics)
        return {"serf_failed_first": min(times), "serf_failed_all": max(times)}


def peer_idle(cluster_class, window_s):
    """CPU and memory of each process of a fresh, settled peer cluster over the window."""
    with cluster_class() as peers:
        time.sleep(SETTLE_S)
        usage = idle_sample({proc.name: proc.pid for proc in peers.procs}, window_s)
        if len(usage) != len(peers.procs):
            raise HarnessError(f"a {cluster_class.__name__} process stopped during the idle window" +
                               peers.diagnostics())
        return list(usage.values())


# --- etcd ---------------------------------------------------------------------------

ELECTED = re.compile(r"elected leader ([0-9a-f]+) at term (\d+)")


class EtcdCluster(Group):
    def __init__(self, size=ETCD_MEMBERS):
        super().__init__("etcd")
        try:
            ports = free_ports(2 * size)
            self.clients = [f"127.0.0.1:{port}" for port in ports[:size]]
            peers = [f"http://127.0.0.1:{port}" for port in ports[size:]]
            initial = ",".join(f"etcd-{index}={peer}" for index, peer in enumerate(peers))
            token = f"vigil-peers-{secrets.token_hex(4)}"
            for index in range(size):
                self.start(f"etcd-{index}", [
                    "etcd", "--name", f"etcd-{index}", "--data-dir", os.path.join(self.dir, f"etcd-{index}"),
                    "--listen-peer-urls", peers[index], "--initial-advertise-peer-urls", peers[index],
                    "--listen-client-urls", f"http://{self.clients[index]}",
                    "--advertise-client-urls", f"http://{self.clients[index]}",
                    "--initial-cluster", initial, "--initial-cluster-state", "new",
                    "--initial-cluster-token", token, "--logger", "zap", "--log-outputs", "stderr"])
            self.ids = {}  # member id (hex, as the logs write it) -> Proc
            self.leader = wait_until(f"all {size} etcd members report one leader", self.agreed_leader,
                                     PEER_WAIT_S, 0.2, self.diagnostics)
        except BaseException:
            self.close()
            raise

    def status(self, index):
        """(own member id, leader id) in hex, or None."""
        reply = run_json(["etcdctl", f"--endpoints={self.clients[index]}", "--dial-timeout=1s",
                          "--command-timeout=2s", "endpoint", "status", "--write-out=json"])
        if not reply:
            return None
        status = reply[0]["Status"]
        return format(status["header"]["member_id"], "x"), format(status.get("leader", 0), "x")

    def agreed_leader(self, indexes=None):
        indexes = range(len(self.procs)) if indexes is None else indexes
        statuses = {index: self.status(index) for index in indexes}
        if any(status is None for status in statuses.values()):
            return None
        for index, (own, _) in statuses.items():
            self.ids[own] = self.procs[index]
        leaders = {leader for _, leader in statuses.values()}
        return leaders.pop() if len(leaders) == 1 and "0" not in leaders else None


def etcd_trial(_trial):
    with EtcdCluster() as etcd:
        time.sleep(SETTLE_S)
        old = etcd.leader
        victim = etcd.ids[old]
        survivors = [proc for proc in etcd.procs if proc is not victim]
        marks = {proc.name: proc.mark() for proc in survivors}

        def new_leader_line(proc):
            for stamp, text in proc.lines_since(marks[proc.name]):
                match = ELECTED.search(text)
                if match and match.group(1) != old:
                    return stamp, match.group(1)
            return None

        killed_at = victim.kill9()
        found = wait_until("every etcd survivor reports a new leader", lambda: (lambda seen: seen if all(
            seen) else None)([new_leader_line(proc) for proc in survivors]), PEER_WAIT_S, diagnostics=etcd.diagnostics)
        if len({leader for _, leader in found}) != 1:
            raise HarnessError(f"etcd survivors name different leaders: {found}" + etcd.diagnostics())
        new = found[0][1]
        indexes = [etcd.procs.index(proc) for proc in survivors]
        wait_until(f"etcdctl endpoint status of the survivors names {new}",
                   lambda: etcd.agreed_leader(indexes) == new, 10, 0.2, etcd.diagnostics)
        times = [stamp - killed_at for stamp, _ in found]
        return {"etcd_leader_first": min(times), "etcd_leader_all": max(times)}


# --- vigil --------------------------------------------------------------------------

def vigil_trial(binary, trial):
    result = crash_trial(binary, VIGIL_NAMES, trial, "vigil-peers", timeouts={}, grace_s=VIGIL_RECONNECT_MAX_S,
                         wait_s=VIGIL_WAIT_S, converge_s=VIGIL_WAIT_S, keep_failed=False)
    return {"vigil_restart_issued": result["kill-to-DEAD"], "vigil_rejoined": result["kill-to-rejoined"],
            "vigil_leader_agreed": result["leader-kill-to-agreed"],
            "vigil_leader_restored": result["leader-kill-to-restored"]}


def vigil_idle(binary, window_s):
    """5 idle nodes as bench-scale's idle figure runs them (default timeouts,
    main loop pulsing once a second, no status file), the leader included;
    and the broker over the same window."""
    leader = highest(VIGIL_NAMES)
    cluster = idle_cluster(binary, VIGIL_NAMES, "vigil-peers-idle", status_file=False)
    try:
        cluster.start()
        cluster.wait_for(f"{len(VIGIL_NAMES)} idle nodes agree (logs)", lambda: agreed_in_logs(cluster, leader),
                         VIGIL_WAIT_S, poll_s=0.2)
        time.sleep(3 * 2.0)  # three default heartbeat intervals: past the new leader's first judgements
        pids = {name: (cluster.pid_record(name) or {}).get("pid") for name in VIGIL_NAMES}
        bpid = broker_pid()
        usage = idle_sample({**pids, **({"broker": bpid} if bpid else {})}, window_s)
        nodes = [value for name, value in usage.items() if name != "broker"]
        if len(nodes) != len(VIGIL_NAMES) or cluster.relaunches():
            raise HarnessError("a vigil node stopped or was restarted during the idle window" + cluster.diagnostics())
        return nodes, usage.get("broker")
    finally:
        cluster.close()
        cluster.remove_files()


# --- running and printing ---------------------------------------------------------------

def run_part(name, trials, trial_fn, idle_fn, samples, say):
    for trial in range(trials):
        result = trial_fn(trial)
        say(f"{name} trial {trial + 1}: " + "  ".join(f"{key} {value:.3f} s" for key, value in result.items()))
        for key, value in result.items():
            samples.setdefault(key, []).append(value)
    say(f"{name}: idle window ...")
    idle = idle_fn()
    nodes, extra = idle if isinstance(idle, tuple) else (idle, None)
    samples[f"{name}_cpu"] = [usage["cpu"] for usage in nodes]
    samples[f"{name}_rss"] = [usage["rss_kib"] / 1024 for usage in nodes]
    samples[f"{name}_anon"] = [usage["anon_kib"] / 1024 for usage in nodes]
    if extra:
        samples[f"{name}_broker_cpu"] = [extra["cpu"]]
        samples[f"{name}_broker_rss"] = [extra["rss_kib"] / 1024]
    say(f"{name}: idle CPU % per node {[round(value, 3) for value in samples[f'{name}_cpu']]}, "
        f"RSS MiB {[round(value, 1) for value in samples[f'{name}_rss']]}"
        + (f"; broker CPU {extra['cpu']:.2f} %, RSS {extra['rss_kib'] / 1024:.0f} MiB" if extra else ""))


def cell(values, unit, digits):
    if not values:
        return "—"
    median, most = median_max(values)
    if unit == " s" and most < 0.1:  # milliseconds would round to 0.00 s
        return f"{median * 1000:.0f} ms ({most * 1000:.0f})"
    return f"{median:.{digits}f}{unit} ({most:.{digits}f})"


def ratio(vigil, peer):
    if not vigil or not peer:
        return "—"
    peer_median = median_max(peer)[0]
    return f"{median_max(vigil)[0] / peer_median:.2g}" if peer_median else "∞"


def package_version(name):
    done = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "?"


def print_table(samples, args, seconds):
    s = samples.get
    print(f"\nbench-peers on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {args.trials} trials, "
          f"idle window {args.idle_window:.0f} s, {seconds:.0f} s in all; Debian serf {package_version('serf')}, "
          f"etcd-server {package_version('etcd-server')}; every system with its default timings "
          "(vigil 2 s / 6 s / 3 s, Serf lan, etcd 100 ms / 1000 ms)\n")
    print("| metric | vigil median (max) | peer median (max) | vigil / peer |")
    print("| --- | --- | --- | --- |")
    rows = [
        ("kill -9 a member → verdict: vigil's leader issues the restart (DEAD line) / Serf's first agent marks it failed",
         "vigil_restart_issued", "serf_failed_first", " s", 2),
        ("kill -9 the leader → vigil: all survivors agree on the new leader / etcd: every survivor reports it",
         "vigil_leader_agreed", "etcd_leader_all", " s", 2),
        ("idle CPU % of one core per node / per Serf agent", "vigil_cpu", "serf_cpu", " %", 3),
        ("idle CPU % of one core per node / per etcd member", "vigil_cpu", "etcd_cpu", " %", 3),
        ("RSS MiB per node / per Serf agent", "vigil_rss", "serf_rss", "", 1),
        ("RSS MiB per node / per etcd member", "vigil_rss", "etcd_rss", "", 1),
        ("anonymous RSS MiB per node / per Serf agent", "vigil_anon", "serf_anon", "", 1),
        ("anonymous RSS MiB per node / per etcd member", "vigil_anon", "etcd_anon", "", 1),
        ("vigil: kill -9 a follower → its relaunched process follows the leader", "vigil_rejoined", None, " s", 2),
        ("vigil: kill -9 the leader → the relaunched old leader leads again, all agree",
         "vigil_leader_restored", None, " s", 2),
        ("vigil: the broker over the idle window, CPU % (it serves every node; counted for none)",
         "vigil_broker_cpu", None, " %", 2),
        ("vigil: the broker's RSS MiB", "vigil_broker_rss", None, "", 0),
        ("Serf: kill -9 an agent → every survivor marks it failed", None, "serf_failed_all", " s", 2),
        ("etcd: kill -9 the leader → the first survivor reports the new leader", None, "etcd_leader_first", " s", 2),
    ]
    for label, vigil_key, peer_key, unit, digits in rows:
        vigil = s(vigil_key) if vigil_key else None
        peer = s(peer_key) if peer_key else None
        print(f"| {label} | {cell(vigil, unit, digits)} | {cell(peer, unit, digits)} | {ratio(vigil, peer)} |")
    print(f"\nCPU is counted in clock ticks: one tick over the {args.idle_window:.0f} s window is "
          f"{100 / CLOCK_TICKS / args.idle_window:.3f} %. vigil's DEAD lines and leader agreement come from its "
          "nodes' own log stamps (ms), its rejoin time from status files rewritten every 100 ms (up to ~0.3 s of "
          "observation lag); Serf's and etcd's moments are their log lines, stamped on arrival.")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--node", help="path to vigil_test_node (needed unless --skip-vigil)")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--idle-window", type=float, default=60.0, help="seconds of each idle measurement")
    parser.add_argument("--lock-wait", type=float, default=1200.0,
                        help="seconds to wait at most for the broker lock (/tmp/vigil-broker.lock)")
    parser.add_argument("--skip-vigil", action="store_true")
    parser.add_argument("--skip-serf", action="store_true")
    parser.add_argument("--skip-etcd", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.trials <= 100:
        parser.error("--trials must be 1..100")
    if not 5 <= args.idle_window <= 600:
        parser.error("--idle-window must be 5..600 seconds")
    if not args.skip_vigil and not (args.node and os.access(args.node, os.X_OK)):
        parser.error("--node must name an executable vigil_test_node (or --skip-vigil)")
    missing = [tool for tool, skip in (("serf", args.skip_serf), ("etcd", args.skip_etcd), ("etcdctl", args.skip_etcd))
               if not skip and not shutil.which(tool)]
    if missing:
        sys.exit(f"bench-peers: {', '.join(missing)} not installed (scripts/ensure-deps.sh serf etcd-server etcd-client)")

    # A SIGTERM (or a lost terminal) unwinds like Ctrl-C, so every cleanup runs.
    def stop(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)

    def say(text):
        print(f"bench-peers: {text}", flush=True)

    started = time.monotonic()
    samples, failed = {}, []
    parts = []
    if not args.skip_serf:
        parts.append(("serf", serf_trial, lambda: peer_idle(SerfCluster, args.idle_window), None))
    if not args.skip_etcd:
        parts.append(("etcd", etcd_trial, lambda: peer_idle(EtcdCluster, args.idle_window), None))
    if not args.skip_vigil:
        binary = os.path.abspath(args.node)
        parts.append(("vigil", lambda trial: vigil_trial(binary, trial), lambda: vigil_idle(binary, args.idle_window),
                      lambda: broker_lock(args.lock_wait, say=say)))
    for name, trial_fn, idle_fn, lock in parts:
        say(f"{name}: {args.trials} trials, then {args.idle_window:.0f} s idle ...")
        try:
            if lock:
                with lock():
                    say(f"{name}: holding the broker lock")
                    run_part(name, args.trials, trial_fn, idle_fn, samples, say)
            else:
                run_part(name, args.trials, trial_fn, idle_fn, samples, say)
        except (HarnessError, AssertionError, TimeoutError, OSError) as error:
            # ClusterError is an AssertionError; every process and temp dir is gone by now.
            failed.append(name)
            print(f"bench-peers: the {name} part could not run: {error}", file=sys.stderr, flush=True)
    print_table(samples, args, time.monotonic() - started)
    if failed:
        print(f"\nbench-peers: FAILED to run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
