//! Writes the seeds that kiln itself produces into fuzz/corpus/<target>/seed_*:
//! `cargo +nightly run --example make_seeds` from fuzz/. (The IDX seeds come from
//! `make_idx_seeds.py`; Keras's own files are copied by `seed_corpus.sh`.)

use kiln::Model;

kiln::model! {
    struct Tiny: [4] => < Dense(3, relu), Dense(2) >
}

kiln::model! {
    struct SmallCnn: [12, 12, 2] => <
        Conv2D(4, 3, relu), Conv2D(6, (3, 3), activation = relu, padding = valid, strides = 1),
        MaxPool(2), Dropout(0.25), Flatten, Dense(8, relu), Dropout(0.5), Dense(5, softmax),
    >
}

kiln::model! {
    struct Lstm: [6, 3] => <
        LSTM(4, return_sequences = true),
        LSTM(3, go_backwards = true, return_sequences = true),
        Flatten,
        Dense(2),
    >
}

fn main() -> Result<(), kiln::Error> {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for dir in ["safetensors", "keras", "keras_lstm"] {
        std::fs::create_dir_all(corpus.join(dir)).expect("creating corpus folders");
    }
    // kiln's safetensors, read back by the target's model to check the seed is valid.
    let tiny = corpus.join("safetensors/seed_tiny.safetensors");
    Tiny::init(1).save_weights(&tiny)?;
    <Tiny as Model>::load_weights(&mut *Tiny::init(2), &tiny)?;
    // kiln's own Keras 3 `.weights.h5` and safetensors of the Keras targets' models.
    let cnn = corpus.join("keras/seed_kiln_small_cnn.weights.h5");
    kiln::keras::save_weights(&*SmallCnn::init(1), &cnn)?;
    kiln::keras::load_weights(&mut *SmallCnn::init(2), &cnn)?;
    let cnn_st = corpus.join("keras/seed_kiln_small_cnn.safetensors");
    SmallCnn::init(1).save_weights(&cnn_st)?;
    kiln::keras::load_weights(&mut *SmallCnn::init(2), &cnn_st)?;
    let lstm = corpus.join("keras_lstm/seed_kiln_lstm.weights.h5");
    kiln::keras::save_weights(&*Lstm::init(1), &lstm)?;
    kiln::keras::load_weights(&mut *Lstm::init(2), &lstm)?;
    for p in [tiny, cnn, cnn_st, lstm] {
        println!(
            "{} ({} bytes)",
            p.display(),
            std::fs::metadata(&p).unwrap().len()
        );
    }
    // Keras's fixtures that seed_corpus.sh copies must fit the targets' models.
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/keras");
    for ext in ["keras", "weights.h5", "h5"] {
        let p = fixtures.join(format!("small_cnn.{ext}"));
        kiln::keras::load_weights(&mut *SmallCnn::init(2), &p)?;
        let p = fixtures.join(format!("lstm.{ext}"));
        kiln::keras::load_weights(&mut *Lstm::init(2), &p)?;
    }
    println!("tests/fixtures/keras/{{small_cnn,lstm}}.{{keras,weights.h5,h5}} load into the targets' models");
    Ok(())
}
