//! The Rust types the generated code names: tensors as nested arrays, layers with every size
//! as a literal. Shared by the inference and the training code generators.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

/// An unsuffixed `usize` literal, for const generic arguments and array lengths.
pub fn lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

/// The nested-array type of a tensor: `[[[f32; 1]; 28]; 28]` for `[28, 28, 1]`.
pub fn tensor_ty(t: &TokenStream, shape: &[usize]) -> TokenStream {
    shape.iter().rev().fold(t.clone(), |inner, &d| {
        let d = lit(d);
        quote!([#inner; #d])
    })
}

/// The type of one input sample of model `name`: its input's tensor, or with several inputs
/// the generated struct `{name}Input` holding one field per input.
pub fn input_ty(t: &TokenStream, name: &syn::Ident, graph: &crate::graph::Graph) -> TokenStream {
    if graph.n_inputs() == 1 {
        tensor_ty(t, graph.input())
    } else {
        let ty = quote::format_ident!("{name}Input");
        quote!(#ty)
    }
}

/// The type of one output sample of model `name`: its output's tensor, or with several
/// outputs the generated struct `{name}Output` holding one field per output.
pub fn output_ty(
    t: &TokenStream,
    name: &syn::Ident,
    graph: &crate::graph::Graph,
    steps: &[crate::shapes::Step],
) -> TokenStream {
    if graph.outputs.len() == 1 {
        tensor_ty(t, graph.shape(steps, graph.output()))
    } else {
        let ty = quote::format_ident!("{name}Output");
        quote!(#ty)
    }
}
