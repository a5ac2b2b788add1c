"""One vigil test deployment under Docker Compose, and read-only views of it.

Everything here acts only on the containers of its own compose project (PROJECT):
the compose file names them, `docker kill`/`stop` are refused for any other name,
and `up` refuses to start when a container with one of our fixed names belongs to
someone else. Every docker call has a timeout, so no step can hang the test.
"""
import calendar
import json
import os
import re
import shutil
import subprocess
import sys
import time

# A project of its own, so that `down -v` can never remove a user's `vigil` deployment
# (its volume is `vigil_server_state`, ours `vigil-e2e_server_state`).
PROJECT = "vigil-e2e"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE_CONFIG = os.path.join(REPO_ROOT, "tests", "e2e", "config", "e2e.ini")
GENERATOR = os.path.join(REPO_ROOT, "scripts", "generar-compose.py")


class DockerError(Exception):
    """A docker command failed or timed out."""


def run(argv, timeout=60, check=True):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              errors="replace", stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        raise DockerError(f"`{' '.join(argv)}` timed out after {timeout} s") from error
    if check and done.returncode != 0:
        raise DockerError(f"`{' '.join(argv)}` exited {done.returncode}: {done.stderr.strip()[-600:]}")
    return done


def compose_command():
    # `docker compose` (v2) when it answers, else docker-compose (v1), as docker.mk does.
    if run(["docker", "compose", "version"], timeout=20, check=False).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"]


_TIME_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def parse_docker_time(text):
    """RFC 3339 with nanoseconds (docker's form) -> seconds since the epoch; None for
    docker's zero time or anything unreadable."""
    match = _TIME_RE.match(text.strip())
    if not match or match.group(1) == "0001":
        return None
    fields = [int(part) for part in match.groups()[:6]]
    seconds = calendar.timegm(tuple(fields) + (0, 0, 0))
    fraction = float("0." + match.group(7)) if match.group(7) else 0.0
    zone = match.group(8)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds + fraction


def parse_ini_text(text):
    """`KEY: value` / `key = value`, # comments: enough to read back what we wrote."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[":
            continue
        match = re.match(r"([^:=]+)[:=](.*)$", line)
        if match:
            values[match.group(1).strip().upper()] = match.group(2).split(" #")[0].strip()
    return values


def render_config(base_text, overrides):
    """The base INI with some keys replaced (in place, so the comments stay next to
    them) or appended."""
    lines = base_text.splitlines()
    for key, value in overrides.items():
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*[:=]", re.IGNORECASE)
        hits = [i for i, line in enumerate(lines) if pattern.match(line)]
        if hits:
            for i in hits:
                lines[i] = f"{key}: {value}"
        else:
            lines.append(f"{key}: {value}  # set by the e2e test")
    return "\n".join(lines) + "\n"


class Deployment:
    """server, worker_1..N, chaos_monkey and rabbitmq, from the e2e INI plus overrides."""

    def __init__(self, label, work_root, overrides):
        self.label = label
        self.dir = os.path.join(work_root, label)
        self.config_dir = os.path.join(self.dir, "config")  # mounted whole: a folder of its own
        self.config_path = os.path.join(self.config_dir, "e2e.ini")
        self.compose_file = os.path.join(self.dir, "docker-compose.yaml")
        self.events_path = os.path.join(self.dir, "events.jsonl")
        with open(BASE_CONFIG, encoding="utf-8") as handle:
            self.config_text = render_config(handle.read(), overrides)
        self.settings = parse_ini_text(self.config_text)
        workers = int(self.settings.get("WORKERS", "3"))
        self.workers = [f"worker_{i}" for i in range(1, workers + 1)]
        self.members = ["server", *self.workers, "chaos_monkey"]  # the vigil nodes
        self.containers = ["rabbitmq", *self.members]
        self.compose = compose_command() + ["-p", PROJECT, "-f", self.compose_file]
        self._events_process = None
        self._events_file = None
        self.created = False  # set once `up` may have made containers of ours

    # -- settings --------------------------------------------------------------------
    def seconds(self, key, default):
        """A duration setting in seconds ("4", "4s", "500ms")."""
        text = self.settings.get(key, str(default)).strip().lower()
        if text.endswith("ms"):
            return float(text[:-2]) / 1000.0
        return float(text.rstrip("s"))

    # -- life cycle ------------------------------------------------------------------
    def write_files(self):
        shutil.rmtree(self.dir, ignore_errors=True)  # our own folder, from an earlier run
        os.makedirs(self.config_dir)
        with open(self.config_path, "w", encoding="utf-8") as handle:
            handle.write(self.config_text)
        run([sys.executable, GENERATOR, "--config", self.config_path, "--output", self.compose_file,
             "--project", PROJECT], timeout=30)

    def check_names_are_free(self):
        """Container names are fixed: one deployment per host. Ours from an aborted run
        are removed by `down`; anyone else's are never touched."""
        for name in self.containers:
            found = run(["docker", "inspect", "--type", "container", "--format",
                         '{{index .Config.Labels "com.docker.compose.project"}}', name],
                        timeout=20, check=False)
            if found.returncode == 0 and found.stdout.strip() != PROJECT:
                owner = found.stdout.strip() or "no compose project"
                raise DockerError(f"a container named {name} already exists ({owner}); the e2e test "
                                  f"needs the name and will not touch it: remove that deployment first "
                                  f"(e.g. make docker-compose-down)")

    def up(self):
        self.write_files()
        self.check_names_are_free()
        run(self.compose + ["down", "-v", "--remove-orphans", "-t", "5"], timeout=120)
        self._start_event_recorder()
        self.created = True
        # Blocks until RabbitMQ is healthy and the others are created (depends_on).
        run(self.compose + ["up", "-d"], timeout=300)

    def down(self):
        self.save_logs()
        try:
            run(self.compose + ["down", "-v", "--remove-orphans", "-t", "5"], timeout=180)
        finally:
            self._stop_event_recorder()

    # -- events ----------------------------------------------------------------------
    def _start_event_recorder(self):
        # A stream from before `up`, to a file: the daemon's own event buffer is small
        # and shared with every other user of this Docker host.
        self._events_file = open(self.events_path, "w", encoding="utf-8")
        self._events_process = subprocess.Popen(
            ["docker", "events", "--since", f"{time.time() - 1:.3f}",
             "--filter", f"label=com.docker.compose.project={PROJECT}", "--filter", "type=container",
             # Not the healthcheck's exec_* events: one every 3 s, and of no use here.
             *[arg for action in ("start", "die", "kill", "stop", "restart", "pause") for arg in ("--filter", f"event={action}")],
             "--format", "{{json .}}"],
            stdout=self._events_file, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)

    def _stop_event_recorder(self):
        if self._events_process is not None:
            self._events_process.terminate()
            try:
                self._events_process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._events_process.kill()
                self._events_process.wait(timeout=5)
            self._events_process = None
        if self._events_file is not None:
            self._events_file.close()
            self._events_file = None

    def events(self, action=None, name=None, since=0.0):
        """Recorded container events as (time, action, name, attributes), oldest first."""
        found = []
        with open(self.events_path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line still being written
                attributes = event.get("Actor", {}).get("Attributes", {})
                when = event.get("timeNano", 0) / 1e9
                verb = event.get("Action") or event.get("status", "")
                who = attributes.get("name", "")
                if when >= since and (action is None or verb == action) and (name is None or who == name):
                    found.append((when, verb, who, attributes))
        return sorted(found, key=lambda item: item[0])

    def first_event(self, action, name, since):
        found = self.events(action, name, since)
        return found[0] if found else None

    # -- containers ------------------------------------------------------------------
    def _ours(self, name):
        if name not in self.containers:
            raise ValueError(f"{name} is not a container of this deployment")
        return name

    def state(self, name):
        """docker inspect's State of one of ours, or None if it does not exist."""
        found = run(["docker", "inspect", "--type", "container", "--format", "{{json .State}}",
                     self._ours(name)], timeout=20, check=False)
        return json.loads(found.stdout) if found.returncode == 0 else None

    def running(self, name):
        state = self.state(name)
        return bool(state and state.get("Running") and not state.get("Paused"))

    def started_at(self, name):
        state = self.state(name)
        return parse_docker_time(state["StartedAt"]) if state else None

    def kill(self, name, signal=None, *also):
        """docker kill of name (and of `also`, in the same command: at once)."""
        argv = ["docker", "kill"] + ([f"--signal={signal}"] if signal else []) + [self._ours(n) for n in (name, *also)]
        run(argv, timeout=30)

    def stop(self, name, grace_s=10):
        run(["docker", "stop", "-t", str(grace_s), self._ours(name)], timeout=grace_s + 30)

    def pause(self, name):
        run(["docker", "pause", self._ours(name)], timeout=30)

    def start(self, name):
        run(["docker", "start", self._ours(name)], timeout=60)

    # -- the network -----------------------------------------------------------------
    @property
    def network(self):
        # The generator declares no networks, so compose puts every service on the
        # project's default one (and only there).
        return f"{PROJECT}_default"

    def networks_of(self, name):
        """The networks the container is attached to (docker inspect): name -> endpoint."""
        found = run(["docker", "inspect", "--type", "container", "--format",
                     "{{json .NetworkSettings.Networks}}", self._ours(name)], timeout=20)
        return json.loads(found.stdout) or {}

    def attached(self, name):
        return self.network in self.networks_of(name)

    def disconnect(self, name):
        run(["docker", "network", "disconnect", self.network, self._ours(name)], timeout=30)

    def connect(self, name, aliases=()):
        """docker network connect; False when it was attached already (not an error)."""
        done = run(["docker", "network", "connect", *[arg for alias in aliases for arg in ("--alias", alias)],
                    self.network, self._ours(name)], timeout=30, check=False)
        if done.returncode == 0:
            return True
        # "endpoint with name X already exists in network N" (20.10), "is already connected" (newer)
        if re.search(r"already (exists|connected)", done.stderr) and self.attached(name):
            return False
        raise DockerError(f"`docker network connect {self.network} {name}` exited {done.returncode}: "
                          f"{done.stderr.strip()[-600:]}")

    def read_file(self, name, path):
        return run(["docker", "exec", self._ours(name), "cat", path], timeout=20).stdout

    def logs(self, name, since=None):
        """The container's log over all its runs (docker keeps it across restarts) as
        (daemon time, text) pairs, oldest first."""
        argv = ["docker", "logs", "-t"] + (["--since", f"{since:.6f}"] if since else []) + [self._ours(name)]
        try:
            done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  errors="replace", timeout=30, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as error:
            raise DockerError(f"`{' '.join(argv)}` timed out") from error
        if done.returncode != 0:
            return []  # not created yet, or already removed
        lines = []
        for raw in done.stdout.splitlines():
            stamp, _, text = raw.partition(" ")
            when = parse_docker_time(stamp)
            if when is not None:
                lines.append((when, text))
        return sorted(lines, key=lambda item: item[0])  # stdout and stderr interleave

    def save_logs(self):
        if not self.created:
            return  # the names may be someone else's containers
        folder = os.path.join(self.dir, "logs")
        os.makedirs(folder, exist_ok=True)
        for name in self.containers:
            try:
                lines = self.logs(name)
            except DockerError:
                continue
            with open(os.path.join(folder, f"{name}.log"), "w", encoding="utf-8") as handle:
                handle.writelines(f"{when:.3f} {text}\n" for when, text in lines)

    def dump_tails(self, count=30):
        if not self.created:
            return
        for name in self.containers:
            try:
                state = self.state(name)
                lines = self.logs(name)
            except DockerError as error:
                print(f"----- {name}: {error}")
                continue
            status = "missing" if state is None else f"{state.get('Status')} exit={state.get('ExitCode')}"
            # The periodic progress lines would crowd everything else out: keep the last one.
            progress = [i for i, (_, text) in enumerate(lines) if "progress: " in text]
            shown = [line for i, line in enumerate(lines) if i not in progress[:-1]][-count:]
            print(f"----- {name} ({status}), last {len(shown)} of {len(lines)} lines "
                  f"(older progress lines left out)")
            for when, text in shown:
                print(f"  {time.strftime('%H:%M:%S', time.gmtime(when))}.{int(when % 1 * 1000):03d} {text}")
        sys.stdout.flush()


def daemon_clock_offset():
    """Docker's clock minus ours (seconds). Log lines and events carry the daemon's
    time; the test converts its own instants with this so that all figures use one clock."""
    before = time.time()
    text = run(["docker", "info", "--format", "{{json .SystemTime}}"], timeout=30).stdout
    after = time.time()
    daemon = parse_docker_time(json.loads(text))
    return 0.0 if daemon is None else daemon - (before + after) / 2
