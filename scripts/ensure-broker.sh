#!/usr/bin/env bash
# Makes sure a RabbitMQ broker answers on ${VIGIL_BROKER_HOST:-127.0.0.1}:${VIGIL_BROKER_PORT:-5672};
# starts the local rabbitmq-server (Debian package) if none does.
set -euo pipefail
host=${VIGIL_BROKER_HOST:-127.0.0.1}
port=${VIGIL_BROKER_PORT:-5672}
answers() { timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; }
# The event exchange tells vigil at once when a member's connection closes
# (fast crash signals); without it vigil falls back to heartbeats alone.
events_plugin() {
  command -v rabbitmq-plugins >/dev/null || return 0
  timeout 60 rabbitmq-plugins enable "$@" rabbitmq_event_exchange >/dev/null 2>&1 ||
    echo "ensure-broker: could not enable rabbitmq_event_exchange: crashes are found by heartbeats alone" >&2
}
if answers; then
  echo "ensure-broker: a broker answers on $host:$port"
  case $host in 127.*|localhost) events_plugin ;; esac
  exit 0
fi
command -v rabbitmq-server >/dev/null || { echo "ensure-broker: no broker on $host:$port and rabbitmq-server is not installed" >&2; exit 1; }
echo "ensure-broker: starting rabbitmq-server"
events_plugin --offline
rabbitmq-server -detached
for _ in $(seq 1 120); do
  if answers; then echo "ensure-broker: broker up on $host:$port"; exit 0; fi
  sleep 0.5
done
echo "ensure-broker: rabbitmq-server did not open $host:$port within 60 s" >&2
exit 1
