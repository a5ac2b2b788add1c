"""Integration: node names that a shell or an option parser would act on are
restarted literally (scenario f). Each name is valid (printable ASCII, no
space, no comma since EXPECTED_MEMBERS is comma-separated) and, were it ever
run by a shell, would only touch a file in a private temp dir, which must
never appear."""

import glob
import os
import shutil
import signal
import tempfile
import unittest

from itbase import ClusterTest


def dangerous_names(trap_dir):
    touch = f"touch${{IFS}}{trap_dir}/pwned"
    return [
        "--rm",                          # an option to docker, rm, most CLIs
        f"-n;{touch}_semicolon",         # leading dash and a command separator
        f"$({touch}_subst)",             # command substitution
        f"`{touch}_backtick`",           # old-style command substitution
        f"|{touch}_pipe&",               # pipe and background; the highest: leader
    ]


class DangerousNames(ClusterTest):
    def setUp(self):
        self.trap_dir = tempfile.mkdtemp(prefix="vigil-it-trap-")
        self.addCleanup(shutil.rmtree, self.trap_dir, True)
        self.NAMES = dangerous_names(self.trap_dir)
        super().setUp()

    def test_each_killed_node_is_relaunched_with_its_literal_name(self):
        c = self.cluster
        self.expect(self.leader.startswith("|"), f"byte order makes the '|' name lead, not {self.leader!r}")
        offsets = c.log_offsets()
        # All followers at once: several restarts in flight together.
        killed = {name: c.signal(name, signal.SIGKILL)[0] for name in self.followers}

        # First what matters most: once every restart command has ended, no
        # name may have been executed, whatever else went wrong.
        leader_log = lambda: c.log_text(self.leader, offsets[self.leader])
        c.wait_for("every restart command has ended",
                   lambda: all(f"restart of {name} " in leader_log() for name in self.followers), 20)
        traps = glob.glob(os.path.join(self.trap_dir, "*")) + glob.glob("pwned*")
        self.expect(not traps, f"a name was executed: {traps}")

        calls = c.relaunches()
        self.expect(all(len(call["argv"]) == 2 for call in calls),
                    f"the relauncher got extra or missing argv words: {calls}")
        self.expect(sorted(call["argv"][1] for call in calls) == sorted(self.followers),
                    f"each killed name relaunched exactly once, literally: {calls}")
        dead = sorted(name for _, name, _ in c.dead_lines(offsets))
        self.expect(dead == sorted(self.followers), f"DEAD lines name the nodes literally: {dead}")
        for name, record in killed.items():
            self.wait_rejoined(name, record["pid"], self.leader, timeout_s=20)
        c.wait_for(f"all agree on {self.leader!r}", lambda: c.agreed_leader() == self.leader, 10)


if __name__ == "__main__":
    unittest.main()
