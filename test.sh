#!/usr/bin/env bash
# The project's test command (README): installs the Debian packages the
# tests need, then runs every Go test and the BPF conformance suite
# through `bpfopt conformance` (compiled code executed under qemu-mipsel),
# and a short run of every fuzz target (fuzz/ci.sh).
set -euo pipefail
cd "$(dirname "$0")"

# tool → Debian package
declare -A pkgs=(
  [qemu-mipsel]=qemu-user
  [mipsel-linux-gnu-gcc]=gcc-mipsel-linux-gnu
  [mipsel-linux-gnu-as]=binutils-mipsel-linux-gnu
  [clang]=clang
)
missing=()
for tool in "${!pkgs[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${pkgs[$tool]}")
done
[ -e /usr/mipsel-linux-gnu/lib/libc.a ] || missing+=(libc6-dev-mipsel-cross)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}" gcc-mipsel-linux-gnu libc6-dev-mipsel-cross
fi

go vet ./...
go test -count=1 ./...
go run ./cmd/bpfopt conformance                 # in-process simulator
go run ./cmd/bpfopt conformance --engine=qemu   # qemu-user
bash fuzz/ci.sh                                 # each fuzz target briefly, go-fuzz harnesses on their seeds
