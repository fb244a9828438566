//! Keras's files that do not fit: a model of other layers, a tensor of another shape, a
//! truncated or corrupt file, an archive entry that would inflate past what the model needs,
//! and hundreds of mutated copies of real files. Each is an error in words (never a panic),
//! and the model is left as it was. Reading the files that fit is in `forward_keras.rs`.

use kiln::core::params::Params;
use kiln::keras::load_weights;
use kiln::prelude::*;
use std::io::Write;

kiln::model! {
    /// `tests/fixtures/keras/small_cnn.*`'s model.
    struct SmallCnn: [12, 12, 2] => <
        Conv2D(4, 3, relu), Conv2D(6, (3, 3), activation = relu, padding = valid, strides = 1),
        MaxPool(2), Dropout(0.25), Flatten, Dense(8, relu), Dropout(0.5), Dense(5, softmax),
    >
}

kiln::model! {
    /// The same layers with a wider first Dense.
    struct Wider: [12, 12, 2] => <
        Conv2D(4, 3, relu), Conv2D(6, (3, 3), activation = relu, padding = valid, strides = 1),
        MaxPool(2), Dropout(0.25), Flatten, Dense(9, relu), Dropout(0.5), Dense(5, softmax),
    >
}

kiln::model! {
    /// `special/nested`'s inner Sequential model (Keras named its layers `dense_2`, `dense_3`).
    struct Block: [6] => < Dense(4, relu), Dense(5) >
}

kiln::model! {
    /// `special/nested`: a functional model calling `Block`.
    struct Nested {
        input v: [6];
        let x = Dense(6, tanh)(v);
        output y = Dense(3, softmax)(Block(x));
    }
}

kiln::model! {
    /// `special/nested_seq`'s inner functional model, its layers named as in Keras.
    struct Pair {
        input u: [5];
        let enc = Dense(4, tanh, name = "enc")(u);
        let gate = Dense(4, sigmoid, name = "gate")(u);
        output y = Multiply(enc, gate);
    }
}

kiln::model! {
    /// `special/nested_seq`: a Sequential model holding `Pair`.
    struct NestedSeq: [3] => < Dense(5), Pair, Dense(2) >
}

kiln::model! {
    /// `special/nested_chain`: `Block` in a Sequential model (Keras named the Dense `dense_2`).
    struct Chain: [6] => < Block, Dense(3, softmax) >
}

kiln::model! {
    /// `special/nested_func`: `Pair` in a functional model, its call the output.
    struct NestedFunc {
        input v: [5];
        let x = Dense(5)(v);
        output y = Pair(x);
    }
}

kiln::model! {
    /// A model with two outputs, nested below.
    struct Heads {
        input x: [4];
        output a = Dense(2)(x);
        output b = Dense(3)(x);
    }
}

kiln::model! {
    /// A nested model with two outputs, which kiln does not write into Keras's config yet.
    struct WithHeads {
        input x: [4];
        let (a, b) = Heads(x);
        output y = Dense(2, softmax)(Concatenate(a, b));
    }
}

kiln::model! {
    /// Other classes in other places.
    struct Other: [12, 12, 2] => < Flatten, Dense(8, relu), Dense(5, softmax) >
}

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keras");

fn file(name: &str) -> String {
    format!("{DIR}/{name}")
}

/// Every parameter, to check that a failed load changed nothing.
fn params<M: Model<Scalar = f32>>(m: &M) -> Vec<f32> {
    let mut all = Vec::new();
    m.visit_params(None, &mut |p| all.extend_from_slice(p.data));
    all
}

fn error<M: Model<Scalar = f32>>(path: &str) -> String {
    let mut m = M::init(3);
    let before = params(&*m);
    let e = load_weights(&mut *m, path).expect_err(path).to_string();
    assert!(
        params(&*m) == before,
        "{path}: a failed load changed the model"
    );
    e
}

#[test]
fn a_wider_layer_is_named_with_both_shapes_and_where_the_file_keeps_it() {
    let e = error::<Wider>(&file("small_cnn.keras"));
    assert_eq!(
        e,
        format!(
            "{DIR}/small_cnn.keras (`layers/dense/vars/0`): tensor `dense/kernel` has shape \
             [96, 8] but the model expects [96, 9]"
        )
    );
    let e = error::<Wider>(&file("small_cnn.h5"));
    assert_eq!(
        e,
        format!(
            "{DIR}/small_cnn.h5 (`model_weights/dense/sequential/dense/kernel`): tensor \
             `dense/kernel` has shape [96, 8] but the model expects [96, 9]"
        )
    );
}

#[test]
fn a_model_without_the_files_layers_is_refused_naming_the_layer() {
    for (name, group) in [
        ("small_cnn.keras", " (`layers/conv2d`)"),
        ("small_cnn.weights.h5", " (`layers/conv2d`)"),
        ("small_cnn.h5", ""),
    ] {
        assert_eq!(
            error::<Other>(&file(name)),
            format!(
                "{DIR}/{name}: corrupt file: the file's layer `conv2d`{group} has weights, but \
                 kiln's model has no such layer"
            )
        );
    }
}

kiln::model! {
    /// small_cnn's layers with a Dense where the file has a Conv2D.
    struct Swapped: [12, 12, 2] => <
        Dense(4, relu, name = "conv2d"), Flatten, Dense(5, softmax),
    >
}

#[test]
fn a_layer_of_another_class_is_refused_naming_both() {
    assert_eq!(
        error::<Swapped>(&file("small_cnn.keras")),
        format!(
            "{DIR}/small_cnn.keras: corrupt file: layer 1 `conv2d` is a Dense in kiln but \
             `conv2d` in the file is a Conv2D"
        )
    );
}

#[test]
fn truncated_and_corrupt_files_are_errors_in_words() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["small_cnn.keras", "small_cnn.weights.h5", "small_cnn.h5"] {
        let bytes = std::fs::read(file(name)).unwrap();
        for keep in [0, 8, 100, bytes.len() / 2, bytes.len() - 1] {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes[..keep]).unwrap();
            let e = error::<SmallCnn>(path.to_str().unwrap());
            assert!(
                e.contains("corrupt file") || e.contains("no tensor"),
                "{name}[..{keep}]: {e}"
            );
        }
    }
}

#[test]
fn an_archive_entry_larger_than_the_model_needs_is_refused_before_inflating() {
    // 64 MiB of zeros deflate to about 64 KiB; the model needs about 1 MiB per layer.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.keras");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let deflate = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let config = std::fs::read(file("small_cnn.keras")).unwrap();
    let config = {
        let mut a = zip::ZipArchive::new(std::io::Cursor::new(config)).unwrap();
        let mut s = String::new();
        std::io::Read::read_to_string(&mut a.by_name("config.json").unwrap(), &mut s).unwrap();
        s
    };
    zip.start_file("config.json", deflate).unwrap();
    zip.write_all(config.as_bytes()).unwrap();
    zip.start_file("model.weights.h5", deflate).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        zip.write_all(&zeros).unwrap();
    }
    zip.finish().unwrap();
    let e = error::<SmallCnn>(path.to_str().unwrap());
    assert!(
        e.contains("`model.weights.h5` inflates to 67108864 bytes, more than this model can need"),
        "{e}"
    );
}

/// A few hundred copies of real Keras files with bytes changed, each loaded: `Ok` or `Err`,
/// never a panic (the reader's own panics are caught and reported as corrupt files).
#[test]
fn mutated_files_load_or_fail_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut ok, mut err) = (0, 0);
    for name in [
        "small_cnn.keras",
        "small_cnn.weights.h5",
        "small_cnn.h5",
        "lstm.h5",
        "special/nested.keras",
        "special/nested.weights.h5",
        "special/nested.h5",
    ] {
        let bytes = std::fs::read(file(name)).unwrap();
        let name = name.trim_start_matches("special/");
        for _ in 0..100 {
            let mut b = bytes.clone();
            for _ in 0..1 + next() % 8 {
                let at = (next() % b.len() as u64) as usize;
                b[at] = next() as u8;
            }
            let path = dir.path().join(name);
            std::fs::write(&path, &b).unwrap();
            let result = if name.starts_with("lstm") {
                kiln::model! { struct Lstm: [6, 3] => < LSTM(4, return_sequences = true), LSTM(3, go_backwards = true, return_sequences = true), Flatten, Dense(2) > }
                load_weights(&mut *Lstm::init(1), &path)
            } else if name.starts_with("nested") {
                // A nested model: the readers' recursion into its config and groups.
                load_weights(&mut *Nested::init(1), &path)
            } else {
                load_weights(&mut *SmallCnn::init(1), &path)
            };
            match result {
                Ok(()) => ok += 1,
                // A file that does not fit says which tensor or what is corrupt.
                Err(
                    kiln::Error::Corrupt { .. }
                    | kiln::Error::MissingTensor { .. }
                    | kiln::Error::ShapeMismatch { .. },
                ) => err += 1,
                Err(other) => panic!("{name}: unexpected error {other}"),
            }
        }
    }
    println!("mutated files: {ok} loaded, {err} refused");
    assert!(err > 100 && ok > 0, "{ok} loaded, {err} refused");
}

#[test]
fn a_model_saves_keras_weights_by_the_file_name_and_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let (a, mut b) = (SmallCnn::init(1), SmallCnn::init(2));
    let path = dir.path().join("small_cnn.weights.h5");
    a.save_weights(&path).unwrap();
    assert_eq!(&std::fs::read(&path).unwrap()[..8], b"\x89HDF\r\n\x1a\n");
    b.load_weights(&path).unwrap();
    assert!(params(&*a) == params(&*b));
    // A plain `.h5` is Keras's legacy format, which kiln does not write.
    let e = a.save_weights(dir.path().join("small_cnn.h5")).unwrap_err();
    assert!(
        e.to_string().contains("whose name ends in `.weights.h5`"),
        "{e}"
    );
    // Any other name is kiln's safetensors.
    let st = dir.path().join("small_cnn.safetensors");
    a.save_weights(&st).unwrap();
    assert_ne!(&std::fs::read(&st).unwrap()[..8], b"\x89HDF\r\n\x1a\n");
}

#[test]
fn a_model_saves_a_keras_archive_and_reads_it_back() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let (a, mut b) = (SmallCnn::init(1), SmallCnn::init(2));
    let path = dir.path().join("small_cnn.keras");
    a.save_keras(&path).unwrap();
    // The three entries Keras writes, and a config Keras's `load_model` rebuilds the model from
    // (which `scripts/check_kiln_weights.py` checks for every fixture): one entry per layer
    // after the input, with kiln's names and Keras's classes.
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let names: Vec<&str> = zip.file_names().collect();
    assert_eq!(names, ["metadata.json", "config.json", "model.weights.h5"]);
    let mut text = String::new();
    zip.by_name("config.json")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let config: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(config["class_name"], "Sequential");
    let layers = config["config"]["layers"].as_array().unwrap();
    assert_eq!(layers[0]["class_name"], "InputLayer");
    assert_eq!(
        layers[0]["config"]["batch_shape"],
        serde_json::json!([null, 12, 12, 2])
    );
    let written: Vec<(&str, &str)> = layers[1..]
        .iter()
        .map(|l| {
            (
                l["config"]["name"].as_str().unwrap(),
                l["class_name"].as_str().unwrap(),
            )
        })
        .collect();
    let kiln: Vec<(&str, &str)> = SmallCnn::LAYERS.iter().map(|l| (l.name, l.class)).collect();
    assert_eq!(written, kiln);
    assert_eq!(
        layers[2]["config"]["kernel_size"],
        serde_json::json!([3, 3])
    );
    assert_eq!(layers[8]["config"]["activation"], "softmax");
    // kiln reads back what it wrote: the config pairs the layers, the weights are a's.
    b.load_weights(&path).unwrap();
    assert!(params(&*a) == params(&*b));
    // Keras loads only `.keras` names; a nested model with several outputs is not in
    // Keras's config from kiln yet.
    let e = a.save_keras(dir.path().join("small_cnn.zip")).unwrap_err();
    assert!(e.to_string().contains("ends in `.keras`"), "{e}");
    let e = WithHeads::init(1)
        .save_keras(dir.path().join("with_heads.keras"))
        .unwrap_err();
    assert!(
        e.to_string().contains(
            "cannot describe layer 1 `heads` (Heads): a nested model with several outputs"
        ),
        "{e}"
    );
    assert!(!dir.path().join("with_heads.keras").exists());
}

/// A nested-model fixture `special/<name>.*`: every Keras format loads into `M` and gives
/// Keras's outputs; what kiln writes (`.keras`, `.weights.h5`) it reads back into the same
/// weights; and `save_keras` still writes the config Keras rebuilt the model from
/// (`from_kiln/<name>.keras`, which `KILN_WRITE_KERAS=1` rewrites for
/// `scripts/check_kiln_weights.py`).
fn nested_case<M: Model<Scalar = f32>>(name: &str) {
    let special = |f: &str| format!("{DIR}/special/{f}");
    let dir = tempfile::tempdir().unwrap();
    let reference =
        kiln::keras::Reference::read(special(&format!("{name}.io.safetensors"))).unwrap();
    for ext in ["keras", "weights.h5", "h5"] {
        let f = special(&format!("{name}.{ext}"));
        let mut net = M::init(0);
        load_weights(&mut *net, &f).unwrap_or_else(|e| panic!("{f}: {e}"));
        reference
            .check(&*net, 1e-5)
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        for out in ["keras", "weights.h5"] {
            let path = dir.path().join(format!("{name}.{out}"));
            if out == "keras" {
                kiln::keras::save_keras(&*net, &path).unwrap();
            } else {
                kiln::keras::save_weights(&*net, &path).unwrap();
            }
            let mut again = M::init(1);
            load_weights(&mut *again, &path).unwrap_or_else(|e| panic!("{name}.{out}: {e}"));
            assert!(params(&*again) == params(&*net), "{name}.{out}");
        }
    }
    let written = dir.path().join(format!("{name}.keras"));
    let accepted = format!("{DIR}/from_kiln/{name}.keras");
    if std::env::var_os("KILN_WRITE_KERAS").is_some() {
        std::fs::copy(&written, &accepted).unwrap();
    }
    assert!(
        config_of(&written) == config_of(accepted.as_ref()),
        "{name}: save_keras's config is no longer the one Keras read ({accepted}); rewrite it \
         with KILN_WRITE_KERAS=1 and check it with scripts/check_kiln_weights.py"
    );
}

#[test]
fn nested_models_read_from_every_keras_format_and_write_back() {
    // A Sequential model in a functional one, whose layers Keras named `dense_2`, `dense_3`
    // (kiln's `Block` calls them `dense`, `dense_1`): paired by Keras's paths in the weights
    // file, by position in the Sequential model's config.
    nested_case::<Nested>("nested");
    // A functional model in a Sequential one, paired by its layers' names.
    nested_case::<NestedSeq>("nested_seq");
    // A Sequential model in a Sequential one (legacy weight names of two shapes).
    nested_case::<Chain>("nested_chain");
    // A functional model in a functional one, its call the model's output (`output_layers`
    // counts a nested functional model's calls from 1).
    nested_case::<NestedFunc>("nested_func");
    let special = |f: &str| format!("{DIR}/special/{f}");
    // The nested model's config is the one it writes alone, under the layer's name.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested_seq.keras");
    NestedSeq::init(2).save_keras(&path).unwrap();
    let config = config_of(&path);
    let pair = &config["config"]["layers"][2];
    assert_eq!(pair["class_name"], "Functional");
    assert_eq!(pair["config"]["name"], "pair");
    let alone: serde_json::Value = serde_json::from_str(Pair::KERAS_CONFIG.unwrap()).unwrap();
    assert_eq!(pair["config"]["layers"], alone["config"]["layers"]);
    // Keras counts a nested functional model's calls from 1 where they are outputs.
    let path = dir.path().join("nested_func.keras");
    NestedFunc::init(3).save_keras(&path).unwrap();
    assert_eq!(
        config_of(&path)["config"]["output_layers"],
        serde_json::json!(["pair", 1, 0])
    );
    // `kiln import` writes a nested model as a model of its own (tests/import.rs builds it),
    // but cannot compile its weights in yet.
    let code = kiln::keras::import(special("nested.keras").as_ref(), None, false, None).unwrap();
    assert!(code.contains("pub struct Block: [6] => <"), "{code}");
    assert!(code.contains("let block = Block(dense);"), "{code}");
    let e = kiln::keras::import(special("nested.keras").as_ref(), None, true, None).unwrap_err();
    assert!(
        e.to_string()
            .contains("`--embed`: kiln does not compile a nested model's weights in yet"),
        "{e}"
    );
    // A model of other layers is refused naming the layer it lacks.
    let e = error::<NestedSeq>(&special("nested.keras"));
    assert!(
        e.contains("the file's model has no layer `pair` (Functional)"),
        "{e}"
    );
}

/// The `config.json` of a `.keras` archive.
fn config_of(path: &std::path::Path) -> serde_json::Value {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut text = String::new();
    zip.by_name("config.json")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn kiln_import_reports_every_layer_it_cannot_build_and_fails() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["import", &format!("{DIR}/unsupported/import_errors.keras")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "kiln: kiln import {DIR}/unsupported/import_errors.keras: 3 problems; kiln cannot \
             build this model yet:\n  \
             layer 1 `conv2d` (Conv2D): `dilation_rate = [2,2]` is not supported (only [1,1])\n  \
             layer 2 `batch_normalization` (BatchNormalization): kiln has no \
             `BatchNormalization` layer\n  \
             layer 4 `dense` (Dense): `kernel_regularizer` is set; kiln has no regularizers or \
             constraints\n"
        )
    );
    // A weights-only file has no model to import; a mistake in the command shows the usage.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["import", &file("small_cnn.weights.h5")])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds weights only"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["import"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: kiln import FILE"));
}

kiln::model! {
    /// Two branches merged, for the diagram.
    struct Branches {
        input image: [8, 8, 1];
        let a = Conv2D(4, 3, padding = same, activation = relu)(image);
        let b = Conv2D(4, 1)(image);
        output class = Dense(3, softmax)(GlobalAvgPool(Add(a, b)));
    }
}

/// The boxes of an SVG diagram (`<g class="layer" id="…">`) and its arrow count.
fn diagram(svg: &str) -> (Vec<String>, usize) {
    let doc = roxmltree::Document::parse(svg).expect("the diagram is XML");
    let boxes = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("layer"))
        .map(|n| n.attribute("id").unwrap().to_string())
        .collect();
    let lines = doc.descendants().filter(|n| n.has_tag_name("line")).count();
    (boxes, lines)
}

#[test]
fn diagrams_parse_and_hold_every_layer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("branches.svg");
    Branches::plot(&path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    let (boxes, lines) = diagram(&svg);
    assert_eq!(
        boxes,
        [
            "image",
            "conv2d",
            "conv2d_1",
            "add",
            "global_average_pooling2d",
            "dense"
        ]
    );
    // image → conv2d, image → conv2d_1, both → add, add → pool → dense.
    assert_eq!(lines, 6);
    assert!(svg.contains("conv2d (Conv2D)") && svg.contains("output: (None, 8, 8, 4)"));
    // A Keras file's diagram, from its config alone.
    let (boxes, lines) =
        diagram(&kiln::keras::plot(file("graph_shared_dense.keras").as_ref()).unwrap());
    assert_eq!(boxes, ["v", "dense", "dense_1", "concatenate", "dense_2"]);
    // v → dense, dense_1 → dense, dense → dense (shared, applied to itself), v → dense_1,
    // dense → concatenate, concatenate → dense_2.
    assert_eq!(lines, 6);
    let (boxes, _) = diagram(&kiln::keras::plot(file("small_cnn.keras").as_ref()).unwrap());
    assert_eq!(boxes.len(), 9);
    assert_eq!(boxes[1], "conv2d");
}

kiln::model! {
    /// small_cnn's model with Keras's archive compiled in.
    struct FromKeras: [12, 12, 2] => <
        Conv2D(4, 3, relu), Conv2D(6, (3, 3), activation = relu, padding = valid, strides = 1),
        MaxPool(2), Dropout(0.25), Flatten, Dense(8, relu), Dropout(0.5), Dense(5, softmax),
    >,
    weights = "tests/fixtures/keras/small_cnn.keras",
}

kiln::model! {
    /// The same from the legacy `.h5` file, in f64.
    struct FromLegacy<f64>: [12, 12, 2] => <
        Conv2D(4, 3, relu), Conv2D(6, (3, 3), activation = relu, padding = valid, strides = 1),
        MaxPool(2), Dropout(0.25), Flatten, Dense(8, relu), Dropout(0.5), Dense(5, softmax),
    >,
    weights = "tests/fixtures/keras/small_cnn.h5",
}

kiln::model! {
    /// A functional model with a shared layer, from Keras 3's weights file.
    struct SharedFromKeras {
        input v: [6];
        let enc = Dense(6, tanh);
        let a = enc(v);
        let b = enc(Dense(6, relu)(v));
        let c = enc(a);
        output y = Dense(3, softmax)(Concatenate(a, b, c));
    },
    weights = "tests/fixtures/keras/graph_shared_dense.weights.h5",
}

#[test]
fn keras_files_compile_into_the_binary_as_they_load_at_run_time() {
    let mut loaded = SmallCnn::init(0);
    loaded.load_weights(file("small_cnn.keras")).unwrap();
    let (a, b) = (params(&*loaded), params(FromKeras::weights()));
    assert!(
        a == b,
        "the compiled-in weights are the ones load_weights reads"
    );
    let mut wide = Vec::new();
    FromLegacy::weights()
        .visit_params(None, &mut |p| wide.extend(p.data.iter().map(|&v| v as f32)));
    assert!(
        a == wide,
        "the legacy file's float32 values, widened to f64 exactly"
    );
    kiln::model! {
        struct Shared { input v: [6]; let enc = Dense(6, tanh); let a = enc(v); let b = enc(Dense(6, relu)(v)); let c = enc(a); output y = Dense(3, softmax)(Concatenate(a, b, c)); }
    }
    let mut shared = Shared::init(0);
    shared
        .load_weights(file("graph_shared_dense.keras"))
        .unwrap();
    assert!(params(&*shared) == params(SharedFromKeras::weights()));
}

#[test]
fn a_reference_file_checks_a_model_against_keras() {
    let dir = tempfile::tempdir().unwrap();
    let io = dir.path().join("io.safetensors");
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/small_cnn.safetensors"
    ))
    .unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&fixture).unwrap();
    let (x, y) = (
        tensors.tensor("__input__").unwrap(),
        tensors.tensor("__output__").unwrap(),
    );
    safetensors::serialize_to_file([("x", x), ("y", y)], None, &io).unwrap();
    let reference = kiln::keras::Reference::read(&io).unwrap();
    let mut net = SmallCnn::init(5);
    let e = reference.check(&*net, 1e-5).unwrap_err().to_string();
    assert!(
        e.contains("outputs differ from Keras's by more than 1e-5"),
        "{e}"
    );
    net.load_weights(file("small_cnn.keras")).unwrap();
    reference.check(&*net, 1e-5).unwrap();
    // A reference for another model is refused by its shape.
    kiln::model! { struct Flat: [288] => < Dense(4) > }
    let e = reference
        .check(&*Flat::init(1), 1e-5)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("tensor `y` has shape [3, 5] but the model expects [3, 4]"),
        "{e}"
    );
}

kiln::model! {
    /// `special/order`'s model, kiln's automatic names: `dense`, `dense_1`, `dense_2` for Keras's
    /// `a`, `b`, `c`, and Keras lists them a, c, b (by depth).
    struct Order {
        input x: [4];
        let a = Dense(3, tanh)(x);
        let b = Dense(3)(a);
        let c = Dense(3)(x);
        output y = Add(c, b);
    }
}

kiln::model! {
    /// The same with Keras's names.
    struct OrderNamed {
        input x: [4];
        let a = Dense(3, tanh, name = "a")(x);
        let b = Dense(3, name = "b")(a);
        let c = Dense(3, name = "c")(x);
        output y = Add(c, b);
    }
}

#[test]
fn a_functional_model_pairs_with_keras_by_name_or_by_keras_order_never_by_position() {
    let special = |f: &str| format!("{DIR}/special/{f}");
    let reference = kiln::keras::Reference::read(special("order.io.safetensors")).unwrap();
    // Keras 3's weights file: by the path Keras itself numbers (its order), names aside.
    let mut net = Order::init(0);
    load_weights(&mut *net, special("order.weights.h5")).unwrap();
    reference.check(&*net, 1e-5).unwrap();
    // A config: kiln's names are not the file's, and position says nothing in a functional
    // model (Keras lists c before b), so it is refused rather than loaded crosswise.
    for f in ["order.keras", "order.h5"] {
        let e = error::<Order>(&special(f));
        assert!(
            e.contains("the file's model has no layer `dense` (Dense) (a functional model's layers pair by name"),
            "{f}: {e}"
        );
    }
    // With Keras's names, every format loads the right weights into the right layers.
    for f in ["order.keras", "order.weights.h5", "order.h5"] {
        let mut net = OrderNamed::init(0);
        load_weights(&mut *net, special(f)).unwrap();
        reference.check(&*net, 1e-5).unwrap();
    }
}
