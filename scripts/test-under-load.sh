#!/usr/bin/env bash
# `npm test` three times in a row on a fresh clone of this checkout's HEAD while another CPU-heavy process
# runs (issue 12: no test may depend on the machine being quiet). Prints one line per run: its exit status,
# its time and mocha's counts; each run's output in $OUT/run<N>.log. Usage: scripts/test-under-load.sh [runs]
set -uo pipefail
runs=${1:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/segur-under-load.XXXXXX)
OUT=${OUT:-$work}
git clone -q "$here" "$work/clone"
# the tests expect ../shared beside the checkout, as CI has it
[ -e "$here/../shared" ] && ln -s "$(cd "$here/../shared" && pwd)" "$work/shared"
cd "$work/clone"
npm ci --no-audit --no-fund >"$OUT/npm-ci.log" 2>&1 || { echo "npm ci failed: $OUT/npm-ci.log"; exit 1; }
# the CPU-heavy neighbour: SHA-256 over random data, forever
node -e 'const c=require("crypto");for(;;){c.createHash("sha256").update(c.randomBytes(1<<16)).digest()}' &
burner=$!
trap 'kill $burner 2>/dev/null' EXIT
failed=0
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  npm test >"$OUT/run$i.log" 2>&1
  rc=$?
  [ $rc -ne 0 ] && failed=1
  echo "run $i: exit $rc, $(( $(date +%s) - start )) s, $(grep -E '^\s+[0-9]+ (passing|failing|pending)' "$OUT/run$i.log" | tr -s ' ' | tr '\n' ' ')"
done
exit $failed
