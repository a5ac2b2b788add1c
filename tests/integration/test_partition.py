"""Integration: network partitions. Every node reaches the broker through its
own relay.Relay, and a relay that black-holes cuts its node off without
closing anything: the node's connection looks up, it just hears nothing and
nobody hears it (a pulled cable, a dropped route).

Who may be restarted: a node that is cut off really is unreachable, so the
leader on the healthy side may declare it dead and relaunch it. A node that is
connected and healthy must never be restarted, least of all by a cut-off node
(the relauncher runs locally, so a cut-off leader can still kill the others).

RelaySelfTest checks the relay itself against a local echo server (no broker)."""

import re
import socket
import socketserver
import threading
import time
import unittest

from cluster import HEARTBEAT_TIMEOUT_S, RECONNECT_GRACE_S, ClusterError, highest
from itbase import ClusterTest
from relay import Relay

CUT_S = 3 * HEARTBEAT_TIMEOUT_S  # the partition under test, not a wait for something
AGREE_AFTER_HEAL_S = 30.0
# Long enough for a wrong leader to declare a silent node dead: the grace a
# node gives after it (re)connects, then 3 x the timeout.
CALM_AFTER_S = RECONNECT_GRACE_S + 3 * HEARTBEAT_TIMEOUT_S
SETTLE_S = 5.0  # for a failure message only: lets the relauncher finish what a DEAD line began
# A node logs this (once) when its own heartbeats stop coming back through the
# broker for a heartbeat timeout: it knows it may be the one cut off.
NO_ECHO_LINE = re.compile(r"no echo of my own heartbeats")


class PartitionTest(ClusterTest):
    RELAYS = True

    def setUp(self):
        super().setUp()
        c = self.cluster
        self.pids = {name: c.pid_record(name)["pid"] for name in self.NAMES}
        self.offsets = c.log_offsets()

    def touched(self, healthy):
        """What happened, since setUp, to nodes nobody may restart."""
        c = self.cluster
        return {
            "declared dead": sorted((logger, victim) for logger, victim, _ in c.dead_lines(self.offsets)
                                    if victim in healthy),
            "relaunched": sorted(call["argv"][1] for call in c.relaunches()
                                 if len(call["argv"]) == 2 and call["argv"][1] in healthy),
            "process replaced or gone": sorted(name for name in healthy if not c.running(name)
                                               or c.pid_record(name)["pid"] != self.pids[name]),
        }

    def untouched(self, healthy):
        """True, or fails the test at once (so a wait_for/hold stops there)."""
        touched = self.touched(healthy)
        if any(touched.values()):
            # DEAD lines come first (and not all in the same tick); give the
            # relauncher a moment, so the message counts real restarts.
            def caught_up():
                now = self.touched(healthy)
                doomed = {victim for _, victim in now["declared dead"]}
                return set(now["relaunched"]) >= doomed and set(now["process replaced or gone"]) >= doomed
            try:
                self.cluster.wait_for("the relauncher to catch up with the DEAD lines", caught_up, SETTLE_S)
            except ClusterError:
                pass  # then the message says who was declared dead and not (yet) relaunched
            touched = self.touched(healthy)
            hit = set(touched["relaunched"]) | set(touched["process replaced or gone"]) \
                | {victim for _, victim in touched["declared dead"]}
            self.fail(f"{len(hit)} of {len(healthy)} healthy nodes restarted or declared dead "
                      f"({sorted(hit)}): {touched}" + self.cluster.diagnostics())
        return True

    def cut(self, names, healthy):
        """Black-holes the relays of `names` for CUT_S, failing as soon as a
        healthy node is touched; always heals. Returns the wall time of the heal."""
        c = self.cluster
        relays = {name: c.relays[name] for name in names}
        try:
            for relay in relays.values():
                relay.blackhole(True)
            # blackhole() returning means not one more byte gets through.
            before = {name: relay.stats() for name, relay in relays.items()}
            c.hold(f"no healthy node touched while {sorted(names)} are cut off",
                   lambda: self.untouched(healthy), CUT_S)
            during = {name: relay.stats() for name, relay in relays.items()}
        finally:
            for relay in relays.values():
                relay.blackhole(False)
        healed_at = time.time()
        for name in names:
            # Proof that the fault was what it claims: silence, but no close.
            self.expect(during[name]["forwarded"] == before[name]["forwarded"],
                        f"the relay of {name!r} forwarded bytes while black-holed: {before[name]} -> {during[name]}")
            self.expect(during[name]["dropped"] > before[name]["dropped"],
                        f"the relay of {name!r} dropped nothing: was {name!r} connected through it? {during[name]}")
            self.expect(during[name]["open"] >= 1, f"the relay of {name!r} lost its connections: {during[name]}")
        return healed_at

    def agree_after_heal(self, healthy):
        c = self.cluster
        c.wait_for(f"one leader, {self.leader!r}, agreed by all after the heal",
                   lambda: self.untouched(healthy) and c.agreed_leader() == self.leader, AGREE_AFTER_HEAL_S)
        c.hold("no healthy node touched after the heal, at most one leader",
               lambda: self.untouched(healthy) and c.agreed_leader() in (self.leader, None), CALM_AFTER_S)
        c.wait_for(f"all agree on {self.leader!r}", lambda: c.agreed_leader() == self.leader, 10)

    def said_cut_off(self, name):
        """The node logged that it cannot hear itself (and so steps down)."""
        self.expect(NO_ECHO_LINE.search(self.cluster.log_text(name, self.offsets[name])),
                    f"{name!r} never logged that it could not hear its own heartbeats")

    def dead_lines_by(self, logger):
        return [(who, victim) for who, victim, _ in self.cluster.dead_lines(self.offsets) if who == logger]


class BrokerStall(PartitionTest):
    def test_stalled_broker_restarts_nobody_and_one_leader_after(self):
        c, everyone = self.cluster, set(self.NAMES)
        self.cut(self.NAMES, everyone)
        for name in self.NAMES:
            self.said_cut_off(name)
        self.agree_after_heal(everyone)
        statuses = {name: c.status(name) for name in self.NAMES}
        self.expect(all(s and s["restarts_issued"] == 0 for s in statuses.values()),
                    f"restarts issued: { {n: s and s['restarts_issued'] for n, s in statuses.items()} }")


class LeaderCut(PartitionTest):
    def test_cut_off_leader_restarts_nobody_and_one_leader_after(self):
        c, cut = self.cluster, self.leader
        healthy = set(self.followers)
        successor = highest(self.followers)
        self.cut([cut], healthy)
        self.said_cut_off(cut)
        self.expect(not self.dead_lines_by(cut),
                    f"the cut-off leader {cut!r} declared others dead: {self.dead_lines_by(cut)}")

        # The survivors moved on without it (the logs keep that after the heal).
        def followed_successor(name):
            text = c.log_text(name, self.offsets[name])
            return ("I am the leader (term" if name == successor else f"leader is {successor} (term") in text
        self.expect(all(followed_successor(name) for name in self.followers),
                    f"the survivors did not all follow {successor!r} during the cut")
        # It really was unreachable: only the survivors' leader may have said so.
        loggers = {who for who, victim, _ in c.dead_lines(self.offsets) if victim == cut}
        self.expect(loggers <= {successor}, f"{cut!r} declared dead by {loggers}, not only by {successor!r}")

        self.agree_after_heal(healthy)
        self.expect(not self.dead_lines_by(cut),
                    f"the once cut-off leader {cut!r} declared others dead: {self.dead_lines_by(cut)}")


class FollowerCut(PartitionTest):
    def test_cut_off_follower_alone_is_relaunched_and_rejoins(self):
        c, victim = self.cluster, "b"
        healthy = set(self.NAMES) - {victim}
        healed_at = self.cut([victim], healthy)

        # CUT_S is 3 x the timeout: the leader must have seen it go silent by now.
        dead = c.wait_for(f"a DEAD line for {victim!r}",
                          lambda: [d for d in c.dead_lines(self.offsets) if d[1] == victim], 2)
        self.expect({logger for logger, _, _ in dead} == {self.leader},
                    f"only the leader {self.leader!r} may declare {victim!r} dead: {dead}")
        self.expect(min(t for _, _, t in dead) < healed_at, f"{victim!r} declared dead only after the heal: {dead}")
        # The relaunched node connects through its relay, still black-holed
        # until the heal, so it joins after the heal.
        new = self.wait_rejoined(victim, self.pids[victim], self.leader, AGREE_AFTER_HEAL_S)
        self.expect(new["by"] == "relaunch", f"{victim!r} was started by {new['by']}, not the relauncher")
        self.agree_after_heal(healthy)
        calls = [call["argv"][1:] for call in c.relaunches()]
        self.expect(calls and all(call == [victim] for call in calls), f"relaunch calls: {calls}")


class _Echo(socketserver.BaseRequestHandler):
    """Echoes everything back and keeps a copy in server.received; its
    sockets are in server.conns, so a test can also send unasked."""

    def handle(self):
        with self.server.lock:
            self.server.conns.append(self.request)
        for _ in range(100000):  # bounded; ends at EOF anyway
            data = self.request.recv(65536)
            if not data:
                return
            with self.server.lock:
                self.server.received += data
            self.request.sendall(data)


class RelaySelfTest(unittest.TestCase):
    """The relay on its own, against a local echo server instead of the broker."""

    SILENCE_S = 0.5  # how long "nothing arrives" is watched for

    def setUp(self):
        self.echo = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
        self.echo.daemon_threads = True
        self.echo.lock, self.echo.received, self.echo.conns = threading.Lock(), bytearray(), []
        threading.Thread(target=self.echo.serve_forever, args=(0.05,), daemon=True).start()
        self.addCleanup(self.echo.server_close)
        self.addCleanup(self.echo.shutdown)
        self.relay = Relay(self.echo.server_address)
        self.addCleanup(self.relay.close)

    def connect(self):
        sock = socket.create_connection((self.relay.host, self.relay.port), timeout=5)
        self.addCleanup(sock.close)
        return sock

    def expect_echo(self, sock, data):
        sock.settimeout(5)
        got = b""
        for _ in range(len(data)):
            if got == data:
                break
            chunk = sock.recv(len(data) - len(got))
            self.assertTrue(chunk, "the relay closed the connection")
            got += chunk
        self.assertEqual(got, data)

    def expect_silence(self, sock):
        """Nothing arrives for SILENCE_S, and the connection is not closed either."""
        sock.settimeout(self.SILENCE_S)
        with self.assertRaises(socket.timeout, msg="a black-holed relay delivered bytes or closed"):
            sock.recv(1)

    def received(self):
        with self.echo.lock:
            return bytes(self.echo.received)

    def upstream_side(self, index):
        """The echo server's socket of the index-th relayed connection (call
        after an echo on it: then its handler runs)."""
        with self.echo.lock:
            return self.echo.conns[index]

    def test_forwards_blackholes_both_ways_without_closing_and_heals(self):
        old = self.connect()
        old.sendall(b"ping")
        self.expect_echo(old, b"ping")
        server_side = self.upstream_side(0)

        self.relay.blackhole(True)
        old.sendall(b"lost")
        server_side.sendall(b"lost down")  # the other direction
        new = self.connect()  # still accepted while black-holed
        new.sendall(b"lost too")
        self.expect_silence(old)
        self.expect_silence(new)
        self.assertEqual(self.received(), b"ping", "upstream got bytes through the black hole")
        self.assertEqual(self.relay.stats()["open"], 2)
        self.assertEqual(self.relay.stats()["dropped"], len(b"lost") + len(b"lost down") + len(b"lost too"))

        self.relay.blackhole(False)
        old.sendall(b"back")
        self.expect_echo(old, b"back")  # not b"lostback": dropped bytes stay dropped
        new.sendall(b"new")
        self.expect_echo(new, b"new")
        self.assertEqual(self.received(), b"pingbacknew")

    def test_close_stops_the_thread_and_the_listener(self):
        sock = self.connect()
        sock.sendall(b"x")
        self.expect_echo(sock, b"x")
        self.relay.close()
        self.assertFalse(self.relay._thread.is_alive())
        sock.settimeout(5)
        self.assertEqual(sock.recv(1), b"", "close() left the relayed connection open")
        with self.assertRaises(OSError):
            socket.create_connection((self.relay.host, self.relay.port), timeout=2).close()


if __name__ == "__main__":
    unittest.main()
