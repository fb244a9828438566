//! `kiln import` end to end, as a user runs it: every Keras fixture's `.keras` file (and a few
//! legacy `.h5` files) becomes Rust source, which is built in a crate of its own that depends on
//! kiln, whose tests load each model's weights from its Keras file and check Keras's outputs.

use std::path::Path;
use std::process::Command;

/// The fixtures with a Keras file, from the fixture README's table.
fn fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("tests/fixtures/keras")
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".keras").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect()
}

/// The models imported with `--test`: one runs its Keras file, one compiles it in, several
/// inputs, several outputs.
const WITH_TEST: &[&str] = &[
    "small_cnn",
    "lstm_options",
    "graph_two_inputs",
    "graph_two_outputs",
];

/// A `--test` reference file (`x`, `y`) from a fixture's `__input__` and `__output__`.
fn reference(fixture: &Path, io: &Path) {
    let bytes = std::fs::read(fixture).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (x, y) = (
        file.tensor("__input__").unwrap(),
        file.tensor("__output__").unwrap(),
    );
    safetensors::serialize_to_file([("x", x), ("y", y)], None, io).unwrap();
}

#[test]
fn imported_models_compile_and_reproduce_keras() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let krate = root.join("target/tests/kiln-import");
    let src = krate.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let mut lib = String::from(
        "//! Models written by `kiln import`, and tests that they reproduce Keras.\n\
         #![allow(dead_code)]\n\nmod check;\n",
    );
    let mut tests = String::new();
    let mut with_test = 0;
    let mut cases: Vec<(String, String)> = fixtures()
        .into_iter()
        .map(|f| (f.clone(), format!("{f}.keras")))
        .collect();
    for f in [
        "small_cnn",
        "lstm",
        "graph_two_inputs",
        "graph_shared_dense",
    ] {
        cases.push((format!("{f}_legacy"), format!("{f}.h5")));
    }
    for (module, file) in &cases {
        let path = root.join("tests/fixtures/keras").join(file);
        let ty = camel(module);
        // Half the models compile their Keras file in, half load it at run time; a few also
        // get `--test`, with Keras's outputs from the fixture as the reference.
        let embed = module.len() % 2 == 0;
        let fixture_name = module.trim_end_matches("_legacy");
        let io = WITH_TEST.contains(&module.as_str()).then(|| {
            let io = krate.join(format!("{module}.io.safetensors"));
            reference(
                &root.join(format!("tests/fixtures/{fixture_name}.safetensors")),
                &io,
            );
            io
        });
        with_test += usize::from(io.is_some());
        let code = kiln::keras::import(&path, Some(&ty), embed, io.as_deref())
            .unwrap_or_else(|e| panic!("kiln import {file}: {e}"));
        assert!(code.contains(&format!("pub struct {ty}")), "{code}");
        std::fs::write(src.join(format!("{module}.rs")), code).unwrap();
        lib += &format!("mod {module};\n");
        let fixture = module.trim_end_matches("_legacy");
        let fixture = root.join(format!("tests/fixtures/{fixture}.safetensors"));
        tests += &if embed {
            format!(
                "#[test]\nfn {module}() {{\n    compare(crate::{module}::{ty}::weights(), \"{}\", \"{}\");\n}}\n\n",
                path.display(),
                fixture.display()
            )
        } else {
            format!(
                "#[test]\nfn {module}() {{\n    check::<crate::{module}::{ty}>(\"{}\", \"{}\");\n}}\n\n",
                path.display(),
                fixture.display()
            )
        };
    }
    // The special graphs (tests/fixtures/keras/special): Keras's order is not the order the
    // layers were made in; inputs used in another order than declared; a shared layer's first
    // call is an output; a layer named like a shared layer's call; models nested both ways,
    // each imported as a model of its own. Their own reference files hold Keras's outputs;
    // each is imported with `--test`, `tricky` once loaded and once compiled in.
    let specials = [
        ("order", false),
        ("tricky", false),
        ("tricky", true),
        ("nested", false),
        ("nested_seq", false),
        ("nested_chain", false),
        ("nested_func", false),
    ];
    for (special, embed) in specials {
        let path = root.join(format!("tests/fixtures/keras/special/{special}.keras"));
        let io = root.join(format!(
            "tests/fixtures/keras/special/{special}.io.safetensors"
        ));
        let module = format!("special_{special}{}", if embed { "_embedded" } else { "" });
        let ty = camel(&module);
        let code = kiln::keras::import(&path, Some(&ty), embed, Some(&io))
            .unwrap_or_else(|e| panic!("kiln import {}: {e}", path.display()));
        std::fs::write(src.join(format!("{module}.rs")), code).unwrap();
        lib += &format!("mod {module};\n");
        with_test += 1;
    }
    std::fs::write(src.join("lib.rs"), lib).unwrap();
    std::fs::write(
        src.join("check.rs"),
        format!("use super::*;\n{CHECK}\n{tests}").replace("use super::*;\n", ""),
    )
    .unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"kiln-import-check\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n[dependencies]\nkiln = {{ path = \"{}\" }}\nsafetensors = \"0.8\"\n\n\
             [workspace]\n",
            root.display()
        ),
    )
    .unwrap();
    // The same versions of every dependency as kiln's own build.
    std::fs::copy(root.join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    let out = Command::new(env!("CARGO"))
        .args(["test", "--offline", "--quiet"])
        .current_dir(&krate)
        .env(
            "CARGO_TARGET_DIR",
            root.join("target/tests/kiln-import-target"),
        )
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "the imported crate failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(with_test, WITH_TEST.len() + specials.len());
    let passed = format!("{} passed", cases.len() + with_test);
    assert!(stdout.contains(&passed), "expected `{passed}`:\n{stdout}");
}

/// The imported crate's test helper: loads the Keras file into `M` and compares each output
/// with Keras's in the safetensors fixture.
const CHECK: &str = r#"
use kiln::core::bytemuck;
use kiln::Model;

fn floats(file: &safetensors::SafeTensors<'_>, name: &str) -> (Vec<usize>, Vec<f32>) {
    let t = file.tensor(name).unwrap();
    let data = t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    (t.shape().to_vec(), data)
}

fn check<M: Model<Scalar = f32>>(keras: &str, fixture: &str) {
    let mut m = M::init(0);
    kiln::keras::load_weights(&mut *m, keras).unwrap_or_else(|e| panic!("{keras}: {e}"));
    compare(&*m, keras, fixture);
}

fn compare<M: Model<Scalar = f32>>(m: &M, keras: &str, fixture: &str) {
    let bytes = std::fs::read(fixture).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let ((xs, x), (ys, y)) = (floats(&file, "__input__"), floats(&file, "__output__"));
    let (n_in, n_out) = (x.len() / xs[0], y.len() / ys[0]);
    for s in 0..xs[0] {
        let input: M::Input = bytemuck::pod_read_unaligned(bytemuck::cast_slice(&x[s * n_in..][..n_in]));
        let out = m.forward(&input);
        let got: &[f32] = bytemuck::cast_slice(core::slice::from_ref(&out));
        for (g, w) in got.iter().zip(&y[s * n_out..][..n_out]) {
            assert!((g - w).abs() <= 1e-5 + 1e-4 * w.abs(), "{keras}: sample {s}: kiln {g}, keras {w}");
        }
    }
}
"#;
