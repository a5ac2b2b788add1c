# vigil: the two commands a newcomer needs are `make docker-compose-up` and `make test`.
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps broker build test test-main test-asan test-tsan bench bench-scale bench-peers e2e mutants clean

all: build

deps:
	@scripts/ensure-deps.sh

broker: deps
	@scripts/ensure-broker.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)

# Everything: the full suite, then ASan+UBSan over all but the 30 s broker
# outage (100 seeds per sweep there: the full sweeps ran in the main suite),
# then TSan over the threaded tests.
test: test-main test-asan test-tsan

test-main: broker build
	ctest --test-dir $(BUILD) --output-on-failure --timeout 900

test-asan: broker
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVIGIL_SANITIZE=address -DVIGIL_BUILD_EXAMPLES=OFF
	cmake --build build-asan -j$(JOBS)
	VIGIL_SIM_SEEDS=100 ctest --test-dir build-asan --output-on-failure -L 'unit|sim|threads|integration' -E broker_outage --timeout 900

test-tsan: broker
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DVIGIL_SANITIZE=thread -DVIGIL_BUILD_EXAMPLES=OFF
	cmake --build build-tsan -j$(JOBS)
	ctest --test-dir build-tsan --output-on-failure -L threads --timeout 900

# Figures, not asserts: pulse() cost, and kill-to-DEAD / kill-to-rejoined /
# leader-kill-to-agreed for a 5-node cluster on the real broker.
bench: broker build
	$(BUILD)/tests/bench/vigil_bench_pulse
	python3 tests/bench/latency_probe.py --node $(BUILD)/tests/integration/vigil_test_node --trials 5

# 20, 50, 100 and 200 real idle nodes on the local broker, default timeouts:
# time to one leader, hold, restarts, CPU and memory per node, broker load,
# kill -9 of a tenth, then the idle cost alone. About 13 minutes; HOLD=10m
# for the long run.
SIZES ?= 20,50,100,200
HOLD  ?= 60s
bench-scale: broker build
	python3 -u tests/bench/bench_scale.py --node $(BUILD)/tests/integration/vigil_test_node --sizes $(SIZES) --hold $(HOLD)

# vigil side by side with HashiCorp Serf and etcd (Debian's packages, installed
# if missing), each with its default timings, in one run: a member killed ->
# its verdict, a leader killed -> a new one, idle CPU and memory per node;
# prints medians (max) and the ratios vigil / peer. The vigil part holds the
# broker lock /tmp/vigil-broker.lock. About 8 minutes with the defaults.
TRIALS      ?= 5
IDLE_WINDOW ?= 60
bench-peers: broker build
	@scripts/ensure-deps.sh serf etcd-server etcd-client
	python3 -u tests/bench/bench_peers.py --node $(BUILD)/tests/integration/vigil_test_node --trials $(TRIALS) --idle-window $(IDLE_WINDOW)

# Each planted defect (scripts/mutants.py) must be killed by the fast suite;
# prints a table. About ten minutes, so not part of `make test`.
mutants: broker
	nice -n 10 python3 scripts/mutants.py

# The deployment under Docker Compose, killed and healed for real (needs a Docker Engine).
e2e: deps
	tests/e2e/run.sh

clean:
	rm -rf $(BUILD) build-asan build-tsan build-mutants

-include docker/docker.mk
