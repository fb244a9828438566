//! The recurrent layers on a sequence `[steps, features]`, with `activation`,
//! `recurrent_activation`, `use_bias`, `return_sequences` and `go_backwards`, in Keras's
//! layouts: `LSTM(units)` (gates i, f, c, o: `kernel` `[f, 4u]`, `recurrent_kernel` `[u, 4u]`,
//! `bias` `[4u]`) and `GRU(units)` (Keras 3's `reset_after = true`, gates z, r, h: `kernel`
//! `[f, 3u]`, `recurrent_kernel` `[u, 3u]`, `bias` `[2, 3u]`, the input's and the recurrent
//! product's) and `SimpleRNN(units)` (`kernel` `[f, u]`, `recurrent_kernel` `[u, u]`, `bias`
//! `[u]`). All run on the same plan: the core types share their method signatures.

use super::{
    keras_config, p, Act, Arity, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, QuantRole,
    Weight, NAME, SIGMOID, TANH,
};
use crate::diagnostics::Errors;
use crate::emit::types::lit;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::graph::values::activation;
use crate::shapes::{ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::json;

pub const LSTM_INFO: LayerInfo = LayerInfo {
    spellings: &["LSTM"],
    keras_class: "LSTM",
    auto_name: "lstm",
    params: &[
        p("units", true, true),
        p("activation", true, false),
        p("recurrent_activation", true, false),
        p("use_bias", false, false),
        p("return_sequences", false, false),
        p("go_backwards", false, false),
        NAME,
    ],
    variadic: false,
    arity: Arity::One,
    usage: "LSTM(units), e.g. `LSTM(128)` or `LSTM(64, return_sequences = true)`",
    build: |args, errs| build(Cell::Lstm, args, errs),
};

pub const GRU_INFO: LayerInfo = LayerInfo {
    spellings: &["GRU"],
    keras_class: "GRU",
    auto_name: "gru",
    params: &[
        p("units", true, true),
        p("activation", true, false),
        p("recurrent_activation", true, false),
        p("use_bias", false, false),
        p("return_sequences", false, false),
        p("go_backwards", false, false),
        p("reset_after", false, false),
        NAME,
    ],
    variadic: false,
    arity: Arity::One,
    usage: "GRU(units), e.g. `GRU(64)` or `GRU(32, return_sequences = true)`",
    build: |args, errs| build(Cell::Gru, args, errs),
};

pub const SIMPLE_INFO: LayerInfo = LayerInfo {
    spellings: &["SimpleRNN"],
    keras_class: "SimpleRNN",
    auto_name: "simple_rnn",
    params: &[
        p("units", true, true),
        p("activation", true, false),
        p("use_bias", false, false),
        p("return_sequences", false, false),
        p("go_backwards", false, false),
        NAME,
    ],
    variadic: false,
    arity: Arity::One,
    usage: "SimpleRNN(units), e.g. `SimpleRNN(32)` or `SimpleRNN(16, return_sequences = true)`",
    build: |args, errs| build(Cell::Simple, args, errs),
};

/// Which recurrent cell.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Cell {
    Lstm,
    Gru,
    /// `SimpleRNN`: one gate, its recurrent activation unused.
    Simple,
}

impl Cell {
    /// Gates side by side in the kernels.
    pub(super) fn gates(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru => 3,
            Cell::Simple => 1,
        }
    }

    /// The `kiln_core::layers` type.
    pub(super) fn core(self) -> TokenStream {
        match self {
            Cell::Lstm => quote!(Lstm),
            Cell::Gru => quote!(Gru),
            Cell::Simple => quote!(SimpleRnn),
        }
    }

    /// The width of the second cache tensor per step: the LSTM's cell state, the GRU's
    /// recurrent projection, the SimpleRNN's scratch.
    pub(super) fn second(self, units: usize) -> usize {
        match self {
            Cell::Lstm | Cell::Simple => units,
            Cell::Gru => 3 * units,
        }
    }

    /// The Keras shape of `bias`.
    fn bias_shape(self, units: usize) -> Vec<usize> {
        match self {
            Cell::Lstm => vec![4 * units],
            Cell::Gru => vec![2, 3 * units],
            Cell::Simple => vec![units],
        }
    }
}

/// Rows the batched forward pass (`predict`) runs at most at once; its states are on the stack.
const BATCH_ROWS: usize = 8;

/// The stack those rows may take (a `predict` thread has 2 MiB): wide layers run fewer rows.
const BATCH_STACK: usize = 256 * 1024;

pub struct Recurrent {
    pub(super) cell: Cell,
    pub(super) units: usize,
    act: Act,
    recurrent: Act,
    bias: bool,
    pub(super) sequences: bool,
    backwards: bool,
}

/// The activations a recurrent gate can use: Keras's element-wise ones (not softmax).
fn gate_activation(args: &Args, key: &str, default: Act, errs: &mut Errors) -> Act {
    let Some(e) = args.get(key) else {
        return default;
    };
    match activation(e, false, &args.label, errs) {
        Some(a) if a.name == "softmax" => {
            errs.at(
                e,
                format!(
                    "{}: `{key} = softmax` acts across a gate's units, not on each; use an \
                     element-wise activation such as `{}` (Keras's default)",
                    args.label, default.name
                ),
            );
            default
        }
        Some(a) => a,
        None => default,
    }
}

fn build(cell: Cell, args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    Box::new(build_cell(cell, args, errs))
}

/// The cell of a recurrent layer's Keras class, for `Bidirectional`, which wraps one: `None`
/// for a class that is not recurrent.
pub(super) fn cell_of(class: &str) -> Option<Cell> {
    match class {
        "LSTM" => Some(Cell::Lstm),
        "GRU" => Some(Cell::Gru),
        "SimpleRNN" => Some(Cell::Simple),
        _ => None,
    }
}

/// The layer itself from its bound arguments, for `Bidirectional`.
pub(super) fn build_cell(cell: Cell, args: &Args, errs: &mut Errors) -> Recurrent {
    args.fixed_flag("reset_after", true, " (Keras 2's GRU)", errs);
    Recurrent {
        cell,
        units: args.count("units", errs).unwrap_or(1),
        act: gate_activation(args, "activation", TANH, errs),
        recurrent: gate_activation(args, "recurrent_activation", SIGMOID, errs),
        bias: args.use_bias(errs),
        sequences: args.flag("return_sequences", false, errs),
        backwards: args.flag("go_backwards", false, errs),
    }
}

impl Recurrent {
    /// `(steps, features)` of the input sequence.
    fn input(s: &Step) -> (usize, usize) {
        (s.input[0], s.input[1])
    }

    pub(super) fn ty(&self, t: &TokenStream, s: &Step) -> TokenStream {
        let (_, f) = Self::input(s);
        let (f, u, b) = (lit(f), lit(self.units), self.bias);
        let (g, core) = (lit(self.cell.gates() * self.units), self.cell.core());
        quote!(::kiln::core::layers::#core<#t, #f, #u, #g, #b>)
    }

    /// `A, R, S`: the activation types and the sequence length, the generics every method
    /// starts with.
    pub(super) fn generics(&self, s: &Step) -> TokenStream {
        let ty = |a: &Act| {
            let ty = format_ident!("{}", a.ty);
            quote!(::kiln::core::activations::#ty)
        };
        let (a, r, steps) = (ty(&self.act), ty(&self.recurrent), lit(s.input[0]));
        quote!(#a, #r, #steps)
    }

    /// The inference call on the input samples `x` (a slice) into the flat output `y`.
    fn forward_call(&self, field: &TokenStream, s: &Step, rows: usize) -> TokenStream {
        let (g, seq, back, rows) = (self.generics(s), self.sequences, self.backwards, lit(rows));
        quote!(#field.forward::<#g, #seq, #back, #rows>(x, y))
    }
}

impl LayerKind for Recurrent {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        let &[steps, features] = input else {
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
        let (u, g) = (self.units, self.cell.gates() * self.units);
        let bias: usize = self.cell.bias_shape(u).iter().product();
        let params = features * g + u * g + if self.bias { bias } else { 0 };
        let output = if self.sequences {
            vec![steps, u]
        } else {
            vec![u]
        };
        Ok(cx.step(input, output, params, (0, 0)))
    }

    fn output_alone(&self, _: &ShapeCx) -> Option<Vec<usize>> {
        None
    }

    fn is_broken(&self, _: &ShapeCx) -> bool {
        false
    }

    fn field_type(&self, t: &TokenStream, s: &Step) -> Option<TokenStream> {
        Some(self.ty(t, s))
    }

    fn weights(&self, s: &Step) -> Vec<Weight> {
        let (_, f) = Self::input(s);
        let (u, g) = (self.units, self.cell.gates() * self.units);
        vec![
            Weight {
                name: "kernel",
                shape: vec![f, g],
                stored: true,
            },
            Weight {
                name: "recurrent_kernel",
                shape: vec![u, g],
                stored: true,
            },
            Weight {
                name: "bias",
                shape: self.cell.bias_shape(u),
                stored: self.bias,
            },
        ]
    }

    fn embedded_type(&self) -> Result<Option<TokenStream>, &'static str> {
        Ok(Some(self.cell.core()))
    }

    fn forward(&self, cx: &forward::Cx) -> forward::Parts {
        let (t, f, x_in, b, ty_out) = (&cx.t, &cx.field, &cx.x_in, &cx.b, &cx.ty_out);
        let zeroed = cx.zeroed();
        let call = self.forward_call(&quote!(self.#f), cx.s, 1);
        let run = quote! {
            #zeroed
            {
                let x = ::core::slice::from_ref(#x_in);
                let y = ::kiln::core::tensor::flat_mut::<#t, #ty_out>(&mut #b);
                #call;
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
        let (steps, feats) = Self::input(cx.s);
        let (s_lit, f_lit, u) = (lit(steps), lit(feats), lit(self.units));
        let g = lit(self.cell.gates() * self.units);
        let second = lit(self.cell.second(self.units));
        // Every step's gate pre-activations (the GRU's input projections), cell states (its
        // recurrent projections) and outputs.
        let name = |p: &str| format_ident!("{p}{}", &cx.a.to_string()[1..]);
        let (zs, cs, hs) = (name("rnn_z"), name("rnn_c"), name("rnn_h"));
        // And the block's per-step state (in the cache, not on the stack, whatever the units).
        let ss = name("rnn_s");
        let block = &cx.block;
        let mut p = cx.parts();
        let z_ty = quote!([[[#t; #g]; #s_lit]; #block]);
        let c_ty = quote!([[[#t; #second]; #s_lit]; #block]);
        let h_ty = quote!([[[#t; #u]; #s_lit]; #block]);
        let s_ty = quote!(::kiln::core::layers::recurrent::Scratch<#t, #u, #g>);
        p.fields
            .extend(quote!(pub #zs: #z_ty, pub #cs: #c_ty, pub #hs: #h_ty, pub #ss: #s_ty,));
        p.cache_tys.extend([z_ty, c_ty, h_ty, s_ty]);
        let x = {
            let input = &cx.input;
            quote!(#cast::<_, [[#t; #f_lit]; #s_lit]>(#input))
        };
        let (gen, seq, back) = (self.generics(cx.s), self.sequences, self.backwards);
        let (a, dy) = (cx.at(&cx.a), cx.at(&cx.g));
        let out = if self.sequences {
            quote!(#a.copy_from_slice(&cache.#hs[..n]);)
        } else {
            quote! {
                for (a, h) in #a.iter_mut().zip(&cache.#hs[..n]) {
                    *a = h[#s_lit - 1];
                }
            }
        };
        p.forward = quote! {
            self.#f.forward_train::<#gen, #back>(
                #x, &mut cache.#zs[..n], &mut cache.#cs[..n], &mut cache.#hs[..n],
                &mut cache.#ss,
            );
            #out
        };
        let backward = |dx: TokenStream| {
            quote! {
                self.#f.backward::<#gen, #seq, #back>(
                    #x,
                    &mut cache.#zs[..n],
                    &mut cache.#cs[..n],
                    &cache.#hs[..n],
                    #cast::<_, #t>(&#dy),
                    #dx,
                    &mut grads.#f,
                    &mut cache.#ss,
                );
            }
        };
        p.with_dx = backward(quote!(::core::option::Option::Some(
            #cast_mut::<_, [[#t; #f_lit]; #s_lit]>(d_prev)
        )));
        p.params_only = backward(quote!(::core::option::Option::None));
        p
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        let (t, f, x_in, x_out, b) = (&cx.t, &cx.field, &cx.x_in, &cx.x_out, &cx.b);
        let ty_out = &cx.ty_out;
        assert!(!cx.in_run, "runs hold no block layers");
        let mut p = cx.block_output();
        let out = cx.block_out();
        // Per row: the input step, two gate-wide and two unit-wide rows.
        let (_, feats) = Self::input(cx.s);
        let scalar = if cx.t.to_string() == "f64" { 8 } else { 4 };
        let row = (feats + 2 * self.cell.gates() * self.units + 2 * self.units) * scalar;
        let rows = (BATCH_STACK / row).clamp(1, BATCH_ROWS);
        let call = self.forward_call(&quote!(self.#f), cx.s, rows);
        p.code = quote! {
            {
                let x = #x_in;
                let y = ::kiln::core::bytemuck::cast_slice_mut::<#ty_out, #t>(#out);
                #call;
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
        let call = self.forward_call(&quote!(self.#f), cx.s, 1);
        quote! {{
            #io
            let x = ::core::slice::from_ref(x);
            let y = ::kiln::core::tensor::flat_mut::<#t, #yt>(y);
            #call;
        }}
    }

    fn fusion(&self) -> Fusion {
        Fusion::None
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        int8::Role::Unsupported(cx.no_kernel())
    }

    fn int8_code(&self, _: &int8::Cx) -> int8::Code {
        unreachable!("recurrent layers have no int8 kernel yet")
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Unsupported
    }

    fn keras_config(&self) -> KerasConfig {
        let mut c = json!({
            "units": self.units,
            "activation": self.act.name,
            "use_bias": self.bias,
            "return_sequences": self.sequences,
            "go_backwards": self.backwards,
            "return_state": false,
            "stateful": false,
            "unroll": false,
        });
        match self.cell {
            Cell::Lstm => {
                c["recurrent_activation"] = json!(self.recurrent.name);
                c["unit_forget_bias"] = json!(true);
            }
            Cell::Gru => {
                c["recurrent_activation"] = json!(self.recurrent.name);
                c["reset_after"] = json!(true);
            }
            Cell::Simple => {}
        }
        keras_config(c)
    }
}
