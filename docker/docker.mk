# vigil under Docker Compose; included by the top Makefile (which defines BUILD, JOBS, deps).
#   make docker-image          base images if missing, the example binaries, the service images
#   make docker-compose-up     regenerate docker-compose.yaml from config/config.ini and start it
#   make docker-compose-logs   follow every container's log
#   make docker-compose-down   stop and remove the deployment, its volume included
# See docker/README.md for how the base images are made without a registry.

DOCKER             ?= docker
COMPOSE_PROJECT    ?= vigil
COMPOSE_YAML       ?= docker-compose.yaml
VIGIL_CONFIG_INI   ?= config/config.ini
VIGIL_IMAGE_PREFIX ?= vigil/
VIGIL_IMAGE_TAG    ?= latest
DEBIAN_IMAGE       ?= debian:bookworm-slim
RABBITMQ_IMAGE     ?= rabbitmq:3-management
# 1: try `docker pull` for a missing base image before building a local stand-in.
PULL_BASE_IMAGES   ?= 0

VIGIL_SERVICES := server worker chaos_monkey
DOCKER_CONTEXT := $(BUILD)/docker-context

# `docker compose` (v2) when it answers, else docker-compose (v1, Debian's package).
COMPOSE_CMD ?= $(shell $(DOCKER) compose version >/dev/null 2>&1 && echo "$(DOCKER) compose" || echo docker-compose)
COMPOSE = $(COMPOSE_CMD) -p $(COMPOSE_PROJECT) -f $(COMPOSE_YAML)

.PHONY: docker-base-images docker-binaries docker-image docker-compose-file \
        docker-compose-up docker-compose-down docker-compose-logs docker-probe-mirror

# Skips every image that already exists, so this is cheap after the first time.
docker-base-images:
	@DEBIAN_IMAGE='$(DEBIAN_IMAGE)' RABBITMQ_IMAGE='$(RABBITMQ_IMAGE)' \
	  PULL_BASE_IMAGES='$(PULL_BASE_IMAGES)' docker/build-base-images.sh

# The binaries are built once on the host (Debian 12, as the image) and only copied in;
# debug info is stripped so the images stay small, symbols stay for backtraces.
docker-binaries: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_BUILD_EXAMPLES=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS) --target $(VIGIL_SERVICES)
	rm -rf $(DOCKER_CONTEXT) && mkdir -p $(DOCKER_CONTEXT)
	for s in $(VIGIL_SERVICES); do strip --strip-debug -o $(DOCKER_CONTEXT)/$$s $(BUILD)/examples/$$s || exit 1; done

docker-image: docker-base-images docker-binaries
	for s in $(VIGIL_SERVICES); do \
	  $(DOCKER) build -q --build-arg BASE_IMAGE=$(DEBIAN_IMAGE) -f docker/Dockerfile --target $$s \
	    -t $(VIGIL_IMAGE_PREFIX)$$s:$(VIGIL_IMAGE_TAG) $(DOCKER_CONTEXT) >/dev/null || exit 1; \
	done
	@$(DOCKER) images --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | \
	  grep -E '^($(VIGIL_IMAGE_PREFIX)|$(DEBIAN_IMAGE)|$(RABBITMQ_IMAGE))' || true

docker-compose-file:
	python3 scripts/generar-compose.py --config $(VIGIL_CONFIG_INI) --output $(COMPOSE_YAML) \
	  --project $(COMPOSE_PROJECT) --image-prefix $(VIGIL_IMAGE_PREFIX) --image-tag $(VIGIL_IMAGE_TAG) \
	  --rabbitmq-image $(RABBITMQ_IMAGE)

docker-compose-up: docker-image docker-compose-file
	$(COMPOSE) up -d
	@echo
	@echo "vigil is up ($(COMPOSE_CMD), project $(COMPOSE_PROJECT))."
	@echo "  all logs:        make docker-compose-logs"
	@echo "  one container:   docker logs -f worker_1"
	@echo "  break something: docker kill worker_1   (the leader logs 'Node worker_1 is DEAD. Restarting...')"
	@echo "  stop:            make docker-compose-down"

# Regenerated first so that it names the same project; --remove-orphans also takes
# workers left over from a config that had more of them.
docker-compose-down: docker-compose-file
	$(COMPOSE) down -v --remove-orphans

docker-compose-logs: docker-compose-file
	$(COMPOSE) logs -f

# Can a container reach the Debian mirror during `docker build`? (The Dockerfiles here
# install packages with apt-get; see docker/README.md.)
docker-probe-mirror:
	@id=$$(printf 'FROM %s\nRUN timeout 60 apt-get -o Acquire::http::Timeout=10 -o Acquire::Retries=0 update\n' \
	    '$(DEBIAN_IMAGE)' | timeout 120 $(DOCKER) build --no-cache -q - 2>/dev/null) \
	  && { echo "docker-probe-mirror: the Debian mirror is reachable from docker build"; $(DOCKER) rmi -f $$id >/dev/null; } \
	  || { echo "docker-probe-mirror: the Debian mirror is NOT reachable from docker build"; exit 1; }
