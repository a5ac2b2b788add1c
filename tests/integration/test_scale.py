"""Integration: 100 real nodes on the one broker, with the library's default
timeouts, all started at once (as `docker compose up` would start them). One
leader, the highest, is agreed by all, and stays agreed for a minute with no
restart issued: every node is alive, so any restart is a false positive.
(Before elections were kept linear, 100 nodes never agreed on a leader: every
higher node broadcast an ANSWER to every ELECTION.)"""

import unittest

from cluster import broker_reachable, highest, idle_cluster
from itbase import SANITIZER_REPORT, node_binary

NODES = 100
HOLD_S = 60.0


class HundredNodes(unittest.TestCase):
    def setUp(self):
        if not broker_reachable():
            self.fail("no RabbitMQ broker on 127.0.0.1:5672 (make broker)")
        names = [f"node-{index:03d}" for index in range(NODES)]
        self.cluster = idle_cluster(node_binary(), names, "vigil-it-scale")
        self.addCleanup(self.cluster.close)
        self.leader = highest(names)

    def test_one_leader_agreed_and_held_with_no_restart(self):
        c = self.cluster
        c.start()
        # Default timeouts: listen 3 s, election 3 s, plus the start of 100 processes.
        c.wait_for(f"all {NODES} nodes agree on {self.leader!r}, which hears them all",
                   lambda: c.agreed_leader() == self.leader and c.leader_hears_all(self.leader), 90, poll_s=0.5)
        c.hold(f"all {NODES} nodes keep {self.leader!r} as leader, and nobody is restarted",
               lambda: c.agreed_leader() == self.leader and not c.relaunches(), HOLD_S, poll_s=0.5)
        issued = {name: (c.status(name) or {}).get("restarts_issued") for name in c.names}
        self.assertEqual({name: n for name, n in issued.items() if n}, {}, "restarts issued" + c.diagnostics())
        reports = [line for name in c.names for line in c.log_text(name).splitlines()
                   if SANITIZER_REPORT.search(line)]
        self.assertEqual(reports[:5], [], "sanitizer reports in node logs")
        c.close()  # then the files can go (the cleanup's close() is a no-op)
        c.remove_files()


if __name__ == "__main__":
    unittest.main()
