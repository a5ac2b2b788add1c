"""The end-to-end scenarios (issue 3, "The verification, automated"). Each one acts with
real `docker kill`s and then waits, with a deadline, for the evidence in `docker logs`,
`docker inspect` and `docker events`. Each returns a one-line summary or raises
CheckFailed. Times are the Docker daemon's (log lines and events carry them)."""
import collections
import re

from cluster import (CheckFailed, agreement, claims, current_claim, describe_views,
                     expected_leader, first_line, heard_since, lines_matching, require,
                     wait_for, wait_settled)
from steps import (BOUND_S, CHAOS_BOUND_S, CHAOS_KILL_RE, DONE_RE, PIPELINE_S, PROGRESS_RE,
                   SETTLE_S, check_result, dead_lines_about, kill, kill_together, lifecycle_events, no_line_anywhere,
                   reattach_all, stays_down, stays_quiet, wait_dead_line, wait_done,
                   wait_duplicates_ignored, wait_heard_again, wait_restart_finished, wait_started)


# -- 1. normal operation -------------------------------------------------------------------

def normal_operation(ctx):
    dep, names = ctx.dep, ctx.dep.members
    leader = expected_leader(names)
    wait_for("every vigil container running", lambda: all(dep.running(n) for n in names), BOUND_S)
    wait_for(f"every node to name {leader} as the one leader", lambda: agreement(dep, names) == leader,
             BOUND_S, describe=lambda: describe_views(dep, names))
    wait_for(f"{leader} to log 'node X joined' for every other node (heartbeats flowing)",
             lambda: all(heard_since(dep, leader, n) for n in names if n != leader), BOUND_S)
    last_start = max(dep.first_event("start", n, 0)[0] for n in names)
    agreed_at = max(current_claim(dep, n)[0] for n in names)
    ctx.measure("last node started -> one leader agreed", agreed_at - last_start)

    done = wait_done(ctx, None)
    summary = check_result(ctx, done)
    server_start = dep.events("start", "server")[0][0]
    ctx.measure("fault-free pipeline (server start -> done)", done[0] - server_start, PIPELINE_S)
    # Fault-free means nothing died and nobody was declared dead on the way.
    require(not dep.events("die"), f"containers died in a fault-free run: {dep.events('die')}")
    spurious = no_line_anywhere(ctx, r"is DEAD\. Restarting")
    require(not spurious, f"spurious restarts in a fault-free run: {spurious}")
    return f"leader {leader} agreed by all {len(names)}, heartbeats from all; pipeline {done[0] - server_start:.0f} s; {summary}"


# -- 2. worker failure ---------------------------------------------------------------------

def worker_failure(ctx, victim="worker_1"):
    dep = ctx.dep
    leader = wait_settled(dep, dep.members, SETTLE_S)
    died = kill(ctx, victim)
    dead_at, reporter = wait_dead_line(ctx, victim, died)
    require(reporter == leader, f"{reporter} restarted {victim}, but the leader is {leader}")
    started = wait_started(ctx, victim, died)
    wait_restart_finished(ctx, leader, victim, died)
    wait_heard_again(ctx, leader, victim)
    detect = ctx.measure("kill -> DEAD line", dead_at - died)
    back = ctx.measure("kill -> running again", started - died)
    return f"{leader} logged DEAD after {detect:.1f} s, {victim} running again after {back:.1f} s, heard again"


# -- 3. leader failure ---------------------------------------------------------------------

def leader_failure(ctx):
    dep, names = ctx.dep, ctx.dep.members
    leader = wait_settled(dep, names, SETTLE_S)
    survivors = [n for n in names if n != leader]
    successor = expected_leader(survivors)
    issued = ctx.now()
    died = kill(ctx, leader)
    # The broker reports the closed connection, and the survivors agree, before
    # Docker's own die event: look from the moment the kill was issued.
    since = min(issued, died)

    def first_naming_successor(name):
        found = [when for when, named in claims(dep, name, since) if named == successor]
        return found[0] if found else None

    wait_for(f"every survivor to name {successor} as leader",
             lambda: all(first_naming_successor(n) for n in survivors), BOUND_S,
             describe=lambda: describe_views(dep, survivors))
    agreed = max(first_naming_successor(n) for n in survivors)
    # At that instant every survivor's latest word was the successor (none had moved on).
    for name in survivors:
        latest = [named for when, named in claims(dep, name, since) if when <= agreed][-1]
        require(latest == successor, f"{name} named {latest or 'no leader'} when the others agreed on {successor}")
    dead_at, reporter = wait_dead_line(ctx, leader, died)
    require(reporter == successor, f"{reporter} restarted the old leader, expected {successor}")
    started = wait_started(ctx, leader, died)
    # Bully: the restarted highest name takes over again, and everyone follows it.
    wait_settled(dep, names, SETTLE_S)
    back_in_office = max(current_claim(dep, n)[0] for n in names)
    # From the `docker kill` command: the survivors may agree before Docker reports the death.
    elected = ctx.measure("leader kill -> new leader agreed", agreed - issued)
    ctx.measure("kill -> DEAD line", dead_at - died)
    ctx.measure("kill -> running again", started - died)
    ctx.measure("leader kill -> old leader leads again", back_in_office - died, SETTLE_S)
    return (f"{successor} agreed by all survivors after {elected:.1f} s, restarted {leader} "
            f"(running after {started - died:.1f} s), {leader} leads again after {back_in_office - died:.1f} s")


# -- 3b. the leader and a follower at once: the new leader finds the follower dead at once --

def leader_and_follower_failure(ctx, follower="worker_1"):
    """Both killed in one command, so the follower is dead before anyone leads again: the
    successor learns of it from the broker's report of its closed connection (taken as a
    follower, probed once leading) or from `docker inspect` when it takes the lead, and
    restarts it at once rather than a heartbeat timeout later."""
    dep, names = ctx.dep, ctx.dep.members
    leader = wait_settled(dep, names, SETTLE_S)
    successor = expected_leader([n for n in names if n not in (leader, follower)])
    died = dict(zip((leader, follower), kill_together(ctx, [leader, follower])))
    follower_dead_at, reporter = wait_dead_line(ctx, follower, died[follower])
    require(reporter == successor, f"{reporter} restarted {follower}, expected the successor {successor}")
    leader_dead_at, reporter = wait_dead_line(ctx, leader, died[leader])
    require(reporter == successor, f"{reporter} restarted the old leader {leader}, expected {successor}")
    wait_started(ctx, follower, died[follower])
    wait_started(ctx, leader, died[leader])
    wait_settled(dep, names, SETTLE_S)
    found = ctx.measure("leader + follower kill -> follower's restart issued", follower_dead_at - died[follower])
    return (f"{successor} restarted {follower} {found:.1f} s and {leader} "
            f"{leader_dead_at - died[leader]:.1f} s after they died; {leader} leads again")


# -- 4. hang -> apoptosis -> restart -------------------------------------------------------

def hang(ctx, victim="worker_2"):
    dep = ctx.dep
    leader = wait_settled(dep, dep.members, SETTLE_S)
    pulse_timeout = dep.seconds("PULSE_TIMEOUT", 30)
    sent = ctx.now() - 1.0
    dep.kill(victim, "SIGUSR2")  # examples/README.md: the main loop stops calling pulse()
    hung = wait_for(f"{victim} to log HANGING ON PURPOSE",
                    lambda: first_line(dep, victim, r"HANGING ON PURPOSE", sent), 15)
    apoptosis = wait_for(f"{victim} to log 'apoptosis:'", lambda: first_line(dep, victim, r"apoptosis: ", sent),
                         pulse_timeout + BOUND_S)
    died = wait_for(f"{victim} to exit", lambda: dep.first_event("die", victim, sent), 30)
    require(died[3].get("exitCode") == "1", f"{victim} exited with {died[3].get('exitCode')}, expected 1 (_exit(1))")
    took = apoptosis[0] - hung[0]
    # The watchdog fires PULSE_TIMEOUT after the last pulse (just before the hang), not early, and
    # late by at most its own step (100 ms) and scheduling: one second allows a loaded machine.
    require(pulse_timeout - 1.0 <= took <= pulse_timeout + 1.0,
            f"apoptosis {took:.2f} s after the hang, PULSE_TIMEOUT is {pulse_timeout:.0f} s")
    dead_at, reporter = wait_dead_line(ctx, victim, sent)
    # While hung the sidecar still heartbeats: nobody should call it dead before it dies.
    require(dead_at >= died[0] - 0.5, f"{victim} was declared dead while still alive (hung)")
    require(reporter == leader, f"{reporter} restarted {victim}, but the leader is {leader}")
    started = wait_started(ctx, victim, died[0])
    wait_heard_again(ctx, leader, victim)
    ctx.metrics.add("hang -> apoptosis (PULSE_TIMEOUT %.0f s)" % pulse_timeout, took)
    ctx.measure("kill -> DEAD line", dead_at - died[0])
    ctx.measure("kill -> running again", started - died[0])
    return (f"apoptosis {took:.1f} s after the hang, exit code 1, {leader} restarted it "
            f"(running {started - died[0]:.1f} s after the exit), heard again")


# -- frozen (docker pause) -----------------------------------------------------------------

def frozen(ctx, victim="worker_2"):
    """A frozen container: the sidecar stops too, so only the leader can notice (silence);
    `docker restart` of a paused container stops and starts it."""
    dep = ctx.dep
    leader = wait_settled(dep, dep.members, SETTLE_S)
    since = ctx.now() - 1.0
    dep.pause(victim)
    paused = wait_for(f"{victim} to be paused", lambda: dep.first_event("pause", victim, since), 10)[0]
    dead_at, reporter = wait_dead_line(ctx, victim, paused)
    require(reporter == leader, f"{reporter} restarted {victim}, but the leader is {leader}")
    started = wait_started(ctx, victim, paused)
    wait_heard_again(ctx, leader, victim)
    detect = ctx.measure("pause -> DEAD line", dead_at - paused)
    back = ctx.measure("pause -> running again", started - paused)
    return f"{leader} logged DEAD after {detect:.1f} s, {victim} restarted and running after {back:.1f} s"


# -- graceful stop ---------------------------------------------------------------------------

def graceful_stop(ctx, victim="worker_1"):
    """SIGTERM says goodbye: the leader lets the node rest; `docker start` brings it back."""
    dep = ctx.dep
    leader = wait_settled(dep, dep.members, SETTLE_S)
    stopped = ctx.now() - 1.0
    dep.stop(victim)
    state = dep.state(victim)
    require(state["ExitCode"] == 0, f"{victim} exited with {state['ExitCode']} on SIGTERM, expected 0")
    wait_for(f"{leader} to log 'node {victim} left gracefully'",
             lambda: first_line(dep, leader, rf"node {re.escape(victim)} left gracefully", stopped), 15)
    require(stays_down(ctx, victim, 3 * dep.seconds("HEARTBEAT_TIMEOUT", 6)) is None,
            f"{victim} was resurrected after a graceful stop")
    resurrect = no_line_anywhere(ctx, rf"Node {re.escape(victim)} is DEAD", stopped)
    require(not resurrect, f"{victim} declared dead after a graceful stop: {resurrect}")
    dep.start(victim)
    wait_settled(dep, dep.members, SETTLE_S)
    return f"exit code 0, {leader} logged the goodbye, not restarted; back after docker start"


def graceful_stop_across_leader_change(ctx, victim="chaos_monkey"):
    """The goodbye must outlive the leader that heard it: stop a node, then replace the
    leader by a fresh process (kill it; it is restarted and takes over again)."""
    dep = ctx.dep
    leader = wait_settled(dep, dep.members, SETTLE_S)
    others = [n for n in dep.members if n != victim]
    stopped = ctx.now() - 1.0
    dep.stop(victim)
    wait_for(f"{leader} to log 'node {victim} left gracefully'",
             lambda: first_line(dep, leader, rf"node {re.escape(victim)} left gracefully", stopped), 15)
    died = kill(ctx, leader)
    wait_started(ctx, leader, died)
    try:
        wait_settled(dep, others, SETTLE_S)
        resurrected = stays_down(ctx, victim, 3 * dep.seconds("HEARTBEAT_TIMEOUT", 6))
        by = no_line_anywhere(ctx, rf"Node {re.escape(victim)} is DEAD", stopped)
        require(resurrected is None and not by,
                f"{victim}, stopped gracefully, was restarted after the leader changed: {by}")
    finally:  # leave the deployment whole for the next scenario
        if not dep.running(victim):
            dep.start(victim)
        wait_settled(dep, dep.members, SETTLE_S)
    return f"{victim} stayed down while {leader} was killed, restarted and took over again"


# -- 5a. SIGUSR1 -----------------------------------------------------------------------------

def chaos_signal(ctx):
    """With CHAOS_ENABLED false the monkey kills nothing, except at once on SIGUSR1."""
    dep = ctx.dep
    wait_settled(dep, dep.members, SETTLE_S)
    require(not lines_matching(dep, "chaos_monkey", CHAOS_KILL_RE, None), "the disabled monkey killed something")
    sent_at = ctx.now()
    dep.kill("chaos_monkey", "SIGUSR1")
    sent = sent_at - 1.0  # a margin for the clock offset's error
    line = wait_for("chaos_monkey to name its target", lambda: first_line(dep, "chaos_monkey", CHAOS_KILL_RE, sent),
                    10, 0.25)
    trigger, victim, role = line[2].groups()
    require(trigger == "SIGUSR1", f"kill triggered by {trigger}, expected SIGUSR1")
    require(victim in dep.members and victim != "chaos_monkey" and role in ("server", "worker"),
            f"the monkey picked {victim} (role {role}): not a server or worker of this deployment")
    died = wait_for(f"{victim} to die", lambda: dep.first_event("die", victim, sent), 10)[0]
    started = wait_started(ctx, victim, died)
    wait_settled(dep, dep.members, SETTLE_S)
    named = ctx.measure("SIGUSR1 -> target named", line[0] - sent_at, 10)
    ctx.measure("kill -> running again", started - died)
    return f"killed {victim} {named:.1f} s after the signal; running again after {started - died:.1f} s"


# -- 6. the server killed mid-run ------------------------------------------------------------

def server_killed_mid_run(ctx):
    dep = ctx.dep
    size = int(dep.settings["WORKLOAD_SIZE"])
    leader = wait_settled(dep, dep.members, SETTLE_S)

    def mid_run():
        progress = lines_matching(dep, "server", PROGRESS_RE, None)
        return progress and int(progress[-1][2].group(1)) >= size // 4

    wait_for(f"the server to report a quarter of {size} results", mid_run, PIPELINE_S, 0.5)
    died = kill(ctx, "server")
    early = first_line(dep, "server", DONE_RE, None)
    require(not early or early[0] > died, "the pipeline finished before the kill: make the workload longer")
    dead_at, reporter = wait_dead_line(ctx, "server", died)
    require(reporter == leader, f"{reporter} restarted the server, but the leader is {leader}")
    started = wait_started(ctx, "server", died)
    # Since the kill, not the start event: the new process logs within milliseconds of
    # its start, and Docker's start event can come after its first lines.
    resumed = wait_for("the server to log 'resuming: K of N results already on disk'",
                       lambda: first_line(dep, "server", r"resuming: (\d+) of (\d+) results", died), BOUND_S)
    kept = int(resumed[2].group(1))
    require(0 < kept < size, f"resumed with {kept} of {size} results on disk")
    done = wait_done(ctx, started)
    summary = check_result(ctx, done)
    duplicates = wait_duplicates_ignored(ctx)
    ctx.measure("kill -> DEAD line", dead_at - died)
    ctx.measure("kill -> running again", started - died)
    return (f"killed at {kept}/{size}, restarted after {started - died:.1f} s, resumed; {summary}; "
            f"then {duplicates}+ repeated results ignored")


# -- 5. chaos --------------------------------------------------------------------------------

def chaos(ctx, min_duration_s=120.0, min_kills=6):
    dep = ctx.dep
    began = ctx.now()
    seed = wait_for("the monkey's seed line", lambda: first_line(dep, "chaos_monkey", r"chaos seed (\d+)", None),
                    BOUND_S)[2].group(1)

    def kills():
        return [(when, match.group(2)) for when, _, match in lines_matching(dep, "chaos_monkey", CHAOS_KILL_RE, None)]

    def enough():
        return (first_line(dep, "server", DONE_RE, None) and ctx.now() - began >= min_duration_s
                and len(kills()) >= min_kills)

    wait_for(f"ALL TASKS DONE, {min_duration_s:.0f} s and {min_kills} kills", enough, PIPELINE_S, 2.0,
             describe=lambda: f"{len(kills())} kills so far")
    others = [n for n in dep.members if n != "chaos_monkey"]
    # Stop the monkey while everyone is up and agreed, so that the leader hears its goodbye.
    try:
        wait_settled(dep, others, BOUND_S)
    except CheckFailed as error:
        ctx.notes.append(f"chaos: stopping the monkey without a settled moment ({error})")
    stopped = ctx.now()
    dep.stop("chaos_monkey")
    exit_code = dep.state("chaos_monkey")["ExitCode"]
    # A graceful stop is final: a monkey that comes back means a leader lost its goodbye.
    wait_settled(dep, others, SETTLE_S)
    back = stays_down(ctx, "chaos_monkey", 3 * dep.seconds("HEARTBEAT_TIMEOUT", 6))
    back = dep.first_event("start", "chaos_monkey", stopped) or back  # also during the settle
    by = no_line_anywhere(ctx, r"Node chaos_monkey is DEAD", stopped)
    if back or by:
        how = (f"started again {back[0] - stopped:.1f} s after the stop" if isinstance(back, tuple) else
               "running again" if back else "not started again")
        raise CheckFailed(f"chaos_monkey was resurrected after a graceful stop (docker stop, exit code "
                          f"{exit_code}): {how}; DEAD lines about it: {by or 'none'}")
    leader = wait_settled(dep, others, SETTLE_S)

    victims = collections.Counter()
    for killed_at, victim in kills():
        require(victim in others, f"the monkey killed {victim}: not a server or worker of this deployment")
        victims[victim] += 1
        died = dep.first_event("die", victim, killed_at - 0.5)
        require(died and died[0] - killed_at < 15, f"no death of {victim} after the monkey's kill at {killed_at:.1f}")
        back = dep.first_event("start", victim, died[0])
        require(back, f"{victim} killed at {killed_at:.1f} was never started again")
        ctx.measure("chaos: kill -> running again", back[0] - died[0], CHAOS_BOUND_S)
        dead_lines = [line[0] for name in dep.members
                      for line in [first_line(dep, name, rf"Node {re.escape(victim)} is DEAD", died[0])] if line]
        if dead_lines and min(dead_lines) <= back[0]:
            ctx.measure("chaos: kill -> DEAD line", min(dead_lines) - died[0], CHAOS_BOUND_S)
    # Since the run began: the recorder looks a second back, and the previous
    # deployment's broker (same name, same project) may die in that second.
    require(not dep.events("die", "rabbitmq", began), "RabbitMQ died during the chaos run")
    done = wait_done(ctx, None, BOUND_S)
    summary = check_result(ctx, done)
    counters = lines_matching(dep, "server", r"duplicates (\d+), conflicts (\d+)", None)
    require(not counters or counters[-1][2].group(2) == "0", f"conflicting results: {counters[-1][1]}")
    if counters:
        summary += f"; by the end {counters[-1][2].group(1)} repeated results ignored"
    spread = ", ".join(f"{name} x{count}" for name, count in sorted(victims.items()))
    return (f"seed {seed}: {sum(victims.values())} kills in {stopped - began:.0f} s ({spread}); "
            f"all back, {leader} leads; {summary}")


# -- network cuts (docker network disconnect) --------------------------------------------------

# A cut lasts at least this many HEARTBEAT_TIMEOUTs, and until the others have reacted.
CUT_TIMEOUTS = 3
DEAD_LINE = r"Node {} is DEAD\. Restarting\.\.\."


def _at(base, when):
    return f"+{when - base:.1f} s"


def _restarts_told(events, dead, base):
    """Per container: its restarts (or other lifecycle events) and who called it DEAD,
    times relative to the cut."""
    parts = []
    for name in sorted({event[2] for event in events} | {line[2] for line in dead}):
        # A `docker restart` shows as kill ... restart (its stop can take seconds): both times.
        restarts, begun = [], None
        for when, action, who, _ in events:
            if who != name:
                continue
            if action == "kill" and begun is None:
                begun = when
            elif action == "restart":
                restarts.append(f"{_at(base, begun)} (done {_at(base, when)})" if begun else _at(base, when))
                begun = None
        others = [f"{e[1]} {_at(base, e[0])}" for e in events if e[2] == name and e[1] != "restart"]
        told = [f"{reporter} {_at(base, when)}" for when, reporter, about in dead if about == name]
        parts.append(f"{name} " + (f"restarted at {', '.join(restarts)}" if restarts else
                                   f"events {', '.join(others) or 'none'}") +
                     (f" (DEAD line by {', '.join(told)})" if told else " (no DEAD line)"))
    return "; ".join(parts)


def _cut_off(ctx, victim, reacted, reaction):
    """Cuts victim off the deployment's network (`docker network disconnect`) for at
    least CUT_TIMEOUTS x HEARTBEAT_TIMEOUT and until reacted(cut_at) is truthy, then
    attaches every container again (in a finally, whatever happened), waits for one
    agreed leader, watches 2 x HEARTBEAT_TIMEOUT more, and checks the result. Returns
    the evidence; what went wrong is collected in evidence["problems"], so that one
    failure line tells the whole story (which containers were restarted, when, by whom)."""
    dep, size = ctx.dep, int(ctx.dep.settings["WORKLOAD_SIZE"])
    timeout = dep.seconds("HEARTBEAT_TIMEOUT", 6)
    hold = CUT_TIMEOUTS * timeout
    healthy = [name for name in dep.containers if name != victim]  # rabbitmq included
    leader = wait_settled(dep, dep.members, SETTLE_S)
    for name in dep.containers:
        require(dep.attached(name), f"{name} is not on {dep.network} before the cut: {sorted(dep.networks_of(name))}")
    # Reconnect with compose's aliases (the service name), not the short id docker adds itself.
    aliases = {victim: [alias for alias in dep.networks_of(victim)[dep.network].get("Aliases") or []
                        if not re.fullmatch(r"[0-9a-f]{12}", alias)]}
    progress = lines_matching(dep, "server", PROGRESS_RE, None)
    stage = ("after the pipeline" if first_line(dep, "server", DONE_RE, None) else
             f"mid-run at {progress[-1][2].group(1) if progress else 0}/{size} results")
    ev = {"leader": leader, "stage": stage, "problems": []}

    since = ctx.now() - 0.5  # a margin for the clock offset's error
    cut_at = ev["cut_at"] = ctx.now()
    dep.disconnect(victim)
    try:
        wait_for(f"{hold:.0f} s of cut and {reaction}", lambda: ctx.now() - cut_at >= hold and reacted(cut_at),
                 hold + BOUND_S)
    except CheckFailed as error:
        ev["problems"].append(str(error))
    finally:  # never leave a container off the network
        ev["cut_s"] = ctx.now() - cut_at
        restarted_while_cut = dep.first_event("restart", victim, cut_at)
        detached, connected = reattach_all(ctx, aliases)
        # A container `docker restart`ed while disconnected comes back detached (checked
        # by hand on Docker 20.10): the disconnect is part of its configuration.
        ev["reattach"] = (f"{victim} {'restarted while cut off, ' if restarted_while_cut else ''}"
                          f"{'still detached' if victim in detached else 'already attached again'} at the reconnect"
                          + (f"; also detached: {[n for n in detached if n != victim]}" if len(detached) > 1 else ""))
    reconnected = ctx.now()
    missing = [name for name in dep.containers if not dep.attached(name)]
    require(not missing, f"still off {dep.network} after the reconnect: {missing} (connected {connected})")

    try:
        wait_settled(dep, dep.members, SETTLE_S)  # one leader, agreed by all, hearing all
        agreed = max(current_claim(dep, name)[0] for name in dep.members)
        ev["agreed"] = ctx.measure("cut: reconnect -> one leader agreed", max(agreed - reconnected, 0.0), SETTLE_S)
    except CheckFailed as error:
        ev["problems"].append(f"no single agreed leader after the reconnect: {error}")
    stays_quiet(ctx, healthy, since, 2 * timeout)  # for a while after (returns at once on trouble)

    events = lifecycle_events(dep, healthy, since)
    dead = dead_lines_about(ctx, healthy, since)
    if events or dead:
        ev["problems"].insert(0, f"healthy containers restarted: {_restarts_told(events, dead, cut_at)}")
    ev["victim"] = _restarts_told(lifecycle_events(dep, [victim], since),
                                  dead_lines_about(ctx, [victim], since), cut_at) or f"{victim} not restarted"
    ev["victim_restarts"] = dep.events("restart", victim, since)
    ev["victim_dead"] = dead_lines_about(ctx, [victim], since)
    try:
        ev["result"] = check_result(ctx, wait_done(ctx, None))
    except CheckFailed as error:
        ev["problems"].append(str(error))
    return ev


def _verdict(ev):
    detail = f"cut {ev['cut_s']:.1f} s {ev['stage']} ({ev['reattach']}); victim: {ev['victim']}"
    require(not ev["problems"], "; ".join(ev["problems"]) + f" || {detail}")
    return detail + f"; one leader {ev['agreed']:.1f} s after the reconnect; nobody else restarted; {ev['result']}"


def follower_cut_off(ctx, victim="worker_1"):
    """A worker cut off the network is silent: the leader alone restarts it, nobody else
    is touched (the cut worker must not restart anyone), one leader after."""
    dep = ctx.dep
    leader = wait_settled(dep, dep.members, SETTLE_S)
    require(victim != leader, f"{victim} leads; pick a follower")
    dead = DEAD_LINE.format(re.escape(victim))
    ev = _cut_off(ctx, victim, lambda cut_at: first_line(dep, leader, dead, cut_at),
                  f"{leader}'s 'Node {victim} is DEAD' line")
    if not ev["stage"].startswith("mid-run"):  # the cut worker should hold tasks in flight
        ev["problems"].append("the pipeline was done before the cut: make the workload longer")
    if not ev["victim_restarts"]:
        ev["problems"].append(f"{victim} was never restarted while silent")
    strangers = sorted({reporter for _, reporter, _ in ev["victim_dead"] if reporter != leader})
    if strangers:
        ev["problems"].append(f"{victim} called DEAD by {strangers}, not only by the leader {leader}")
    if ev["victim_dead"]:
        ctx.measure("cut: follower cut -> leader's DEAD line", ev["victim_dead"][0][0] - ev["cut_at"])
    return _verdict(ev)


def leader_cut_off(ctx):
    """The leader cut off the network: the survivors elect the next highest, nobody
    healthy is restarted (the cut leader must not restart the members it cannot hear),
    one leader after the reconnect. The survivors' new leader may restart the cut one."""
    dep = ctx.dep
    leader = wait_settled(dep, dep.members, SETTLE_S)
    survivors = [name for name in dep.members if name != leader]
    successor = expected_leader(survivors)

    def survivors_agree(cut_at):
        return all(any(named == successor for _, named in claims(dep, name, cut_at)) for name in survivors)

    ev = _cut_off(ctx, leader, survivors_agree, f"every survivor naming {successor}")
    restarts = ev["victim_restarts"]
    ctx.notes.append(f"leader cut off: {leader} " + (f"restarted {len(restarts)}x, allowed: {ev['victim']}"
                                                     if restarts else "not restarted"))
    return _verdict(ev)
