//! `weights = "file.safetensors"` (or Keras's `.keras`, `.weights.h5`, legacy `.h5`): reads a
//! weights file at compile time and checks every tensor the model needs (name, dtype, shape) so
//! a file that doesn't fit its model fails the build, naming the tensor.

use crate::emit::types::lit;
use crate::graph::Graph;
use crate::shapes::{fmt_shape, Step};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use std::collections::BTreeMap;
use std::path::PathBuf;
use syn::LitStr;

/// One tensor of the file: dtype name as safetensors spells it (`F32`, `I8`…), shape, bytes.
pub struct Tensor {
    pub dtype: String,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

/// A weights file, read whole.
pub struct WeightFile {
    /// The path as the user wrote it, for messages.
    pub shown: String,
    /// The resolved path, for `include_bytes!` (so cargo rebuilds when the file changes).
    pub path: PathBuf,
    pub tensors: BTreeMap<String, Tensor>,
}

/// A tensor the model needs.
pub struct Need {
    pub name: String,
    pub dtype: &'static str,
    pub shape: Vec<usize>,
    /// "layer 3 `conv2d_1` (Conv2D)", or the model input.
    pub owner: String,
}

/// The directory relative paths start from: the crate's `Cargo.toml` directory, as for
/// `include_bytes!`-style macros of other crates. `CARGO_MANIFEST_DIR_OVERRIDE` takes precedence
/// so that trybuild's UI tests, which build in a scratch crate, can point back at the real one.
fn base_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR_OVERRIDE")
        .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"))
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The bytes of the file named by `lit`, and its resolved path; errors point at the literal.
fn bytes(lit: &LitStr) -> syn::Result<(Vec<u8>, PathBuf)> {
    let shown = lit.value();
    let path = base_dir().join(&shown);
    let bytes = std::fs::read(&path).map_err(|e| {
        syn::Error::new(
            lit.span(),
            format!(
                "cannot read the weights file `{shown}`: {e}; the path is relative to the directory of the crate's Cargo.toml"
            ),
        )
    })?;
    Ok((bytes, path))
}

/// Reads and parses the safetensors file named by `lit`; errors point at the literal.
pub fn read(lit: &LitStr) -> syn::Result<WeightFile> {
    let (bytes, path) = bytes(lit)?;
    let shown = lit.value();
    if kiln_core::keras::Format::of(&bytes) != kiln_core::keras::Format::Safetensors {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`{shown}` is a Keras file; an int8 model embeds the file `kiln::quantize` writes \
                 (a float model can embed a Keras file)"
            ),
        ));
    }
    let file = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| {
        syn::Error::new(
            lit.span(),
            format!("`{shown}` is not a valid safetensors file: {e}"),
        )
    })?;
    let tensors = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let t = Tensor {
                dtype: format!("{:?}", view.dtype()),
                shape: view.shape().to_vec(),
                data: view.data().to_vec(),
            };
            (name, t)
        })
        .collect();
    Ok(WeightFile {
        shown,
        path,
        tensors,
    })
}

/// Reads a float model's file: kiln's safetensors, or a Keras file (`.keras`, `.weights.h5`,
/// legacy `.h5`) whose tensors are found for `graph`'s layers as `load_weights` finds them and
/// given kiln's names, in the model's `dtype`.
fn read_float(
    lit: &LitStr,
    graph: &Graph,
    steps: &[Step],
    functional: bool,
    dtype: &str,
) -> syn::Result<WeightFile> {
    let (bytes, path) = bytes(lit)?;
    if kiln_core::keras::Format::of(&bytes) == kiln_core::keras::Format::Safetensors {
        return read(lit);
    }
    let shown = lit.value();
    let records = crate::graph::keras_order::records(graph, steps, functional);
    let records: Vec<kiln_core::LayerRecord> = records
        .iter()
        .map(|r| kiln_core::LayerRecord {
            name: &r.name,
            class: &r.class,
            params: &r.params,
            // A nested model's weights are not embedded (`embedded_type`): this is never read.
            nested: None,
            keras_path: &r.keras_path,
        })
        .collect();
    let params: usize = steps.iter().map(|s| s.params).sum();
    // As `load_weights`: the values, an optimizer's state, HDF5's bookkeeping.
    let limit = params as u64 * 16 + (1 << 20) * (records.len() as u64 + 1);
    let found = kiln_core::keras::read(bytes, &records, limit)
        .map_err(|e| syn::Error::new(lit.span(), format!("`{shown}` cannot be read: {e}")))?;
    let tensors = found
        .into_iter()
        .map(|f| {
            let data = if dtype == "F64" {
                f.data.iter().flat_map(|v| v.to_le_bytes()).collect()
            } else {
                f.data
                    .iter()
                    .flat_map(|&v| (v as f32).to_le_bytes())
                    .collect()
            };
            let t = Tensor {
                dtype: dtype.to_string(),
                shape: f.shape,
                data,
            };
            (f.name, t)
        })
        .collect();
    Ok(WeightFile {
        shown,
        path,
        tensors,
    })
}

/// The float tensors a model of `dtype` (`F32`/`F64`) needs, named as `save_weights` names them.
pub fn float_needs(graph: &Graph, steps: &[Step], dtype: &'static str) -> Vec<Need> {
    let mut needs = Vec::new();
    for (l, s) in graph.owners(steps) {
        for w in l.kind.weights(s).into_iter().filter(|w| w.stored) {
            needs.push(Need {
                name: format!("{}/{}", l.name, w.name),
                dtype,
                shape: w.shape,
                owner: l.label(),
            });
        }
    }
    needs
}

/// With `weights = "…"`: `Model::WEIGHTS` (the file's values as a `const`) and `Model::weights()`
/// (a `&'static` model, in flash on a microcontroller).
pub fn embed(
    t: &TokenStream,
    name: &syn::Ident,
    graph: &Graph,
    steps: &[Step],
    lit_path: &LitStr,
    functional: bool,
) -> syn::Result<TokenStream> {
    let dtype = if t.to_string() == "f64" { "F64" } else { "F32" };
    let mut types = Vec::new();
    for (l, _) in graph.owners(steps) {
        match l.kind.embedded_type() {
            Ok(ty) => types.push(ty),
            Err(what) => {
                return Err(syn::Error::new(
                    lit_path.span(),
                    format!(
                        "`weights = …` cannot embed {what} yet ({}); load them at run time with `load_weights` instead",
                        l.label()
                    ),
                ))
            }
        }
    }
    let file: WeightFile = read_float(lit_path, graph, steps, functional, dtype)?;
    if file.tensors.contains_key("input/scale") {
        return Err(syn::Error::new(
            lit_path.span(),
            format!(
                "`{}` is an int8 weights file (written by `kiln::quantize`): embed it in the int8 model, `struct {name}<i8>: …`",
                file.shown
            ),
        ));
    }
    let needs = float_needs(graph, steps, dtype);
    let help = format!(
        "help: embed a file written for this model: `{name}::save_weights` writes one (tensors `<layer>/kernel` and `<layer>/bias` in Keras's layouts, {dtype})"
    );
    check(&file, &needs, &name.to_string(), lit_path, &help)?;
    let mut fields = Vec::new();
    for ((l, s), ty) in graph.owners(steps).zip(types) {
        let Some(ty) = ty else { continue };
        let mut params = Vec::new();
        for w in l.kind.weights(s) {
            let value = if w.stored {
                let n = format!("{}/{}", l.name, w.name);
                let ts: Vec<TokenStream> = file.tensors[&n]
                    .floats(&n, lit_path)?
                    .into_iter()
                    .map(|v| quote!(#v))
                    .collect();
                nested(&ts, &w.shape)
            } else {
                // Not in the file (`use_bias = false`): the field is zeros.
                let zero = if dtype == "F64" {
                    quote!(0.0f64)
                } else {
                    quote!(0.0f32)
                };
                let n = lit(w.shape.iter().product());
                quote!([#zero; #n])
            };
            let param = format_ident!("{}", w.name);
            params.push(quote!(#param: #value));
        }
        let ident = format_ident!("{}", l.name);
        fields.push(quote!(#ident: ::kiln::core::layers::#ty { #(#params),* }));
    }
    let path = file.path.to_string_lossy().into_owned();
    let shown = &file.shown;
    let doc = format!("The weights of `{shown}`, embedded at compile time.");
    Ok(quote! {
        impl #name {
            #[doc = #doc]
            ///
            /// Every tensor's name, dtype and shape was checked against the model when it was
            /// compiled. A `const`: write `static NET: Model = Model::WEIGHTS;` to keep one copy,
            /// or call [`Self::weights`].
            pub const WEIGHTS: Self = Self { #(#fields),* };

            /// The embedded weights as a `static`: no start-up work and, on a microcontroller,
            /// no RAM (it stays in flash).
            pub fn weights() -> &'static Self {
                static WEIGHTS: #name = #name::WEIGHTS;
                &WEIGHTS
            }
        }
        // Rebuild when the weights file changes.
        const _: &[u8] = include_bytes!(#path);
    })
}

/// Checks that `file` holds exactly `needs` (tensors whose names start with `__` are metadata
/// and ignored), reporting every problem at once at `at`.
pub fn check(
    file: &WeightFile,
    needs: &[Need],
    model: &str,
    at: &LitStr,
    help: &str,
) -> syn::Result<()> {
    let shown = &file.shown;
    let mut problems = Vec::new();
    for n in needs {
        match file.tensors.get(&n.name) {
            None => problems.push(format!(
                "`{shown}` has no tensor `{}`, which {} needs ({} {})",
                n.name,
                n.owner,
                n.dtype,
                fmt_shape(&n.shape)
            )),
            Some(t) if t.shape != n.shape => problems.push(format!(
                "tensor `{}` in `{shown}` has shape {}, but {} needs {}",
                n.name,
                fmt_shape(&t.shape),
                n.owner,
                fmt_shape(&n.shape)
            )),
            Some(t) if t.dtype != n.dtype => problems.push(format!(
                "tensor `{}` in `{shown}` is {}, but {} needs {}",
                n.name, t.dtype, n.owner, n.dtype
            )),
            Some(_) => {}
        }
    }
    for name in file.tensors.keys() {
        if !name.starts_with("__") && !needs.iter().any(|n| &n.name == name) {
            problems.push(format!(
                "tensor `{name}` in `{shown}` belongs to no layer of `{model}`"
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut err = syn::Error::new(
        at.span(),
        format!(
            "the weights file `{shown}` does not fit `{model}`: {}",
            problems[0]
        ),
    );
    for p in &problems[1..] {
        err.combine(syn::Error::new(at.span(), p));
    }
    err.combine(syn::Error::new(at.span(), help));
    Err(err)
}

impl Tensor {
    /// The values as `f32` or `f64` literals (per `dtype`), refusing NaN and infinities.
    pub fn floats(&self, name: &str, at: &LitStr) -> syn::Result<Vec<proc_macro2::Literal>> {
        let bad = |v: String| {
            syn::Error::new(
                at.span(),
                format!("tensor `{name}` holds {v}; weights must be finite"),
            )
        };
        if self.dtype == "F64" {
            self.data
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .map(|v| {
                    v.is_finite()
                        .then(|| proc_macro2::Literal::f64_suffixed(v))
                        .ok_or_else(|| bad(v.to_string()))
                })
                .collect()
        } else {
            self.data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .map(|v| {
                    v.is_finite()
                        .then(|| proc_macro2::Literal::f32_suffixed(v))
                        .ok_or_else(|| bad(v.to_string()))
                })
                .collect()
        }
    }

    /// The values of an `I8` tensor.
    pub fn i8s(&self) -> Vec<i8> {
        self.data.iter().map(|&b| b as i8).collect()
    }

    /// The values of an `I32` tensor.
    pub fn i32s(&self) -> Vec<i32> {
        self.data
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect()
    }

    /// The values of an `F32` tensor.
    pub fn f32s(&self) -> Vec<f32> {
        self.data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect()
    }
}

/// `[a, b, …]` nested to `shape` (row-major), from flat literals.
pub fn nested(values: &[proc_macro2::TokenStream], shape: &[usize]) -> proc_macro2::TokenStream {
    match shape {
        [] => values[0].clone(),
        [_] => quote::quote!([#(#values),*]),
        [d, rest @ ..] => {
            let step = values.len() / d;
            let parts = values.chunks(step).map(|c| nested(c, rest));
            quote::quote!([#(#parts),*])
        }
    }
}
