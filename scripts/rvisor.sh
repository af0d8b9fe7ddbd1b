#!/bin/sh
# One-step set-up for a fresh Debian machine with Node.js/npm:
#   sh scripts/rvisor.sh boot [boot.ts flags]   installs Deno if needed, boots the default guest (tinyos)
#   sh scripts/rvisor.sh test                   installs what the tests need, runs check + all tests
# Installs Deno from npm and Debian packages with apt-get only when they are missing.
set -eu
cd "$(dirname "$0")/.."

# Booting needs no Debian package: the default guest, tinyos, is embedded in rvisor.
# The tests also boot Debian's OpenSBI + U-Boot and rebuild our guests; fetching
# Debian's Linux for tests/linux_test.ts needs xz and gpgv with the archive keyring;
# the browser tests drive a headless Chromium (tests/cdp.ts).
TEST_PACKAGES="opensbi u-boot-qemu gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf \
picolibc-riscv64-unknown-elf qemu-system-misc device-tree-compiler gdb-multiarch \
xz-utils gpgv debian-archive-keyring chromium-headless-shell"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

need_packages() {
  missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "rvisor: installing Debian packages:$missing" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
  fi
}

need_deno() {
  if ! command -v deno >/dev/null 2>&1; then
    echo "rvisor: installing Deno from npm" >&2
    as_root npm install -g deno >&2
  fi
}

what="${1:-}"
[ $# -gt 0 ] && shift
case "$what" in
  boot)
    need_deno
    exec deno run -A --v8-flags=--max-semi-space-size=4 boot.ts "$@"
    ;;
  test)
    need_deno
    # shellcheck disable=SC2086
    need_packages $TEST_PACKAGES
    deno task check
    # Linux boots too: tests/linux_test.ts fetches Debian's kernel and busybox
    # into ~/.cache/rvisor/linux once (RVISOR_LINUX=0 leaves them out).
    # Every tool is installed above, so a missing one fails its tests
    # (RVISOR_REQUIRE_TOOLS) instead of leaving them ignored.
    RVISOR_LINUX="${RVISOR_LINUX:-1}" RVISOR_REQUIRE_TOOLS=1 exec deno task test "$@"
    ;;
  *)
    echo "usage: sh scripts/rvisor.sh boot [flags] | test" >&2
    exit 2
    ;;
esac
