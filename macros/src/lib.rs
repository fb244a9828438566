//! `kiln-macros`: the `model!` procedural macro. It parses a list of Keras layers, infers every
//! shape, reports every shape mistake at the offending layer's tokens, and emits a struct whose
//! forward pass calls `kiln-core`'s kernels with all sizes as constants. No numeric code here.

mod catalog;
mod codegen;
mod diagnostics;
mod layer;
mod naming;
mod nested;
mod shape;
mod suggest;
mod summary;
mod syntax;

use diagnostics::Errors;
use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use syn::{Expr, ExprLit, Lit};
use syntax::ModelDef;

/// Defines a network as a list of Keras layers; see the `kiln` crate's documentation.
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    let input = TokenStream2::from(input);
    let def = match syn::parse2::<ModelDef>(input.clone()) {
        Ok(def) => def,
        Err(e) => return e.to_compile_error().into(),
    };
    if let Some(path) = layer::unresolved_nested(&def) {
        return nested::ask(path, input).into();
    }
    expand(&def).into()
}

fn expand(def: &ModelDef) -> TokenStream2 {
    let mut errs = Errors::default();
    let input = input_shape(def, &mut errs);
    if def.layers.is_empty() {
        errs.push(syn::Error::new(def.open, "a model needs at least one layer, e.g. `< Dense(10, softmax) >`"));
    }
    let layers = layer::build_all(&def.layers, &def.known, &mut errs);

    let mut shape = input.clone();
    let mut from = "the model's input".to_string();
    let mut steps = Vec::new();
    for l in &layers {
        match (l, &shape) {
            (Some(l), Some(s)) => match shape::infer(l, s, &from, &def.known) {
                Ok(step) => {
                    shape = Some(step.output.clone());
                    from = format!("layer {} `{}`", l.pos, l.name);
                    steps.push(step);
                }
                Err(msg) => {
                    errs.at(&l.tokens, msg);
                    shape = None;
                }
            },
            _ => shape = None,
        }
    }
    match errs.combined() {
        Some(e) => {
            let (vis, name) = (&def.vis, &def.name);
            let err = e.to_compile_error();
            quote::quote! { #vis struct #name; #err }
        }
        None => {
            let layers: Vec<_> = layers.into_iter().flatten().collect();
            codegen::emit(def, &input.expect("no errors"), &layers, &steps)
        }
    }
}

/// The input shape, checked: 1 to 3 positive integer literals.
fn input_shape(def: &ModelDef, errs: &mut Errors) -> Option<Vec<usize>> {
    let Some(shape) = &def.input else {
        errs.at(
            &def.name,
            format!(
                "`{}` has no input shape: write the shape of one sample after the name, \
                 e.g. `struct {}: [28, 28, 1] => < … >` (an image), `[784]` (a vector) or `[100, 16]` (a sequence)",
                def.name, def.name
            ),
        );
        return None;
    };
    let before = errs.len();
    let mut dims = Vec::new();
    for e in &shape.dims {
        match e {
            Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) if i.base10_parse::<usize>().is_ok_and(|v| v > 0) => {
                dims.push(i.base10_parse().expect("checked"));
            }
            _ => errs.at(e, "each input dimension must be a positive integer literal"),
        }
    }
    if !(1..=3).contains(&shape.dims.len()) {
        errs.at(
            &shape.tokens,
            format!(
                "an input shape has 1 to 3 dimensions: `[n]` (a vector), `[t, f]` (a sequence) or `[h, w, c]` (an image, channels last); got {}",
                shape.dims.len()
            ),
        );
    }
    (errs.len() == before).then_some(dims)
}
