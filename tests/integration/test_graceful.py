"""Integration: a node stopped on purpose (SIGTERM -> monitor.stop() says
goodbye) is not resurrected, whether it was a follower or the leader (scenario e)."""

import signal
import unittest

from cluster import ELECTION_TIMEOUT_S, HEARTBEAT_TIMEOUT_S, RECONNECT_GRACE_S, highest
from itbase import ClusterTest

# Long enough for any leader to have declared a silent node dead several times
# over: 3 x the timeout, plus an election and the grace after connecting.
WATCH_S = 3 * HEARTBEAT_TIMEOUT_S + ELECTION_TIMEOUT_S + RECONNECT_GRACE_S


class GracefulStop(ClusterTest):
    def stop_gracefully(self, name):
        c = self.cluster
        stopped, _, _ = c.signal(name, signal.SIGTERM)
        code, _ = c.wait_exit(stopped["pid"], 10)
        self.expect(code == 0, f"{name!r} should exit 0 after SIGTERM, got {code}")
        self.expect("saying goodbye" in c.log_text(name), f"{name!r} did not say goodbye")
        return stopped

    def expect_never_restarted(self, name, offsets, leader, survivors):
        c = self.cluster
        c.hold(f"no DEAD line and no relaunch while {name!r} is stopped, leader stays {leader!r}",
               lambda: not c.dead_lines(offsets) and not c.relaunches() and not c.running(name)
               and c.agreed_leader(survivors) in (leader, None),
               WATCH_S)
        c.wait_for(f"survivors agree on {leader!r}", lambda: c.agreed_leader(survivors) == leader, 10)
        member = [m for m in c.status(leader)["members"] if m["name"] == name]
        self.expect(member and member[0]["liveness"] == "departed",
                    f"the leader should list {name!r} as departed: {member}")

    def test_stopped_follower_is_not_relaunched(self):
        c, victim = self.cluster, "b"
        offsets = c.log_offsets()
        self.stop_gracefully(victim)
        c.wait_for(f"the leader logs that {victim!r} left",
                   lambda: f"node {victim} left gracefully" in c.log_text(self.leader, offsets[self.leader]), 10)
        survivors = [name for name in self.NAMES if name != victim]
        self.expect_never_restarted(victim, offsets, self.leader, survivors)

    def test_stopped_leader_is_not_relaunched_by_its_successor(self):
        # The goodbye reaches the followers too: the successor, which never
        # watched anybody before, must not resurrect the leader that left.
        c, old_leader = self.cluster, self.leader
        survivors = self.followers
        successor = highest(survivors)
        offsets = c.log_offsets()
        self.stop_gracefully(old_leader)
        c.wait_for(f"survivors agree on {successor!r}", lambda: c.agreed_leader(survivors) == successor, 15)
        self.expect_never_restarted(old_leader, offsets, successor, survivors)


if __name__ == "__main__":
    unittest.main()
