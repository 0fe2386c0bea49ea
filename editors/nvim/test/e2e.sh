#!/usr/bin/env bash
# End-to-end test of editors/nvim with a real client: headless Neovim opens broken.iov with
# the configuration in this directory (init.lua: filetype, syntax, require('iov').setup), waits
# for the diagnostics of `iov lsp`, writes them to OUT as CODE<TAB>LINE<TAB>MESSAGE lines, and
# fails unless their codes and lines equal those of `iov check --message-format json`; it also
# checks the Vim syntax groups of syntax.iov. Usage: e2e.sh [OUT]; IOV_BIN picks the binary
# (default target/debug/iov: run `cargo build` first). Exit 0 pass, 1 fail, 2 cannot run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
nvim_dir="$(dirname "$here")"
root="$(cd "$nvim_dir/../.." && pwd)"
iov="${IOV_BIN:-$root/target/debug/iov}"
out="${1:-$(mktemp -t iov-nvim-e2e.XXXXXX)}"

if ! command -v nvim >/dev/null 2>&1; then
    echo "error: nvim is not installed (apt-get install neovim)" >&2
    exit 2
fi
if [ ! -x "$iov" ]; then
    echo "error: $iov is missing: run \`cargo build\` or set IOV_BIN" >&2
    exit 2
fi

# A private home for Neovim, so no user configuration, plugin or state takes part.
home="$(mktemp -d -t iov-nvim-home.XXXXXX)"
trap 'rm -rf "$home"' EXIT
rm -f "$out"
status=0
(cd "$here" && env XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data" \
    XDG_STATE_HOME="$home/state" XDG_CACHE_HOME="$home/cache" \
    IOV_BIN="$(cd "$(dirname "$iov")" && pwd)/$(basename "$iov")" IOV_NVIM_DIR="$nvim_dir" \
    IOV_E2E_OUT="$out" \
    timeout 60 nvim --headless -n -i NONE -u "$here/init.lua" broken.iov) </dev/null || status=$?

if [ -f "$out" ]; then
    cat "$out"
fi
if [ "$status" -ne 0 ] || [ ! -s "$out" ] || grep -q '^FAIL' "$out"; then
    echo "nvim e2e: FAILED (nvim exit status $status)" >&2
    exit 1
fi
echo "nvim e2e: ok, $(wc -l <"$out") diagnostics from iov lsp match iov check"
