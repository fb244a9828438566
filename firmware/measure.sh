#!/usr/bin/env bash
# Builds and runs the int8 and f32 firmwares under QEMU and prints their figures as a Markdown
# table: flash, RAM, instructions per inference, accuracy, agreement with the host.
#
#   ./measure.sh                      # both models, the release profile as Cargo.toml sets it
#   OPT_LEVELS="3 s" ./measure.sh     # also compare opt-levels (rebuilds everything per level)
#   PEER=../target/peers/microflow-fw ./measure.sh   # add the microflow peer firmware's row
#
# Flash = the sections the board boots with, from `arm-none-eabi-size -A`: .vector_table +
# .text + .rodata + .data (its initial values are stored in flash), less the embedded test set,
# which memory.x puts in its own section .kiln_testdata (not counted). RAM = .data + .bss +
# .uninit + the peak stack of one inference (which the firmware measures by stack painting).
# For the peer, whose test set is in .rodata, the size of its three test-data files is
# subtracted instead.
set -euo pipefail
cd "$(dirname "$0")"
command -v arm-none-eabi-size >/dev/null || { echo "needs arm-none-eabi-size (binutils-arm-none-eabi)" >&2; exit 1; }
elf_dir=target/thumbv7em-none-eabihf/release
log=target/measure
mkdir -p "$log"

# section NAME ELF: its size in bytes (0 if absent).
section() { arm-none-eabi-size -A "$2" | awk -v s="$1" '$1 == s { n = $2 } END { print n + 0 }'; }

# row LABEL ELF LOG TESTDATA_BYTES: one line of the table.
row() {
    local label=$1 elf=$2 out=$3 extra=$4
    local vt text ro data bss uninit td flash stack ram instr acc agree
    vt=$(section .vector_table "$elf"); text=$(section .text "$elf"); ro=$(section .rodata "$elf")
    data=$(section .data "$elf"); bss=$(section .bss "$elf"); uninit=$(section .uninit "$elf")
    td=$(section .kiln_testdata "$elf")
    flash=$((vt + text + ro + data - extra))
    stack=$(sed -n 's/^peak stack of one inference: \([0-9]*\) bytes.*/\1/p' "$out")
    ram=$((data + bss + uninit + stack))
    instr=$(sed -n -e 's/^instructions per inference: \([0-9]*\) .*/\1/p' \
        -e 's/.*~\([0-9]*\) instructions per inference.*/\1/p' "$out")
    acc=$(sed -n -e 's/^accuracy: \([0-9]*\/[0-9]*\).*/\1/p' -e 's/.*correct \([0-9]*\/[0-9]*\).*/\1/p' "$out")
    agree=$(sed -n -e 's/^agreement with the host: \(.*\)/\1 (host)/p' \
        -e 's/.*agrees with TFLite \([0-9]*\/[0-9]*\).*/\1 (TFLite)/p' "$out")
    printf '| %s | %s (text %s, rodata %s; test set %s not counted) | %s (static %s, stack %s) | %s | %s | %s |\n' \
        "$label" "$flash" "$text" "$ro" "$((td + extra))" \
        "$ram" "$((data + bss + uninit))" "$stack" "$instr" "$acc" "$agree"
}

rows=()
for opt in ${OPT_LEVELS:-default}; do
    for kind in int8 f32; do
        flags=(); [ "$kind" = f32 ] && flags=(--features f32)
        env=(); [ "$opt" != default ] && env=(CARGO_PROFILE_RELEASE_OPT_LEVEL="$opt")
        out="$log/$kind-$opt.txt"
        echo "== $kind, opt-level $opt" >&2
        # The runner's exit status is the firmware's verdict: a failure stops the script.
        env "${env[@]}" cargo run --release --quiet "${flags[@]}" >"$out"
        cat "$out" >&2
        elf="$log/$kind-$opt.elf"
        cp "$elf_dir/kiln-firmware" "$elf"
        rows+=("$(row "kiln $kind (opt $opt)" "$elf" "$out" 0)")
    done
done
if [ -n "${PEER:-}" ]; then
    echo "== peer: $PEER" >&2
    out="$PWD/$log/peer.txt"
    (cd "$PEER" && cargo run --release --quiet >"$out")
    cat "$out" >&2
    extra=$(cat "$PEER"/digits.i8 "$PEER"/labels.u8 "$PEER"/tflite_pred.u8 | wc -c)
    rows+=("$(row "microflow 0.1.3 int8 (opt s)" "$PEER/target/thumbv7em-none-eabihf/release/microflow-mnist" "$out" "$extra")")
fi

echo
echo '| firmware | flash, bytes | RAM, bytes | instructions per inference | correct | agreement |'
echo '| --- | --- | --- | --- | --- | --- |'
printf '%s\n' "${rows[@]}"
