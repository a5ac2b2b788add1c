"""Common base of the integration tests: one fresh 5-node cluster per test,
always torn down by pid; logs kept (and their path printed) when a test fails."""

import os
import re
import unittest

from cluster import Cluster

# Mixed case and lengths, so byte-wise order matters: the leader is "d9",
# not "charlie_long_name" (longest) nor "Zulu" (case-insensitive highest).
DEFAULT_NAMES = ["Zulu", "alpha", "b", "charlie_long_name", "d9"]
# Reports of a sanitizer build of the test node: a node that ASan aborts
# would be relaunched and the scenario could still pass, so look for them.
SANITIZER_REPORT = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|WARNING: ThreadSanitizer")


def node_binary():
    binary = os.environ.get("VIGIL_TEST_NODE")
    if not binary:
        raise unittest.SkipTest("VIGIL_TEST_NODE is not set (run through ctest or run_test.py --node)")
    return binary


class ClusterTest(unittest.TestCase):
    NAMES = DEFAULT_NAMES
    EXTRA_ENV = None
    RELAYS = False  # True: each node reaches the broker through its own relay.Relay
    EXPECTED_MEMBERS = True  # False: EXPECTED_MEMBERS unset, members known by hearing and gossip
    TIMEOUTS = None  # None: the fast integration timings (cluster.TIMEOUTS); {}: the library's defaults

    def setUp(self):
        self.cluster = Cluster(node_binary(), self.NAMES, extra_env=self.EXTRA_ENV, relays=self.RELAYS,
                               expected_members=self.EXPECTED_MEMBERS, timeouts=self.TIMEOUTS,
                               **({} if self.TIMEOUTS is None else {"status_fresh_s": 3.5}))
        self.addCleanup(self.cluster.close)  # runs even when setUp fails below
        self.leader = self.cluster.start_and_converge()
        self.followers = [name for name in self.NAMES if name != self.leader]

    def tearDown(self):
        reports = [(name, line) for name in self.NAMES for line in self.cluster.log_text(name).splitlines()
                   if SANITIZER_REPORT.search(line)]
        self.expect(not reports, f"sanitizer reports in node logs: {reports[:5]}")

    def run(self, result=None):
        result = result or self.defaultTestResult()
        failed_before = len(result.failures) + len(result.errors)
        super().run(result)
        cluster = getattr(self, "cluster", None)
        if cluster is not None:
            if len(result.failures) + len(result.errors) > failed_before or os.environ.get("VIGIL_IT_KEEP"):
                print(f"\n{self.id()}: kept logs and state in {cluster.dir}", flush=True)
            else:
                cluster.remove_files()
        return result

    def expect(self, condition, message):
        """assertTrue with the cluster's log tails attached."""
        if not condition:
            self.fail(message + self.cluster.diagnostics())

    def relaunches_of(self, name):
        return [call for call in self.cluster.relaunches() if call["argv"][1:] == [name]]

    def wait_rejoined(self, name, old_pid, leader, timeout_s=15.0):
        """Waits for a new process of `name` that is connected and follows `leader`."""
        def rejoined():
            record = self.cluster.pid_record(name)
            return record and record["pid"] != old_pid and self.cluster.follows(name, leader) and record
        return self.cluster.wait_for(f"{name!r} relaunched (pid != {old_pid}) and following {leader!r}",
                                     rejoined, timeout_s)
