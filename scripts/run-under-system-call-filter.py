#!/usr/bin/env python3
"""Runs a command under the system call allow-list of systemd/token-broker.service.

systemd-run cannot apply the unit's SystemCallFilter= in a container without
systemd as PID 1, so this builds the same seccomp filter with libseccomp (the
library systemd uses) and execs the command under it: what systemd 252 allows
for SystemCallFilter=@system-service @pkey plus ~@privileged @resources, as
`systemd-analyze syscall-filter` lists the groups, every other call failing
with EPERM (SystemCallErrorNumber=EPERM). Children inherit the filter, so

    scripts/run-under-system-call-filter.py node --test dist/test/integration/serve.test.js

runs the test runner, the sandbox and the daemon it starts all under it.
Needs systemd-analyze and libseccomp2 (both come with the Debian package systemd).
"""
import ctypes
import os
import subprocess
import sys

ALLOWED_GROUPS = ['@default', '@system-service', '@pkey']
DENIED_GROUPS = ['@privileged', '@resources']

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_ERRNO_EPERM = 0x00050000 | 1


def syscall_groups() -> dict[str, list[str]]:
    listing = subprocess.run(['systemd-analyze', 'syscall-filter', '--no-pager'], check=True, capture_output=True, text=True).stdout
    groups: dict[str, list[str]] = {}
    current = None
    for line in listing.splitlines():
        entry = line.strip()
        if line.startswith('@'):
            current = entry
            groups[current] = []
        elif current is not None and entry != '' and not entry.startswith('#'):
            groups[current].append(entry)
    return groups


def expand(groups: dict[str, list[str]], name: str) -> set[str]:
    calls: set[str] = set()
    for entry in groups[name]:
        calls |= expand(groups, entry) if entry.startswith('@') else {entry}
    return calls


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit('usage: run-under-system-call-filter.py COMMAND [ARG...]')
    groups = syscall_groups()
    allowed = set().union(*(expand(groups, group) for group in ALLOWED_GROUPS)) - set().union(*(expand(groups, group) for group in DENIED_GROUPS))
    seccomp = ctypes.CDLL('libseccomp.so.2')
    seccomp.seccomp_init.restype = ctypes.c_void_p
    seccomp.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    seccomp.seccomp_load.argtypes = [ctypes.c_void_p]
    seccomp.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    context = seccomp.seccomp_init(SCMP_ACT_ERRNO_EPERM)
    count = 0
    for name in sorted(allowed):
        number = seccomp.seccomp_syscall_resolve_name(name.encode())
        # A name this architecture does not have (the *_time64 calls on x86-64, say).
        if number < 0:
            continue
        if seccomp.seccomp_rule_add(context, SCMP_ACT_ALLOW, number, 0) == 0:
            count += 1
    if seccomp.seccomp_load(context) != 0:
        sys.exit('run-under-system-call-filter: the kernel refused the seccomp filter')
    print(f'run-under-system-call-filter: {count} system calls allowed, every other one fails with EPERM', file=sys.stderr)
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == '__main__':
    main()
