//! Emits arena inference for float models (`Planned`, `Infer`, `ARENA_BYTES`) and, with
//! `weights = "…"`, the weights themselves as a `const` so the model can sit in flash.

use crate::layer::{Act, Config, Layer};
use crate::plan::plan_with_scratch;
use crate::shape::Step;
use crate::types::{lit, tensor_ty};
use crate::weights::{self, WeightFile};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// `act` applied in place along the last axis (`c` wide) of `y: &mut Tensor`.
fn act_in_place(t: &TokenStream, act: &Act, c: usize) -> TokenStream {
    let lit_c = lit(c);
    let rows = quote!(::kiln::core::tensor::Rows::<#t, #lit_c>::rows_mut(y));
    crate::codegen::apply_act(t, act, c, rows)
}

/// A Conv2D (layer `k`) followed by a `valid` pooling layer, where the convolution has no top
/// padding: it can run in bands of pool-height rows, each pooled at once into the output.
fn fusable(layers: &[Layer], steps: &[Step], k: usize) -> bool {
    matches!(layers[k].config, Config::Conv2D { .. })
        && steps[k].pad.0 == 0
        && matches!(
            layers.get(k + 1).map(|l| &l.config),
            Some(Config::Pool { .. })
        )
        && steps[k + 1].pad == (0, 0)
}

/// The arena plan and `infer` of a float model.
///
/// A convolution feeding a `valid` pooling layer runs in bands: for each output row of the
/// pool, the convolution computes just the rows that pool window reads, into a scratch band,
/// and the pool reduces the band into the output. The convolution's whole output is never
/// stored (the MCU CNN in f32: 17 KB of arena instead of 54 KB).
pub fn emit(
    t: &TokenStream,
    name: &syn::Ident,
    input: &[usize],
    layers: &[Layer],
    steps: &[Step],
) -> TokenStream {
    let elem = if t.to_string() == "f64" { 8 } else { 4 };
    let bytes = |shape: &[usize]| shape.iter().product::<usize>() * elem;
    // Steps as (first layer, last layer): a banded convolution and its pool cover two.
    let mut ops = Vec::new();
    let mut k = 0;
    while k < layers.len() {
        let last = if fusable(layers, steps, k) { k + 1 } else { k };
        ops.push((k, last));
        k = last + 1;
    }
    let mut sizes = vec![bytes(input)];
    let mut alias = vec![false];
    let mut scratch = vec![0];
    for &(k, last) in &ops {
        sizes.push(bytes(&steps[last].output));
        alias.push(matches!(
            layers[k].config,
            Config::Flatten
                | Config::Reshape { .. }
                | Config::Dropout { .. }
                | Config::Activation { .. }
        ));
        scratch.push(match &layers[last].config {
            Config::Pool { pool, .. } if last != k => {
                bytes(&[pool.0, steps[k].output[1], steps[k].output[2]])
            }
            _ => 0,
        });
    }
    let p = plan_with_scratch(&sizes, &alias, &scratch);
    let mut body = TokenStream::new();
    for (j, &(k, last)) in ops.iter().enumerate() {
        let (l, s) = (&layers[k], &steps[k]);
        let (a, b) = (p.offsets[j], p.offsets[j + 1]);
        if last != k {
            let band = p.scratch(j + 1);
            body.extend(banded(
                t,
                l,
                s,
                &layers[last],
                &steps[last],
                [a, band, b],
                elem,
            ));
            continue;
        }
        let (xt, yt) = (tensor_ty(t, &s.input), tensor_ty(t, &s.output));
        let io = quote!(let (x, y) = ::kiln::core::arena::io::<#xt, #yt>(buf, #a, #b););
        let ident = format_ident!("{}", l.name);
        body.extend(match &l.config {
            Config::Dense { units, act, .. } => {
                let (i, o) = (lit(*s.input.last().expect("rank >= 1")), lit(*units));
                let act = act_in_place(t, act, *units);
                quote! {{
                    #io
                    self.#ident.forward(
                        ::kiln::core::tensor::Rows::<#t, #i>::rows(x),
                        ::kiln::core::tensor::Rows::<#t, #o>::rows_mut(y),
                    );
                    #act
                }}
            }
            Config::Conv2D { filters, act, .. } => {
                let act = act_in_place(t, act, *filters);
                quote! {{ #io self.#ident.forward(x, y); #act }}
            }
            Config::Pool {
                max, pool, strides, ..
            } => {
                let [ph, pw, sh, sw, pt, pl] =
                    [pool.0, pool.1, strides.0, strides.1, s.pad.0, s.pad.1].map(lit);
                let kernel = if *max {
                    quote!(MaxPool2D)
                } else {
                    quote!(AvgPool2D)
                };
                quote! {{
                    #io
                    ::kiln::core::layers::#kernel::<#ph, #pw, #sh, #sw, #pt, #pl>.forward(x, y);
                }}
            }
            Config::GlobalAvgPool => quote! {{
                #io
                ::kiln::core::layers::GlobalAvgPool2D.forward(x, y);
            }},
            Config::Flatten | Config::Reshape { .. } | Config::Dropout { .. } => TokenStream::new(),
            Config::Activation { act } => {
                let act = act_in_place(t, act, *s.output.last().expect("rank >= 1"));
                quote! {{ let y = ::kiln::core::arena::view_mut::<#yt>(buf, #b); #act }}
            }
            Config::Nested { path, .. } => quote! {{
                #io
                *y = <#path as ::kiln::Model>::forward(&self.#ident, x);
            }},
        });
    }
    let (in_ty, out_ty) = (
        tensor_ty(t, input),
        tensor_ty(
            t,
            &steps.last().map_or(input.to_vec(), |s| s.output.clone()),
        ),
    );
    let (arena, last) = (p.arena, *p.offsets.last().expect("input"));
    let impls = arena_impls(name, &in_ty, &out_ty, p.arena, &body, last);
    quote! {
        #impls

        impl #name {
            /// Bytes of activation memory one inference needs (the size of its [`kiln::Arena`]),
            /// planned at compile time.
            pub const ARENA_BYTES: usize = #arena;
            /// Bytes of parameters: what the model occupies in flash when it is a `static`.
            pub const FLASH_BYTES: usize = ::core::mem::size_of::<Self>();

            /// Runs one sample using only `arena` for activations (no heap, a fixed stack); the
            /// output lives in the arena until its next use. Same result as `forward`.
            #[inline]
            pub fn infer<'a>(&self, arena: &'a mut ::kiln::core::Arena<Self>, x: &#in_ty) -> &'a #out_ty {
                <Self as ::kiln::core::Infer>::infer(self, arena, x)
            }
        }
    }
}

/// `Planned` and `Infer` for a model whose planned steps are `body` (reading and writing `buf`),
/// with the input copied to offset 0 and the output read at `last`. Float and int8 models share
/// it.
pub fn arena_impls(
    name: &syn::Ident,
    in_ty: &TokenStream,
    out_ty: &TokenStream,
    arena: usize,
    body: &TokenStream,
    last: usize,
) -> TokenStream {
    let chunks = arena / 16;
    quote! {
        impl ::kiln::core::Planned for #name {
            type Buffer = [::kiln::core::arena::Chunk; #chunks];
            const ARENA_BYTES: usize = #arena;
        }

        impl ::kiln::core::Infer for #name {
            type Input = #in_ty;
            type Output = #out_ty;
            #[inline]
            fn infer<'a>(&self, arena: &'a mut ::kiln::core::Arena<Self>, x0: &#in_ty) -> &'a #out_ty {
                let buf: &'a mut [u8] = arena.bytes_mut();
                *::kiln::core::arena::view_mut::<#in_ty>(buf, 0) = *x0;
                #body
                let buf: &'a [u8] = buf;
                ::kiln::core::arena::view::<#out_ty>(buf, #last)
            }
        }
    }
}

/// A convolution and the `valid` pooling after it, band by band (see [`emit`]): the input at
/// `at[0]`, the band of conv rows at `at[1]`, the pooled output at `at[2]`.
fn banded(
    t: &TokenStream,
    conv: &Layer,
    cs: &Step,
    pool: &Layer,
    ps: &Step,
    at: [usize; 3],
    elem: usize,
) -> TokenStream {
    let (
        Config::Conv2D {
            filters,
            kernel,
            strides,
            act,
            ..
        },
        Config::Pool {
            max,
            pool: win,
            strides: pstr,
            ..
        },
    ) = (&conv.config, &pool.config)
    else {
        unreachable!("a banded step is a Conv2D then a pooling layer")
    };
    let (w, ci, ow, co) = (cs.input[1], cs.input[2], cs.output[1], *filters);
    let (poh, pow) = (ps.output[0], ps.output[1]);
    // The input rows one band reads: its pool window's conv rows, widened by the kernel.
    let rows_in = (win.0 - 1) * strides.0 + kernel.0;
    let x_band = tensor_ty(t, &[rows_in, w, ci]);
    let y_band = tensor_ty(t, &[win.0, ow, co]);
    let y_row = tensor_ty(t, &[1, pow, co]);
    let step_in = pstr.0 * strides.0 * w * ci * elem;
    let out_row = pow * co * elem;
    let act = act_in_place(t, act, co);
    let ident = format_ident!("{}", conv.name);
    let pool_ty = if *max {
        quote!(MaxPool2D)
    } else {
        quote!(AvgPool2D)
    };
    let [ph, pw, psh, psw, poh] = [win.0, win.1, pstr.0, pstr.1, poh].map(lit);
    let [a, band, b] = at;
    quote! {
        for r in 0..#poh {
            let (x, y, out) = ::kiln::core::arena::io3::<#x_band, #y_band, #y_row>(
                buf,
                #a + r * #step_in,
                #band,
                #b + r * #out_row,
            );
            self.#ident.forward(x, y);
            #act
            ::kiln::core::layers::#pool_ty::<#ph, #pw, #psh, #psw, 0, 0>.forward(&*y, out);
        }
    }
}

/// With `weights = "…"`: `Model::WEIGHTS` (the file's values as a `const`) and `Model::weights()`
/// (a `&'static` model, in flash on a microcontroller).
pub fn embed(
    t: &TokenStream,
    name: &syn::Ident,
    layers: &[Layer],
    steps: &[Step],
    lit_path: &syn::LitStr,
) -> syn::Result<TokenStream> {
    let dtype = if t.to_string() == "f64" { "F64" } else { "F32" };
    if let Some(l) = layers
        .iter()
        .find(|l| matches!(l.config, Config::Nested { .. }))
    {
        return Err(syn::Error::new(
            lit_path.span(),
            format!(
                "`weights = …` cannot embed the weights of a nested model yet ({}); load them at run time with `load_weights` instead",
                l.label()
            ),
        ));
    }
    let file: WeightFile = weights::read(lit_path)?;
    if file.tensors.contains_key("input/scale") {
        return Err(syn::Error::new(
            lit_path.span(),
            format!(
                "`{}` is an int8 weights file (written by `kiln::quantize`): embed it in the int8 model, `struct {name}<i8>: …`",
                file.shown
            ),
        ));
    }
    let needs = weights::float_needs(layers, steps, dtype);
    let help = format!(
        "help: embed a file written for this model: `{name}::save_weights` writes one (tensors `<layer>/kernel` and `<layer>/bias` in Keras's layouts, {dtype})"
    );
    weights::check(&file, &needs, &name.to_string(), lit_path, &help)?;
    let mut fields = Vec::new();
    for (l, s) in layers.iter().zip(steps) {
        let (kshape, units, has_bias) = match &l.config {
            Config::Dense { units, bias, .. } => (
                vec![*s.input.last().expect("rank >= 1"), *units],
                *units,
                *bias,
            ),
            Config::Conv2D {
                filters,
                kernel,
                bias,
                ..
            } => (
                vec![kernel.0, kernel.1, s.input[2], *filters],
                *filters,
                *bias,
            ),
            _ => continue,
        };
        let get = |p: &str| {
            let n = format!("{}/{p}", l.name);
            let ts: Vec<TokenStream> = file.tensors[&n]
                .floats(&n, lit_path)?
                .into_iter()
                .map(|v| quote!(#v))
                .collect();
            syn::Result::Ok(ts)
        };
        let kernel = weights::nested(&get("kernel")?, &kshape);
        let bias = if has_bias {
            weights::nested(&get("bias")?, &[units])
        } else {
            let zero = if dtype == "F64" {
                quote!(0.0f64)
            } else {
                quote!(0.0f32)
            };
            let n = lit(units);
            quote!([#zero; #n])
        };
        let ident = format_ident!("{}", l.name);
        let class = if matches!(l.config, Config::Dense { .. }) {
            quote!(Dense)
        } else {
            quote!(Conv2D)
        };
        fields.push(quote!(#ident: ::kiln::core::layers::#class { kernel: #kernel, bias: #bias }));
    }
    let path = file.path.to_string_lossy().into_owned();
    let shown = &file.shown;
    let doc = format!("The weights of `{shown}`, embedded at compile time.");
    Ok(quote! {
        impl #name {
            #[doc = #doc]
            ///
            /// Every tensor's name, dtype and shape was checked against the model when it was
            /// compiled. A `const`: write `static NET: Model = Model::WEIGHTS;` to keep one copy,
            /// or call [`Self::weights`].
            pub const WEIGHTS: Self = Self { #(#fields),* };

            /// The embedded weights as a `static`: no start-up work and, on a microcontroller,
            /// no RAM (it stays in flash).
            pub fn weights() -> &'static Self {
                static WEIGHTS: #name = #name::WEIGHTS;
                &WEIGHTS
            }
        }
        // Rebuild when the weights file changes.
        const _: &[u8] = include_bytes!(#path);
    })
}
