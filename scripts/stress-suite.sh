#!/usr/bin/env bash
# Runs the whole test suite N times (default 3) while a CPU burner keeps every
# core busy, the way CI may find its machine: a flaky test shows here. Prints
# "run K: P passed, F failed" per run (with the failing tests' names), and a
# total; exits non-zero when any run had a failure. Logs stay in a temp folder.
#   scripts/stress-suite.sh [N]        burners: one busy node loop per core
#   STRESS_BURNERS=0 scripts/stress-suite.sh 1   the same runs on an idle machine
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
burners=${STRESS_BURNERS:-$(nproc)}
logs=$(mktemp -d "${TMPDIR:-/tmp}/stress-suite.XXXXXX")

npm run --silent build

pids=()
stop_burners() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap stop_burners EXIT
for ((i = 0; i < burners; i++)); do
  # A busy loop that never yields: one core's worth of competing work each.
  node -e 'for (;;) {}' &
  pids+=($!)
done
echo "stress-suite: $runs run(s) with $burners CPU burner(s) on $(nproc) core(s); logs in $logs"

total_failed=0
for ((run = 1; run <= runs; run++)); do
  log="$logs/run-$run.tap"
  started=$SECONDS
  # The suite's own command (package.json's test:only), writing TAP to count from.
  command=$(node -p "require('./package.json').scripts['test:only']")
  set +e
  bash -c "${command/node --test/node --test --test-reporter=tap --test-reporter-destination=$log}" >"$logs/run-$run.out" 2>&1
  set -e
  passed=$(grep -E '^# pass ' "$log" | tail -n 1 | awk '{print $3}')
  failed=$(grep -E '^# fail ' "$log" | tail -n 1 | awk '{print $3}')
  load=$(cut -d ' ' -f 1 /proc/loadavg)
  echo "run $run: ${passed:-0} passed, ${failed:-?} failed ($((SECONDS - started)) s, load average $load)"
  if [[ "${failed:-1}" != 0 ]]; then
    total_failed=$((total_failed + ${failed:-1}))
    grep -E '^ *not ok ' "$log" | sed 's/^/  /' || true
  fi
done
echo "stress-suite: $runs run(s), $total_failed failure(s)"
[[ $total_failed -eq 0 ]]
