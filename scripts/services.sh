# Sourced by scripts/dev and scripts/test: make sure PostgreSQL and Redis
# answer on the local ports Parley uses by default, starting them (or
# installing them from Debian's packages) when they do not.
#
# PARLEY_PG_HOST/PORT and PARLEY_REDIS_HOST/PORT override where to look.

PG_HOST=${PARLEY_PG_HOST:-127.0.0.1}
PG_PORT=${PARLEY_PG_PORT:-5432}
REDIS_HOST=${PARLEY_REDIS_HOST:-127.0.0.1}
REDIS_PORT=${PARLEY_REDIS_PORT:-6379}

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# True when something accepts TCP connections on host:port.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() {
    local host=$1 port=$2 what=$3
    for _ in $(seq 1 100); do
        port_open "$host" "$port" && return 0
        sleep 0.1
    done
    die "$what did not come up on $host:$port"
}

apt_install() {
    command -v apt-get >/dev/null || die "install $* (no apt-get here to do it for you)"
    [ "$(id -u)" = 0 ] || die "install $* (e.g. sudo apt-get install -y $*)"
    say "installing $* from Debian's packages"
    if [ -z "${PARLEY_APT_UPDATED:-}" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        PARLEY_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
    if port_open "$PG_HOST" "$PG_PORT"; then return 0; fi
    case "$PG_HOST" in 127.0.0.1|localhost) ;; *) die "PostgreSQL at $PG_HOST:$PG_PORT is not reachable" ;; esac
    if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
        apt_install postgresql
    fi
    say "starting PostgreSQL"
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    # Trust local TCP connections for the postgres user, as the tests expect.
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    if [ -w "$hba" ] && ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
        sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_port "$PG_HOST" "$PG_PORT" PostgreSQL
}

ensure_redis() {
    command -v redis-server >/dev/null || apt_install redis-server
    if port_open "$REDIS_HOST" "$REDIS_PORT"; then return 0; fi
    case "$REDIS_HOST" in 127.0.0.1|localhost) ;; *) die "Redis at $REDIS_HOST:$REDIS_PORT is not reachable" ;; esac
    say "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    local dir=/var/lib/redis log=/var/log/redis/ci.log
    [ -w "$dir" ] || { dir=$(mktemp -d); log="$dir/redis.log"; }
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
        --save "" --appendonly no --dir "$dir" --logfile "$log"
    wait_port "$REDIS_HOST" "$REDIS_PORT" Redis
}

# True when every node on these ports says cluster_state:ok and knows
# all of them.
cluster_formed() {
    local port info
    for port in "$@"; do
        info=$(redis-cli -p "$port" cluster info 2>/dev/null) || return 1
        grep -q '^cluster_state:ok' <<<"$info" || return 1
        grep -q "^cluster_known_nodes:$#" <<<"$info" || return 1
    done
}

# A local Redis Cluster of three primaries (no replicas) on
# PARLEY_REDIS_CLUSTER_PORTS (default 7101 7102 7103), for the tests that
# run the bus and presence on sharded pub/sub. Reuses nodes that already
# answer; creates the cluster (slots spread over the three) when they do
# not form one yet. Exports PARLEY_TEST_REDIS_CLUSTER (the seed URLs).
ensure_redis_cluster() {
    command -v redis-server >/dev/null || apt_install redis-server
    command -v redis-cli >/dev/null || apt_install redis-tools
    local ports=(${PARLEY_REDIS_CLUSTER_PORTS:-7101 7102 7103})
    local dir=/var/lib/redis/parley-cluster
    mkdir -p "$dir" 2>/dev/null || dir=$(mktemp -d)
    [ -w "$dir" ] || dir=$(mktemp -d)
    local port started=0
    for port in "${ports[@]}"; do
        port_open 127.0.0.1 "$port" && continue
        [ "$started" = 1 ] || say "starting a Redis Cluster on ports ${ports[*]}"
        started=1
        # A node that starts again forgets its old cluster: its state file
        # would name peers that are gone.
        rm -f "$dir/nodes-$port.conf"
        redis-server --daemonize yes --bind 127.0.0.1 --port "$port" \
            --cluster-enabled yes --cluster-config-file "nodes-$port.conf" \
            --cluster-node-timeout 2000 --save "" --appendonly no \
            --dir "$dir" --logfile "$dir/redis-$port.log"
    done
    for port in "${ports[@]}"; do wait_port 127.0.0.1 "$port" "Redis Cluster node"; done
    if ! cluster_formed "${ports[@]}"; then
        local nodes=()
        for port in "${ports[@]}"; do
            # Empty each node and make it forget any earlier cluster.
            redis-cli -p "$port" flushall >/dev/null
            redis-cli -p "$port" cluster reset hard >/dev/null
            nodes+=("127.0.0.1:$port")
        done
        redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null \
            || die "redis-cli --cluster create failed"
        for _ in $(seq 1 100); do
            cluster_formed "${ports[@]}" && break
            sleep 0.1
        done
        cluster_formed "${ports[@]}" || die "the Redis Cluster did not reach cluster_state:ok"
    fi
    local urls=()
    for port in "${ports[@]}"; do urls+=("redis://127.0.0.1:$port"); done
    PARLEY_TEST_REDIS_CLUSTER=$(IFS=,; echo "${urls[*]}")
    export PARLEY_TEST_REDIS_CLUSTER
}

# psql is needed to create the development database.
ensure_psql() {
    command -v psql >/dev/null || apt_install postgresql-client
}

# Headless Chromium (Debian's package) for the test that renders /docs.
# Debian's docker-compose (v1): only to check docker-compose.yml; no Docker
# engine is needed for `config`.
ensure_docker_compose() {
    command -v docker-compose >/dev/null || apt_install docker-compose
}

ensure_chromium() {
    command -v chromium >/dev/null || apt_install chromium
    export PARLEY_CHROMIUM=${PARLEY_CHROMIUM:-$(command -v chromium)}
}

# The npm packages of clients/ (the TypeScript client and the web page:
# openapi-fetch, eventsource-parser, esbuild, Vitest, playwright-core),
# from the npm registry at the versions package-lock.json names. Node.js
# and npm come from Debian when missing.
ensure_node_packages() {
    command -v npm >/dev/null || apt_install nodejs npm
    if [ ! -f clients/node_modules/.package-lock.json ] \
        || [ clients/package-lock.json -nt clients/node_modules/.package-lock.json ]; then
        say "installing the npm packages of clients/"
        (cd clients && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in clients/"
    fi
}

# openapi-spec-validator (PyPI), the reference OpenAPI 3.1 validator, in a
# virtualenv under target/ so that it stays out of the system Python.
ensure_openapi_validator() {
    local venv=target/tools/openapi-venv
    if [ ! -x "$venv/bin/openapi-spec-validator" ]; then
        say "installing openapi-spec-validator from PyPI"
        python3 -m venv "$venv" || die "python3 -m venv failed (apt-get install python3-venv)"
        "$venv/bin/pip" install -q --disable-pip-version-check 'openapi-spec-validator>=0.7' \
            || die "could not install openapi-spec-validator"
    fi
    PARLEY_OPENAPI_VALIDATOR="$(pwd)/$venv/bin/openapi-spec-validator"
    export PARLEY_OPENAPI_VALIDATOR
}

# s3s-fs (crates.io), a real S3 server that verifies SigV4 signatures, for
# the tests of attachments on S3. 0.14.1 builds with this toolchain.
ensure_s3s_fs() {
    if ! command -v s3s-fs >/dev/null; then
        say "installing s3s-fs 0.14.1 from crates.io (a few minutes, once)"
        cargo install s3s-fs@0.14.1 --features binary --locked -q \
            || die "could not install s3s-fs"
    fi
    PARLEY_S3S_FS=$(command -v s3s-fs)
    export PARLEY_S3S_FS
}
