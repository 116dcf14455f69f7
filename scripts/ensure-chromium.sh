#!/usr/bin/env bash
# The browser the dashboard's tests drive (test/dashboard-browser.test.ts): Debian's chromium,
# installed when missing. Idempotent; prints where it is.
set -euo pipefail

say() { echo "ensure-chromium: $*"; }
die() { say "$*" >&2; exit 1; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi; }

path="${CCAT_CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$path" ]]; then
  say "chromium is not installed; installing it"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q >/dev/null || die "apt-get update failed"
  as_root apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/tmp/ensure-chromium-apt.log 2>&1 ||
    {
      tail -n 30 /tmp/ensure-chromium-apt.log >&2
      die "apt-get install chromium failed (log: /tmp/ensure-chromium-apt.log)"
    }
fi
[[ -x "$path" ]] || die "no chromium at $path after installing it (set CCAT_CHROMIUM to its path)"
say "$("$path" --version 2>/dev/null || echo "chromium at $path")"
