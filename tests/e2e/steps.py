"""Building blocks of the e2e scenarios: the context (deployment, figures, clock), and
the waits that turn one fault into evidence: a death, the leader's DEAD line, the
restart, the node heard again, the pipeline's result."""
import re
import time

from cluster import first_line, heard_since, current_claim, lines_matching, require, wait_for
from workload import expected_result

BOUND_S = 60.0       # generous real-time bound for every detection and recovery
# Under chaos one fault can meet the next: the monkey may kill each new leader before it
# has restarted anyone (4 leaders in a row, ~40 s, seen), and back-off adds up to 16 s.
CHAOS_BOUND_S = 90.0
SETTLE_S = 120.0     # a cluster back to one agreed leader that hears everyone
PIPELINE_S = 420.0   # a whole pipeline run, faults included
DONE_RE = r"ALL TASKS DONE: (\d+) results, checksum ([0-9a-f]{16}), sum (\d+) \((.*)\)"
PROGRESS_RE = r"progress: (\d+)/(\d+) results"
CHAOS_KILL_RE = r"CHAOS \((\w+)\): killing container (\S+) \(role (\w+)\)"


class Context:
    """One deployment under test, the shared measurements and the clock."""

    def __init__(self, dep, metrics, clock_offset):
        self.dep = dep
        self.metrics = metrics
        self.clock_offset = clock_offset
        self.notes = []  # observations worth printing that are not failures

    def now(self):
        return time.time() + self.clock_offset  # the daemon's clock

    def measure(self, what, seconds, bound=BOUND_S):
        self.metrics.add(what, seconds)
        require(seconds <= bound, f"{what}: {seconds:.1f} s exceeds the {bound:.0f} s bound")
        return seconds


# -- building blocks ----------------------------------------------------------------------

def kill(ctx, name, signal=None):
    """docker kill, then the time the container died (from its die event)."""
    before = ctx.now() - 1.0  # the events' clock and ours agree to within milliseconds
    ctx.dep.kill(name, signal)
    event = wait_for(f"{name} to die", lambda: ctx.dep.first_event("die", name, before), 30)
    return event[0]


def kill_together(ctx, names):
    """One docker kill of several: the time each died (from their die events)."""
    before = ctx.now() - 1.0
    ctx.dep.kill(names[0], None, *names[1:])
    return [wait_for(f"{name} to die", lambda name=name: ctx.dep.first_event("die", name, before), 30)[0]
            for name in names]


def wait_dead_line(ctx, victim, since, reporters=None):
    """The first `Node <victim> is DEAD. Restarting...` after since: (time, reporter)."""
    pattern = rf"Node {re.escape(victim)} is DEAD\. Restarting\.\.\."
    reporters = reporters or [name for name in ctx.dep.members if name != victim]

    def probe():
        found = [(line[0], name) for name in reporters
                 for line in [first_line(ctx.dep, name, pattern, since)] if line]
        return min(found) if found else None

    return wait_for(f"'Node {victim} is DEAD. Restarting...' from {' or '.join(reporters)}",
                    probe, BOUND_S)


def wait_started(ctx, name, since, by_restart=True):
    """The first start of name after since: its time. by_restart: it must come from a
    `docker restart` (the leader's way), which Docker reports as a restart event."""
    event = wait_for(f"{name} to be started again", lambda: ctx.dep.first_event("start", name, since),
                     BOUND_S, describe=lambda: f"state {ctx.dep.state(name)}")
    if by_restart:
        wait_for(f"a `docker restart` of {name}", lambda: ctx.dep.first_event("restart", name, since), 10)
    wait_for(f"{name} to be running", lambda: ctx.dep.running(name), 10)
    return event[0]


def wait_restart_finished(ctx, leader, victim, since):
    return wait_for(f"'{leader}' to log 'restart of {victim} finished'",
                    lambda: first_line(ctx.dep, leader, rf"restart of {re.escape(victim)} finished", since),
                    BOUND_S)


def wait_heard_again(ctx, leader, victim):
    """The victim's new run heartbeats to the leader, and it follows that leader."""
    wait_for(f"{leader} to hear {victim} again", lambda: heard_since(ctx.dep, leader, victim), BOUND_S)
    wait_for(f"{victim} to name {leader} as leader",
             lambda: (current_claim(ctx.dep, victim) or (0, None))[1] == leader, BOUND_S)


def stays_down(ctx, name, watch_s):
    """Watches a stopped container for watch_s (a bounded watch for something that must
    NOT happen): None if it stayed down, else the first start event seen."""
    dep, since = ctx.dep, ctx.now() - 0.5
    watch_until = time.monotonic() + watch_s
    while time.monotonic() < watch_until:
        started = dep.first_event("start", name, since)
        if started or dep.running(name):
            return started or True
        time.sleep(1.0)
    return None


def no_line_anywhere(ctx, pattern, since=None):
    hits = [(name, text) for name in ctx.dep.members
            for _, text, _ in lines_matching(ctx.dep, name, pattern, since)]
    return hits


def wait_done(ctx, since, timeout_s=PIPELINE_S):
    def describe():
        progress = lines_matching(ctx.dep, "server", PROGRESS_RE, None)
        return f"last progress: {progress[-1][1] if progress else 'none'}"

    return wait_for("the server's 'ALL TASKS DONE' line",
                    lambda: first_line(ctx.dep, "server", DONE_RE, since), timeout_s, 1.0, describe)


def wait_duplicates_ignored(ctx):
    """After a server restart the queue holds tasks from both runs, so results arrive
    twice: the server's counters must show them ignored (duplicates > 0, conflicts 0)."""
    pattern = r"progress: (\d+)/(\d+) results .*duplicates (\d+), conflicts (\d+)"

    def probe():
        found = lines_matching(ctx.dep, "server", pattern, None)
        return found[-1] if found and int(found[-1][2].group(3)) > 0 else None

    line = wait_for("the server to count repeated results as duplicates", probe, BOUND_S)
    done, size, duplicates, conflicts = (int(group) for group in line[2].groups())
    require(done == size and conflicts == 0, f"after duplicates: {line[1]}")
    return duplicates


def check_result(ctx, done_line):
    """result.txt, and the final log line, equal the fault-free result."""
    size = int(ctx.dep.settings["WORKLOAD_SIZE"])
    expected = expected_result(size)
    actual = ctx.dep.read_file("server", "/data/result.txt")
    require(actual == expected, f"result.txt differs from the fault-free result:\n"
                                f"  got      {actual!r}\n  expected {expected!r}")
    checksum = re.search(r"checksum (\w+)", expected).group(1)
    require(done_line[2].group(2) == checksum,
            f"ALL TASKS DONE names checksum {done_line[2].group(2)}, expected {checksum}")
    return f"result exact ({size} tasks, checksum {checksum}; {done_line[2].group(4)})"


# -- network cuts ---------------------------------------------------------------------------

LIFECYCLE = ("kill", "stop", "die", "start", "restart")  # what a `docker restart` shows


def lifecycle_events(dep, names, since):
    """Every recorded kill/stop/die/start/restart of the given containers since a time."""
    return [event for event in dep.events(since=since) if event[1] in LIFECYCLE and event[2] in names]


def dead_lines_about(ctx, names, since):
    """Every `Node X is DEAD. Restarting...` about one of names since a time, as
    (time, reporter, X), oldest first."""
    pattern = r"Node (\S+) is DEAD\. Restarting\.\.\."
    return sorted((when, reporter, match.group(1)) for reporter in ctx.dep.members
                  for when, _, match in lines_matching(ctx.dep, reporter, pattern, since)
                  if match.group(1) in names)


def stays_quiet(ctx, names, since, watch_s):
    """A bounded watch for something that must NOT happen: no lifecycle event of names
    (since `since`) during watch_s. [] if none came, else the events, as soon as one does."""
    watch_until = time.monotonic() + watch_s
    while True:
        found = lifecycle_events(ctx.dep, names, since)
        if found or time.monotonic() >= watch_until:
            return found
        time.sleep(1.0)


def reattach_all(ctx, aliases):
    """Attaches every container of the deployment to its network again ("already
    attached" is fine): (names that were detached, names connected by this call)."""
    detached, connected = [], []
    for name in ctx.dep.containers:
        if not ctx.dep.attached(name):
            detached.append(name)
            if ctx.dep.connect(name, aliases.get(name, ())):
                connected.append(name)
    return detached, connected
