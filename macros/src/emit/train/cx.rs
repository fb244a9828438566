//! What a layer's `train` sees ([`Cx`]) and gives back ([`Parts`]): the names of its cache
//! fields and values, and helpers for the code every layer shares (activations, reshapes).

use crate::layers::Act;
use crate::shapes::Step;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;
fn act_ty(act: &Act) -> TokenStream {
    let ty = format_ident!("{}", act.ty);
    quote!(::kiln::core::activations::#ty)
}

/// `Some(Fused::…)` when this activation can be fused with a loss.
fn fused_of(act: &Act) -> TokenStream {
    match act.name {
        "softmax" => quote!(::core::option::Option::Some(
            ::kiln::core::losses::Fused::Softmax
        )),
        "sigmoid" => quote!(::core::option::Option::Some(
            ::kiln::core::losses::Fused::Sigmoid
        )),
        _ => quote!(::core::option::Option::None),
    }
}

/// One layer's pieces of the generated training code. In a block layer, `n` is the number of
/// samples and `d_prev` a slice of `n` input gradients; in a per-sample one, `s` is the sample
/// and `d_prev` its input gradient.
pub struct Parts {
    /// The layer's fields of the cache struct.
    pub fields: TokenStream,
    /// Their types, to check each is `Zeroable`.
    pub cache_tys: Vec<TokenStream>,
    pub forward: TokenStream,
    /// Runs before the input gradient is formed (activation and dropout backward).
    pub pre: TokenStream,
    /// Forms the input gradient into `d_prev` (and adds parameter gradients).
    pub with_dx: TokenStream,
    /// Adds parameter gradients only: the first layer of a top-level model.
    pub params_only: TokenStream,
    /// `(pre-activation, output)` of the block, when this layer makes a model output.
    pub outputs: TokenStream,
    /// The activation a loss may fuse with, when this layer makes a model output.
    pub last_activation: TokenStream,
}

/// What a layer's `train` sees. Its cache fields are named for its output value `i`: output
/// `a{i}`, its gradient `g{i}`, pre-activation `z{i}`, dropout mask `m{i}`, nested cache `n{i}`.
pub struct Cx<'a> {
    pub t: TokenStream,
    pub s: &'a Step,
    pub field: Ident,
    pub a: Ident,
    pub g: Ident,
    pub z: Ident,
    pub m: Ident,
    pub n: Ident,
    /// Whether the layer runs on the whole block (else on sample `s`).
    pub blocked: bool,
    /// Whether one gradient buffer serves every sample (see `emit`).
    pub single: bool,
    /// The model output this layer makes, when a loss may fuse with its activation (no other
    /// layer reads it): `backward` then skips the activation when `fused` names the output.
    pub head: Option<usize>,
    /// The layer's input: `&xs[s]`, `&xs[..n]` or the previous layer's output.
    pub input: TokenStream,
    /// Every input, `input` first (a merge reads several; its gradients go to `d_prev_0`, …).
    pub inputs: Vec<TokenStream>,
    pub in_ty: TokenStream,
    pub out_ty: TokenStream,
    /// The widths of the input's and output's last axes.
    pub cin: proc_macro2::Literal,
    pub cout: proc_macro2::Literal,
    pub block: TokenStream,
    pub cast: TokenStream,
    pub cast_mut: TokenStream,
}

impl Cx<'_> {
    /// This layer's view of field `f`: sample `s`'s tensor, or the block's first `n`.
    pub fn at(&self, f: &Ident) -> TokenStream {
        if self.blocked {
            quote!(cache.#f[..n])
        } else if self.single && *f == self.g {
            quote!(cache.#f[0])
        } else {
            quote!(cache.#f[s])
        }
    }

    /// The rows of `cout` floats of field `f`, for the activations.
    pub fn rows(&self, f: &Ident) -> TokenStream {
        let (v, t, cout, cast) = (self.at(f), &self.t, &self.cout, &self.cast);
        if self.blocked {
            quote!(#cast::<_, [#t; #cout]>(&#v))
        } else {
            quote!(::kiln::core::tensor::Rows::<#t, #cout>::rows(&#v))
        }
    }

    fn rows_mut(&self, f: &Ident) -> TokenStream {
        let (v, t, cout, cast_mut) = (self.at(f), &self.t, &self.cout, &self.cast_mut);
        if self.blocked {
            quote!(#cast_mut::<_, [#t; #cout]>(&mut #v))
        } else {
            quote!(::kiln::core::tensor::Rows::<#t, #cout>::rows_mut(&mut #v))
        }
    }

    fn copy(&self, to: &Ident, from: &Ident) -> TokenStream {
        let (to, from) = (self.at(to), self.at(from));
        if self.blocked {
            quote!(#to.copy_from_slice(&#from);)
        } else {
            quote!(#to = #from;)
        }
    }

    /// Where a layer with activation `act` writes before activating: `z`, or `a` for none.
    pub fn target(&self, act: &Act) -> &Ident {
        if act.name != "linear" {
            &self.z
        } else {
            &self.a
        }
    }

    /// The parts every layer starts from: its output and gradient fields.
    pub fn parts(&self) -> Parts {
        let (a, g, out_ty, block) = (&self.a, &self.g, &self.out_ty, &self.block);
        let g_len = if self.single {
            quote!(1)
        } else {
            block.clone()
        };
        Parts {
            fields: quote!(pub #a: [#out_ty; #block], pub #g: [#out_ty; #g_len],),
            cache_tys: vec![quote!([#out_ty; #block]), quote!([#out_ty; #g_len])],
            forward: TokenStream::new(),
            pre: TokenStream::new(),
            with_dx: TokenStream::new(),
            params_only: TokenStream::new(),
            outputs: quote!((&cache.#a[..], &cache.#a[..])),
            last_activation: quote!(::core::option::Option::None),
        }
    }

    /// The parts of a layer whose field's `forward(x, y)` computes one sample (a
    /// convolution), then `act`; the layer adds its backward.
    pub fn field_forward(&self, act: &Act) -> Parts {
        let (f, input) = (&self.field, &self.input);
        let mut p = self.parts();
        let target = self.at(self.target(act));
        p.forward = quote!(self.#f.forward(#input, &mut #target););
        if act.name != "linear" {
            self.activated(&mut p, act);
        }
        p
    }

    /// Adds a cache field `f` holding one output-shaped tensor per sample.
    pub fn field(&self, p: &mut Parts, f: &Ident) {
        let (out_ty, block) = (&self.out_ty, &self.block);
        p.fields.extend(quote!(pub #f: [#out_ty; #block],));
        p.cache_tys.push(quote!([#out_ty; #block]));
    }

    /// Activation `act` from `z` (already written) into `a`, and its backward; the loss may
    /// fuse with it when this layer makes a model output.
    pub fn activated(&self, p: &mut Parts, act: &Act) {
        let (t, cout, a, z, g) = (&self.t, &self.cout, &self.a, &self.z, &self.g);
        self.field(p, z);
        let at = act_ty(act);
        let (a_rows, z_rows, g_rows, a_view) = (
            self.rows_mut(a),
            self.rows(z),
            self.rows_mut(g),
            self.rows(a),
        );
        let backward = quote! {
            <#at as ::kiln::core::activations::Activation>::backward::<#t, #cout>(
                #z_rows, #a_view, #g_rows,
            );
        };
        p.forward.extend(self.copy(a, z));
        p.forward.extend(
            quote!(<#at as ::kiln::core::activations::Activation>::apply::<#t, #cout>(#a_rows);),
        );
        p.pre = match self.head {
            Some(k) => quote!(if !fused.has(#k) { #backward }),
            None => backward,
        };
        p.outputs = quote!((&cache.#z[..], &cache.#a[..]));
        p.last_activation = fused_of(act);
    }

    /// The input's bytes seen as the output's shape, forward and backward.
    pub fn reshaped(&self) -> Parts {
        let (in_ty, out_ty, input) = (&self.in_ty, &self.out_ty, &self.input);
        let mut p = self.parts();
        let (out, dy) = (self.at(&self.a), self.at(&self.g));
        p.forward = quote!(#out = *::kiln::core::tensor::reshape::<#in_ty, #out_ty>(#input););
        p.with_dx = quote!(*d_prev = *::kiln::core::tensor::reshape::<#out_ty, #in_ty>(&#dy););
        p
    }
}
