#!/usr/bin/env bash
# Installs the system packages the integration tests start for real (squid as
# an authenticating proxy, openssl for its password file, redis-server for
# the shared token store, danted as a SOCKS5 proxy, Dovecot as the mail server
# that checks tokens over IMAP, POP3 and submission), and systemd, whose
# systemd-analyze, systemd-sysusers and systemd-tmpfiles check the files in
# systemd/ (a container has no systemd running: the tools work without it). Idempotent: only what is missing is installed, with
# one `apt-get update` at most.
set -euo pipefail

# command -> Debian package that provides it. Tests look in sbin too, so do we.
declare -A PACKAGE_FOR=(
  [squid]=squid
  [openssl]=openssl
  [redis-server]=redis-server
  [danted]=dante-server
  [dovecot]=dovecot-imapd
  [systemd-analyze]=systemd
  [systemd-sysusers]=systemd
  [systemd-tmpfiles]=systemd
)
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

missing=()
for command in "${!PACKAGE_FOR[@]}"; do
  # One package may bring several commands (systemd): list it once.
  if ! command -v "$command" >/dev/null 2>&1 && [[ ! " ${missing[*]} " == *" ${PACKAGE_FOR[$command]} "* ]]; then
    missing+=("${PACKAGE_FOR[$command]}")
  fi
done
# squid's basic-auth helper ships in the squid package; a half-removed install lacks it.
if [[ ! -x /usr/lib/squid/basic_ncsa_auth ]] && [[ ! " ${missing[*]} " == *" squid "* ]]; then
  missing+=(squid)
fi

# dovecot-core alone has /usr/sbin/dovecot but not the programs a login runs;
# each protocol package brings one (and pulls dovecot-core in).
declare -A DOVECOT_PROGRAM_PACKAGE=(
  [/usr/lib/dovecot/imap]=dovecot-imapd
  [/usr/lib/dovecot/pop3]=dovecot-pop3d
  [/usr/lib/dovecot/submission]=dovecot-submissiond
)
for program in "${!DOVECOT_PROGRAM_PACKAGE[@]}"; do
  package="${DOVECOT_PROGRAM_PACKAGE[$program]}"
  if [[ ! -x "$program" ]] && [[ ! " ${missing[*]} " == *" $package "* ]]; then
    missing+=("$package")
  fi
done

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
# policy-rc.d or a missing init may refuse to start the squid, redis or dovecot
# service, and a postinst that tries may then exit non-zero; the tests run their
# own instances, so that is fine as long as the programs themselves are there.
if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; then
  still_missing=()
  for command in "${!PACKAGE_FOR[@]}"; do
    command -v "$command" >/dev/null 2>&1 || still_missing+=("$command")
  done
  for program in "${!DOVECOT_PROGRAM_PACKAGE[@]}"; do
    [[ -x "$program" ]] || still_missing+=("$program")
  done
  if [[ ${#still_missing[@]} -gt 0 ]]; then
    echo "install-test-deps: apt-get install failed and ${still_missing[*]} are still missing" >&2
    exit 1
  fi
  echo "install-test-deps: apt-get install reported an error (a package's service did not start?), but every program the tests run is installed" >&2
fi
