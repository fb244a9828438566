//! `kiln-macros`: the `model!` procedural macro. It parses a list of Keras layers, infers every
//! shape, reports every shape mistake at the offending layer's tokens, and emits a struct whose
//! forward pass calls `kiln-core`'s kernels with all sizes as constants. No numeric code here.

//!
//! The phases, one folder or file each: `syntax` (tokens to a `ModelDef`) → `graph` (layers
//! named, arguments checked, a graph of values) → `shapes` (each layer's rule, in its file in
//! `layers/`) → `plan` (the arena) → `emit` (the generated code). `layers/` holds one file per
//! layer kind with everything the macro knows about it.

mod diagnostics;
mod emit;
mod graph;
mod layers;
mod naming;
mod plan;
mod shapes;
mod suggest;
mod syntax;

use diagnostics::{shown, Errors};
use graph::{head, nested, Graph};
use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use shapes::ShapeCx;
use syn::{Expr, ExprLit, Lit};
use syntax::ModelDef;

/// Defines a network: a list of Keras layers (`struct Net: [28, 28, 1] => < … >`) or, in the
/// functional form, statements over values (`struct Net { input x: [4]; output y = Dense(2)(x); }`);
/// see the README and the `kiln` crate's documentation.
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    let input = TokenStream2::from(input);
    let def = match syn::parse2::<ModelDef>(input.clone()) {
        Ok(def) => def,
        Err(e) => return e.to_compile_error().into(),
    };
    if let Some(path) = head::unresolved_nested(&def) {
        return nested::ask(path, input).into();
    }
    expand(&def).into()
}

/// Checks and emits the model, one layer after the other so that errors come in source order.
fn expand(def: &ModelDef) -> TokenStream2 {
    if def.functional.is_some() {
        return expand_functional(def);
    }
    let mut errs = Errors::default();
    let input = input_shape(def, &mut errs);
    check_scalar(def, &mut errs);
    if def.layers.is_empty() {
        errs.at(
            &def.brackets,
            format!(
                "`{}` has no layers: a model needs at least one, e.g. `< Dense(10, softmax) >`",
                def.name
            ),
        );
    }
    let heads = head::heads(&def.layers, &def.known);
    let scalar = def.scalar_name();
    let mut shape = input.clone();
    let mut layers: Vec<Option<graph::Layer>> = Vec::new();
    let mut steps = Vec::new();
    // Set when a nested model has errors of its own: this model cannot be emitted either.
    let mut incomplete = false;
    for (i, written) in heads.iter().enumerate() {
        let mut built = graph::build(written, &def.known, &mut errs);
        head::check_name(&heads, i, &mut errs);
        if let (head::What::Layer(info), Some(l)) = (&written.what, &built) {
            if matches!(info.arity, layers::Arity::Merge { .. }) {
                errs.at(
                    &l.tokens,
                    format!(
                        "{}: a merge combines several values, but a layer list gives each layer only \
                         the one before it; write `{}` as a functional model: \
                         `struct {} {{ input x: […]; …; output y = {}(a, b); }}`",
                        l.label(),
                        info.spellings[0],
                        def.name,
                        info.spellings[0]
                    ),
                );
                built = None;
            }
        }
        let prev = layers.last().and_then(Option::as_ref);
        shape = match &built {
            Some(l) => {
                let cx = ShapeCx::new(l, prev, &def.known, &scalar);
                match shape.as_deref() {
                    _ if l.kind.is_broken(&cx) => {
                        incomplete = true;
                        None
                    }
                    Some(s) => match l.kind.infer(s, &cx) {
                        Ok(step) => {
                            let out = step.output.clone();
                            steps.push(step);
                            Some(out)
                        }
                        Err(msg) => {
                            errs.at(&l.tokens, msg);
                            None
                        }
                    },
                    None => l.kind.output_alone(&cx),
                }
            }
            None => None,
        };
        layers.push(built);
    }
    match (errs.combined(), input) {
        (None, Some(input)) if !incomplete => {
            let layers: Vec<_> = layers.into_iter().map(|l| l.expect("no errors")).collect();
            let graph = Graph::chain(input, layers);
            if def.scalar.as_ref().is_some_and(|t| t == "i8") {
                emit::int8::emit(def, &graph, &steps)
            } else {
                emit::emit(def, &graph, &steps)
            }
        }
        (err, _) => placeholder(def, err),
    }
}

/// The functional form: its layers built as in the Sequential form, then wired into a graph.
fn expand_functional(def: &ModelDef) -> TokenStream2 {
    let f = def.functional.as_ref().expect("the functional form");
    let mut errs = Errors::default();
    let inputs: Vec<Option<Vec<usize>>> = f
        .inputs
        .iter()
        .map(|i| shape_dims(&i.name, &i.shape, &mut errs))
        .collect();
    check_scalar(def, &mut errs);
    let heads = head::heads(&def.layers, &def.known);
    let mut layers = Vec::new();
    for (i, written) in heads.iter().enumerate() {
        layers.push(graph::build(written, &def.known, &mut errs));
        head::check_name(&heads, i, &mut errs);
    }
    let wired = graph::functional::wire(def, f, &heads, layers, inputs, &mut errs);
    match (errs.combined(), wired) {
        (None, Some((graph, steps))) => {
            if def.scalar.as_ref().is_some_and(|t| t == "i8") {
                emit::int8::emit(def, &graph, &steps)
            } else {
                emit::emit(def, &graph, &steps)
            }
        }
        (err, _) => placeholder(def, err),
    }
}

/// Reports an element type other than `f32`, `f64` or `i8`.
fn check_scalar(def: &ModelDef, errs: &mut Errors) {
    if let Some(t) = def
        .scalar
        .as_ref()
        .filter(|t| *t != "f32" && *t != "f64" && *t != "i8")
    {
        errs.at(t, format!("`{}` computes in `f32`, `f64` or `i8` (quantized), not `{t}`; write `struct {}<f64>: …`, or leave the type out for `f32`", def.name, def.name));
    }
}

/// What a model with errors expands to: its errors, a unit struct so that its name resolves,
/// and a nesting macro that answers `broken` so models using it add no errors about it.
fn placeholder(def: &ModelDef, err: Option<syn::Error>) -> TokenStream2 {
    let (vis, name) = (&def.vis, &def.name);
    let err = err.map(|e| e.to_compile_error());
    let answerer = nested::answerer(name, None, "");
    quote::quote! { #vis struct #name; #err #answerer }
}

/// The input shape, checked: 1 to 3 positive integer literals.
fn input_shape(def: &ModelDef, errs: &mut Errors) -> Option<Vec<usize>> {
    let name = &def.name;
    let Some(shape) = &def.input else {
        errs.at(
            name,
            format!(
                "`{name}` has no input shape: write the shape of one sample after the name, \
                 e.g. `struct {name}: [28, 28, 1] => < … >` (an image), `[784]` (a vector) or `[100, 16]` (a sequence)"
            ),
        );
        return None;
    };
    shape_dims(name, shape, errs)
}

/// The dimensions of `name`'s input shape, checked: 1 to 3 positive integer literals.
fn shape_dims(
    name: &syn::Ident,
    shape: &syntax::InputShape,
    errs: &mut Errors,
) -> Option<Vec<usize>> {
    let before = errs.len();
    let mut dims = Vec::new();
    for (i, e) in shape.dims.iter().enumerate() {
        match e {
            Expr::Lit(ExprLit { lit: Lit::Int(v), .. }) if v.base10_parse::<usize>().is_ok_and(|v| v > 0) => {
                dims.push(v.base10_parse().expect("checked"));
            }
            _ => errs.at(
                e,
                format!(
                    "dimension {} of `{name}`'s input shape is `{}`; each dimension must be a positive integer literal{}",
                    i + 1,
                    shown(e),
                    diagnostics::literal_note(e)
                ),
            ),
        }
    }
    if !(1..=3).contains(&shape.dims.len()) {
        errs.at(
            &shape.tokens,
            format!(
                "`{name}`'s input shape has {} dimensions, but a sample is `[n]` (a vector), `[t, f]` (a sequence) \
                 or `[h, w, c]` (an image, channels last); the batch size is not part of it",
                shape.dims.len()
            ),
        );
    }
    (errs.len() == before).then_some(dims)
}
