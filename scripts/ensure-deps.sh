#!/usr/bin/env bash
# Installs the Debian packages vigil needs to build and test, if missing;
# or, given names (make bench-peers: serf etcd-server etcd-client), those.
set -euo pipefail
packages=(cmake make g++ pkg-config librabbitmq-dev nlohmann-json3-dev libspdlog-dev catch2 rabbitmq-server python3)
[ $# -eq 0 ] || packages=("$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "ensure-deps: installing ${missing[*]}"
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
