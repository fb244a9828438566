//! The Rust types the generated code names: tensors as nested arrays, layers with every size
//! as a literal. Shared by the inference and the training code generators.

use crate::layer::{Config, Layer};
use crate::shape::Step;
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

/// The type of a layer's parameter field, or `None` for layers without parameters.
pub fn field_type(t: &TokenStream, l: &Layer, s: &Step) -> Option<TokenStream> {
    Some(match &l.config {
        Config::Dense { units, bias, .. } => {
            let (i, o) = (lit(*s.input.last().expect("rank >= 1")), lit(*units));
            quote!(::kiln::core::layers::Dense<#t, #i, #o, #bias>)
        }
        Config::Conv2D {
            filters,
            kernel,
            strides,
            bias,
            ..
        } => {
            let [kh, kw, ci, co, sh, sw, pt, pl] = [
                kernel.0, kernel.1, s.input[2], *filters, strides.0, strides.1, s.pad.0, s.pad.1,
            ]
            .map(lit);
            quote!(::kiln::core::layers::Conv2D<#t, #kh, #kw, #ci, #co, #sh, #sw, #pt, #pl, #bias>)
        }
        Config::Nested { path, .. } => quote!(#path),
        _ => return None,
    })
}
