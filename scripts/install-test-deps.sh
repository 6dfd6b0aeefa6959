#!/usr/bin/env bash
# Installs the system packages the integration tests start for real (squid as
# an authenticating proxy, openssl for its password file, redis-server for
# the shared token store, danted as a SOCKS5 proxy). Idempotent: only what is missing is installed, with
# one `apt-get update` at most.
set -euo pipefail

# command -> Debian package that provides it. Tests look in sbin too, so do we.
declare -A PACKAGE_FOR=(
  [squid]=squid
  [openssl]=openssl
  [redis-server]=redis-server
  [danted]=dante-server
)
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

missing=()
for command in "${!PACKAGE_FOR[@]}"; do
  if ! command -v "$command" >/dev/null 2>&1; then
    missing+=("${PACKAGE_FOR[$command]}")
  fi
done
# squid's basic-auth helper ships in the squid package; a half-removed install lacks it.
if [[ ! -x /usr/lib/squid/basic_ncsa_auth ]] && [[ ! " ${missing[*]} " == *" squid "* ]]; then
  missing+=(squid)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-test-deps: nothing to install (${!PACKAGE_FOR[*]} present)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: missing ${missing[*]} and no apt-get here; install them with your package manager" >&2
  exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-test-deps: missing ${missing[*]}; run this script as root (no sudo found)" >&2
  exit 1
fi

echo "install-test-deps: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
# policy-rc.d or a missing init may refuse to start the squid or redis
# service; the tests run their own instances, so that is fine and not an error here.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
