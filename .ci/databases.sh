#!/usr/bin/env bash
# Starts the PostgreSQL and MariaDB servers the observation-store and DB-manager tests use, if they are down; waits
# until both accept connections; makes sure database `test` exists on both. Safe to run any number of times.
# Exits non-zero, saying which server and why, when one cannot be started within KATIB_DB_START_TIMEOUT seconds.
#
#   PostgreSQL: 127.0.0.1:5432, user postgres, trust auth   (started with pg_ctlcluster)
#   MariaDB:    127.0.0.1:3306, user root, empty password    (started with start-stop-daemon)
set -euo pipefail

TIMEOUT="${KATIB_DB_START_TIMEOUT:-60}"
PG_HOST=127.0.0.1
PG_PORT=5432
PG_USER=postgres
MYSQL_HOST=127.0.0.1
MYSQL_PORT=3306
MYSQL_USER=root
DATABASE=test

say() { echo "databases.sh: $*"; }
die() {
  echo "databases.sh: ERROR: $*" >&2
  exit 1
}

# Runs a command as root (directly, or through passwordless sudo).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    die "starting a server needs root (or passwordless sudo) to run: $*"
  fi
}

# wait_until NAME CHECK-COMMAND...: polls once a second for up to $TIMEOUT seconds.
wait_until() {
  local name="$1"
  shift
  local waited=0
  until "$@" >/dev/null 2>&1; do
    if [ "$waited" -ge "$TIMEOUT" ]; then
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "$name accepts connections"
}

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER"; }
mysql_ready() { mysqladmin ping --silent -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" >/dev/null 2>&1; }

start_postgres() {
  command -v pg_isready >/dev/null 2>&1 || die "PostgreSQL: pg_isready not found; install postgresql-client"
  if pg_ready; then
    say "PostgreSQL is up at $PG_HOST:$PG_PORT"
  else
    [ -d /etc/postgresql ] || die "PostgreSQL is down at $PG_HOST:$PG_PORT and no cluster is configured under /etc/postgresql; install postgresql"
    local version
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    [ -n "$version" ] || die "PostgreSQL: no cluster version under /etc/postgresql"
    say "PostgreSQL is down at $PG_HOST:$PG_PORT; starting cluster $version/main"
    # "already running" (a cluster still starting up) is fine: the wait below decides.
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || say "pg_ctlcluster start returned $?; waiting anyway"
    wait_until PostgreSQL pg_ready || die "PostgreSQL did not accept connections at $PG_HOST:$PG_PORT within ${TIMEOUT}s; see /var/log/postgresql/postgresql-$version-main.log"
  fi
  if [ "$(psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != "1" ]; then
    psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -qc "CREATE DATABASE $DATABASE" || die "PostgreSQL: cannot create database $DATABASE"
    say "PostgreSQL: created database $DATABASE"
  fi
}

start_mariadb() {
  command -v mysqladmin >/dev/null 2>&1 || die "MariaDB: mysqladmin not found; install mariadb-client"
  if mysql_ready; then
    say "MariaDB is up at $MYSQL_HOST:$MYSQL_PORT"
  else
    [ -x /usr/sbin/mariadbd ] || die "MariaDB is down at $MYSQL_HOST:$MYSQL_PORT and /usr/sbin/mariadbd is missing; install mariadb-server"
    say "MariaDB is down at $MYSQL_HOST:$MYSQL_PORT; starting /usr/sbin/mariadbd"
    # The socket folder lives on a tmpfs that may be empty after a restart of the machine.
    as_root install -d -o mysql -g mysql /run/mysqld
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_until MariaDB mysql_ready || die "MariaDB did not accept connections at $MYSQL_HOST:$MYSQL_PORT within ${TIMEOUT}s; see the server's error log (datadir /var/lib/mysql)"
  fi
  mysql -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -e "CREATE DATABASE IF NOT EXISTS \`$DATABASE\`" || die "MariaDB: cannot create database $DATABASE"
}

start_postgres
start_mariadb
say "PostgreSQL and MariaDB are ready (database $DATABASE)"
