//! Emits an int8 model (`struct Net<i8>: … , weights = "net.int8.safetensors"`): the layers of
//! `kiln_core::quant` built in a `const` from a file written by `kiln::quantize`, and arena
//! inference in which each pooling layer runs inside the convolution that feeds it.

use crate::diagnostics::Errors;
use crate::emit::types::{lit, tensor_ty};
use crate::emit::weights::{self, Need, WeightFile};
use crate::graph::{nested, Graph};
use crate::layers::{Act, Fusion, QuantRole, Window};
use crate::plan::{liveness, plan};
use crate::shapes::{fmt_shape, Step};
use crate::syntax::ModelDef;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

/// What one step of int8 inference does.
enum Op {
    /// A Conv2D or Dense (node index), with the pooling node fused into it, if any.
    Weighted(usize, Option<usize>),
    /// A layer with code and no field: pooling, global pooling.
    Pool(usize),
    /// A separate activation: a clamp on its input's scale.
    Clamp(usize),
    /// A merge of several values: a field built from the file, and its code.
    Merge(usize),
    /// Flatten, Reshape, Dropout: the same bytes seen as another shape.
    Alias(usize),
}

impl Op {
    /// The first node the step covers (whose inputs it reads) and the last (whose value it writes).
    fn nodes(&self) -> (usize, usize) {
        match *self {
            Op::Weighted(k, fused) => (k, fused.unwrap_or(k)),
            Op::Pool(k) | Op::Clamp(k) | Op::Merge(k) | Op::Alias(k) => (k, k),
        }
    }
}

pub const SUPPORTED: &str = "int8 models support Conv2D and Dense (activation relu, relu6 or none; softmax on the last layer), \
                         MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, Activation (relu, relu6), \
                         the merges Add, Subtract, Multiply, Average, Maximum, Minimum and Concatenate, Flatten, Reshape and Dropout";

/// A layer's place in an int8 model.
pub enum Role {
    /// Has quantized parameters (Conv2D, Dense).
    Weighted,
    /// Code and no field, keeping its input's scale (pooling).
    Pool,
    /// A separate activation, clamped on its input's scale.
    Clamp,
    /// A merge, with its own requantization constants from the file.
    Merge,
    /// Its output is its input's bytes.
    Alias,
    /// Not quantizable (yet): the message the user reads.
    Unsupported(String),
}

/// What a layer's `int8` sees, to say whether it can run in int8.
pub struct Check<'a> {
    pub label: String,
    pub s: &'a Step,
    /// Whether its value is the model's output (softmax is then left to the caller).
    pub last: bool,
}

impl Check<'_> {
    /// Why activation `act` has no int8 kernel here, or `None` when it has one.
    pub fn activation_missing(&self, act: &Act) -> Option<String> {
        let ok =
            matches!(act.name, "relu" | "relu6" | "linear") || (act.name == "softmax" && self.last);
        (!ok).then(|| {
            format!(
                "{}: activation `{}` has no int8 kernel{}; {SUPPORTED}",
                self.label,
                act.name,
                if act.name == "softmax" {
                    " except on the layer that makes the model's output"
                } else {
                    ""
                }
            )
        })
    }

    /// The message of a layer with no int8 kernel at all.
    pub fn no_kernel(&self) -> String {
        format!("{} has no int8 kernel; {SUPPORTED}", self.label)
    }
}

/// What a layer's `int8_code` sees.
pub struct Cx<'a> {
    pub s: &'a Step,
    pub field: Ident,
    /// The arguments of the layer's `const fn new`, from the file (weighted layers, merges).
    pub ctor_args: TokenStream,
    /// A pooling layer computed inside this convolution: its window and its step.
    pub pooled: Option<(Window, &'a Step)>,
    /// Every input's offset and element count, and the output's (merges).
    pub ins: Vec<(usize, usize)>,
    pub out: (usize, usize),
    /// A clamp's bounds, from the file.
    pub clamp: (i32, i32),
}

/// A layer's int8 field (type, constructor) if it has one, and its code: between `x` and `y`
/// for a layer of one input, on the arena `buf` for a merge.
pub struct Code {
    pub field: Option<(TokenStream, TokenStream)>,
    pub call: TokenStream,
}

/// What int8 models cannot be yet, beyond single layers: several inputs or outputs, a layer
/// applied twice.
fn check_graph(def: &ModelDef, graph: &Graph, errs: &mut Errors) {
    let name = &def.name;
    if graph.n_inputs() > 1 {
        errs.at(
            &def.brackets,
            format!(
                "`{name}<i8>` has {} inputs; int8 models have one input for now (the quantizer calibrates one)",
                graph.n_inputs()
            ),
        );
    }
    if graph.outputs.len() > 1 {
        errs.at(
            &def.brackets,
            format!(
                "`{name}<i8>` has {} outputs; int8 models have one output for now: quantize a model \
                 with one output, or one model per output",
                graph.outputs.len()
            ),
        );
    }
    let same =
        |a: &crate::graph::Node, b: &crate::graph::Node| std::rc::Rc::ptr_eq(&a.layer, &b.layer);
    for (i, n) in graph.nodes.iter().enumerate() {
        let first = !graph.nodes[..i].iter().any(|m| same(m, n));
        if first && graph.nodes[i + 1..].iter().any(|m| same(m, n)) {
            errs.at(
                &n.layer.tokens,
                format!(
                    "{} is applied to several values; an int8 layer has one input scale, so it cannot be \
                     shared yet: give each application its own layer",
                    n.layer.label()
                ),
            );
        }
    }
}

/// Checks that every layer has an int8 kernel and plans the steps. A convolution fuses the
/// pooling layer after it when the pool is its value's only reader.
fn ops(graph: &Graph, steps: &[Step], errs: &mut Errors) -> Vec<Op> {
    let nodes = &graph.nodes;
    let mut ops = Vec::new();
    let mut k = 0;
    while k < nodes.len() {
        let l = &nodes[k].layer;
        let check = Check {
            label: l.label(),
            s: &steps[k],
            last: graph.output_index(nodes[k].output).is_some(),
        };
        match l.kind.int8(&check) {
            Role::Unsupported(why) => errs.at(&l.tokens, why),
            Role::Weighted => {
                let v = nodes[k].output;
                let fused = match (l.kind.fusion(), nodes.get(k + 1)) {
                    (Fusion::Conv(_), Some(next)) => {
                        (matches!(next.layer.kind.fusion(), Fusion::Pool(_))
                            && steps[k + 1].pad == (0, 0)
                            && next.inputs == [v]
                            && graph.consumers(v).len() == 1
                            && graph.output_index(v).is_none())
                        .then_some(k + 1)
                    }
                    _ => None,
                };
                ops.push(Op::Weighted(k, fused));
                k += usize::from(fused.is_some());
            }
            Role::Pool => ops.push(Op::Pool(k)),
            Role::Clamp => ops.push(Op::Clamp(k)),
            Role::Merge => ops.push(Op::Merge(k)),
            Role::Alias => ops.push(Op::Alias(k)),
        }
        k += 1;
    }
    ops
}

/// The tensors an int8 file holds for this model (the format `kiln::quantize` writes).
fn needs(graph: &Graph, steps: &[Step]) -> Vec<Need> {
    let input = "the model's input".to_string();
    let mut needs = vec![
        Need {
            name: "input/scale".into(),
            dtype: "F32",
            shape: vec![1],
            owner: input.clone(),
        },
        Need {
            name: "input/zero_point".into(),
            dtype: "I32",
            shape: vec![1],
            owner: input,
        },
    ];
    for f in weights::float_needs(graph, steps, "I8") {
        let Some(layer) = f.name.strip_suffix("/kernel") else {
            continue;
        };
        let out = *f.shape.last().expect("rank >= 2");
        let t = |p: &str, dtype, shape: Vec<usize>| Need {
            name: format!("{layer}/{p}"),
            dtype,
            shape,
            owner: f.owner.clone(),
        };
        needs.extend([
            t("bias", "I32", vec![out]),
            t("kernel_scale", "F32", vec![out]),
            t("multiplier", "I32", vec![out]),
            t("shift", "I32", vec![out]),
            t("output_scale", "F32", vec![1]),
            t("output_zero_point", "I32", vec![1]),
            t("activation_min", "I32", vec![1]),
            t("activation_max", "I32", vec![1]),
        ]);
        needs.push(f);
    }
    for n in &graph.nodes {
        let l = &n.layer;
        let t = |p: &str, dtype, len: usize| Need {
            name: format!("{}/{p}", l.name),
            dtype,
            shape: vec![len],
            owner: l.label(),
        };
        match l.kind.quant_role() {
            QuantRole::Merge => needs.extend([
                t("input_multiplier", "I32", n.inputs.len()),
                t("input_shift", "I32", n.inputs.len()),
                t("output_multiplier", "I32", 1),
                t("output_shift", "I32", 1),
                t("output_scale", "F32", 1),
                t("output_zero_point", "I32", 1),
            ]),
            QuantRole::Activation => {
                needs.extend([t("activation_min", "I32", 1), t("activation_max", "I32", 1)])
            }
            QuantRole::Conv2D
            | QuantRole::Dense
            | QuantRole::PassThrough
            | QuantRole::Unsupported => {}
        }
    }
    needs
}

fn ints<T: Copy + Into<i64>>(v: &[T]) -> Vec<TokenStream> {
    v.iter()
        .map(|&x| {
            let l = Literal::i64_unsuffixed(x.into());
            quote!(#l)
        })
        .collect()
}

pub fn emit(def: &ModelDef, graph: &Graph, steps: &[Step]) -> TokenStream {
    let name = &def.name;
    let mut errs = Errors::default();
    check_graph(def, graph, &mut errs);
    let ops = ops(graph, steps, &mut errs);
    if !graph
        .owners(steps)
        .any(|(l, s)| !l.kind.weights(s).is_empty())
    {
        errs.at(
            &def.brackets,
            format!("`{name}<i8>` has no Conv2D or Dense layer: there is nothing to quantize"),
        );
    }
    let Some(path) = &def.weights else {
        errs.at(
            name,
            format!(
                "an int8 model is built from a quantized weights file: add `, weights = \"{}.int8.safetensors\"` \
                 after the layer list (`kiln::quantize` writes one from a trained float model)",
                crate::naming::snake_case(&name.to_string())
            ),
        );
        return placeholder(def, errs);
    };
    if errs.len() > 0 {
        return placeholder(def, errs);
    }
    let file = match weights::read(path).and_then(|f| {
        if !f.tensors.contains_key("input/scale") {
            return Err(syn::Error::new(
                path.span(),
                format!(
                    "`{}` is not an int8 weights file (it has no `input/scale`): `{name}<i8>` embeds the file \
                     `kiln::quantize` writes from the float model, e.g. `quantize(&net, &samples)?.save(\"{}.int8.safetensors\")`",
                    f.shown,
                    crate::naming::snake_case(&name.to_string())
                ),
            ));
        }
        let help = format!(
            "help: `{name}<i8>` embeds a file written by `kiln::quantize` for the float version of this model \
             (int8 `<layer>/kernel`, int32 `<layer>/bias`, `<layer>/multiplier`, `<layer>/shift`, … and `input/scale`)"
        );
        weights::check(&f, &needs(graph, steps), &name.to_string(), path, &help).map(|()| f)
    }) {
        Ok(f) => f,
        Err(e) => {
            errs.push(e);
            return placeholder(def, errs);
        }
    };
    generate(def, graph, steps, &ops, &file)
}

fn placeholder(def: &ModelDef, errs: Errors) -> TokenStream {
    let (vis, name) = (&def.vis, &def.name);
    let err = errs.combined().map(|e| e.to_compile_error());
    let answerer = nested::answerer(name, None, "");
    quote! { #vis struct #name; #err #answerer }
}

fn generate(
    def: &ModelDef,
    graph: &Graph,
    steps: &[Step],
    ops: &[Op],
    file: &WeightFile,
) -> TokenStream {
    let (input, nodes) = (graph.input(), &graph.nodes[..]);
    let (name, vis, attrs) = (&def.name, &def.vis, &def.attrs);
    let i8t = quote!(i8);
    let scalar1 = |n: &str| file.tensors[n].i32s()[0];
    let (in_scale, in_zp) = (
        file.tensors["input/scale"].f32s()[0],
        scalar1("input/zero_point"),
    );

    // Tensors: the input, then one per step. `tensor[v]`: where value `v` is, once made.
    let mut tensor = vec![usize::MAX; graph.n_values()];
    tensor[0] = 0;
    let mut shapes = vec![input.to_vec()];
    // Each tensor's scale and zero point, as the file gives them.
    let mut quant = vec![(in_scale, in_zp)];
    let mut reads: Vec<Vec<usize>> = vec![Vec::new()];
    let mut alias = vec![None];
    for op in ops {
        let (first, last) = op.nodes();
        let ins: Vec<usize> = nodes[first].inputs.iter().map(|&v| tensor[v]).collect();
        let n = |p: &str| format!("{}/{p}", nodes[first].layer.name);
        quant.push(match op {
            Op::Weighted(..) | Op::Merge(_) => (
                file.tensors[&n("output_scale")].f32s()[0],
                scalar1(&n("output_zero_point")),
            ),
            Op::Pool(_) | Op::Clamp(_) | Op::Alias(_) => quant[ins[0]],
        });
        alias.push(matches!(op, Op::Alias(_)).then_some(ins[0]));
        reads.push(ins);
        shapes.push(steps[last].output.clone());
        tensor[nodes[last].output] = shapes.len() - 1;
    }
    let sizes: Vec<usize> = shapes.iter().map(|s| s.iter().product()).collect();
    let out_tensor = tensor[graph.output()];
    let p = if graph.is_chain() {
        let flags: Vec<bool> = alias.iter().map(Option::is_some).collect();
        plan(&sizes, &flags)
    } else {
        // Step `j` runs at time `j + 1`; the output is read at the end.
        let end = ops.len() + 1;
        let born: Vec<usize> = (0..sizes.len()).collect();
        let mut last_use = vec![0; sizes.len()];
        for (j, ins) in reads.iter().enumerate() {
            for &t in ins {
                last_use[t] = last_use[t].max(j);
            }
        }
        last_use[out_tensor] = end;
        liveness(&sizes, &born, &last_use, &alias)
    };

    let (mut fields, mut inits, mut body) = (Vec::new(), Vec::new(), TokenStream::new());
    for (j, op) in ops.iter().enumerate() {
        let (first, _) = op.nodes();
        let ins = &reads[j + 1];
        let (a, b) = (p.offsets[ins[0]], p.offsets[j + 1]);
        let (xt, yt) = (
            tensor_ty(&i8t, &shapes[ins[0]]),
            tensor_ty(&i8t, &shapes[j + 1]),
        );
        let io = quote!(let (x, y) = ::kiln::core::arena::io::<#xt, #yt>(buf, #a, #b););
        let (l, s) = (&nodes[first].layer, &steps[first]);
        let ident = format_ident!("{}", l.name);
        let n = |p: &str| format!("{}/{p}", l.name);
        let mut cx = Cx {
            s,
            field: ident.clone(),
            ctor_args: TokenStream::new(),
            pooled: None,
            ins: ins.iter().map(|&t| (p.offsets[t], sizes[t])).collect(),
            out: (b, sizes[j + 1]),
            clamp: (-128, 127),
        };
        match *op {
            Op::Weighted(k, fused) => {
                let zp = quant[ins[0]].1;
                let kernel = file.tensors[&n("kernel")].i8s();
                let kshape = file.tensors[&n("kernel")].shape.clone();
                let kernel = weights::nested(&ints(&kernel), &kshape);
                let [bias, mult, shift] = ["bias", "multiplier", "shift"].map(|p| {
                    let v = ints(&file.tensors[&n(p)].i32s());
                    quote!([#(#v),*])
                });
                let (out_zp, lo, hi) = (
                    scalar1(&n("output_zero_point")),
                    scalar1(&n("activation_min")),
                    scalar1(&n("activation_max")),
                );
                cx.pooled = fused.map(|q| {
                    let Fusion::Pool(win) = nodes[q].layer.kind.fusion() else {
                        unreachable!("only a pooling layer is fused")
                    };
                    (win, &steps[q])
                });
                cx.ctor_args = quote!(#kernel, #bias, #mult, #shift, #zp, #out_zp, #lo, #hi);
                let Code { field, call } = l.kind.int8_code(&cx);
                let (ty, ctor) = field.expect("a weighted layer has a field");
                let doc = format!(
                    "Layer {}, `{}` ({}, int8): {} → {}.",
                    l.pos,
                    l.name,
                    l.class,
                    fmt_shape(&s.input),
                    fmt_shape(&steps[k].output)
                );
                fields.push(quote!(#[doc = #doc] pub #ident: #ty));
                inits.push(quote!(#ident: #ctor));
                body.extend(quote!({ #io #call }));
            }
            Op::Merge(_) => {
                let zps = ints(&ins.iter().map(|&t| quant[t].1).collect::<Vec<_>>());
                let [mult, shift] = ["input_multiplier", "input_shift"].map(|p| {
                    let v = ints(&file.tensors[&n(p)].i32s());
                    quote!([#(#v),*])
                });
                let [om, os, oz] = ["output_multiplier", "output_shift", "output_zero_point"]
                    .map(|p| Literal::i32_unsuffixed(scalar1(&n(p))));
                cx.ctor_args = quote!([#(#zps),*], #mult, #shift, (#om, #os, #oz));
                let Code { field, call } = l.kind.int8_code(&cx);
                let (ty, ctor) = field.expect("a merge has a field");
                let doc = format!(
                    "Layer {}, `{}` ({}, int8): {} → {}.",
                    l.pos,
                    l.name,
                    l.class,
                    s.inputs
                        .iter()
                        .map(|i| fmt_shape(i))
                        .collect::<Vec<_>>()
                        .join(" and "),
                    fmt_shape(&s.output)
                );
                fields.push(quote!(#[doc = #doc] pub #ident: #ty));
                inits.push(quote!(#ident: #ctor));
                body.extend(quote!({ #call }));
            }
            Op::Clamp(_) => {
                cx.clamp = (scalar1(&n("activation_min")), scalar1(&n("activation_max")));
                let call = l.kind.int8_code(&cx).call;
                body.extend(quote!({ #io #call }));
            }
            Op::Pool(_) => {
                let call = l.kind.int8_code(&cx).call;
                body.extend(quote!({ #io #call }));
            }
            Op::Alias(_) => {}
        }
    }
    let (scale, zp) = quant[out_tensor];
    let output = shapes[out_tensor].clone();
    let (in_ty, out_ty) = (tensor_ty(&i8t, input), tensor_ty(&i8t, &output));
    let (in_f32, out_f32) = (
        tensor_ty(&quote!(f32), input),
        tensor_ty(&quote!(f32), &output),
    );
    let (arena, last) = (p.arena, p.offsets[out_tensor]);
    let impls = crate::emit::infer::arena_impls(
        name,
        &in_ty,
        &out_ty,
        arena,
        &body,
        (crate::emit::infer::load_input(&in_ty, p.offsets[0]), last),
    );
    let params: usize = steps.iter().map(|s| s.params).sum();
    let (in_dims, out_dims) = (
        input.iter().map(|&d| lit(d)),
        output.iter().map(|&d| lit(d)),
    );
    let (in_scale, out_scale) = (
        Literal::f32_suffixed(in_scale),
        Literal::f32_suffixed(scale),
    );
    let file_path = file.path.to_string_lossy().into_owned();
    let shown = &file.shown;
    let snake = crate::naming::snake_case(&name.to_string());
    let answerer = nested::answerer(
        name,
        Some(nested::Shapes {
            input,
            inputs: &[],
            output: &output,
            outputs: &[],
            params,
            scalar: "i8",
            keras_class: "Sequential",
        }),
        &snake,
    );
    let doc = [
        String::new(),
        "# int8".to_string(),
        format!("Quantized weights from `{shown}`, embedded at compile time and checked against the layers."),
        format!("- input: `{}` int8 (`q = x / INPUT_SCALE + INPUT_ZERO_POINT`)", fmt_shape(input)),
        format!("- output: `{}` int8 (logits if the float model ends in softmax)", fmt_shape(&output)),
        format!("- parameters: {params}; activation memory: {arena} bytes (`ARENA_BYTES`)"),
        String::new(),
        "Generated by `kiln::model!`; use [`Self::weights`] and [`Self::infer`].".to_string(),
    ];
    quote! {
        #(#attrs)*
        #(#[doc = #doc])*
        #[derive(Clone, Copy)]
        #[repr(C)]
        #vis struct #name {
            #(#fields,)*
        }

        impl #name {
            /// The model, built at compile time from the embedded int8 weights.
            #[allow(long_running_const_eval)]
            pub const WEIGHTS: Self = Self { #(#inits),* };
            /// The shape of one input sample.
            pub const INPUT_SHAPE: &'static [usize] = &[#(#in_dims),*];
            /// The shape of one output sample.
            pub const OUTPUT_SHAPE: &'static [usize] = &[#(#out_dims),*];
            /// The number of parameters of the float model this was quantized from.
            pub const PARAMS: usize = #params;
            /// The input's scale: a real value `x` is `INPUT_SCALE · (q − INPUT_ZERO_POINT)`.
            pub const INPUT_SCALE: f32 = #in_scale;
            /// The input's zero point.
            pub const INPUT_ZERO_POINT: i32 = #in_zp;
            /// The output's scale.
            pub const OUTPUT_SCALE: f32 = #out_scale;
            /// The output's zero point.
            pub const OUTPUT_ZERO_POINT: i32 = #zp;
            /// Bytes of activation memory one inference needs (the size of its [`kiln::Arena`]),
            /// planned at compile time; pooling runs inside the convolution that feeds it.
            pub const ARENA_BYTES: usize = #arena;
            /// Bytes of constants (weights, biases, requantization): what the model occupies in flash.
            pub const FLASH_BYTES: usize = ::core::mem::size_of::<Self>();

            /// The embedded model as a `static`: in flash on a microcontroller, no start-up work.
            pub fn weights() -> &'static Self {
                #[allow(long_running_const_eval)]
                static WEIGHTS: #name = #name::WEIGHTS;
                &WEIGHTS
            }

            /// Runs one int8 sample using only `arena` for activations; integer arithmetic only.
            /// The output lives in the arena until its next use.
            #[inline]
            pub fn infer<'a>(&self, arena: &'a mut ::kiln::core::Arena<Self>, x: &#in_ty) -> &'a #out_ty {
                <Self as ::kiln::core::Infer>::infer(self, arena, x)
            }

            /// Quantizes a float input with the input's scale and zero point.
            pub fn quantize_input(x: &#in_f32) -> #in_ty {
                let mut q: #in_ty = ::kiln::core::bytemuck::Zeroable::zeroed();
                for (q, &v) in ::kiln::core::tensor::flat_mut::<i8, _>(&mut q).iter_mut().zip(::kiln::core::tensor::flat::<f32, _>(x)) {
                    *q = ::kiln::core::quant::quantize_f32(v, Self::INPUT_SCALE, Self::INPUT_ZERO_POINT);
                }
                q
            }

            /// Dequantizes an output with the output's scale and zero point.
            pub fn dequantize_output(y: &#out_ty) -> #out_f32 {
                let mut r: #out_f32 = ::kiln::core::bytemuck::Zeroable::zeroed();
                for (r, &q) in ::kiln::core::tensor::flat_mut::<f32, _>(&mut r).iter_mut().zip(::kiln::core::tensor::flat::<i8, _>(y)) {
                    *r = ::kiln::core::quant::dequantize(q, Self::OUTPUT_SCALE, Self::OUTPUT_ZERO_POINT);
                }
                r
            }
        }

        #impls

        // Rebuild when the weights file changes.
        const _: &[u8] = include_bytes!(#file_path);

        #answerer
    }
}
