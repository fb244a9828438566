#!/bin/sh
# Fills fuzz/corpus/<target>/ with the seeds that are not committed: Keras's fixture files
# (over 100 KB per target, and already in tests/fixtures/keras), copied as fixture_*. The
# committed seeds (corpus/<target>/seed_*) come from make_idx_seeds.py and
# `cargo +nightly run --example make_seeds`. Run from anywhere.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../tests/fixtures/keras"
for target in keras keras_lstm keras_nested; do mkdir -p "$here/corpus/$target"; done
for ext in keras weights.h5 h5; do
    cp "$fixtures/small_cnn.$ext" "$here/corpus/keras/fixture_small_cnn.$ext"
    cp "$fixtures/lstm.$ext" "$here/corpus/keras_lstm/fixture_lstm.$ext"
    cp "$fixtures/special/nested.$ext" "$here/corpus/keras_nested/fixture_nested.$ext"
done
echo "copied Keras fixtures into $here/corpus/keras, keras_lstm and keras_nested"
