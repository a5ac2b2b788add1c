#!/usr/bin/env bash
# vigil end to end (`make e2e`): the service images, then three throw-away deployments
# under Docker Compose, killed for real (tests/e2e/test_e2e.py says which and how).
# Arguments go to test_e2e.py (e.g. --only chaos). VIGIL_E2E_SKIP_IMAGES=1 skips
# `make docker-image` (images built already).
set -uo pipefail
cd "$(dirname "$0")/../.."

export VIGIL_E2E_STARTED=$(date +%s)  # test_e2e.py prints the total, images included
export VIGIL_E2E_DIR=${VIGIL_E2E_DIR:-$PWD/build/e2e}

if ! docker info >/dev/null 2>&1; then
  echo "e2e: no Docker Engine answers here"
  echo "0 passed, 1 failed"
  exit 1
fi
if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi

# The test tears each deployment down itself; this catches what a crash of the test
# leaves behind: every compose file under the work folder is one of ours (project vigil-e2e).
teardown() {
  shopt -s nullglob
  for file in "$VIGIL_E2E_DIR"/*/docker-compose.yaml; do
    timeout 180 "${compose[@]}" -p vigil-e2e -f "$file" down -v --remove-orphans -t 5 >/dev/null 2>&1 || true
  done
}
trap teardown EXIT
trap 'exit 130' INT TERM

if [ "${VIGIL_E2E_SKIP_IMAGES:-0}" != 1 ]; then
  began=$(date +%s)
  if ! make --no-print-directory docker-image; then
    echo "e2e: make docker-image failed"
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "e2e: make docker-image took $(( $(date +%s) - began )) s"
fi

python3 tests/e2e/test_e2e.py "$@"
