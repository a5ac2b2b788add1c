#!/usr/bin/env python3
"""Writes the Docker Compose file of a vigil deployment from its INI config.

    python3 scripts/generar-compose.py --config config/config.ini [--output docker-compose.yaml]

Services: rabbitmq (with a healthcheck the others wait for), server, worker_1..worker_N,
chaos_monkey. Every vigil container gets CONTAINER_NAME (= its container_name, the name
the leader passes to `docker restart`), EXPECTED_MEMBERS (so a leader also restarts a node
it never heard), the docker socket, and the config file's folder read-only at /app/config.
Python standard library only; the YAML is written by hand in a form both docker-compose
v1 (format "2.4" is the newest with depends_on conditions there) and `docker compose` read.
"""
import argparse
import json
import os
import re
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_WORKERS = 100  # a bound, not a target: a 2-core machine runs a handful
CONTAINER_CONFIG_DIR = "/app/config"
AMQP_PORT = "5672"

# Deployment keys this script reads, with their defaults. The library reads the rest
# (heartbeat and election timeouts, ...) from the same file inside the containers.
DEFAULTS = {
    "WORKERS": "3",
    "WORKLOAD_SIZE": "2000",
    "CHAOS_ENABLED": "false",
    "CHAOS_INTERVAL": "30",
    "CHAOS_SEED": "",
}


class ConfigError(Exception):
    pass


def parse_ini(text):
    """Same rules as vigil's parser: `KEY: value` or `key = value`, keys case-insensitive,
    # and ; comments, [sections] ignored (one flat namespace), optional quotes."""
    values = {}
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line[0] in "#;" or (line[0] == "[" and line[-1] == "]"):
            continue
        match = re.match(r"([^:=]+)[:=](.*)$", line)
        if not match:
            raise ConfigError(f"line {number} is not 'KEY: value' or 'key = value': {line!r}")
        value = re.split(r"[ \t][#;]", match.group(2), maxsplit=1)[0].strip()
        if len(value) >= 2 and value[0] in "\"'" and value[-1] == value[0]:
            value = value[1:-1]
        values[match.group(1).strip().upper()] = value
    return values


def parse_count(key, text, minimum, maximum):
    if not re.fullmatch(r"[0-9]+", text) or not minimum <= int(text) <= maximum:
        raise ConfigError(f"{key}={text!r}: expected an integer in [{minimum}, {maximum}]")
    return int(text)


def parse_bool(key, text):
    lowered = text.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{key}={text!r}: expected true or false")


def check_duration(key, text):
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?\s*(ms|s|min)?", text.lower()) or float(
            re.match(r"[0-9.]+", text).group()) <= 0:
        raise ConfigError(f"{key}={text!r}: expected a positive duration (30, 30s, 500ms)")
    return text


def load_settings(path):
    with open(path, encoding="utf-8") as handle:
        values = {**DEFAULTS, **parse_ini(handle.read())}
    seed = values["CHAOS_SEED"]
    if seed and not re.fullmatch(r"[0-9]{1,19}", seed):
        raise ConfigError(f"CHAOS_SEED={seed!r}: expected an unsigned integer or nothing")
    return {
        "workers": parse_count("WORKERS", values["WORKERS"], 1, MAX_WORKERS),
        "workload_size": str(parse_count("WORKLOAD_SIZE", values["WORKLOAD_SIZE"], 1, 10**9)),
        "chaos_enabled": "true" if parse_bool("CHAOS_ENABLED", values["CHAOS_ENABLED"]) else "false",
        "chaos_interval": check_duration("CHAOS_INTERVAL", values["CHAOS_INTERVAL"]),
        "chaos_seed": seed,
    }


def build_compose(settings, project, config_path, output_path, images):
    workers = [f"worker_{index}" for index in range(1, settings["workers"] + 1)]
    members = ["server", *workers, "chaos_monkey"]
    # Relative to the compose file, as compose resolves it, so the checkout can move.
    config_dir = os.path.relpath(os.path.dirname(os.path.abspath(config_path)),
                                 os.path.dirname(os.path.abspath(output_path)))
    config_dir = config_dir if config_dir.startswith(".") else "./" + config_dir
    plugins_file = os.path.relpath(os.path.join(REPO_ROOT, "docker", "rabbitmq", "enabled_plugins"),
                                   os.path.dirname(os.path.abspath(output_path)))
    plugins_file = plugins_file if plugins_file.startswith(".") else "./" + plugins_file

    def labels(role):
        # vigil.role tells the chaos monkey what it may kill; vigil.deployment (like the
        # com.docker.compose.project label compose adds) keeps it inside this deployment.
        return {"vigil.role": role, "vigil.deployment": project}

    def vigil_service(name, role, image, extra_env=None, extra_volumes=()):
        environment = {
            "CONTAINER_NAME": name,
            "VIGIL_CONFIG": f"{CONTAINER_CONFIG_DIR}/{os.path.basename(config_path)}",
            "VIGIL_DEPLOYMENT": project,
            "EXPECTED_MEMBERS": ",".join(members),
            "RESTART_BACKEND": "docker",
            "RABBITMQ_HOST": "rabbitmq",
            "RABBITMQ_PORT": AMQP_PORT,
            **(extra_env or {}),
        }
        return {
            "image": image,
            "container_name": name,
            # vigil's leader restarts containers; a Docker policy would race with it.
            "restart": "no",
            # tini as PID 1: forwards SIGTERM/SIGUSR1 to the service and reaps children.
            "init": True,
            "environment": environment,
            "labels": labels(role),
            "volumes": [
                f"{config_dir}:{CONTAINER_CONFIG_DIR}:ro",
                "/var/run/docker.sock:/var/run/docker.sock",
                *extra_volumes,
            ],
            "depends_on": {"rabbitmq": {"condition": "service_healthy"}},
        }

    services = {
        "rabbitmq": {
            "image": images["rabbitmq"],
            "container_name": "rabbitmq",
            # The node name (rabbit@<hostname>) and so its data folder stay the same.
            "hostname": "rabbitmq",
            "restart": "no",
            "labels": labels("infrastructure"),
            # The event exchange tells vigil at once when a member's connection
            # closes; mounted, so that the upstream image gets it too.
            "volumes": [f"{plugins_file}:/etc/rabbitmq/enabled_plugins:ro"],
            "healthcheck": {
                # Ready = the AMQP port accepts connections: RabbitMQ opens it last in its
                # boot. Not `rabbitmq-diagnostics`, which starts an Erlang VM each time
                # (about 1 CPU-second, i.e. a fifth of a core at this interval, for good).
                "test": ["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + AMQP_PORT],
                "interval": "3s",
                "timeout": "5s",
                "retries": 40,
                "start_period": "5s",
            },
        },
        "server": vigil_service("server", "server", images["server"],
                                {"WORKLOAD_SIZE": settings["workload_size"], "STATE_DIR": "/data"},
                                ["server_state:/data"]),
    }
    for name in workers:
        services[name] = vigil_service(name, "worker", images["worker"])
    chaos_env = {"CHAOS_ENABLED": settings["chaos_enabled"], "CHAOS_INTERVAL": settings["chaos_interval"]}
    if settings["chaos_seed"]:
        chaos_env["CHAOS_SEED"] = settings["chaos_seed"]
    services["chaos_monkey"] = vigil_service("chaos_monkey", "chaos_monkey", images["chaos_monkey"], chaos_env)
    return {"version": "2.4", "services": services, "volumes": {"server_state": {}}}


def yaml_scalar(value):
    # JSON scalars are valid YAML; quoting every string keeps "false" or "3" a string,
    # which compose requires for environment values.
    return json.dumps(value)


def yaml_key(key):
    return key if re.fullmatch(r"[A-Za-z0-9_.-]+", key) else json.dumps(key)


def yaml_lines(value, indent=0):
    pad = "  " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                yield f"{pad}{yaml_key(key)}:"
                yield from yaml_lines(item, indent + 1)
            else:
                yield f"{pad}{yaml_key(key)}: {'{}' if item == {} else yaml_scalar(item)}"
    else:
        for item in value:
            if isinstance(item, (dict, list)):
                raise ValueError("lists of collections are not needed here")
            yield f"{pad}- {yaml_scalar(item)}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.path.join(REPO_ROOT, "config", "config.ini"))
    parser.add_argument("--output", default=os.path.join(REPO_ROOT, "docker-compose.yaml"))
    parser.add_argument("--project", default="vigil", help="the compose project name (a label value)")
    parser.add_argument("--image-prefix", default="vigil/")
    parser.add_argument("--image-tag", default="latest")
    parser.add_argument("--rabbitmq-image", default="rabbitmq:3-management")
    args = parser.parse_args(argv)

    try:
        settings = load_settings(args.config)
    except (OSError, ConfigError) as error:
        print(f"generar-compose: {args.config}: {error}", file=sys.stderr)
        return 1
    images = {name: f"{args.image_prefix}{name}:{args.image_tag}" for name in ("server", "worker", "chaos_monkey")}
    images["rabbitmq"] = args.rabbitmq_image
    compose = build_compose(settings, args.project, args.config, args.output, images)

    header = [f"# Generated by scripts/generar-compose.py from {args.config}.",
              "# Edit that file and regenerate (make docker-compose-up does); do not edit this one."]
    temporary = args.output + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write("\n".join([*header, *yaml_lines(compose)]) + "\n")
    os.replace(temporary, args.output)  # never leave a half-written file behind
    print(f"generar-compose: wrote {args.output}: server, {settings['workers']} workers, chaos_monkey, rabbitmq")
    return 0


if __name__ == "__main__":
    sys.exit(main())
