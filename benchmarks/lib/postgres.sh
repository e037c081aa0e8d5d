# Sourced by the benchmark scripts: a throwaway PostgreSQL 15 (Debian's postgresql-15) in WORK/pg,
# listening on a Unix socket only, stopped by its PID.
#   start_postgres WORK [LAUNCHER...]   sets pg_uri (postgresql://codef@/postgres?host=WORK/pg),
#       or exits 1 (LAUNCHER: e.g. taskset -c 1, which the server's processes inherit)
#   stop_postgres         SIGINT (fast shutdown), up to 30 s, then SIGKILL
# PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the postgres user that the
# package creates, in a directory it owns.
pg_bin=/usr/lib/postgresql/15/bin
pg_dir=""
pg_uri=""

pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
    local work=$1
    shift
    pg_dir=$work/pg
    [ -x "$pg_bin/initdb" ] || { echo "$(basename "$0"): PostgreSQL 15 is missing (postgresql-15)" >&2; exit 1; }
    mkdir -p "$pg_dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$pg_dir" && chmod 755 "$work"
    (cd / && pg_as_owner "$pg_bin/initdb" -D "$pg_dir/data" -U codef -A trust --no-sync -E UTF8 \
        --locale=C >"$pg_dir/initdb.out" 2>&1) || { cat "$pg_dir/initdb.out" >&2; exit 1; }
    (cd / && pg_as_owner "$@" "$pg_bin/pg_ctl" start -w -t 30 -D "$pg_dir/data" -l "$pg_dir/log" \
        -o "-k $pg_dir -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c max_connections=200" \
        >/dev/null) || { cat "$pg_dir/log" >&2; exit 1; }
    pg_uri="postgresql://codef@/postgres?host=$pg_dir"
}

stop_postgres() {
    [ -n "$pg_dir" ] && [ -f "$pg_dir/data/postmaster.pid" ] || return 0
    local pid
    pid=$(head -1 "$pg_dir/data/postmaster.pid")
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
