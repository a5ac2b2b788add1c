"""Integration: crashes and hangs are detected by the leader and healed by the
`command` back-end really relaunching the process (scenarios a, b, c)."""

import signal
import unittest

from cluster import HEARTBEAT_TIMEOUT_S, PULSE_TIMEOUT_S, highest
from itbase import ClusterTest

# Apoptosis may fire up to one watchdog step (<=100 ms) plus one main-loop
# step (50 ms) late; the rest is slack for a loaded two-core machine.
APOPTOSIS_SLACK_S = 1.5


class FollowerKill(ClusterTest):
    def test_killed_follower_is_declared_dead_relaunched_and_rejoins(self):
        c, victim = self.cluster, "alpha"
        offsets = c.log_offsets()
        killed, _, _ = c.signal(victim, signal.SIGKILL)

        dead = c.wait_for(f"a DEAD line for {victim!r}",
                          lambda: [d for d in c.dead_lines(offsets) if d[1] == victim], 10)
        self.expect({logger for logger, _, _ in dead} == {self.leader},
                    f"only the leader {self.leader!r} may declare {victim!r} dead: {dead}")
        new = self.wait_rejoined(victim, killed["pid"], self.leader)
        self.expect(new["by"] == "relaunch", f"{victim!r} was started by {new['by']}, not the relauncher")
        c.wait_for(f"all nodes agree on {self.leader!r} again", lambda: c.agreed_leader() == self.leader, 10)

        code, _ = c.wait_exit(killed["pid"], 5)
        self.expect(code == -signal.SIGKILL, f"the killed process ended with {code}, not SIGKILL")
        # No storm: nothing else gets restarted while we watch a while longer.
        c.hold("exactly one relaunch", lambda: len(c.relaunches()) == 1, 2 * HEARTBEAT_TIMEOUT_S + 1)
        self.expect([call["argv"][1:] for call in c.relaunches()] == [[victim]],
                    f"relaunch calls: {c.relaunches()}")
        self.expect({d[1] for d in c.dead_lines(offsets)} == {victim}, "DEAD lines for other nodes")


class LeaderKill(ClusterTest):
    def test_highest_survivor_leads_then_relaunched_old_leader_takes_over(self):
        c, old_leader = self.cluster, self.leader
        survivors = self.followers
        successor = highest(survivors)
        offsets = c.log_offsets()
        killed, _, _ = c.signal(old_leader, signal.SIGKILL)

        # The logs keep the interim agreement even after the old leader is
        # back (status files move on within a second or two).
        def followed_successor(name):
            text = c.log_text(name, offsets[name])
            return ("I am the leader (term" if name == successor else f"leader is {successor} (term") in text
        c.wait_for(f"every survivor follows {successor!r}",
                   lambda: all(followed_successor(name) for name in survivors), 15)

        dead = c.wait_for(f"a DEAD line for {old_leader!r}",
                          lambda: [d for d in c.dead_lines(offsets) if d[1] == old_leader], 10)
        self.expect({logger for logger, _, _ in dead} == {successor},
                    f"only the new leader {successor!r} may declare {old_leader!r} dead: {dead}")
        self.wait_rejoined(old_leader, killed["pid"], old_leader)
        c.wait_for(f"all 5 agree on {old_leader!r} again (Bully)", lambda: c.agreed_leader() == old_leader, 15)
        self.expect([call["argv"][1:] for call in c.relaunches()] == [[old_leader]],
                    f"relaunch calls: {c.relaunches()}")
        self.expect({d[1] for d in c.dead_lines(offsets)} == {old_leader}, "DEAD lines for other nodes")

    def test_follower_killed_with_the_leader_is_restarted_by_the_successor(self):
        # The successor never watched that follower: only EXPECTED_MEMBERS
        # tells it the follower exists and must be brought back.
        c, old_leader, victim = self.cluster, self.leader, "Zulu"
        successor = highest([name for name in self.followers if name != victim])
        offsets = c.log_offsets()
        killed = {name: c.signal(name, signal.SIGKILL)[0] for name in (victim, old_leader)}

        c.wait_for(f"{successor!r} declares both {victim!r} and {old_leader!r} dead",
                   lambda: {(logger, name) for logger, name, _ in c.dead_lines(offsets)}
                   >= {(successor, victim), (successor, old_leader)}, 20)
        self.wait_rejoined(old_leader, killed[old_leader]["pid"], old_leader)
        self.wait_rejoined(victim, killed[victim]["pid"], old_leader)
        c.wait_for(f"all 5 agree on {old_leader!r} again", lambda: c.agreed_leader() == old_leader, 15)
        self.expect(sorted(call["argv"][1] for call in c.relaunches()) == sorted([victim, old_leader]),
                    f"relaunch calls: {c.relaunches()}")


class Hang(ClusterTest):
    def test_node_that_stops_pulsing_exits_by_itself_and_is_relaunched(self):
        c, victim = self.cluster, "b"
        offsets = c.log_offsets()
        hung, _, signalled_at = c.signal(victim, signal.SIGUSR1)

        code, exited_at = c.wait_exit(hung["pid"], PULSE_TIMEOUT_S + APOPTOSIS_SLACK_S + 3)
        took_s = exited_at - signalled_at
        self.expect(code == 1, f"apoptosis must _exit(1); the hung node ended with {code}")
        self.expect(PULSE_TIMEOUT_S - 0.1 <= took_s <= PULSE_TIMEOUT_S + APOPTOSIS_SLACK_S,
                    f"apoptosis after {took_s:.2f} s, PULSE_TIMEOUT is {PULSE_TIMEOUT_S} s")
        self.expect("apoptosis" in c.log_text(victim, offsets[victim]), "no apoptosis line in the node's log")

        c.wait_for(f"a DEAD line for {victim!r}",
                   lambda: [d for d in c.dead_lines(offsets) if d[1] == victim], 10)
        self.wait_rejoined(victim, hung["pid"], self.leader)
        c.wait_for(f"all nodes agree on {self.leader!r}", lambda: c.agreed_leader() == self.leader, 10)
        self.expect([call["argv"][1:] for call in c.relaunches()] == [[victim]],
                    f"relaunch calls: {c.relaunches()}")


if __name__ == "__main__":
    unittest.main()
