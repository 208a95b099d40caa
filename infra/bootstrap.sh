#!/usr/bin/env bash
# Installs the system packages the local stack needs (Debian/Ubuntu), or says what is missing.
# Idempotent: does nothing when everything is present. Used by `make up`, `make test`, .ci/run.
set -euo pipefail

need_apt=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

have java || need_apt+=(openjdk-17-jre-headless)
have mvn || need_apt+=(maven)
have redis-server || need_apt+=(redis-server)
have mariadbd || need_apt+=(mariadb-server)
have mariadb || need_apt+=(mariadb-client)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
have unzip || need_apt+=(unzip)
# Headless browser of tests/integration/test_graphiql.py (GraphiQL, driven over CDP).
have chromium || have chromium-browser || need_apt+=(chromium)

if [ ${#need_apt[@]} -gt 0 ]; then
  if ! have apt-get; then
    echo "missing system packages: ${need_apt[*]} (no apt-get here: install them with your package manager)" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if have sudo; then sudo="sudo"; else
      echo "missing system packages: ${need_apt[*]}; run as root: apt-get install ${need_apt[*]}" >&2
      exit 1
    fi
  fi
  echo "installing system packages: ${need_apt[*]}"
  $sudo apt-get update -qq
  # policy-rc.d keeps Debian from starting its own copies of the servers: the stack runs them.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! have go; then
  echo "Go 1.24 or newer is required to build FerretDB (the MongoDB-wire server): https://go.dev/dl" >&2
  exit 1
fi
if ! have python3; then
  echo "Python 3.11 or newer is required: apt-get install python3 python3-venv" >&2
  exit 1
fi
