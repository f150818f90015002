#!/usr/bin/env bash
# Idempotent setup of everything the project needs on a fresh Debian machine: system packages,
# the Python virtualenv with pinned dependencies, and the package itself (editable).
# A second run finds everything in place and takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(mariadb-server mariadb-client mariadb-backup zstd prometheus maven openjdk-17-jre-headless redis-server chromium chromium-driver
              postgresql default-libmysqlclient-dev pkg-config build-essential
              prometheus-alertmanager prometheus-node-exporter prometheus-mysqld-exporter prometheus-redis-exporter)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Airflow's StatsD metrics exporter: no Debian package, built from the Go module proxy (version pinned)
STATSD_EXPORTER_VERSION=v0.31.0
if [ ! -x .cache/bin/statsd_exporter ] || [ "$(cat .cache/bin/.statsd_exporter.version 2>/dev/null)" != "$STATSD_EXPORTER_VERSION" ]; then
  GO="$(command -v go || echo /usr/local/go/bin/go)"
  [ -x "$GO" ] || { echo "bootstrap: Go is needed to build statsd_exporter (https://go.dev/dl)"; exit 1; }
  echo "bootstrap: building statsd_exporter $STATSD_EXPORTER_VERSION"
  mkdir -p .cache/bin
  GOBIN="$PWD/.cache/bin" "$GO" install "github.com/prometheus/statsd_exporter@$STATSD_EXPORTER_VERSION"
  echo "$STATSD_EXPORTER_VERSION" > .cache/bin/.statsd_exporter.version
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing Python requirements"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
  .venv/bin/pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi
echo "bootstrap: ready"
