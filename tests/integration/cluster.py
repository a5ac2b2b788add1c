"""A cluster of real vigil_test_node processes against the real local broker,
for the integration tests and the latency probe. Standard library only.

Every cluster gets its own temp state directory and its own CONTROL_EXCHANGE,
so runs never hear each other. Nodes restart through the `command` back-end
(relaunch.py), which really kills and relaunches processes. The harness makes
itself a child subreaper, so relaunched nodes become its children when their
relauncher exits: it can reap them and read their exit codes.

Every wait polls a condition against a deadline; close() kills every process
ever launched, by recorded pid."""

import ctypes
import datetime
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time

import nodeproc
from relay import Relay

HERE = os.path.dirname(os.path.abspath(__file__))
RELAUNCHER = os.path.join(HERE, "relaunch.py")
BROKER_HOST = "127.0.0.1"
BROKER_PORT = int(os.environ.get("VIGIL_IT_BROKER_PORT", "5672"))

# Small but not tight: the suite shares two cores with compilers.
TIMEOUTS = {
    "HEARTBEAT_INTERVAL": "200ms",
    "HEARTBEAT_TIMEOUT": "1s",
    "ELECTION_TIMEOUT": "500ms",
    "PULSE_TIMEOUT": "2s",
    "RESTART_BOOT_GRACE": "3s",
    "RESTART_BACKOFF_INITIAL": "1s",
    "RESTART_TIMEOUT": "10s",
    "BROKER_CONNECT_TIMEOUT": "2s",
    # Also the grace every node gives the others after it (re)connects.
    "BROKER_RECONNECT_MAX": "2s",
}
HEARTBEAT_TIMEOUT_S = 1.0
ELECTION_TIMEOUT_S = 0.5
RECONNECT_GRACE_S = 2.0
PULSE_TIMEOUT_S = 2.0
STATUS_FRESH_S = 1.5  # a status file older than this belongs to a stopped/hung writer
POLL_S = 0.02

DEAD_LINE = re.compile(r"^\[([0-9-]+ [0-9:.]+)\] .*Node (\S+) is DEAD\. Restarting\.\.\.$", re.M)
PR_SET_CHILD_SUBREAPER = 36


class ClusterError(AssertionError):
    """A condition was not met in time; the message carries the diagnostics."""


def become_subreaper():
    """Orphaned descendants (relaunched nodes) get reparented to us."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def broker_reachable(timeout_s=2.0):
    try:
        with socket.create_connection((BROKER_HOST, BROKER_PORT), timeout=timeout_s):
            return True
    except OSError:
        return False


def log_time(stamp):
    """spdlog's default '[%Y-%m-%d %H:%M:%S.%e]' (local time) -> epoch seconds."""
    return datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()


def highest(names):
    # Bully: byte-wise order; for ASCII that is Python's str order.
    return max(names, key=lambda name: name.encode())


def idle_cluster(binary, names, label, status_file=True):
    """Many idle nodes with the library's default timeouts, as the scale test
    and bench run them: the main loop wakes once a second, to pulse and (unless
    status_file is False) rewrite its status file, which then counts as fresh
    for 3.5 s. Log tails are shortened in the diagnostics."""
    env = {"LOOP_STEP_MS": "1000", "STATUS_EVERY_MS": "1000", **({} if status_file else {"STATUS_FILE": ""})}
    return Cluster(binary, names, extra_env=env, label=label, timeouts={}, status_fresh_s=3.5, brief=set(names))


class Cluster:
    """node_env: {name: {VAR: value}} on top of everything else for that node.
    relays=True: every node reaches the broker through its own Relay
    (self.relays[name]), which the cluster owns and close() closes.
    expected_members=False: EXPECTED_MEMBERS is left unset, so the nodes know
    each other only from what they hear (and what heartbeats gossip).
    brief: names whose log tails the diagnostics shorten (many extras).
    timeouts: the timing variables every node gets ({} = the library's defaults).
    status_fresh_s: how old a status file may be and still count (nodes that
    write it rarely, STATUS_EVERY_MS, need more)."""

    def __init__(self, binary, names, extra_env=None, label="vigil-it", node_env=None, relays=False,
                 expected_members=True, brief=(), timeouts=None, status_fresh_s=STATUS_FRESH_S):
        assert len(set(names)) == len(names) and names, "unique names"
        assert not set(node_env or {}) - set(names), "node_env for unknown names"
        if not os.access(binary, os.X_OK):
            raise ClusterError(f"test node binary not executable: {binary}")
        self.binary = os.path.abspath(binary)
        self.names = list(names)
        self.brief = set(brief)
        self.status_fresh_s = status_fresh_s
        self.dir = tempfile.mkdtemp(prefix=f"{label}-")
        # RESTART_COMMAND is split on whitespace: no path in it may hold any.
        for path in (sys.executable, RELAUNCHER, self.dir):
            if re.search(r"\s", path):
                raise ClusterError(f"path with whitespace cannot go into RESTART_COMMAND: {path!r}")
        self.exchange = f"vigil_it_{os.getpid()}_{secrets.token_hex(4)}"
        self.exits = {}  # pid -> (exit status as from os.waitstatus_to_exitcode, monotonic time)
        self.subreaper = become_subreaper()
        self._closed = False
        self.relays = {}  # made after the checks that refuse a cluster, so a refusal leaks none
        if relays:
            try:
                for name in self.names:
                    self.relays[name] = Relay((BROKER_HOST, BROKER_PORT))
            except OSError:
                self._close_relays()
                raise
            node_env = {name: {**(node_env or {}).get(name, {}), "RABBITMQ_PORT": str(relay.port)}
                        for name, relay in self.relays.items()}
        os.makedirs(os.path.join(self.dir, "pids"))
        os.makedirs(os.path.join(self.dir, "nodes"))
        empty_ini = os.path.join(self.dir, "empty.ini")
        open(empty_ini, "w", encoding="ascii").close()
        nodes = {}
        for index, name in enumerate(self.names):
            node_dir = os.path.join(self.dir, "nodes", str(index))  # names may hold '/'
            os.makedirs(node_dir)
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PYTHONDONTWRITEBYTECODE": "1",
                "VIGIL_CONFIG": empty_ini,  # never the repository's config/config.ini
                "CONTAINER_NAME": name,
                "CONTROL_EXCHANGE": self.exchange,
                "RABBITMQ_HOST": BROKER_HOST,
                "RABBITMQ_PORT": str(BROKER_PORT),
                "RABBITMQ_USER": "guest",
                "RABBITMQ_PASSWORD": "guest",
                "RESTART_BACKEND": "command",
                "RESTART_COMMAND": f"{sys.executable} {RELAUNCHER} {self.dir} {{name}}",
                "STATUS_FILE": os.path.join(node_dir, "status.json"),
                "HARNESS_PID": str(os.getpid()),  # nodes stop if we die uncleanly
                **({"EXPECTED_MEMBERS": ",".join(self.names)} if expected_members else {}),
                **(TIMEOUTS if timeouts is None else timeouts),
                **(extra_env or {}),
                **(node_env or {}).get(name, {}),
            }
            nodes[name] = {"index": index, "env": env, "log": os.path.join(node_dir, "node.log"),
                           "status": env["STATUS_FILE"]}
        self.nodes = nodes
        nodeproc.write_json_atomic(os.path.join(self.dir, "cluster.json"),
                                   {"binary": self.binary, "nodes": nodes})

    # --- lifecycle ----------------------------------------------------------

    def start(self, names=None):
        with nodeproc.LaunchLock(self.dir):
            for name in names or self.names:
                nodeproc.start_node(self.dir, name, started_by="harness")

    def start_and_converge(self, timeout_s=30.0):
        if not broker_reachable():
            raise ClusterError(f"no RabbitMQ broker on {BROKER_HOST}:{BROKER_PORT} (make broker)")
        self.start()
        leader = highest(self.names)
        self.wait_for(f"all {len(self.names)} nodes agree on leader {leader!r} and it hears everyone",
                      lambda: self.agreed_leader() == leader and self.leader_hears_all(leader), timeout_s)
        return leader

    def close(self):
        """Kills every process ever launched (by recorded pid + start time),
        after forbidding new launches under the lock. Keeps the files."""
        if self._closed:
            return
        self._closed = True
        with nodeproc.LaunchLock(self.dir):
            open(os.path.join(self.dir, "closed"), "w", encoding="ascii").close()
        launched = nodeproc.read_jsonl(os.path.join(self.dir, "launches.jsonl"))
        for record in launched:
            nodeproc.signal_if_running(record["pid"], record["ticks"], signal.SIGKILL)
        for record in launched:
            nodeproc.wait_gone(record["pid"], record["ticks"], 5.0)
        self.reap()
        self._close_relays()  # after the nodes: none of them sees its broker go first

    def _close_relays(self):
        for relay in self.relays.values():
            relay.close()

    def remove_files(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def reap(self):
        """Collects exit codes of our children (nodes, and orphans handed to us)."""
        for _ in range(1000):
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.exits[pid] = (os.waitstatus_to_exitcode(status), time.monotonic())

    # --- observing ------------------------------------------------------------

    def pid_record(self, name):
        return nodeproc.read_json(nodeproc.pid_record_path(self.dir, self.nodes[name]["index"]))

    def running(self, name):
        record = self.pid_record(name)
        return bool(record) and nodeproc.is_running(record["pid"], record["ticks"])

    def status(self, name):
        """The node's status if it comes from its current, running process and is fresh."""
        record = self.pid_record(name)
        status = nodeproc.read_json(self.nodes[name]["status"])
        if not record or not status or status.get("pid") != record["pid"]:
            return None
        if not nodeproc.is_running(record["pid"], record["ticks"]):
            return None
        if time.time() - status.get("written_ms", 0) / 1000.0 > self.status_fresh_s:
            return None
        return status

    def follows(self, name, leader):
        status = self.status(name)
        return bool(status) and status["connected"] and status["leader"] == leader

    def agreed_leader(self, names=None):
        """The leader every given node follows, if they all agree and the
        leader itself (when running) says it leads and no other node does."""
        names = list(names or self.names)
        statuses = [self.status(name) for name in names]
        if any(s is None or not s["connected"] or not s["leader"] for s in statuses):
            return None
        leaders = {s["leader"] for s in statuses}
        if len(leaders) != 1:
            return None
        leader = leaders.pop()
        claimants = [s["name"] for s in statuses if s["role"] == "leader"]
        if claimants != ([leader] if leader in names else []):
            return None
        return leader

    def leader_hears_all(self, leader):
        status = self.status(leader)
        if not status:
            return False
        heard = {m["name"] for m in status["members"] if m["liveness"] == "alive" and m["ever_heard"]}
        return heard >= set(self.names) - {leader}

    def log_size(self, name):
        try:
            return os.path.getsize(self.nodes[name]["log"])
        except FileNotFoundError:
            return 0

    def log_offsets(self):
        return {name: self.log_size(name) for name in self.names}

    def log_text(self, name, since=0):
        try:
            with open(self.nodes[name]["log"], "rb") as log:
                log.seek(since)
                return log.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def dead_lines(self, offsets=None):
        """[(logger, dead name, epoch seconds)] for every DEAD line since offsets."""
        found = []
        for name in self.names:
            text = self.log_text(name, (offsets or {}).get(name, 0))
            for match in DEAD_LINE.finditer(text):
                found.append((name, match.group(2), log_time(match.group(1))))
        return found

    def relaunches(self):
        return nodeproc.read_jsonl(os.path.join(self.dir, "relaunch.jsonl"))

    def launches(self):
        return nodeproc.read_jsonl(os.path.join(self.dir, "launches.jsonl"))

    def stops(self):
        """How relaunch.py stopped old processes (RELAUNCH_STOP_SIGNAL)."""
        return nodeproc.read_jsonl(os.path.join(self.dir, "stops.jsonl"))

    # --- acting -----------------------------------------------------------------

    def signal(self, name, signum):
        """Signals the node's current process; returns (pid record, wall time, monotonic time)."""
        record = self.pid_record(name)
        if not record or not nodeproc.signal_if_running(record["pid"], record["ticks"], signum):
            raise ClusterError(f"{name!r} is not running, cannot send signal {signum}" + self.diagnostics())
        return record, time.time(), time.monotonic()

    def wait_for(self, what, predicate, timeout_s, poll_s=POLL_S):
        """Polls predicate until it returns something truthy; returns it. On
        timeout raises ClusterError with the diagnostics."""
        deadline = time.monotonic() + timeout_s
        for _ in range(int(timeout_s / poll_s) + 2):
            self.reap()
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                break
            time.sleep(poll_s)
        raise ClusterError(f"timed out after {timeout_s:.1f} s waiting for: {what}" + self.diagnostics())

    def hold(self, what, predicate, duration_s, poll_s=0.05):
        """Checks that predicate stays truthy for duration_s (a bounded watch,
        not a sleep: it fails as soon as the condition breaks)."""
        deadline = time.monotonic() + duration_s
        for _ in range(int(duration_s / poll_s) + 2):
            self.reap()
            if not predicate():
                raise ClusterError(f"stopped holding: {what}" + self.diagnostics())
            if time.monotonic() >= deadline:
                return
            time.sleep(poll_s)

    def wait_exit(self, pid, timeout_s):
        """Waits until our child pid has been reaped: (exit code, monotonic time)."""
        return self.wait_for(f"pid {pid} to exit", lambda: self.exits.get(pid), timeout_s)

    # --- reporting ----------------------------------------------------------------

    def diagnostics(self, tail_lines=25):
        parts = [f"\n--- cluster {self.dir} exchange {self.exchange} ---"]
        for name in self.names:
            record = self.pid_record(name)
            status = nodeproc.read_json(self.nodes[name]["status"])
            brief = {k: status.get(k) for k in ("pid", "connected", "role", "leader", "term",
                                                "restarts_issued", "hung", "stopped")} if status else None
            running = bool(record) and nodeproc.is_running(record["pid"], record["ticks"])
            parts.append(f"[{name}] pid={record and record['pid']} running={running} status={brief}")
            lines = self.log_text(name).splitlines()[-(3 if name in self.brief else tail_lines):]
            parts.extend("    " + line for line in lines)
        parts.append(f"relaunch calls: {self.relaunches()}")
        if self.relays:
            parts.append(f"relays: { {name: relay.stats() for name, relay in self.relays.items()} }")
        parts.append(f"exits: {self.exits}")
        return "\n".join(parts)
