"""What the cluster believes, read from the containers' logs (vigil logs every change of
leader and membership), plus the bounded wait that every check uses."""
import re
import statistics
import time

from deployment import DockerError, parse_docker_time

# vigil's lines: "I am the leader (term N)", "leader is X (term N)", "no leader (term N)".
_CLAIM_RE = re.compile(r"(I am the leader|leader is (\S+)|no leader) \(term (\d+)\)")
NO_LEADER = ""


class CheckFailed(AssertionError):
    pass


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


def wait_for(what, probe, timeout_s, interval_s=0.5, describe=None):
    """Polls probe() until it returns something truthy, for at most timeout_s.
    describe() (optional) says what was seen instead, for the failure message."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = probe()
        except DockerError as error:  # a slow docker call is retried until the deadline
            value, last_error = None, error
        else:
            last_error = None
        if value:
            return value
        if time.monotonic() >= deadline:
            seen = describe() if describe else (f"last error: {last_error}" if last_error else "")
            raise CheckFailed(f"timed out after {timeout_s:.0f} s waiting for {what}" +
                              (f"; {seen}" if seen else ""))
        time.sleep(interval_s)


def expected_leader(names):
    # Bully: the highest CONTAINER_NAME, compared byte-wise.
    return max(names, key=lambda name: name.encode())


def claim_of(name, text):
    """The leader a log line names (NO_LEADER for "no leader"), or None if the line
    says nothing about leadership."""
    match = _CLAIM_RE.search(text)
    if not match:
        return None
    if match.group(1) == "I am the leader":
        return name
    return match.group(2) if match.group(2) else NO_LEADER


def claims(dep, name, since):
    """Every (time, leader) claim in name's log since a time."""
    found = []
    for when, text in dep.logs(name, since=since):
        leader = claim_of(name, text)
        if leader is not None:
            found.append((when, leader))
    return found


def current_claim(dep, name):
    """(time, leader) of the latest claim of the container's current run, or None when
    it is not running or has said nothing yet in this run."""
    state = dep.state(name)
    if not state or not state.get("Running"):
        return None
    found = claims(dep, name, parse_docker_time(state["StartedAt"]))
    return found[-1] if found else None


def agreement(dep, names):
    """The leader every one of names currently names, if they all agree and the leader
    is one of them and says so itself; else None."""
    views = {name: current_claim(dep, name) for name in names}
    leaders = {view[1] for view in views.values() if view}
    if None in views.values() or len(leaders) != 1:
        return None
    leader = leaders.pop()
    return leader if leader in names else None


def describe_views(dep, names):
    parts = []
    for name in names:
        view = current_claim(dep, name)
        parts.append(f"{name}: " + ("not running / nothing yet" if view is None else
                                    (view[1] or "no leader")))
    return "current views: " + ", ".join(parts)


def lines_matching(dep, name, pattern, since):
    regex = re.compile(pattern)
    return [(when, text, match) for when, text in dep.logs(name, since=since)
            for match in [regex.search(text)] if match]


def first_line(dep, name, pattern, since):
    found = lines_matching(dep, name, pattern, since)
    return found[0] if found else None


def heard_since(dep, leader, member):
    """The leader has logged hearing member's current run (heartbeats flowing)."""
    since = max(dep.started_at(member) or 0, dep.started_at(leader) or 0)
    return first_line(dep, leader, rf"node {re.escape(member)} (joined|is back \(new incarnation\))", since)


def settled(dep, names, leader):
    """Everyone runs, everyone names `leader`, and the leader hears everyone."""
    if not all(dep.running(name) for name in names):
        return False
    if agreement(dep, names) != leader:
        return False
    return all(heard_since(dep, leader, name) for name in names if name != leader)


def wait_settled(dep, names, timeout_s):
    leader = expected_leader(names)

    def describe():
        down = [name for name in names if not dep.running(name)]
        missing = [name for name in names if name != leader and dep.running(name) and
                   dep.running(leader) and not heard_since(dep, leader, name)]
        return (f"not running: {down or 'none'}; {describe_views(dep, names)}; "
                f"{leader} has not heard: {missing or 'none'}")

    wait_for(f"all of {', '.join(names)} running, agreeing on {leader} and heard by it",
             lambda: settled(dep, names, leader), timeout_s, describe=describe)
    return leader


class Metrics:
    """Measured durations by name, printed at the end as median / max."""

    def __init__(self):
        self.samples = {}

    def add(self, what, seconds):
        self.samples.setdefault(what, []).append(seconds)
        return seconds

    def report(self):
        lines = ["measured (seconds; daemon clock; n = samples):"]
        for what, values in self.samples.items():
            lines.append(f"  {what:<44} median {statistics.median(values):6.2f}  max {max(values):6.2f}"
                         f"  min {min(values):6.2f}  n={len(values)}")
        return "\n".join(lines)
