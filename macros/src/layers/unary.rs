//! The code of a weightless per-sample layer whose kernel value `k` has
//! `forward(x, &mut y)` and `backward([x,] dy, dx)`: the window pools, the global pools, zero
//! padding and cropping, and upsampling call these from their `LayerKind` methods, and Embedding
//! for its inference (its kernel is its field, `self.embedding`).

use crate::emit::{batch, forward, infer, train};
use proc_macro2::TokenStream;
use quote::quote;

/// Inference on one sample: `y` is made zeroed, then filled.
pub fn forward(k: &TokenStream, cx: &forward::Cx) -> forward::Parts {
    let (x_in, b) = (&cx.x_in, &cx.b);
    let zeroed = cx.zeroed();
    let run = quote! {
        #zeroed
        #k.forward(#x_in, &mut #b);
    };
    cx.parts(run, TokenStream::new(), "linear")
}

/// Training: the same forward, and a backward that reads the input too if `reads_input`.
pub fn train(k: &TokenStream, cx: &train::Cx, reads_input: bool) -> train::Parts {
    let input = &cx.input;
    let mut p = cx.parts();
    let (out, dy) = (cx.at(&cx.a), cx.at(&cx.g));
    p.forward = quote!(#k.forward(#input, &mut #out););
    p.with_dx = if reads_input {
        quote!(#k.backward(#input, &#dy, d_prev);)
    } else {
        quote!(#k.backward(&#dy, d_prev);)
    };
    p
}

/// Batched inference, inside a run of per-sample layers.
pub fn batch(k: &TokenStream, cx: &batch::Cx) -> batch::Parts {
    assert!(cx.in_run, "per-sample layers are in runs");
    let (x, x_out, ty_out) = (&cx.x, &cx.x_out, &cx.ty_out);
    let (mut p, out) = cx.sample_output();
    p.code = quote! {
        #k.forward(#x, &mut #out);
        let #x_out: &#ty_out = &#out;
    };
    p
}

/// Arena inference, between the buffers `cx.io` names `x` and `y`.
pub fn arena(k: &TokenStream, cx: &infer::Cx) -> TokenStream {
    let io = &cx.io;
    quote! {{
        #io
        #k.forward(x, y);
    }}
}
