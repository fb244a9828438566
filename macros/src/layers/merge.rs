//! The merges of the functional form, Keras's `Add`, `Subtract`, `Multiply`, `Average`,
//! `Maximum`, `Minimum` (inputs of one shape, combined element by element) and
//! `Concatenate(axis = -1)`. They read two values or more; the numbers are in
//! `kiln_core::layers::merge`.

use super::{
    keras_config, p, Arity, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, QuantRole, Weight,
    NAME,
};
use crate::diagnostics::Errors;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::graph::values;
use crate::shapes::{fmt_shape, ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::json;

macro_rules! elementwise {
    ($info:ident, $class:literal, $auto:literal, $max:expr, $build:ident, $op:ident) => {
        pub const $info: LayerInfo = LayerInfo {
            spellings: &[$class],
            keras_class: $class,
            auto_name: $auto,
            params: &[NAME],
            variadic: false,
            arity: Arity::Merge { max: $max },
            usage: concat!($class, "(x, y), applied to values of one shape"),
            build: $build,
        };
        fn $build(_: &Args, _: &mut Errors) -> Box<dyn LayerKind> {
            Box::new(Merge {
                op: Op::Elementwise(stringify!($op)),
            })
        }
    };
}

elementwise!(ADD_INFO, "Add", "add", None, build_add, Add);
elementwise!(
    SUBTRACT_INFO,
    "Subtract",
    "subtract",
    Some(2),
    build_subtract,
    Subtract
);
elementwise!(
    MULTIPLY_INFO,
    "Multiply",
    "multiply",
    None,
    build_multiply,
    Multiply
);
elementwise!(
    AVERAGE_INFO,
    "Average",
    "average",
    None,
    build_average,
    Average
);
elementwise!(
    MAXIMUM_INFO,
    "Maximum",
    "maximum",
    None,
    build_maximum,
    Maximum
);
elementwise!(
    MINIMUM_INFO,
    "Minimum",
    "minimum",
    None,
    build_minimum,
    Minimum
);

pub const CONCATENATE_INFO: LayerInfo = LayerInfo {
    spellings: &["Concatenate"],
    keras_class: "Concatenate",
    auto_name: "concatenate",
    params: &[p("axis", false, false), NAME],
    variadic: false,
    arity: Arity::Merge { max: None },
    usage:
        "Concatenate(x, y) or Concatenate(axis = 1)(x, y); the axis is the last (-1) unless given",
    build: build_concatenate,
};

fn build_concatenate(args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    let axis = args
        .get("axis")
        .and_then(|e| values::axis(e, &args.label, errs))
        .unwrap_or(-1);
    Box::new(Merge {
        op: Op::Concatenate(axis),
    })
}

#[derive(Clone, Copy)]
enum Op {
    /// The variant of `kiln_core::layers::Merge`.
    Elementwise(&'static str),
    /// Along this axis of a sample, as written (negative from the end).
    Concatenate(i64),
}

pub struct Merge {
    op: Op,
}

impl Merge {
    /// The sample axis `axis` names in a shape of `rank` dimensions.
    fn axis(axis: i64, rank: usize) -> Option<usize> {
        let a = if axis < 0 {
            rank as i64 + axis
        } else {
            axis - 1
        };
        (0..rank as i64).contains(&a).then_some(a as usize)
    }

    /// Each input's chunk for `concat_forward`: its extent from the axis on.
    fn chunks(&self, s: &Step) -> Vec<usize> {
        let Op::Concatenate(axis) = self.op else {
            unreachable!("only Concatenate has chunks")
        };
        let a = Self::axis(axis, s.output.len()).expect("checked by infer");
        s.inputs.iter().map(|i| i[a..].iter().product()).collect()
    }

    /// `op.forward(&[x0, x1…], y)` or `concat_forward(&[x0, x1…], chunks, y)`, on flat views.
    fn forward_call(
        &self,
        t: &TokenStream,
        s: &Step,
        xs: &[TokenStream],
        y: TokenStream,
    ) -> TokenStream {
        let flat = quote!(::kiln::core::tensor::flat::<#t, _>);
        let y = quote!(::kiln::core::tensor::flat_mut::<#t, _>(#y));
        let merge = quote!(::kiln::core::layers::merge);
        match self.op {
            Op::Elementwise(op) => {
                let op = format_ident!("{op}");
                quote!(#merge::Merge::#op.forward::<#t>(&[#(#flat(#xs)),*], #y);)
            }
            Op::Concatenate(_) => {
                let chunks = self.chunks(s);
                quote!(#merge::concat_forward::<#t>(&[#(#flat(#xs)),*], &[#(#chunks),*], #y);)
            }
        }
    }
}

impl LayerKind for Merge {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        let first = (input, cx.from.as_str());
        let others = cx.others.iter().map(|(s, from)| (&s[..], from.as_str()));
        let all: Vec<(&[usize], &str)> = std::iter::once(first).chain(others).collect();
        let output = match self.op {
            Op::Elementwise(_) => {
                if let Some((s, from)) = all.iter().find(|(s, _)| *s != input) {
                    return Err(format!(
                        "{} combines its inputs element by element, so they must have one shape, but {} \
                         is {} and {from} is {}; make them agree (e.g. a `Dense` or a 1x1 `Conv2D` to \
                         change the channels), or use `Concatenate` to join them",
                        cx.label,
                        first.1,
                        fmt_shape(input),
                        fmt_shape(s),
                    ));
                }
                input.to_vec()
            }
            Op::Concatenate(axis) => {
                let rank = input.len();
                let Some(a) = Self::axis(axis, rank) else {
                    let axes = if rank == 1 {
                        "one axis: 1, or -1 from the end".to_string()
                    } else {
                        format!("{rank} axes: 1 to {rank}, or -1 to -{rank} from the end")
                    };
                    return Err(format!(
                        "{}: `axis = {axis}` is not an axis of {} from {}, which has {axes} \
                         (axis 0 is the batch, which cannot be joined)",
                        cx.label,
                        fmt_shape(input),
                        first.1
                    ));
                };
                let fits =
                    |s: &[usize]| s.len() == rank && (0..rank).all(|d| d == a || s[d] == input[d]);
                if let Some((s, from)) = all.iter().find(|(s, _)| !fits(s)) {
                    return Err(format!(
                        "{} joins its inputs along axis {}, so they must agree on every other axis, \
                         but {} is {} and {from} is {}",
                        cx.label,
                        axis,
                        first.1,
                        fmt_shape(input),
                        fmt_shape(s),
                    ));
                }
                let mut out = input.to_vec();
                out[a] = all.iter().map(|(s, _)| s[a]).sum();
                out
            }
        };
        let mut step = cx.step(input, output, 0, (0, 0));
        step.inputs = all.iter().map(|(s, _)| s.to_vec()).collect();
        Ok(step)
    }

    fn output_alone(&self, _: &ShapeCx) -> Option<Vec<usize>> {
        None
    }

    fn is_broken(&self, _: &ShapeCx) -> bool {
        false
    }

    fn field_type(&self, _: &TokenStream, _: &Step) -> Option<TokenStream> {
        None
    }

    fn weights(&self, _: &Step) -> Vec<Weight> {
        Vec::new()
    }

    fn embedded_type(&self) -> Result<Option<TokenStream>, &'static str> {
        Ok(None)
    }

    fn forward(&self, cx: &forward::Cx) -> forward::Parts {
        let b = &cx.b;
        let xs: Vec<TokenStream> = cx.x_ins.iter().map(|x| quote!(#x)).collect();
        let zeroed = cx.zeroed();
        let call = self.forward_call(&cx.t, cx.s, &xs, quote!(&mut #b));
        cx.parts(quote!(#zeroed #call), TokenStream::new(), "linear")
    }

    fn mode(&self) -> Mode {
        Mode::Sample
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        let t = &cx.t;
        let mut p = cx.parts();
        let (out, dy) = (cx.at(&cx.a), cx.at(&cx.g));
        p.forward = self.forward_call(t, cx.s, &cx.inputs, quote!(&mut #out));
        let flat = quote!(::kiln::core::tensor::flat::<#t, _>);
        let flat_mut = quote!(::kiln::core::tensor::flat_mut::<#t, _>);
        let dxs = (0..cx.inputs.len()).map(|k| format_ident!("d_prev_{k}"));
        let dxs = quote!(&mut [#(#flat_mut(#dxs)),*]);
        let merge = quote!(::kiln::core::layers::merge);
        p.with_dx = match self.op {
            Op::Elementwise(op) => {
                let (op, xs) = (format_ident!("{op}"), &cx.inputs);
                quote!(#merge::Merge::#op.backward::<#t>(&[#(#flat(#xs)),*], #flat(&#dy), #dxs);)
            }
            Op::Concatenate(_) => {
                let chunks = self.chunks(cx.s);
                quote!(#merge::concat_backward::<#t>(#flat(&#dy), &[#(#chunks),*], #dxs);)
            }
        };
        p
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        assert!(cx.in_run, "a merge runs sample by sample");
        let (x_out, ty_out) = (&cx.x_out, &cx.ty_out);
        let (mut p, out) = cx.sample_output();
        let call = self.forward_call(&cx.t, cx.s, &cx.xs, quote!(&mut #out));
        p.code = quote! {
            #call
            let #x_out: &#ty_out = &#out;
        };
        p
    }

    fn in_place(&self) -> bool {
        false
    }

    fn arena(&self, cx: &infer::Cx) -> TokenStream {
        let (t, b, m, n) = (&cx.t, cx.b, cx.out_len, cx.ins.len());
        let ins = cx.ins.iter().map(|&(at, len)| quote!((#at, #len)));
        let merge = quote!(::kiln::core::layers::merge);
        let call = match self.op {
            Op::Elementwise(op) => {
                let op = format_ident!("{op}");
                quote!(#merge::Merge::#op.forward::<#t>(&xs, y);)
            }
            Op::Concatenate(_) => {
                let chunks = self.chunks(cx.s);
                quote!(#merge::concat_forward::<#t>(&xs, &[#(#chunks),*], y);)
            }
        };
        quote! {{
            let (xs, y) = ::kiln::core::arena::many::<#t, #n>(buf, [#(#ins),*], (#b, #m));
            #call
        }}
    }

    fn fusion(&self) -> Fusion {
        Fusion::None
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        let n = cx.s.inputs.len();
        match self.op {
            Op::Elementwise("Multiply") if n > 3 => int8::Role::Unsupported(format!(
                "{}: an int8 Multiply takes at most three inputs (their product must fit in 32 bits), \
                 but gets {n}; multiply in two steps",
                cx.label
            )),
            Op::Elementwise(op @ ("Add" | "Average")) if n > kiln_core::quant::MAX_SUM_INPUTS => {
                int8::Role::Unsupported(format!(
                    "{}: an int8 {op} takes at most {} inputs, but gets {n}; merge in two steps",
                    cx.label,
                    kiln_core::quant::MAX_SUM_INPUTS
                ))
            }
            Op::Elementwise(_) | Op::Concatenate(_) => int8::Role::Merge,
        }
    }

    fn int8_code(&self, cx: &int8::Cx) -> int8::Code {
        let (f, args, n) = (&cx.field, &cx.ctor_args, cx.ins.len());
        let q = quote!(::kiln::core::quant::QMerge::<#n>);
        let ins = cx.ins.iter().map(|&(at, len)| quote!((#at, #len)));
        let (b, m) = cx.out;
        let (ctor, call) = match self.op {
            Op::Elementwise(op) => {
                let op = format_ident!("{op}");
                (
                    quote!(#q::new(::kiln::core::layers::merge::Merge::#op, #args)),
                    quote!(self.#f.forward(xs, y);),
                )
            }
            Op::Concatenate(_) => {
                let chunks = self.chunks(cx.s);
                (
                    quote!(#q::concatenate(#args)),
                    quote!(self.#f.concatenate_into(xs, [#(#chunks),*], y);),
                )
            }
        };
        int8::Code {
            field: Some((quote!(::kiln::core::quant::QMerge<#n>), ctor)),
            call: quote! {
                let (xs, y) = ::kiln::core::arena::many::<i8, #n>(buf, [#(#ins),*], (#b, #m));
                #call
            },
        }
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Merge
    }

    fn keras_config(&self) -> KerasConfig {
        keras_config(match self.op {
            Op::Elementwise(_) => json!({}),
            Op::Concatenate(axis) => json!({ "axis": axis }),
        })
    }
}
