#!/usr/bin/env bash
# Makes the two upstream base images exist locally without a registry:
#   $DEBIAN_IMAGE   (debian:bookworm-slim)   debootstrap --variant=minbase, trimmed like
#                                            the official slim image, then `docker import`;
#   $RABBITMQ_IMAGE (rabbitmq:3-management)  docker/rabbitmq/Dockerfile, FROM the image above,
#                                            with Debian's rabbitmq-server package.
# An image that already exists (built earlier, or pulled on a machine with a registry)
# is left alone, so the same Dockerfiles and compose file work in both places.
# With PULL_BASE_IMAGES=1 a missing image is pulled first and built only if that fails.
set -euo pipefail

DEBIAN_IMAGE=${DEBIAN_IMAGE:-debian:bookworm-slim}
RABBITMQ_IMAGE=${RABBITMQ_IMAGE:-rabbitmq:3-management}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PULL_BASE_IMAGES=${PULL_BASE_IMAGES:-0}
here=$(cd "$(dirname "$0")" && pwd)
rootfs_parent="$here/rootfs"   # git-ignored; removed again after a successful import

log() { echo "docker-base-images: $*"; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
try_pull() { [ "$PULL_BASE_IMAGES" = 1 ] && timeout 300 docker pull "$1"; }

# What debian:bookworm-slim does on top of a minbase bootstrap: no docs, man pages or
# translations; no apt caches; no services started by package scripts (there is no init
# in a container); host files that debootstrap copied in are blanked.
slim_down() {
  local root=$1
  mkdir -p "$root/etc/dpkg/dpkg.cfg.d" "$root/etc/apt/apt.conf.d"
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
# Keep images small: packages installed later skip these paths too.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
# Downloaded .deb files and package caches only bloat image layers.
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
Binary::apt::APT::Keep-Downloaded-Packages "false";
Acquire::Languages "none";
EOF
  printf '#!/bin/sh\n# No init in a container: package scripts must not start services.\nexit 101\n' \
    >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  # Same sources as the official image: the release plus its updates and security fixes,
  # so packages installed later match the host's bookworm versions.
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: ${DEBIAN_MIRROR}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/groff/* \
         "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
         "$root"/var/cache/ldconfig/aux-cache "$root"/var/log/*.log "$root"/var/log/apt/*
  : >"$root/etc/resolv.conf"   # Docker bind-mounts its own at run time
  : >"$root/etc/hostname"
  : >"$root/etc/machine-id"
}

build_debian() {
  [ "$(id -u)" -eq 0 ] || { log "debootstrap needs root: run as root (or sudo make ...)" >&2; exit 1; }
  command -v debootstrap >/dev/null || {
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
  }
  local root="$rootfs_parent/debian-bookworm-slim"
  rm -rf "$root" && mkdir -p "$root"
  log "debootstrap --variant=minbase bookworm from $DEBIAN_MIRROR (about a minute)"
  debootstrap --variant=minbase bookworm "$root" "$DEBIAN_MIRROR" >"$rootfs_parent/debootstrap.log" 2>&1 || {
    tail -20 "$rootfs_parent/debootstrap.log" >&2
    exit 1
  }
  slim_down "$root"
  log "docker import -> $DEBIAN_IMAGE"
  tar --numeric-owner -C "$root" -c . |
    docker import -c 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null
  rm -rf "$root" "$rootfs_parent/debootstrap.log"
}

build_rabbitmq() {
  log "docker build $RABBITMQ_IMAGE from Debian's rabbitmq-server (needs the Debian mirror)"
  docker build -q --build-arg "BASE_IMAGE=$DEBIAN_IMAGE" -t "$RABBITMQ_IMAGE" "$here/rabbitmq" >/dev/null
}

mkdir -p "$rootfs_parent"

if have_image "$DEBIAN_IMAGE"; then log "$DEBIAN_IMAGE exists"
elif try_pull "$DEBIAN_IMAGE"; then log "$DEBIAN_IMAGE pulled"
else build_debian
fi

if have_image "$RABBITMQ_IMAGE"; then log "$RABBITMQ_IMAGE exists"
elif try_pull "$RABBITMQ_IMAGE"; then log "$RABBITMQ_IMAGE pulled"
else build_rabbitmq
fi
