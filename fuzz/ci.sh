#!/usr/bin/env bash
# Runs each native fuzz target of fuzz/campaign briefly (a smoke test of the
# campaign tooling: seeds pass, mutation starts, no early finding), and
# runs the go-fuzz harnesses on their seeds (go-fuzz itself is not needed).
# Called from test.sh.
#
#   fuzz/ci.sh            # 5 s per target
#   FUZZTIME=60s fuzz/ci.sh
#
# A failure prints the finding; go test writes the failing input to
# fuzz/campaign/testdata/fuzz/<Target>/ (see docs/fuzzing.md to reduce it).
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-5s}"
for target in FuzzCompile FuzzDifferential FuzzDeterminism; do
  echo "fuzz/ci.sh: $target for $fuzztime"
  # -fuzzminimizetime=0: minimizing each new corpus entry would take most
  # of a short run; findings are reduced with campaign.Reduce instead.
  go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime=0 ./fuzz/campaign
done

echo "fuzz/ci.sh: go-fuzz harnesses on their seeds (go test -tags gofuzz)"
go vet -tags gofuzz ./fuzz/gofuzz
go test -count=1 -tags gofuzz ./fuzz/gofuzz
