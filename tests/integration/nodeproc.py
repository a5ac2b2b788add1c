"""Process helpers shared by the harness (cluster.py) and the relauncher
(relaunch.py): start a node detached, name one process safely, signal by pid.

A pid alone can be reused after its process ends, so every process we start is
recorded as (pid, start time in clock ticks from /proc/<pid>/stat); we only
ever signal a pid whose start time still matches."""

import fcntl
import json
import os
import signal
import time

# posix_spawn resets these to their defaults in the child: Python ignores
# SIGPIPE, and ignored dispositions would otherwise survive exec.
_DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGQUIT)


def proc_identity(pid):
    """(start_ticks, state letter) of a live or zombie pid, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            data = stat.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and ')': split after the last ')'.
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[19]), fields[0]  # field 22 (starttime), field 3 (state)


def start_ticks(pid):
    identity = proc_identity(pid)
    return identity[0] if identity else None


def is_running(pid, ticks):
    """True while the process we started (same pid and start time) runs; a
    zombie (exited, not yet reaped) counts as gone."""
    identity = proc_identity(pid)
    return identity is not None and identity[0] == ticks and identity[1] not in ("Z", "X")


def signal_if_running(pid, ticks, signum):
    """Sends signum to our process only; False if it is already gone."""
    if not is_running(pid, ticks):
        return False
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pid, ticks, timeout_s):
    """Waits (bounded) until our process is no longer running."""
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / 0.01) + 2):
        if not is_running(pid, ticks):
            return True
        if time.monotonic() >= deadline:
            break
        time.sleep(0.01)
    return not is_running(pid, ticks)


def launch(binary, env, log_path):
    """Starts binary detached (own session, stdin /dev/null, stdout+stderr
    appended to log_path) and returns (pid, start_ticks). No shell anywhere."""
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        pid = os.posix_spawn(
            binary,
            [binary],
            env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, log_fd, 1),
                (os.POSIX_SPAWN_DUP2, log_fd, 2),
            ],
            setsid=True,
            setsigdef=_DEFAULT_SIGNALS,
        )
    finally:
        os.close(log_fd)
    # The child cannot have exited and been reaped yet (only our caller reaps),
    # so /proc/<pid> exists, if only as a zombie.
    return pid, start_ticks(pid)


# --- the state directory both sides share -----------------------------------
#   cluster.json     binary, and per node name: index, env, log, status paths
#   pids/<i>.json    the node's current (pid, ticks)
#   launches.jsonl   every process ever started: the harness kills them all
#   relaunch.jsonl   every relauncher call, with its argv exactly as received
#   lock, closed     launches happen under the lock; 'closed' forbids new ones


def append_jsonl(path, record):
    """One write() per line with O_APPEND: concurrent writers never interleave."""
    line = (json.dumps(record) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_jsonl(path):
    try:
        with open(path, encoding="utf-8") as lines:
            return [json.loads(line) for line in lines if line.endswith("\n")]
    except FileNotFoundError:
        return []


def write_json_atomic(path, value):
    temp = f"{path}.tmp.{os.getpid()}"
    with open(temp, "w", encoding="utf-8") as out:
        json.dump(value, out)
    os.rename(temp, path)


def read_json(path):
    try:
        with open(path, encoding="utf-8") as source:
            return json.load(source)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


class LaunchLock:
    """flock on <statedir>/lock: launches and the harness's shutdown exclude
    each other, so every launched process is recorded before shutdown reads
    the records, and none starts after it."""

    def __init__(self, state_dir):
        self._path = os.path.join(state_dir, "lock")
        self._fd = None

    def __enter__(self):
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        return False


def start_node(state_dir, name, started_by):
    """Launches node `name` from cluster.json and records it. Call under LaunchLock."""
    cluster = read_json(os.path.join(state_dir, "cluster.json"))
    node = cluster["nodes"][name]
    pid, ticks = launch(cluster["binary"], node["env"], node["log"])
    record = {"name": name, "index": node["index"], "pid": pid, "ticks": ticks,
              "t": time.time(), "by": started_by}
    write_json_atomic(pid_record_path(state_dir, node["index"]), record)
    append_jsonl(os.path.join(state_dir, "launches.jsonl"), record)
    return record


def pid_record_path(state_dir, index):
    return os.path.join(state_dir, "pids", f"{index}.json")
