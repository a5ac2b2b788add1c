#!/usr/bin/env python3
"""make mutants: plant each defect below in a scratch copy of the tree, build,
run the fast suite, and print which test killed it. A defect that survives is
a missing test. Standard library only; the tree itself is never touched.

    scripts/mutants.py [--only NAME,...] [--keep]

The fast suite, in order (the first failure kills the mutant): unit tests,
the simulation's scenarios, 500 seeds at fast timings, 200 seeds at the
shipped timings, the liveness bounds, and the monitor's apoptosis tests
against the local broker (`make broker` first)."""

import argparse
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "build-mutants")
COPY = os.path.join(WORK, "tree")
BUILD = os.path.join(WORK, "build")
TARGETS = ["vigil_unit_tests", "vigil_sim_tests", "vigil_monitor_tests"]

# (name, file, [(text in the file, what replaces it), ...]). Each text must occur once.
#
# Left out as equivalent: "proof without its margin" (heard_before = now). Since
# a node judges no one while a heartbeat of its own is overdue for its echo,
# and heartbeats go out every interval, an echo that proves the path is always
# an interval and the slack after the member was last heard by the time the
# member is past its timeout; the margin stays as a statement of the proof.
MUTANTS = [
    ('wrong leader: the lowest name wins', 'src/election.cpp', [
        ('    if (m.from < self_) {\n        // Bully',
         '    if (m.from > self_) {\n        // Bully'),
    ]),
    ('restarts from a non-leader', 'src/node.cpp', [
        ('if (is_leader() && hears_itself(now)) watch(now, out);',
         'if (hears_itself(now)) watch(now, out);'),
    ]),
    ('goodbye ignored', 'src/node.cpp', [
        ('        if (!detector_.departed(message.from, message.incarnation)) {',
         '        if (true) {'),
    ]),
    ('cut-off leader acts (no proof of its own path)', 'src/node.cpp', [
        ('if (is_leader() && hears_itself(now)) watch(now, out);',
         'if (is_leader() && echoed_sent_at_) watch(now, out);'),
        ('const Millis heard_before = *echoed_sent_at_ - proof_margin();',
         'const Millis heard_before = now;'),
    ]),
    ('followers elect without proof', 'src/node.cpp', [
        ('    if (!hears_itself(now) || echo_overdue(now)) return false;\n    return !election_.following()',
         '    if (!connected_ || now < Millis{0}) return false;\n    return true || !election_.following()'),
    ]),
    ('detector three times slow', 'src/failure_detector.cpp', [
        ('now - member.last_heard > timeout_ &&',
         'now - member.last_heard > 3 * timeout_ &&'),
    ]),
    ('back-off never resets', 'src/recovery_planner.cpp', [
        ('    } else if (now - node.healthy_since >= policy_.backoff_reset_after) {\n        node.in_a_row = 0;',
         '    } else if (now - node.healthy_since >= policy_.backoff_reset_after) {\n        node.in_a_row += 0;'),
        ('        if (node.in_a_row > 0 && now - node.last_restart > policy_.backoff_reset_after) node.in_a_row = 0;',
         ''),
    ]),
    ('no back-off', 'src/recovery_planner.cpp', [
        ('    if (in_a_row == 0) return Millis{0};',
         '    if (in_a_row < UINT32_MAX) return Millis{0};'),
    ]),
    ('no boot grace', 'src/recovery_planner.cpp', [
        ('node.booting_until = ok ? now + policy_.boot_grace : now;',
         'node.booting_until = ok ? now : now;'),
    ]),
    ('in-flight restarts ignored', 'src/recovery_planner.cpp', [
        ('if (restart.size() >= limit || node.in_flight || next_allowed(name, now) > now) continue;',
         'if (restart.size() >= limit || next_allowed(name, now) > now) continue;'),
    ]),
    ('grace after a reconnect removed', 'src/node.cpp', [
        ('detector_.grace_all(cut_off_before_ ? now + config_.reconnect_grace : now);',
         '(void)cut_off_before_;'),
    ]),
    ('terms wrap', 'include/vigil/message.hpp', [
        ('return term < kMaxTerm ? term + 1 : kMaxTerm;',
         'return term + 1;'),
    ]),
    ('out-of-range counters accepted', 'src/node.cpp', [
        ('    if (!in_range(message)) {',
         '    if (false && !in_range(message)) {'),
    ]),
    ('planner forgotten on a change of leader, and not gossiped', 'src/node.cpp', [
        ('        paced_ = false;  // the planner is kept',
         '        paced_ = false; planner_ = RecoveryPlanner(config_.recovery);  //'),
        ('GossipSources{planner_.notes(now),',
         'GossipSources{{},'),
    ]),
    ('departures not gossiped', 'src/node.cpp', [
        ('GossipSources{planner_.notes(now), detector_.departures(),',
         'GossipSources{planner_.notes(now), {},'),
    ]),
    ('a goodbye mid-restart taken for a departure', 'src/recovery_planner.cpp', [
        ('    return it != nodes_.end() && (it->second.in_flight || now < it->second.others_in_flight_until);',
         '    return it != nodes_.end() && now < Millis{0};'),
    ]),
    ('mass silence not paced', 'src/node.cpp', [
        ('    if (!paced_) return SIZE_MAX;',
         '    if (true) return SIZE_MAX;'),
    ]),
    ('higher nodes never answer an election', 'src/election.cpp', [
        ('    out.send.push_back(reply(MessageType::Answer, m.from));\n', ''),
    ]),
    ('detector a quarter slow', 'src/failure_detector.cpp', [
        ('now - member.last_heard > timeout_ &&',
         'now - member.last_heard > timeout_ + timeout_ / 4 &&'),
    ]),
    ('elections wait twice as long for answers', 'src/node.cpp', [
        ('ElectionTimeouts{config_.election_timeout, config_.heartbeat_timeout, config_.election_timeout}',
         'ElectionTimeouts{2 * config_.election_timeout, config_.heartbeat_timeout, config_.election_timeout}'),
    ]),
    ('back-off doubles one step early', 'src/recovery_planner.cpp', [
        ('for (std::uint32_t i = 1; i < in_a_row && delay < policy_.backoff_max; ++i) delay *= 2;',
         'for (std::uint32_t i = 0; i < in_a_row && delay < policy_.backoff_max; ++i) delay *= 2;'),
    ]),
    ('boot grace dropped for a life heard mid-command', 'src/recovery_planner.cpp', [
        ('node.booting_until = ok ? now + policy_.boot_grace : now;',
         'node.booting_until = ok && !(node.new_life_at > node.last_restart) ? now + policy_.boot_grace : now;'),
    ]),
    ("a backlog's echo taken as proof of now", 'src/node.cpp', [
        ('    if (!hears_itself(now)) return;  // a backlog from a stall: not proof of now\n', ''),
    ]),
    ("no refutation of a goodbye from a 'later' life", 'src/node.cpp', [
        ('if (theirs < incarnation_ || (theirs == incarnation_ && !goodbye) || theirs >= kMaxIncarnation) return;',
         'return;'),
    ]),
    ("the leader's echo does not prove its follower binding", 'src/control_routing.hpp', [
        ('    return {own_key(queue), direct_key(self), leading ? kEverything : kBroadcastKey};',
         '    if (leading) return {own_key(queue), direct_key(self), kEverything, kBroadcastKey};\n'
         '    return {own_key(queue), direct_key(self), kBroadcastKey};'),
    ]),
    ('judging while a heartbeat of its own is overdue for its echo', 'src/node.cpp', [
        ('    if (echo_overdue(now)) return;\n', ''),
    ]),
    ('a goodbye from a sender not heard yet is dropped', 'src/failure_detector.cpp', [
        ('        if (members_.size() >= max_members_ && !make_room()) return false;\n        it = members_.emplace(name, Member{}).first;\n    }\n    it->second.liveness',
         '        return false;\n    }\n    it->second.liveness'),
    ]),
    ("a stopped process's time counted as its main loop's silence", 'include/vigil/watchdog.hpp', [
        ('        if (last_check_ && now - *last_check_ > max_gap_) forgive(now - *last_check_, now);\n', ''),
    ]),
    ("watchdog as slow as the sidecar's connect", 'src/monitor.cpp', [
        ('        sleep_for(watchdog.sleep_from(now));\n',
         '        sleep_for(std::max(watchdog.sleep_from(now), config.broker.connect_timeout));\n'),
    ]),
    ("a higher node's ELECTION is not taken for its ANSWER", 'src/election.cpp', [
        ('        stand_down(now);  // as good as an ANSWER to our own election, sent or to come\n', ''),
    ]),
    ('replies to one candidate broadcast to everyone', 'src/election.cpp', [
        ('    return Outgoing{make(type), Audience::Direct, to};',
         '    return Outgoing{make(type), Audience::Everyone, to.substr(0, 0)};'),
    ]),
    ('no hold-back: every node elects at once', 'src/node.cpp', [
        ('    return config_.path_slack * static_cast<std::int64_t>(std::min(above, cap));',
         '    return Millis{above * cap * 0};'),
    ]),
    ("the loop's due time forgets election deadlines", 'src/node.cpp', [
        ('    if (election_.active()) soon(election_.next_deadline(hold_back()));\n', ''),
    ]),
    ("the loop's due time forgets members' timeouts", 'src/node.cpp', [
        ('        soon(detector_.next_expiry());\n', ''),
    ]),
    ('a life held as departed is not told so', 'src/node.cpp', [
        ('            correct(message.from, out);\n', ''),
    ]),
    # Fast crash signals (issue 7).
    ('closed links of an earlier link taken', 'src/node.cpp', [
        ('        return observation.incarnation != life.incarnation || observation.link < life.link;',
         '        return observation.incarnation != life.incarnation;'),
    ]),
    ('no reconnect window: a closed connection is a death at once', 'src/node.cpp', [
        ('report.confirm_at = now + (closed ? config_.reconnect_window : config_.exit_confirm);',
         'report.confirm_at = now + (closed ? Millis{0} : config_.exit_confirm);'),
    ]),
    ('a later link does not disprove a report', 'src/crash_reports.cpp', [
        ('                            link > report.link;', '                            link > report.link + 1000;'),
    ]),
    ('signals from before a disconnection kept', 'src/node.cpp', [
        ("    reports_.clear();  // what we heard of others' ends while connected is no proof now\n", ''),
    ]),
    ("a leader's reported end ignored", 'src/node.cpp', [
        ('    if (election_.following() && election_.leader() == name) absorb(election_.leader_left(now), now, out);\n',
         ''),
    ]),
    ('unopposed by gossip and old Dead marks', 'src/node.cpp', [
        ('detector_.remaining_above(config_.self, reports_.names(true)) == 0;',
         'detector_.present_above(config_.self, reports_.names()) == 0;'),
    ]),
    ('probes not answered', 'src/node.cpp', [
        ('    if (message.probe && message.type == MessageType::Heartbeat) tell(message.from, out);\n', ''),
    ]),
    ("a reported leader's late heartbeat followed", 'src/node.cpp', [
        ('    if (reports_.pending(message.from)) return out;\n', ''),
    ]),
    ("Docker's starts forgotten", 'src/node.cpp', [
        ('           reports_.started_since(observation.name, observation.at);', '           false;'),
    ]),
]


def suite():
    sim = os.path.join(BUILD, "tests", "sim", "vigil_sim_tests")
    return [
        ("unit", [os.path.join(BUILD, "tests", "unit", "vigil_unit_tests")]),
        ("sim scenarios", [sim, "[scenario]"]),
        ("sim 500 seeds", [sim, "[seeds]"]),
        ("sim 200 seeds, shipped timings", [sim, "[shipped]"]),
        ("sim liveness bounds", [sim, "[liveness]"]),
        ("monitor apoptosis", [os.path.join(BUILD, "tests", "monitor", "vigil_monitor_tests"), "apoptosis*"]),
    ]


def run(cmd, timeout, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, **kw)


def prepare():
    """A copy of the tracked files and an incremental build of the test targets."""
    shutil.rmtree(COPY, ignore_errors=True)
    files = run(["git", "-C", ROOT, "ls-files"], 60).stdout.split()
    for rel in files:
        dest = os.path.join(COPY, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), dest)
    run(["cmake", "-S", COPY, "-B", BUILD, "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DVIGIL_BUILD_EXAMPLES=OFF"], 300,
        check=True)
    build()


def build():
    return run(["cmake", "--build", BUILD, "-j", str(os.cpu_count() or 2), "--target", *TARGETS], 1800)


def killer():
    """The first suite that fails, or None if the mutant survives all."""
    for name, cmd in suite():
        try:
            if run(cmd, 900).returncode != 0:
                return name
        except subprocess.TimeoutExpired:
            return name + " (timed out)"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated fragments of mutant names")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if not args.only or any(f in m[0] for f in args.only.split(","))]
    started = time.monotonic()
    prepare()
    baseline = killer()
    if baseline:
        print(f"mutants: the unmutated tree already fails '{baseline}'; fix that first")
        return 1
    rows, survivors = [], 0
    for name, rel, pairs in chosen:
        path = os.path.join(COPY, rel)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        missing = [old for old, _ in pairs if text.count(old) != 1]
        if missing:
            rows.append((name, f"NOT APPLIED: {missing[0]!r} is not once in {rel}"))
            survivors += 1
            continue
        mutated = text
        for old, new in pairs:
            mutated = mutated.replace(old, new)
        with open(path, "w", encoding="utf-8") as f:
            f.write(mutated)
        try:
            verdict = "BUILD FAILED (a broken mutant)" if build().returncode != 0 else killer()
        finally:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        if verdict is None or verdict.startswith("BUILD"):
            survivors += 1
            verdict = verdict or "SURVIVED"
        rows.append((name, verdict))
        print(f"  {name}: {verdict}", flush=True)
    build()  # leave the scratch build matching the tree
    print("\n| planted defect | killed by |\n| --- | --- |")
    for name, verdict in rows:
        print(f"| {name} | {verdict} |")
    print(f"\n{len(rows) - survivors} of {len(rows)} mutants killed in {time.monotonic() - started:.0f} s")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
