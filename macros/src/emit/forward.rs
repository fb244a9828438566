//! `forward` and `forward_observed`: one sample through the network, each layer writing a
//! stack buffer of its exact output type, reshapes as zero-copy casts, activations in place.

use crate::emit::types::{lit, tensor_ty};
use crate::graph::Graph;
use crate::layers::Act;
use crate::shapes::Step;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

/// Applies `act` in place to `rows`, an expression of type `&mut [[T; c]]` (a tensor seen as
/// rows of its last axis, where Keras applies activations). Nothing for `linear`.
pub fn apply_act(t: &TokenStream, act: &Act, c: usize, rows: TokenStream) -> TokenStream {
    if act.name == "linear" {
        return TokenStream::new();
    }
    let ty = format_ident!("{}", act.ty);
    let c = lit(c);
    quote! {
        <::kiln::core::activations::#ty as ::kiln::core::activations::Activation>::apply::<#t, #c>(#rows);
    }
}

/// What a layer's `forward` sees: its values' names and its output type.
pub struct Cx<'a> {
    pub t: TokenStream,
    pub s: &'a Step,
    /// The layer's field in the model struct.
    pub field: Ident,
    /// The input value, a reference to a tensor.
    pub x_in: Ident,
    /// Every input value, `x_in` first (a merge reads several).
    pub x_ins: Vec<Ident>,
    /// The output value, bound by [`Parts::bind`].
    pub x_out: Ident,
    /// The layer's own output buffer, when it has one.
    pub b: Ident,
    pub ty_out: TokenStream,
}

/// One layer's forward code, in three parts so the observed pass (for calibration) can look
/// between them: `run` computes the layer into `b`, `act` applies its activation, `bind` names
/// the result `x_out`.
pub struct Parts {
    pub run: TokenStream,
    pub act: TokenStream,
    pub bind: TokenStream,
    /// The activation's name, `linear` for none.
    pub act_name: &'static str,
}

impl Cx<'_> {
    /// `b`, zeroed.
    pub fn zeroed(&self) -> TokenStream {
        let (b, ty_out) = (&self.b, &self.ty_out);
        quote!(let mut #b: #ty_out = ::kiln::core::bytemuck::Zeroable::zeroed();)
    }

    /// `apply_act` on the tensor in `b`.
    pub fn act_on(&self, act: &Act, c: usize) -> TokenStream {
        let (t, b) = (&self.t, &self.b);
        let rows = quote!(::kiln::core::tensor::Rows::<#t, #c>::rows_mut(&mut #b));
        apply_act(t, act, c, rows)
    }

    /// A layer whose field's `forward(x, y)` computes the sample into `b` (a convolution),
    /// then `act` on its `c` channels.
    pub fn field_forward(&self, act: &Act, c: usize) -> Parts {
        let (f, x_in, b) = (&self.field, &self.x_in, &self.b);
        let zeroed = self.zeroed();
        let run = quote! {
            #zeroed
            self.#f.forward(#x_in, &mut #b);
        };
        self.parts(run, self.act_on(act, c), act.name)
    }

    /// A layer that computes into `b`, its output then named `x_out`.
    pub fn parts(&self, run: TokenStream, act: TokenStream, act_name: &'static str) -> Parts {
        let (x_out, b) = (&self.x_out, &self.b);
        Parts {
            run,
            act,
            bind: quote!(let #x_out = &#b;),
            act_name,
        }
    }

    /// The input's bytes seen as the output's shape.
    pub fn reshaped(&self) -> Parts {
        let (x_out, x_in, ty_out) = (&self.x_out, &self.x_in, &self.ty_out);
        Parts {
            run: TokenStream::new(),
            act: TokenStream::new(),
            bind: quote!(let #x_out: &#ty_out = ::kiln::core::tensor::reshape(#x_in);),
            act_name: "linear",
        }
    }

    /// The input itself (an identity at inference).
    pub fn identity(&self) -> Parts {
        let (x_out, x_in, ty_out) = (&self.x_out, &self.x_in, &self.ty_out);
        Parts {
            run: TokenStream::new(),
            act: TokenStream::new(),
            bind: quote!(let #x_out: &#ty_out = #x_in;),
            act_name: "linear",
        }
    }
}

/// The bodies of `forward` and `forward_observed`; value `v` is bound to `x{v}`.
pub fn emit(t: &TokenStream, graph: &Graph, steps: &[Step]) -> (TokenStream, TokenStream) {
    let mut body = TokenStream::new();
    // Several inputs come as one struct `x0`: each field is named as its value, `x0` last.
    let k = graph.n_inputs();
    if k > 1 {
        for v in (0..k).rev() {
            let (x, f) = (
                format_ident!("x{v}"),
                format_ident!("{}", graph.value_names[v]),
            );
            body.extend(quote!(let #x = &x0.#f;));
        }
    }
    let mut observed = body.clone();
    for (node, s) in graph.nodes.iter().zip(steps) {
        let l = &node.layer;
        let cx = Cx {
            t: t.clone(),
            s,
            field: format_ident!("{}", l.name),
            x_in: format_ident!("x{}", node.inputs[0]),
            x_ins: node.inputs.iter().map(|v| format_ident!("x{v}")).collect(),
            x_out: format_ident!("x{}", node.output),
            b: format_ident!("b{}", node.output),
            ty_out: tensor_ty(t, &s.output),
        };
        let Parts {
            run,
            act,
            bind,
            act_name,
        } = l.kind.forward(&cx);
        let (pos, lname, class, x_out, b) = (l.pos, &l.name, &l.class, &cx.x_out, &cx.b);
        let role = format_ident!("{}", format!("{:?}", l.kind.quant_role()));
        let (ins, value) = (&node.inputs, node.output);
        let observe = |v: TokenStream| {
            quote! {
                f(::kiln::core::Observed {
                    position: #pos,
                    name: #lname,
                    class: #class,
                    activation: #act_name,
                    role: ::kiln::core::QuantRole::#role,
                    inputs: &[#(#ins),*],
                    value: #value,
                    output: ::kiln::core::tensor::flat(#v),
                });
            }
        };
        body.extend(quote!(#run #act #bind));
        observed.extend(if act_name == "softmax" {
            let seen = observe(quote!(&#b));
            quote!(#run #seen #act #bind)
        } else {
            let seen = observe(quote!(#x_out));
            quote!(#run #act #bind #seen)
        });
    }
    (body, observed)
}
