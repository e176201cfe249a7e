#!/usr/bin/env bash
# KMS server and provisioning benchmarks (not tests): the figures of docs/performance.md,
# section "KMS server". Re-run with:
#
#   tools/bench-server.sh                 # everything, 10 s per wrk run
#   DURATION=5s tools/bench-server.sh     # shorter runs
#   ONLY="keyprov handshake" tools/bench-server.sh
#   PERF_OUT=/tmp/kms.perf ONLY=keyprov tools/bench-server.sh   # and perf-record the server
#   SERVE_OPTS="--service-threads 68" ONLY=keyprov tools/bench-server.sh   # extra serve options
#
# Parts (ONLY selects some): keyprov (already issued and first-time, 64 connections, SQLite),
# handshake (new TLS connections per second), overload (640 connections against
# --max-in-flight 4: /healthz keeps answering, the excess gets 503), scaleout (1 vs 2 server
# processes on one PostgreSQL store), provision (`kms provision` / `kms worker`, 1 and 2
# workers, SQLite and PostgreSQL).
#
# Needs: a release build (built here unless BIN is given), wrk (`apt-get install -y wrk`),
# curl, openssl, and for the PostgreSQL parts the Debian `postgresql` server binaries (a
# throw-away cluster is made in the work directory; as root it runs as the `postgres` user).
# Everything is made in a temporary directory that is removed at the end.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=${BIN:-}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
WRK_THREADS=${WRK_THREADS:-2}
USERS=${USERS:-200}
ONLY=${ONLY:-"keyprov handshake overload scaleout provision"}
PASSPHRASE=bench-server-passphrase
KMS_URI=kms.example.org
USER_URI=sip:bench@example.org
# Key periods of one hour (the shortest `kms init` accepts); the first-time run asks for a
# fresh period on every request, within the ten years ahead that the service accepts.
PERIOD=3600

want() { [[ " $ONLY " == *" $1 "* ]]; }
log() { printf '%s\n' "$*" >&2; }

if [[ -z "$BIN" ]]; then
    cargo build --release --quiet --bin mikey-sakke
    BIN=$ROOT/target/release/mikey-sakke
fi
command -v wrk >/dev/null || { log "wrk is needed: apt-get install -y wrk"; exit 1; }

WORK=$(mktemp -d /tmp/bench-server.XXXXXX)
PIDS=()
PG_BIN=""
PG_RUN=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [[ -n "$PG_BIN" && -d "$WORK/pg/data" ]]; then
        "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "# tools/bench-server.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ), duration $DURATION, $CONNS connections"
echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
lscpu | head -n 16 | sed 's/^/# /'

# --- Shared material: passphrase file, TLS certificate, IdMS key and token. ---------------
printf '%s\n' "$PASSPHRASE" >"$WORK/pass"
chmod 600 "$WORK/pass"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 2>/dev/null
"$BIN" idms keygen --out "$WORK/idms.pem" --jwks "$WORK/jwks.json" >/dev/null
TOKEN=$("$BIN" idms token --key "$WORK/idms.pem" --user "$USER_URI" --ttl 86400 | tr -d '\n')
export TOKEN

ms() { "$BIN" "$@" --passphrase-file "$WORK/pass"; }

# A store with the benchmark user registered and its current key sets issued.
new_store() { # STORE
    ms kms init --store "$1" --kms-uri "$KMS_URI" --key-period "$PERIOD" >/dev/null
    ms kms provision --store "$1" --user "$USER_URI" --out "$WORK/provisioned.xml" >/dev/null 2>&1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

SERVER_PORT=""
METRICS_PORT=""
serve() { # STORE [extra options...]; sets SERVER_PORT, METRICS_PORT, appends to PIDS
    local store=$1
    shift
    SERVER_PORT=$(free_port)
    METRICS_PORT=$(free_port)
    "$BIN" kms serve --store "$store" --passphrase-file "$WORK/pass" --listen "127.0.0.1:$SERVER_PORT" \
        --metrics-listen "127.0.0.1:$METRICS_PORT" --tls-cert "$WORK/cert.pem" \
        --tls-key "$WORK/key.pem" --idms-keys "$WORK/jwks.json" --no-access-log ${SERVE_OPTS:-} "$@" \
        >"$WORK/serve-$SERVER_PORT.out" 2>"$WORK/serve-$SERVER_PORT.err" &
    PIDS+=($!)
    for _ in $(seq 1 200); do
        curl -sf "http://127.0.0.1:$METRICS_PORT/healthz" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    log "kms serve did not start:"
    cat "$WORK/serve-$SERVER_PORT.err" >&2
    exit 1
}

stop_servers() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}

# The NTP time (seconds) of now, and its key-period path segment (16 hex digits).
ntp_now() { echo $(($(date +%s) + 2208988800)); }
hex_time() { printf '%08X00000000' "$1"; }
ESCAPED_USER=sip%3Abench%40example.org
KEYPROV=/keymanagement/identity/v1/keyprov

cat >"$WORK/keyprov.lua" <<'EOF'
-- POST the path in KPATH with the bearer token in TOKEN.
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/xml"
wrk.path = os.getenv("KPATH")
EOF

cat >"$WORK/first.lua" <<'EOF'
-- POST keyprov/<user>/<time> for a fresh key period on every request: each is a first-time
-- issue. Threads take disjoint ranges of 20 000 periods (2.3 years of one-hour periods each).
local prefix = os.getenv("KPATH")
local base = tonumber(os.getenv("NTP_BASE"))
local step = tonumber(os.getenv("PERIOD"))
local headers = {
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
    ["Content-Type"] = "application/xml",
}
local next_id = 0
function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
end
local counter = 0
function request()
    counter = counter + 1
    local t = base + (id * 20000 + counter) * step
    local hi = math.floor(t / 65536)
    local lo = t % 65536
    return wrk.format("POST", prefix .. "/" .. string.format("%04X%04X00000000", hi, lo), headers)
end
EOF

# wrk ... -> "req/s p50 p99 non2xx" on stdout, the full output on stderr.
run_wrk() {
    local out
    out=$(wrk --latency "$@" 2>&1)
    printf '%s\n' "$out" >&2
    local rps p50 p99 non2xx
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    echo "${rps:-?} ${p50:-?} ${p99:-?} ${non2xx:-0}"
}

report() { printf '%-58s %s\n' "$1" "$2"; }

# --- keyprov: already issued and first-time, SQLite store. --------------------------------
if want keyprov || want handshake || want overload; then
    new_store "$WORK/kms.db"
    serve "$WORK/kms.db"
    NOW=$(ntp_now)
    FIXED=$KEYPROV/$ESCAPED_USER/$(hex_time "$NOW")
    curl -sf -k -X POST -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$SERVER_PORT$FIXED" >/dev/null
    if want keyprov; then
        if [[ -n "${PERF_OUT:-}" ]]; then
            # Profile the server during the already-issued run: perf report -i "$PERF_OUT".
            perf record -g -o "$PERF_OUT" -p "${PIDS[-1]}" -- sleep "${DURATION%s}" >/dev/null 2>&1 &
            PERF_PID=$!
        fi
        read -r rps p50 p99 bad < <(KPATH=$FIXED run_wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" \
            -s "$WORK/keyprov.lua" "https://127.0.0.1:$SERVER_PORT")
        report "keyprov, already issued, SQLite, $CONNS conns" "$rps req/s, p50 $p50, p99 $p99, non-2xx $bad"
        if [[ -n "${PERF_OUT:-}" ]]; then wait "$PERF_PID" || true; fi
        read -r rps p50 p99 bad < <(KPATH=$KEYPROV/$ESCAPED_USER NTP_BASE=$((NOW + 86400)) PERIOD=$PERIOD \
            run_wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --timeout 10s -s "$WORK/first.lua" \
            "https://127.0.0.1:$SERVER_PORT")
        report "keyprov, first-time issue, SQLite, $CONNS conns" "$rps req/s, p50 $p50, p99 $p99, non-2xx $bad"
    fi
    if want handshake; then
        read -r rps p50 p99 bad < <(run_wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" \
            -H "Connection: close" "https://127.0.0.1:$SERVER_PORT/healthz")
        report "new TLS connections (GET /healthz, Connection: close)" "$rps /s, p50 $p50, p99 $p99, non-2xx $bad"
    fi
    stop_servers
    if want overload; then
        serve "$WORK/kms.db" --max-in-flight 4
        probe() { # /healthz on the metrics listener every 0.1 s while the load runs
            local n=0 okc=0 worst=0
            while [[ -e "$WORK/loading" ]]; do
                local t
                if t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 2 \
                    "http://127.0.0.1:$METRICS_PORT/healthz"); then
                    okc=$((okc + 1))
                    worst=$(awk -v a="$worst" -v b="$t" 'BEGIN {print (b > a) ? b : a}')
                fi
                n=$((n + 1))
                sleep 0.1
            done
            echo "$okc/$n answered, slowest ${worst}s" >"$WORK/probe"
        }
        touch "$WORK/loading"
        probe &
        PROBE=$!
        read -r rps p50 p99 bad < <(KPATH=$FIXED run_wrk -t"$WRK_THREADS" -c$((CONNS * 10)) -d"$DURATION" \
            -s "$WORK/keyprov.lua" "https://127.0.0.1:$SERVER_PORT")
        rm -f "$WORK/loading"
        wait "$PROBE"
        shed=$(curl -s "http://127.0.0.1:$METRICS_PORT/metrics" |
            awk '/^kms_http_requests_total\{status="503"/ {s += $2} END {print s + 0}')
        report "overload: $((CONNS * 10)) conns, --max-in-flight 4" "$rps req/s (200 and 503), p99 $p99, non-2xx $bad, 503 counted by the server $shed"
        report "overload: /healthz on the metrics listener" "$(cat "$WORK/probe")"
        stop_servers
    fi
fi

# --- PostgreSQL: a throw-away cluster in the work directory. ------------------------------
start_pg() {
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [[ -x "$PG_BIN/pg_ctl" ]] || { log "no PostgreSQL server binaries (apt-get install -y postgresql)"; exit 1; }
    mkdir -p "$WORK/pg"
    if [[ $(id -u) == 0 ]]; then
        chown postgres: "$WORK/pg"
        chmod 755 "$WORK"
        PG_RUN=(runuser -u postgres --)
    else
        PG_RUN=(env)
    fi
    PG_PORT=$(free_port)
    "${PG_RUN[@]}" "$PG_BIN/initdb" --auth=trust --username=postgres --encoding=UTF8 \
        --no-instructions -D "$WORK/pg/data" >/dev/null
    "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$WORK/pg -c max_connections=200" \
        start >/dev/null
}
pg_db() { # NAME -> URL
    "${PG_RUN[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$1"
    echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"
}

if want scaleout || want provision; then
    start_pg
fi

if want scaleout; then
    PGSTORE=$(pg_db scaleout)
    new_store "$PGSTORE"
    serve "$PGSTORE"
    A=$SERVER_PORT
    FIXED=$KEYPROV/$ESCAPED_USER/$(hex_time "$(ntp_now)")
    curl -sf -k -X POST -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$A$FIXED" >/dev/null
    read -r rps1 p50 p99 bad < <(KPATH=$FIXED run_wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" \
        -s "$WORK/keyprov.lua" "https://127.0.0.1:$A")
    report "keyprov, already issued, PostgreSQL, 1 server, $CONNS conns" "$rps1 req/s, p50 $p50, p99 $p99, non-2xx $bad"
    serve "$PGSTORE"
    B=$SERVER_PORT
    KPATH=$FIXED run_wrk -t1 -c$((CONNS / 2)) -d"$DURATION" -s "$WORK/keyprov.lua" \
        "https://127.0.0.1:$A" >"$WORK/wrk-a" &
    WA=$!
    KPATH=$FIXED run_wrk -t1 -c$((CONNS / 2)) -d"$DURATION" -s "$WORK/keyprov.lua" \
        "https://127.0.0.1:$B" >"$WORK/wrk-b"
    wait "$WA"
    read -r ra pa qa ba <"$WORK/wrk-a"
    read -r rb pb qb bb <"$WORK/wrk-b"
    sum=$(awk -v a="$ra" -v b="$rb" 'BEGIN {printf "%.0f", a + b}')
    report "keyprov, already issued, PostgreSQL, 2 servers, $((CONNS / 2)) conns each" \
        "$sum req/s ($ra + $rb), p99 $qa / $qb, non-2xx $ba / $bb, ratio to 1 server $(awk -v a="$sum" -v b="$rps1" 'BEGIN {printf "%.2f", a / b}')"
    stop_servers
fi

if want provision; then
    # Users files: one per run, so that every run issues fresh key sets (2 periods each).
    users_file() { # TAG
        for i in $(seq 1 "$USERS"); do echo "sip:$1-$i@example.org"; done >"$WORK/users-$1"
        echo "$WORK/users-$1"
    }
    # One run: record the job (--detach), then N workers of T threads each until it is done.
    provision_run() { # STORE TAG WORKERS THREADS -> key sets per second
        local store=$1 tag=$2 n=$3 threads=$4
        ms kms provision --store "$store" --users-file "$(users_file "$tag")" --detach >/dev/null 2>&1
        local t0 t1 w pids=()
        t0=$(date +%s.%N)
        for w in $(seq 1 "$n"); do
            ms kms worker --store "$store" --once --threads "$threads" >/dev/null 2>&1 &
            pids+=($!)
        done
        for w in "${pids[@]}"; do wait "$w"; done
        t1=$(date +%s.%N)
        awk -v n=$((USERS * 2)) -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f key sets/s (%.2f s)", n / (b - a), b - a}'
    }
    SQ=$WORK/provision.db
    ms kms init --store "$SQ" --kms-uri "$KMS_URI" >/dev/null
    PQ=$(pg_db provision)
    ms kms init --store "$PQ" --kms-uri "$KMS_URI" >/dev/null
    t0=$(date +%s.%N)
    ms kms job status --store "$SQ" >/dev/null
    t1=$(date +%s.%N)
    report "store open (Argon2id, counted in every worker run)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f s", b - a}')"
    for shape in "1 1" "2 1" "1 2"; do
        read -r n threads <<<"$shape"
        s=$(provision_run "$SQ" "sq$n$threads" "$n" "$threads")
        p=$(provision_run "$PQ" "pg$n$threads" "$n" "$threads")
        report "provision $((USERS * 2)) key sets, $n worker(s) x $threads thread(s), SQLite" "$s"
        report "provision $((USERS * 2)) key sets, $n worker(s) x $threads thread(s), PostgreSQL" "$p"
    done
fi
