#!/usr/bin/env python3
"""Runs one integration TestCase for ctest:
    run_test.py --node <vigil_test_node> <module.Class>
Exit 0 = passed, 1 = failed, 77 = every test skipped (ctest SKIP_RETURN_CODE)."""

import os
import sys
import time
import unittest

EXIT_SKIPPED = 77


def main(argv):
    if len(argv) != 4 or argv[1] != "--node":
        print(__doc__, file=sys.stderr)
        return 2
    os.environ["VIGIL_TEST_NODE"] = os.path.abspath(argv[2])
    suite = unittest.defaultTestLoader.loadTestsFromName(argv[3])
    started = time.monotonic()
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    print(f"{argv[3]}: {time.monotonic() - started:.1f} s", flush=True)
    if not result.wasSuccessful():
        return 1
    if result.testsRun and len(result.skipped) == result.testsRun:
        return EXIT_SKIPPED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
