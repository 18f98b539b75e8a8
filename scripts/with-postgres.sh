#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server, for the PostgreSQL pass of
# the test suite:
#
#   scripts/with-postgres.sh cargo test -p oauth-storage -p connect
#
# The server is created in a temporary folder (initdb), listens on 127.0.0.1 on
# a free port with trust authentication, and is stopped and deleted when the
# command ends. The command sees LOOPWISE_TEST_POSTGRES_URL, so every storage
# and end-to-end test creates its own database on that server instead of a
# SQLite file.
#
# Needs PostgreSQL's server programs (Debian: `apt-get install postgresql`).
# PostgreSQL refuses to run as root; as root the server runs as the `postgres`
# user (or `nobody` when there is none).
#
# With WITH_POSTGRES_MIN_DATABASES=N the script fails unless the command
# created at least N test databases: proof that the tests really ran on
# PostgreSQL rather than quietly on SQLite.
set -euo pipefail

find_bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then
    echo "$PG_BINDIR"
    return
  fi
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ]; then
      echo "$dir"
      return
    fi
  done
  if command -v initdb >/dev/null; then
    dirname "$(command -v initdb)"
    return
  fi
  echo "with-postgres: PostgreSQL's server programs (initdb, pg_ctl) were not found;" >&2
  echo "with-postgres: install them (Debian: apt-get install postgresql) or set PG_BINDIR" >&2
  exit 1
}

free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  echo "with-postgres: no free port found" >&2
  exit 1
}

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

bindir=$(find_bindir)
dir=$(mktemp -d "${TMPDIR:-/tmp}/connect-pg.XXXXXX")
run_as=()
if [ "$(id -u)" -eq 0 ]; then
  user=postgres
  id "$user" >/dev/null 2>&1 || user=nobody
  chown "$user" "$dir"
  chmod 700 "$dir"
  run_as=(runuser -u "$user" --)
fi

cleanup() {
  "${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

"${run_as[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust \
  --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
  cat "$dir/initdb.log" >&2
  exit 1
}

# Durability is worth nothing for a server that is deleted afterwards; without
# it the tests' many small transactions are much faster.
started=
for _ in 1 2 3; do
  port=$(free_port)
  if "${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off \
        -c full_page_writes=off -c max_connections=400" start >/dev/null; then
    started=1
    break
  fi
done
if [ -z "$started" ]; then
  cat "$dir/server.log" >&2
  exit 1
fi

url="postgres://postgres@127.0.0.1:$port/postgres"
psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 "$url")
"${psql[@]}" -c "CREATE TABLE connect_scratch_databases (name TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())"
echo "with-postgres: PostgreSQL $("${psql[@]}" -A -t -c 'SHOW server_version') at $url" >&2

status=0
LOOPWISE_TEST_POSTGRES_URL="$url" "$@" || status=$?

created=$("${psql[@]}" -A -t -c "SELECT count(*) FROM connect_scratch_databases")
echo "with-postgres: the command created $created test databases on PostgreSQL" >&2
if [ "$status" -eq 0 ] && [ -n "${WITH_POSTGRES_MIN_DATABASES:-}" ] \
  && [ "$created" -lt "$WITH_POSTGRES_MIN_DATABASES" ]; then
  echo "with-postgres: expected at least $WITH_POSTGRES_MIN_DATABASES; the PostgreSQL pass did not run" >&2
  status=1
fi
exit "$status"
