//! `Bidirectional(LSTM(64, return_sequences = true))`: Keras's wrapper running a forward copy
//! and a backward copy (`go_backwards`) of a recurrent layer on the same `[steps, features]`
//! sequence, their outputs merged by `merge_mode` (`concat`, the default, `sum`, `mul`, `ave`).
//! With `return_sequences` the backward copy's outputs are reversed back in time, so step `t`
//! pairs both copies' outputs for input step `t`.
//!
//! The wrapped layer is a call in the first argument, read through the registry and bound as a
//! top-level call is (its mistakes reported in words), then built by `recurrent.rs`; the code
//! for each way of running calls the two copies' own methods (`kiln_core::layers::Lstm`, …)
//! and `kiln_core::layers::bidirectional::{merge, split}` between them. Weights are named as
//! Keras's variables with the RNN cell dropped: `bidirectional/forward_lstm/kernel`, …

use super::recurrent::{build_cell, cell_of, Recurrent};
use super::{
    keras_config, p, Arity, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, QuantRole, Weight,
    NAME,
};
use crate::diagnostics::{shown, Errors};
use crate::emit::types::lit;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::{self, Args};
use crate::shapes::{ShapeCx, Step};
use crate::suggest::did_you_mean;
use crate::syntax::LayerCall;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use serde_json::json;

pub const INFO: LayerInfo = LayerInfo {
    spellings: &["Bidirectional"],
    keras_class: "Bidirectional",
    auto_name: "bidirectional",
    params: &[p("layer", true, true), p("merge_mode", true, false), NAME],
    variadic: false,
    arity: Arity::One,
    usage: "Bidirectional(layer), e.g. `Bidirectional(LSTM(64))` or \
            `Bidirectional(GRU(32, return_sequences = true), merge_mode = sum)`",
    build,
};

/// The layers `Bidirectional` may wrap.
const WRAPPABLE: &str = "LSTM, GRU or SimpleRNN";

/// Keras's `merge_mode`s, each with its `kiln_core::layers::bidirectional::MergeMode`.
const MODES: &[(&str, &str)] = &[
    ("concat", "Concat"),
    ("sum", "Sum"),
    ("mul", "Mul"),
    ("ave", "Ave"),
];

/// The Keras names of [`MODES`], for messages.
fn mode_names() -> String {
    let names: Vec<&str> = MODES.iter().map(|(k, _)| *k).collect();
    names.join(", ")
}

pub struct Bidirectional {
    /// `None` only after a mistake, when the layer is discarded.
    inner: Option<Recurrent>,
    /// The wrapped layer's Keras class and automatic name (`LSTM`, `lstm`).
    class: &'static str,
    stem: &'static str,
    /// One of [`MODES`].
    mode: &'static str,
}

fn build(args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    let mode = match args.get("merge_mode") {
        None => "concat",
        Some(e) => merge_mode(e, &args.label, errs),
    };
    let mut layer = Bidirectional {
        inner: None,
        class: "LSTM",
        stem: "lstm",
        mode,
    };
    let Some(e) = args.get("layer") else {
        return Box::new(layer);
    };
    let wrong = |what: String, errs: &mut Errors| {
        errs.at(
            e,
            format!(
                "{} wraps a recurrent layer ({WRAPPABLE}), not {what}\n  write e.g. \
                 `Bidirectional(LSTM(64))`, or use the layer without `Bidirectional`",
                args.label
            ),
        )
    };
    let call = match syn::parse2::<LayerCall>(e.to_token_stream()) {
        Ok(call) => call,
        Err(_) => {
            wrong(format!("`{}`", shown(e)), errs);
            return Box::new(layer);
        }
    };
    let spelled = call
        .path
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    let Some(info) = super::layer(&spelled) else {
        let names = ["LSTM", "GRU", "SimpleRNN"];
        wrong(
            format!("`{spelled}`{}", did_you_mean(&spelled, names)),
            errs,
        );
        return Box::new(layer);
    };
    let label = format!("the {} inside {}", info.keras_class, args.label);
    let Some(cell) = cell_of(info.keras_class) else {
        wrong(info.keras_class.to_string(), errs);
        return Box::new(layer);
    };
    let inner_args = args::bind(info, &call, label.clone(), errs);
    let inner = build_cell(cell, &inner_args, errs);
    if let Some(n) = inner_args.get("name") {
        errs.at(
            n,
            format!(
                "{label}: `name` is not supported yet: Keras names the two copies \
                 `forward_{0}` and `backward_{0}` after the wrapped layer's automatic name; \
                 remove it and name the `Bidirectional` instead (`name = \"…\"`)",
                info.auto_name
            ),
        );
    }
    if inner_args.flag("go_backwards", false, errs) {
        let g = inner_args.get("go_backwards").expect("given");
        errs.at(
            g,
            format!(
                "{label}: `go_backwards = true` is not supported yet inside `Bidirectional`, \
                 which already runs a copy backwards; remove it"
            ),
        );
    }
    layer.class = info.keras_class;
    layer.stem = info.auto_name;
    layer.inner = Some(inner);
    Box::new(layer)
}

/// `merge_mode = concat` (or `"concat"`), one of Keras's modes.
fn merge_mode(e: &syn::Expr, label: &str, errs: &mut Errors) -> &'static str {
    let word = match e {
        syn::Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    };
    match word {
        Some(w) => match MODES.iter().find(|(k, _)| *k == w) {
            Some((k, _)) => k,
            None => {
                errs.at(
                    e,
                    format!(
                        "{label}: unknown `merge_mode = {w}`{}\n  known: {}",
                        did_you_mean(&w, MODES.iter().map(|(k, _)| *k)),
                        mode_names()
                    ),
                );
                "concat"
            }
        },
        None => {
            errs.at(
                e,
                format!(
                    "{label}: `merge_mode` is one of {}, e.g. `merge_mode = concat`; got `{}`",
                    mode_names(),
                    shown(e)
                ),
            );
            "concat"
        }
    }
}

impl Bidirectional {
    fn inner(&self) -> &Recurrent {
        self.inner
            .as_ref()
            .expect("a Bidirectional without its layer is discarded")
    }

    /// The merged width for each step: both copies' units side by side with `concat`.
    fn width(&self) -> usize {
        let u = self.inner().units;
        if self.mode == "concat" {
            2 * u
        } else {
            u
        }
    }

    fn merge_mode(&self) -> TokenStream {
        let (_, variant) = MODES
            .iter()
            .find(|(k, _)| *k == self.mode)
            .expect("the mode is one of MODES");
        let m = format_ident!("{variant}");
        quote!(::kiln::core::layers::bidirectional::MergeMode::#m)
    }

    /// Both copies over the samples `x` (a slice), each sample's merged output written to the
    /// flat `y`, one sample at a time (every step's outputs on the stack).
    fn run(&self, field: &TokenStream, t: &TokenStream, s: &Step) -> TokenStream {
        let inner = self.inner();
        let (steps, u) = (lit(s.input[0]), lit(inner.units));
        let per = lit(s.output.iter().product::<usize>());
        let (g, seq, mode) = (inner.generics(s), inner.sequences, self.merge_mode());
        quote! {
            for (xs, ys) in x.iter().zip(y.chunks_exact_mut(#per)) {
                let xs = ::core::slice::from_ref(xs);
                let mut hf: [[#t; #u]; #steps] = ::kiln::core::bytemuck::Zeroable::zeroed();
                let mut hb: [[#t; #u]; #steps] = ::kiln::core::bytemuck::Zeroable::zeroed();
                #field.forward.forward::<#g, true, false, 1>(
                    xs, ::kiln::core::tensor::flat_mut::<#t, _>(&mut hf),
                );
                #field.backward.forward::<#g, true, true, 1>(
                    xs, ::kiln::core::tensor::flat_mut::<#t, _>(&mut hb),
                );
                ::kiln::core::layers::bidirectional::merge::<#t, #u, #steps, #seq>(
                    #mode, &hf, &hb, ys,
                );
            }
        }
    }
}

impl LayerKind for Bidirectional {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        let &[steps, _] = input else {
            let fix = if let [n] = input {
                format!("add `Reshape({n}, 1)` before it for {n} steps of one feature")
            } else if let [h, w, c] = input {
                format!(
                    "add `Reshape({h}, {})` before it to read the rows as {h} steps",
                    w * c
                )
            } else {
                String::new()
            };
            return Err(cx.need_sequence(input, &fix));
        };
        let inner = self.inner().infer(input, cx)?;
        let output = if self.inner().sequences {
            vec![steps, self.width()]
        } else {
            vec![self.width()]
        };
        Ok(cx.step(input, output, 2 * inner.params, (0, 0)))
    }

    fn output_alone(&self, _: &ShapeCx) -> Option<Vec<usize>> {
        None
    }

    fn is_broken(&self, _: &ShapeCx) -> bool {
        false
    }

    fn field_type(&self, t: &TokenStream, s: &Step) -> Option<TokenStream> {
        let inner = self.inner().ty(t, s);
        Some(quote!(::kiln::core::layers::Bidirectional<#inner>))
    }

    fn weights(&self, s: &Step) -> Vec<Weight> {
        let mut out = Vec::new();
        for dir in ["forward", "backward"] {
            for w in self.inner().weights(s) {
                // Names live as long as the macro's run: leaked, a few bytes per weight.
                let name = format!("{dir}_{}/{}", self.stem, w.name);
                out.push(Weight {
                    name: Box::leak(name.into_boxed_str()),
                    shape: w.shape,
                    stored: w.stored,
                });
            }
        }
        out
    }

    fn embedded_type(&self) -> Result<Option<TokenStream>, &'static str> {
        Err("a Bidirectional layer's weights")
    }

    fn forward(&self, cx: &forward::Cx) -> forward::Parts {
        let (t, f, x_in, b, ty_out) = (&cx.t, &cx.field, &cx.x_in, &cx.b, &cx.ty_out);
        let zeroed = cx.zeroed();
        let body = self.run(&quote!(self.#f), t, cx.s);
        let run = quote! {
            #zeroed
            {
                let x = ::core::slice::from_ref(#x_in);
                let y = ::kiln::core::tensor::flat_mut::<#t, #ty_out>(&mut #b);
                #body
            }
        };
        cx.parts(run, TokenStream::new(), "linear")
    }

    fn mode(&self) -> Mode {
        Mode::Block
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        let (t, f, cast, cast_mut) = (&cx.t, &cx.field, &cx.cast, &cx.cast_mut);
        assert!(cx.blocked, "recurrent layers run on the block");
        let inner = self.inner();
        let (steps, feats) = (cx.s.input[0], cx.s.input[1]);
        let (s_lit, f_lit, u) = (lit(steps), lit(feats), lit(inner.units));
        let g = lit(inner.cell.gates() * inner.units);
        let second = lit(inner.cell.second(inner.units));
        let per = lit(cx.s.output.iter().product::<usize>());
        let (seq, mode, out_ty) = (inner.sequences, self.merge_mode(), &cx.out_ty);
        // Each copy's gate pre-activations, second tensors and outputs, as `recurrent.rs`
        // keeps them; the two copies' output gradients; the backward copy's input gradient;
        // one scratch, which the copies use in turn.
        let name = |p: &str| format_ident!("{p}{}", &cx.a.to_string()[1..]);
        let (zf, cf, hf) = (name("bi_zf"), name("bi_cf"), name("bi_hf"));
        let (zb, cb, hb) = (name("bi_zb"), name("bi_cb"), name("bi_hb"));
        let (df, db, dxb, ss) = (name("bi_df"), name("bi_db"), name("bi_dx"), name("bi_s"));
        let block = &cx.block;
        let mut p = cx.parts();
        let z_ty = quote!([[[#t; #g]; #s_lit]; #block]);
        let c_ty = quote!([[[#t; #second]; #s_lit]; #block]);
        let h_ty = quote!([[[#t; #u]; #s_lit]; #block]);
        let x_ty = quote!([[[#t; #f_lit]; #s_lit]; #block]);
        let s_ty = quote!(::kiln::core::layers::recurrent::Scratch<#t, #u, #g>);
        p.fields.extend(quote! {
            pub #zf: #z_ty, pub #cf: #c_ty, pub #hf: #h_ty,
            pub #zb: #z_ty, pub #cb: #c_ty, pub #hb: #h_ty,
            pub #df: #h_ty, pub #db: #h_ty, pub #dxb: #x_ty, pub #ss: #s_ty,
        });
        p.cache_tys.extend([
            z_ty.clone(),
            c_ty.clone(),
            h_ty.clone(),
            z_ty,
            c_ty,
            h_ty.clone(),
            h_ty.clone(),
            h_ty,
            x_ty,
            s_ty,
        ]);
        let x = {
            let input = &cx.input;
            quote!(#cast::<_, [[#t; #f_lit]; #s_lit]>(#input))
        };
        let gen = inner.generics(cx.s);
        let (a, dy) = (cx.at(&cx.a), cx.at(&cx.g));
        p.forward = quote! {
            self.#f.forward.forward_train::<#gen, false>(
                #x, &mut cache.#zf[..n], &mut cache.#cf[..n], &mut cache.#hf[..n],
                &mut cache.#ss,
            );
            self.#f.backward.forward_train::<#gen, true>(
                #x, &mut cache.#zb[..n], &mut cache.#cb[..n], &mut cache.#hb[..n],
                &mut cache.#ss,
            );
            for ((a, hf), hb) in #a.iter_mut().zip(&cache.#hf[..n]).zip(&cache.#hb[..n]) {
                ::kiln::core::layers::bidirectional::merge::<#t, #u, #s_lit, #seq>(
                    #mode, hf, hb, ::kiln::core::tensor::flat_mut::<#t, #out_ty>(a),
                );
            }
        };
        let backward = |dx_f: TokenStream, dx_b: TokenStream, add: TokenStream| {
            quote! {
                {
                    let dy = #cast::<_, #t>(&#dy);
                    for (r, dy) in dy.chunks_exact(#per).enumerate().take(n) {
                        ::kiln::core::layers::bidirectional::split::<#t, #u, #s_lit, #seq>(
                            #mode, &cache.#hf[r], &cache.#hb[r], dy,
                            &mut cache.#df[r], &mut cache.#db[r],
                        );
                    }
                }
                self.#f.forward.backward::<#gen, true, false>(
                    #x,
                    &mut cache.#zf[..n],
                    &mut cache.#cf[..n],
                    &cache.#hf[..n],
                    #cast::<_, #t>(&cache.#df[..n]),
                    #dx_f,
                    &mut grads.#f.forward,
                    &mut cache.#ss,
                );
                self.#f.backward.backward::<#gen, true, true>(
                    #x,
                    &mut cache.#zb[..n],
                    &mut cache.#cb[..n],
                    &cache.#hb[..n],
                    #cast::<_, #t>(&cache.#db[..n]),
                    #dx_b,
                    &mut grads.#f.backward,
                    &mut cache.#ss,
                );
                #add
            }
        };
        p.with_dx = backward(
            quote!(::core::option::Option::Some(
                #cast_mut::<_, [[#t; #f_lit]; #s_lit]>(&mut *d_prev)
            )),
            quote!(::core::option::Option::Some(&mut cache.#dxb[..n])),
            quote! {
                for (d, e) in #cast_mut::<_, #t>(&mut *d_prev)
                    .iter_mut()
                    .zip(#cast::<_, #t>(&cache.#dxb[..n]))
                {
                    *d += *e;
                }
            },
        );
        p.params_only = backward(
            quote!(::core::option::Option::None),
            quote!(::core::option::Option::None),
            TokenStream::new(),
        );
        p
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        let (t, f, x_in, x_out, b) = (&cx.t, &cx.field, &cx.x_in, &cx.x_out, &cx.b);
        let ty_out = &cx.ty_out;
        assert!(!cx.in_run, "runs hold no block layers");
        let mut p = cx.block_output();
        let out = cx.block_out();
        let body = self.run(&quote!(self.#f), t, cx.s);
        p.code = quote! {
            {
                let x = #x_in;
                let y = ::kiln::core::bytemuck::cast_slice_mut::<#ty_out, #t>(#out);
                #body
            }
            let #x_out: &[#ty_out] = &s.#b[..n];
        };
        p
    }

    fn in_place(&self) -> bool {
        false
    }

    fn arena(&self, cx: &infer::Cx) -> TokenStream {
        let (t, f, io, yt) = (&cx.t, &cx.field, &cx.io, &cx.yt);
        let body = self.run(&quote!(self.#f), t, cx.s);
        quote! {{
            #io
            let x = ::core::slice::from_ref(x);
            let y = ::kiln::core::tensor::flat_mut::<#t, #yt>(y);
            #body
        }}
    }

    fn fusion(&self) -> Fusion {
        Fusion::None
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        int8::Role::Unsupported(cx.no_kernel())
    }

    fn int8_code(&self, _: &int8::Cx) -> int8::Code {
        unreachable!("Bidirectional has no int8 kernel yet")
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Unsupported
    }

    fn keras_config(&self) -> KerasConfig {
        let inner = self.inner().keras_config()?;
        let copy = |dir: &str, backwards: bool| {
            let mut c = serde_json::Map::new();
            c.insert("name".into(), json!(format!("{dir}_{}", self.stem)));
            c.insert("trainable".into(), json!(true));
            c.insert("dtype".into(), json!("float32"));
            c.extend(inner.clone());
            c.insert("go_backwards".into(), json!(backwards));
            json!({
                "module": "keras.layers",
                "class_name": self.class,
                "config": c,
                "registered_name": null,
            })
        };
        keras_config(json!({
            "layer": copy("forward", false),
            "merge_mode": self.mode,
            "backward_layer": copy("backward", true),
        }))
    }
}
