#!/usr/bin/env bash
# kiln side by side with its peers: Keras 3 on TensorFlow (CPU), PyTorch (CPU), candle and tract.
#
# Every framework does the same work with the same number of threads: the seed CNN and the
# 784-512-10 MLP, Adam (lr 1e-3), batch 128, one epoch of MNIST (steady training images/s,
# leaving out the first 20 steps; test accuracy after the epoch; peak RSS), then batch-1
# forward latency (median of 1000 calls) and batch-1000 predict throughput. tract only runs
# inference, on ONNX exports of candle's trained weights.
#
#   scripts/bench_peers.sh                 # install what is missing, measure, update BENCHMARKS.md
#   QUICK=1 scripts/bench_peers.sh         # smoke run: a few batches, 100 latency calls; prints
#                                          # the table, leaves BENCHMARKS.md alone (WRITE=1 writes)
#   scripts/bench_peers.sh --setup-only    # install and build the peers, measure nothing
#
# Environment: THREADS (default 2); SKIP=torch,candle,... (keras, torch, candle, tract);
# MNIST_DIR (else ../shared/data/mnist, $KILN_DATA_DIR/mnist, ~/.kiln/datasets/mnist, Keras's
# cache); PEERS_DIR (default ../shared/peers); KERAS_VENV, TORCH_VENV, ONNX_VENV (default
# target/peers/venv-*; created when absent); TIMEOUT per run in seconds (default 3600);
# BENCH_NOTE, a sentence added to the report (e.g. that the machine was shared).
#
# Needs: Rust stable, Python 3 with venv and pip, and the package registries (PyPI,
# crates.io). Everything lands in target/peers/; the peers' code is copied there, never into
# the repository. The first run installs about 6 GB (PyPI's PyTorch is the CUDA build, 5.4 GB
# with its NVIDIA libraries; SKIP=torch leaves it out) and builds candle and tract: about 13
# minutes on 2 cores before measuring starts. The measurements take about 14 minutes. A peer that fails to install or run gets "—" and a note saying why; the
# script fails only when kiln's own run does.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=$ROOT/scripts/peers
THREADS=${THREADS:-2}
QUICK=${QUICK:-0}
SKIP=${SKIP:-}
TIMEOUT=${TIMEOUT:-3600}
PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/peers}
WORK=$ROOT/target/peers
RES=$WORK/results
LOGS=$WORK/logs
KERAS_VENV=${KERAS_VENV:-$WORK/venv-keras}
TORCH_VENV=${TORCH_VENV:-$WORK/venv-torch}
ONNX_VENV=${ONNX_VENV:-$WORK/venv-onnx}
PY=${PYTHON:-python3}
SETUP_ONLY=0
[ "${1:-}" = "--setup-only" ] && SETUP_ONLY=1

[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || { echo "error: THREADS must be a positive integer, not '$THREADS'" >&2; exit 2; }
if [ "$QUICK" = 1 ]; then
    LIMIT=3840          # 30 steps of 128: 20 left out, 10 timed
    LATENCY_RUNS=100
else
    LIMIT=60000
    LATENCY_RUNS=1000
fi

STARTED=$(date +%s)
rm -rf "$RES"
mkdir -p "$RES" "$LOGS"
say() { printf '\n== %s\n' "$*" >&2; }
# note KEY REASON: why a peer (or one of its runs) has no figures; the report prints it.
note() { printf '%s\t%s\n' "$1" "$2" >>"$RES/notes.tsv"; echo "   note ($1): $2" >&2; }
skipped() { [[ ",$SKIP," == *",$1,"* ]]; }
# What to quote from a failed step's log: its last line that names an error, else its last line.
last_line() {
    local line
    line=$(grep -iE 'error|exception|panicked|killed' "$1" 2>/dev/null | tail -n 1)
    [ -n "$line" ] || line=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1)
    printf '%s' "$line" | tr '|' '/' | cut -c1-200
}
# measure NAME CMD...: runs CMD with its output in $RES/NAME.log and its exit code, wall time
# and peak RSS in $RES/NAME.run.json; true if it succeeded.
measure() {
    local name=$1
    shift
    echo "   run $name: $*" >&2
    "$PY" "$HERE/run.py" "$RES/$name.log" "$RES/$name.run.json" "$TIMEOUT" -- "$@"
}
# failed KEY NAME: notes why run NAME failed.
failed() {
    local why
    why=$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print("timed out" if r["timed_out"] else "exited with code %d" % r["rc"])' "$RES/$2.run.json" 2>/dev/null || echo "did not run")
    note "$1" "$2 $why: $(last_line "$RES/$2.log")"
}

# ---------------------------------------------------------------- data
say "MNIST"
MNIST=$("$PY" "$HERE/mnist_files.py" "$WORK/mnist" "${MNIST_DIR:-}" "$ROOT/../shared/data/mnist" \
    "${KILN_DATA_DIR:+$KILN_DATA_DIR/mnist}" "$HOME/.kiln/datasets/mnist" \
    "${KERAS_HOME:-$HOME/.keras}/datasets") || { echo "error: no MNIST, so nothing to measure" >&2; exit 1; }
echo "   $MNIST" >&2
# kiln reads $KILN_DATA_DIR/mnist; the Python peers $MNIST_GZ; candle and tract $MNIST_DIR.
KILN_DATA=$WORK/kiln-data
mkdir -p "$KILN_DATA" && ln -sfn "$MNIST" "$KILN_DATA/mnist"
export MNIST_GZ=$MNIST MNIST_DIR=$MNIST KILN_DATA_DIR=$KILN_DATA

# ---------------------------------------------------------------- setup
# ensure_venv DIR CHECK PACKAGE...: a virtualenv at DIR where python -c CHECK succeeds, made with
# pip when absent; true if it is usable. Logs to $LOGS/venv-<dir name>.log.
ensure_venv() {
    local dir=$1 check=$2 log
    shift 2
    log=$LOGS/$(basename "$dir").log
    if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "$check" >/dev/null 2>&1; then
        echo "   $dir: present" >&2
        return 0
    fi
    echo "   $dir: pip install $* (log: $log)" >&2
    {
        "$PY" -m venv "$dir" || { rm -rf "$dir" && apt-get install -y python3-venv && "$PY" -m venv "$dir"; }
    } >"$log" 2>&1 || return 1
    timeout "${INSTALL_TIMEOUT:-1800}" "$dir/bin/pip" install --progress-bar off "$@" >>"$log" 2>&1 || return 1
    "$dir/bin/python" -c "$check" >>"$log" 2>&1
}

# build_crate NAME CARGO_ARGS...: copies ../shared/peers/rust/NAME (and the common/ module it
# includes) into target/peers/rust and builds it there, release, from its Cargo.lock.
build_crate() {
    local name=$1 src=$PEERS_DIR/rust dst=$WORK/rust
    shift
    [ -f "$src/$name/Cargo.toml" ] || { echo "no $src/$name" >"$LOGS/$name.log"; return 1; }
    mkdir -p "$dst/$name" "$dst/common"
    (cd "$src/$name" && tar --exclude=./target -cf - .) | (cd "$dst/$name" && tar -xf -) || return 1
    cp "$src"/common/*.rs "$dst/common/" || return 1
    # Its own workspace: otherwise cargo takes it for a member of kiln's, which it is not.
    grep -q '^\[workspace\]' "$dst/$name/Cargo.toml" || printf '\n[workspace]\n' >>"$dst/$name/Cargo.toml"
    (cd "$dst/$name" && CARGO_TARGET_DIR=$dst/target cargo build --release --locked "$@") >"$LOGS/$name.log" 2>&1
}

SETUP_STARTED=$(date +%s)
say "kiln: cargo build --release --example 04_bench"
(cd "$ROOT" && cargo build --release --example 04_bench) >"$LOGS/kiln.log" 2>&1 || {
    tail -n 30 "$LOGS/kiln.log" >&2
    echo "error: kiln's benchmark does not build" >&2
    exit 1
}
# cargo puts it under $CARGO_TARGET_DIR when that is set (relative to the root, as cargo takes it).
KILN_TARGET=${CARGO_TARGET_DIR:-target}
[[ "$KILN_TARGET" = /* ]] || KILN_TARGET=$ROOT/$KILN_TARGET
KILN_BIN=$KILN_TARGET/release/examples/04_bench
# The revision measured, taken now (the tree may move on while the peers run); "-dirty" when
# kiln's own sources differ from it.
KILN_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
KILN_SOURCES=(core src macros examples Cargo.toml Cargo.lock)
if ! git -C "$ROOT" diff --quiet HEAD -- "${KILN_SOURCES[@]}" 2>/dev/null ||
    [ -n "$(git -C "$ROOT" ls-files --others --exclude-standard -- "${KILN_SOURCES[@]}" 2>/dev/null)" ]; then
    KILN_REV=$KILN_REV-dirty
fi

HAVE_KERAS=0 HAVE_TORCH=0 HAVE_CANDLE=0 HAVE_TRACT=0 HAVE_ONNX=0
if skipped keras; then
    note keras "skipped (SKIP=$SKIP)"
else
    say "Keras 3 + TensorFlow CPU"
    if ensure_venv "$KERAS_VENV" "import keras, tensorflow" tensorflow-cpu keras; then
        HAVE_KERAS=1
    else
        note keras "pip install tensorflow-cpu keras failed: $(last_line "$LOGS/$(basename "$KERAS_VENV").log")"
    fi
fi
if skipped torch; then
    note torch "skipped (SKIP=$SKIP)"
else
    # PyPI's Linux wheel is the CUDA build: it pulls in about 5 GB of NVIDIA libraries, and
    # runs on the CPU as well.
    say "PyTorch"
    if ensure_venv "$TORCH_VENV" "import torch, numpy" torch numpy; then
        HAVE_TORCH=1
    else
        note torch "pip install torch numpy failed: $(last_line "$LOGS/$(basename "$TORCH_VENV").log")"
    fi
fi
if [ $HAVE_KERAS = 1 ] || [ $HAVE_TORCH = 1 ]; then
    "$PY" "$HERE/copy_python_peers.py" "$PEERS_DIR/python" "$WORK/python" >"$LOGS/python-peers.log" 2>&1 || {
        note keras "cannot use the peer programs: $(last_line "$LOGS/python-peers.log")"
        note torch "cannot use the peer programs: $(last_line "$LOGS/python-peers.log")"
        HAVE_KERAS=0 HAVE_TORCH=0
    }
fi
if skipped candle; then
    note candle "skipped (SKIP=$SKIP)"
else
    say "candle: cargo build --release"
    if build_crate candle-bench; then HAVE_CANDLE=1; else note candle "build failed: $(last_line "$LOGS/candle-bench.log")"; fi
fi
if skipped tract; then
    note tract "skipped (SKIP=$SKIP)"
else
    say "tract: cargo build --release --features mt, and onnx for the exports"
    if ! build_crate tract-bench --features mt; then
        note tract "build failed: $(last_line "$LOGS/tract-bench.log")"
    elif ! ensure_venv "$ONNX_VENV" "import onnx, numpy" onnx numpy; then
        note tract "pip install onnx numpy failed: $(last_line "$LOGS/$(basename "$ONNX_VENV").log")"
    else
        HAVE_TRACT=1 HAVE_ONNX=1
    fi
fi
SETUP_S=$(($(date +%s) - SETUP_STARTED))
[ $SETUP_ONLY = 1 ] && { say "setup done in ${SETUP_S}s"; exit 0; }

# ---------------------------------------------------------------- measure
# One run at a time, so that no two share the cores.
export THREADS LATENCY_RUNS MNIST_LIMIT=$LIMIT
MEASURE_STARTED=$(date +%s)

say "kiln"
KILN_OK=1
for m in cnn mlp; do
    measure "kiln-$m" "$KILN_BIN" "$m" --threads "$THREADS" --limit "$LIMIT" --latency-runs "$LATENCY_RUNS" || {
        failed kiln "kiln-$m"
        KILN_OK=0
    }
done

if [ $HAVE_KERAS = 1 ]; then
    say "Keras"
    for m in cnn mlp; do
        KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2 measure "keras-$m" \
            "$KERAS_VENV/bin/python" "$WORK/python/bench_keras.py" "$m" 1 "$RES/keras-$m.json" ||
            failed keras "keras-$m"
    done
fi

if [ $HAVE_TORCH = 1 ]; then
    say "PyTorch"
    for m in cnn mlp; do
        measure "torch-$m" "$TORCH_VENV/bin/python" "$WORK/python/bench_torch.py" "$m" 1 "$RES/torch-$m.json" ||
            failed torch "torch-$m"
    done
fi

RUST_BIN=$WORK/rust/target/release
if [ $HAVE_CANDLE = 1 ]; then
    say "candle"
    # candle (and the gemm crate under it) size their thread pools from RAYON_NUM_THREADS.
    for m in cnn mlp; do
        if [ "$QUICK" = 1 ]; then export MAX_BATCHES=$((LIMIT / 128)); fi
        RAYON_NUM_THREADS=$THREADS measure "candle-train-$m" "$RUST_BIN/candle-train" "$m" 1 "$RES/candle-$m.safetensors" ||
            failed candle "candle-train-$m"
        unset MAX_BATCHES
        weights=()
        [ -f "$RES/candle-$m.safetensors" ] && weights=("$RES/candle-$m.safetensors")
        RAYON_NUM_THREADS=$THREADS measure "candle-infer-$m" "$RUST_BIN/candle-infer" "$m" "${weights[@]}" ||
            failed candle "candle-infer-$m"
    done
fi

if [ $HAVE_TRACT = 1 ]; then
    say "tract"
    # The ONNX exports carry candle's trained weights when there are both, random ones otherwise.
    onnx_args=()
    if [ -f "$RES/candle-cnn.safetensors" ] && [ -f "$RES/candle-mlp.safetensors" ]; then
        onnx_args=("$RES/candle-cnn.safetensors" "$RES/candle-mlp.safetensors")
    else
        note tract "no candle-trained weights, so the ONNX models have random weights (accuracy left out)"
    fi
    if measure make-onnx "$ONNX_VENV/bin/python" "$WORK/rust/tract-bench/make_onnx.py" "$RES" "${onnx_args[@]}"; then
        # Batch 1 with tract's default single thread (as kiln's forward), and again with
        # $THREADS threads for multithreaded matrix products (which batch 1000 uses).
        for m in cnn mlp; do
            for t in 1 "$THREADS"; do
                TRACT_THREADS=$t measure "tract-$m-${t}t" "$RUST_BIN/tract-infer" "$m" "$RES/$m.onnx" ||
                    failed tract "tract-$m-${t}t"
                [ "$t" = 1 ] && [ "$THREADS" = 1 ] && break
            done
        done
    else
        failed tract make-onnx
    fi
fi
MEASURE_S=$(($(date +%s) - MEASURE_STARTED))

# ---------------------------------------------------------------- report
say "report"
versions() {
    [ $HAVE_KERAS = 1 ] && "$KERAS_VENV/bin/python" -c 'import keras, tensorflow as tf; print("keras=" + keras.__version__); print("tensorflow=" + tf.__version__)' 2>/dev/null
    [ $HAVE_TORCH = 1 ] && "$TORCH_VENV/bin/python" -c 'import torch; print("torch=" + torch.__version__)' 2>/dev/null
    [ $HAVE_ONNX = 1 ] && "$ONNX_VENV/bin/python" -c 'import onnx; print("onnx=" + onnx.__version__)' 2>/dev/null
    local c lock
    for c in $HAVE_CANDLE:candle-bench:candle-core $HAVE_TRACT:tract-bench:tract-onnx; do
        lock=$WORK/rust/$(echo "$c" | cut -d: -f2)/Cargo.lock
        [ "${c%%:*}" = 1 ] && [ -f "$lock" ] && awk -v n="${c##*:}" '$0 == "name = \"" n "\"" { getline; gsub(/version = |"/, ""); print n "=" $0 }' "$lock"
    done
    echo "kiln=$KILN_REV"
    echo "rustc=$(rustc --version | cut -d' ' -f2)"
    echo "python=$("$PY" -c 'import platform; print(platform.python_version())')"
    true
}
versions >"$RES/versions.txt"
WRITE=${WRITE:-$([ "$QUICK" = 1 ] && echo 0 || echo 1)}
"$PY" "$HERE/report.py" "$RES" "$ROOT/BENCHMARKS.md" --write "$WRITE" --threads "$THREADS" --quick "$QUICK" \
    --limit "$LIMIT" --latency-runs "$LATENCY_RUNS" --setup-s "$SETUP_S" --measure-s "$MEASURE_S" \
    --total-s "$(($(date +%s) - STARTED))" --started "$STARTED" --note "${BENCH_NOTE:-}" || echo "warning: the report failed" >&2

if [ $KILN_OK = 0 ]; then
    echo "error: kiln's own run failed (see $RES/kiln-*.log)" >&2
    exit 1
fi
