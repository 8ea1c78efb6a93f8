#!/usr/bin/env bash
# Find, or start, what the test suite talks to, at fixed addresses:
#   Redis       127.0.0.1:6379  tests use STOCKGRAPH_TEST_REDIS_URL (default redis://127.0.0.1:6379/15)
#   PostgreSQL  127.0.0.1:5432  tests use STOCKGRAPH_TEST_PG_URL
#                               (default postgresql+asyncpg://postgres@127.0.0.1:5432/test)
# and installs the docker-compose tool that tests/integration/test_compose_file.py runs.
# Missing Debian packages are installed only when running as root. Exports nothing.
# A service still unreachable after WAIT_SECONDS: an error when CI=true, else a warning
# (the tests that need it skip).
set -uo pipefail

WAIT_SECONDS=${WAIT_SECONDS:-30}
status=0

say() { echo "services.sh: $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
is_root() { [ "$(id -u)" = 0 ]; }

apt_install() { # apt_install PKG...: refresh the package lists only if a first try fails
  is_root && have apt-get || return 1
  say "installing $*"
  local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@")
  "${install[@]}" >/dev/null || { apt-get update -q >/dev/null && "${install[@]}" >/dev/null; }
}

tcp_open() { timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

redis_up() {
  if have redis-cli; then [ "$(timeout 3 redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]
  else tcp_open 127.0.0.1 6379; fi
}

pg_up() {
  if have pg_isready; then pg_isready -q -h 127.0.0.1 -p 5432 -t 3
  else tcp_open 127.0.0.1 5432; fi
}

pg_login() { # the contract: user postgres, no password, database test, over TCP
  ! have psql || psql -h 127.0.0.1 -p 5432 -U postgres -d test -w -Atqc 'select 1' >/dev/null 2>&1
}

wait_for() { # wait_for PROBE: true once PROBE succeeds, false after WAIT_SECONDS
  local i
  for ((i = 0; i < WAIT_SECONDS; i++)); do "$1" && return 0; sleep 1; done
  "$1"
}

start_redis() {
  have redis-server || apt_install redis-server || return 0
  redis_up || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
}

start_postgres() {
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || apt_install postgresql || return 0
  pg_up && return 0
  local cluster
  cluster=$(pg_lsclusters -h 2>/dev/null | awk 'NR == 1 { print $1, $2 }')
  # shellcheck disable=SC2086  # "VERSION NAME", two words
  { [ -n "$cluster" ] && pg_ctlcluster --skip-systemctl-redirect $cluster start; } ||
    service postgresql start
}

prepare_postgres() { # on a machine we administer, make the test login work: database "test",
  # and no password for postgres from 127.0.0.1 (Debian's default asks for one)
  pg_login && return 0
  is_root && have runuser || return 0
  local pg=(runuser -u postgres --) hba
  "${pg[@]}" createdb test 2>/dev/null || true
  pg_login && return 0
  hba=$("${pg[@]}" psql -Atqc 'show hba_file' 2>/dev/null) || return 0
  say "allowing postgres to log in from 127.0.0.1 without a password ($hba)"
  sed -i '1i host all postgres 127.0.0.1/32 trust  # added by stockgraph scripts/services.sh' "$hba"
  "${pg[@]}" psql -Atqc 'select pg_reload_conf()' >/dev/null
}

check() { # check NAME PROBE
  if wait_for "$2"; then say "$1 ok"; return; fi
  if [ "${CI:-}" = true ]; then say "ERROR: $1 is not reachable"; status=1
  else say "WARNING: $1 is not reachable; the tests that need it will skip"; fi
}

redis_up || start_redis
pg_up || start_postgres
check "Redis at 127.0.0.1:6379" redis_up
check "PostgreSQL at 127.0.0.1:5432" pg_up
if pg_up; then prepare_postgres; check "PostgreSQL login postgres@127.0.0.1:5432/test" pg_login; fi

have docker-compose || apt_install docker-compose ||
  say "WARNING: no docker-compose; the compose file test will skip (and fail with CI=true)"

exit "$status"
