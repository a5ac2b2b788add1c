#!/usr/bin/env bash
# Makes sure a RabbitMQ broker answers on ${VIGIL_BROKER_HOST:-127.0.0.1}:${VIGIL_BROKER_PORT:-5672};
# starts the local rabbitmq-server (Debian package) if none does.
set -euo pipefail
host=${VIGIL_BROKER_HOST:-127.0.0.1}
port=${VIGIL_BROKER_PORT:-5672}
answers() { timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; }
if answers; then echo "ensure-broker: a broker answers on $host:$port"; exit 0; fi
command -v rabbitmq-server >/dev/null || { echo "ensure-broker: no broker on $host:$port and rabbitmq-server is not installed" >&2; exit 1; }
echo "ensure-broker: starting rabbitmq-server"
rabbitmq-server -detached
for _ in $(seq 1 120); do
  if answers; then echo "ensure-broker: broker up on $host:$port"; exit 0; fi
  sleep 0.5
done
echo "ensure-broker: rabbitmq-server did not open $host:$port within 60 s" >&2
exit 1
