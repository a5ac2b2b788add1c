"""Integration: fast crash signals from the real broker's event exchange
(rabbitmq_event_exchange), with the library's DEFAULT timeouts (heartbeat 2 s,
timeout 6 s, election 3 s), so that what heartbeats alone would take is far
from what the signals take:

- kill -9 of a follower: the leader restarts it because its connection closed
  and did not come back within RECONNECT_WINDOW (1 s), not after 6 s of silence;
- kill -9 of the leader: every survivor follows the highest one well before a
  heartbeat timeout, and the old leader takes over again once it is back;
- a connection that blinks (closed, back within the window) is no death;
- a broker user that may not read amq.rabbitmq.event: the nodes say so, and
  still heal by heartbeats.

Elapsed times are printed, not asserted tightly: the assertions are on which
path acted (the log's reason) and bounds that heartbeats alone cannot meet."""

import os
import shutil
import signal
import subprocess
import time
import unittest

from cluster import highest
from itbase import ClusterTest

DEFAULT_HEARTBEAT_TIMEOUT_S = 6.0
RECONNECT_WINDOW_S = 1.0
SIGNAL_LINE = "is gone: its broker connection closed and it did not reconnect"


class FastSignals(ClusterTest):
    TIMEOUTS = {}  # the library's defaults

    def signalled_deaths(self, offsets):
        return [(name, line) for name in self.NAMES for line in self.cluster.log_text(name, offsets[name]).splitlines()
                if SIGNAL_LINE in line]

    def test_killed_follower_is_restarted_once_its_connection_stays_closed(self):
        c, victim = self.cluster, "alpha"
        offsets = c.log_offsets()
        killed_at = time.time()
        killed, _, _ = c.signal(victim, signal.SIGKILL)
        dead = c.wait_for(f"a DEAD line for {victim!r}",
                          lambda: [d for d in c.dead_lines(offsets) if d[1] == victim], DEFAULT_HEARTBEAT_TIMEOUT_S)
        took = dead[0][2] - killed_at
        print(f"\nkill -9 {victim} -> restart issued: {took:.3f} s (window {RECONNECT_WINDOW_S} s)", flush=True)
        self.expect({logger for logger, _, _ in dead} == {self.leader}, f"only the leader restarts: {dead}")
        reasons = self.signalled_deaths(offsets)
        self.expect([name for name, _ in reasons] == [self.leader] and victim in reasons[0][1],
                    f"the leader's reason is the closed connection: {reasons}")
        # Silence could not have: the victim was heard at most an interval before the kill.
        self.expect(took < DEFAULT_HEARTBEAT_TIMEOUT_S - 2.0, f"restart issued {took:.3f} s after the kill")
        self.wait_rejoined(victim, killed["pid"], self.leader, timeout_s=20)
        self.expect([call["argv"][1:] for call in c.relaunches()] == [[victim]], f"relaunches: {c.relaunches()}")

    def test_killed_leader_is_replaced_at_once_and_takes_over_again(self):
        c, old_leader = self.cluster, self.leader
        survivors = self.followers
        successor = highest(survivors)
        offsets = c.log_offsets()
        killed_at = time.time()
        killed, _, _ = c.signal(old_leader, signal.SIGKILL)
        c.wait_for(f"every survivor follows {successor!r}",
                   lambda: c.agreed_leader(survivors) == successor, DEFAULT_HEARTBEAT_TIMEOUT_S, poll_s=0.01)
        took = time.time() - killed_at
        print(f"\nkill -9 leader {old_leader} -> all survivors agree on {successor}: {took:.3f} s", flush=True)
        # Heartbeats alone: a timeout of silence, then an election.
        self.expect(took < DEFAULT_HEARTBEAT_TIMEOUT_S - 2.0, f"survivors agreed {took:.3f} s after the kill")
        self.expect(not any("I am the leader" in c.log_text(name, offsets[name]) for name in survivors
                            if name != successor), "only the successor led")
        self.wait_rejoined(old_leader, killed["pid"], old_leader, timeout_s=20)
        c.wait_for(f"all agree on {old_leader!r} again", lambda: c.agreed_leader() == old_leader, 20)
        back = time.time() - killed_at
        print(f"kill -9 leader {old_leader} -> it leads again, all agree: {back:.3f} s", flush=True)
        self.expect([call["argv"][1:] for call in c.relaunches()] == [[old_leader]], f"relaunches: {c.relaunches()}")


class BlinkedConnection(ClusterTest):
    TIMEOUTS = {}
    RELAYS = True  # each node reaches the broker through its own relay, which can close its connection

    def test_a_connection_back_within_the_window_is_no_death(self):
        c, victim = self.cluster, "b"
        offsets = c.log_offsets()
        pid = c.pid_record(victim)["pid"]
        reconnects_before = c.status(victim)["reconnects"]
        c.relays[victim].reset()
        c.wait_for(f"{victim!r} reconnected", lambda: (c.status(victim) or {}).get("reconnects", 0) > reconnects_before, 5)
        # The leader took the closure as a report, and the comeback disproved it.
        c.wait_for("the leader's report disproved",
                   lambda: (c.status(self.leader) or {}).get("signals", {}).get("disproved", 0) >= 1, 5)
        c.hold("no restart", lambda: not c.relaunches() and not c.dead_lines(offsets), 3 * RECONNECT_WINDOW_S)
        self.expect(c.pid_record(victim)["pid"] == pid, "the blinked node kept its process")
        self.expect(c.status(self.leader)["signals"]["confirmed"] == 0, f"leader status: {c.status(self.leader)}")


def rabbitmqctl(*args):
    return subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)


class WithoutBrokerEvents(ClusterTest):
    """A broker user that may not read amq.rabbitmq.event (as on a broker
    without the plugin): the nodes say so, and heartbeats still heal."""
    USER = f"vigil-no-events-{os.getpid()}"
    PASSWORD = "no-events"
    EXTRA_ENV = {"RABBITMQ_USER": USER, "RABBITMQ_PASSWORD": PASSWORD}

    @classmethod
    def setUpClass(cls):
        if not shutil.which("rabbitmqctl"):
            raise unittest.SkipTest("rabbitmqctl is not here (the broker is not local)")
        for args in (("add_user", cls.USER, cls.PASSWORD),
                     ("set_permissions", "-p", "/", cls.USER, ".*", ".*", r"^(?!amq\.rabbitmq\.event$).*")):
            done = rabbitmqctl(*args)
            if done.returncode != 0:
                raise AssertionError(f"rabbitmqctl {' '.join(args)}: {done.stderr}")

    @classmethod
    def tearDownClass(cls):
        rabbitmqctl("delete_user", cls.USER)

    def test_nodes_say_so_and_heal_by_heartbeats(self):
        c, victim = self.cluster, "alpha"
        for name in self.NAMES:
            self.expect("crash signals: no broker events" in c.log_text(name), f"{name!r} does not say it")
            self.expect(c.status(name)["broker_events"] is False, f"{name!r} status: {c.status(name)}")
        offsets = c.log_offsets()
        killed, _, _ = c.signal(victim, signal.SIGKILL)
        c.wait_for(f"a DEAD line for {victim!r}", lambda: [d for d in c.dead_lines(offsets) if d[1] == victim], 10)
        self.expect(f"node {victim} is silent for too long" in c.log_text(self.leader, offsets[self.leader]),
                    "the leader found it by silence")
        self.wait_rejoined(victim, killed["pid"], self.leader)


if __name__ == "__main__":
    unittest.main()
