# shellcheck shell=bash
# loadtest/walletd.sh - a walletd to load on the local cluster, for loadtest/bench and
# loadtest/k6-profiles (source it after scripts/lib.sh; the caller defines log and die).
#
# prepare_walletd BUILD BUILD_DIR  builds BUILD_DIR/ if BUILD is 1, or auto and walletd or walletctl
#                                  is missing (its configured build type, else Release); brings the
#                                  cluster up (scripts/cluster up; never stopped here: other work
#                                  may use it), exports its variables and migrates
# make_api_key DIR TENANT          DIR/api_keys and DIR/api-key (the key) for TENANT, made once
# start_walletd PORT LOG           exports the load settings below (what the caller exported wins)
#                                  and starts BUILD_DIR/walletd on 127.0.0.1:PORT, logging to LOG;
#                                  returns once /health/ready answers 200 (WALLETD_PID is set)
# stop_walletd                     SIGTERM and wait (SIGKILL after 30 s); nothing if none runs
# worker_peak_rss                  the largest peak resident set (VmHWM, KiB) of walletd's workers
# port_in_use PORT                 is anything accepting TCP connections on 127.0.0.1:PORT?
# free_port                        prints a TCP port on 127.0.0.1 that nothing listens on now

WALLETD_PID=

prepare_walletd() {
    local build=$1
    BUILD_DIR=$2
    if [[ $build == 1 ]] || { [[ $build == auto ]] && { [[ ! -x $BUILD_DIR/walletd ]] || [[ ! -x $BUILD_DIR/walletctl ]]; }; }; then
        if [[ -f $BUILD_DIR/CMakeCache.txt ]]; then
            log "building $BUILD_DIR/ (its configured build type)"
            build "$BUILD_DIR"
        else
            log "building $BUILD_DIR/ (Release)"
            build "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
        fi
    fi
    [[ -x $BUILD_DIR/walletd && -x $BUILD_DIR/walletctl ]] ||
        die "$BUILD_DIR/walletd or $BUILD_DIR/walletctl missing (build them: scripts/test, or BUILD=1)"
    "$ROOT/scripts/cluster" up
    eval "$("$ROOT/scripts/cluster" env)"
    "$BUILD_DIR/walletctl" migrate --dir "$ROOT/migrations" >&2
}

make_api_key() {
    local dir=$1 tenant=$2
    mkdir -p "$dir"
    if [[ ! -s $dir/api-key || ! -s $dir/api_keys ]]; then
        rm -f "$dir/api-key" "$dir/api_keys"
        (umask 077 && "$BUILD_DIR/walletctl" apikey create --tenant "$tenant" --file "$dir/api_keys" >"$dir/api-key")
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_walletd() {
    local port=$1 log_file=$2 url=http://127.0.0.1:$1 answer='' i
    port_in_use "$port" && die "port $port is in use"
    # One worker process unless told otherwise: on a 2-core box the databases use most of the
    # CPU, and every worker brings its own group-commit writers per shard (WORKERS x
    # DB_POOL_SIZE), which split the same load into smaller, costlier commits (docs/PERFORMANCE.md).
    export WORKERS=${WORKERS:-1}
    # The rate limit stays on (its Redis call per request is part of what is measured) with a
    # rate no run reaches; the default 10,000 a second per tenant would refuse the heavier loads.
    export RATE_LIMIT_RPS=${RATE_LIMIT_RPS:-1000000000}
    export API_KEYS_FILE=${API_KEYS_FILE:?make_api_key and export API_KEYS_FILE first}
    export LOG_LEVEL=${LOG_LEVEL:-warn} ACCESS_LOG=${ACCESS_LOG:-false}
    export DRAIN_DELAY_SECONDS=${DRAIN_DELAY_SECONDS:-0} SHUTDOWN_TIMEOUT_SECONDS=${SHUTDOWN_TIMEOUT_SECONDS:-10}
    HOST=127.0.0.1 PORT=$port "$BUILD_DIR/walletd" >"$log_file" 2>&1 &
    WALLETD_PID=$!
    for ((i = 0; i < 300; i++)); do
        answer=$(curl -s --max-time 1 -w ' HTTP %{http_code}' "$url/health/ready" || true) # body, status
        [[ $answer == *' HTTP 200' ]] && return 0
        kill -0 "$WALLETD_PID" 2>/dev/null || die "walletd exited at start: $(tail -5 "$log_file")"
        sleep 0.1
    done
    die "walletd not ready after 30 s, /health/ready answered: $answer"
}

stop_walletd() {
    [[ -n $WALLETD_PID ]] || return 0
    if kill -0 "$WALLETD_PID" 2>/dev/null; then
        local -a children=()
        mapfile -t children < <(ps -o pid= --ppid "$WALLETD_PID" 2>/dev/null | tr -d ' ' || true)
        kill -TERM "$WALLETD_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 300; i++)); do
            kill -0 "$WALLETD_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$WALLETD_PID" 2>/dev/null; then
            log "walletd did not stop in 30 s: SIGKILL (pid $WALLETD_PID, workers ${children[*]})"
            kill -KILL "$WALLETD_PID" "${children[@]}" 2>/dev/null || true
        fi
    fi
    wait "$WALLETD_PID" 2>/dev/null || true
    WALLETD_PID=
}

worker_peak_rss() {
    local pid peak=0 kib
    for pid in $(ps -o pid= --ppid "$WALLETD_PID" 2>/dev/null); do
        kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        ((${kib:-0} > peak)) && peak=$kib
    done
    echo "$peak"
}
