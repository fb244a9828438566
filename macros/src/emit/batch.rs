//! Emits the batched forward pass `predict` runs (`kiln::core::model::ForwardBatch`): samples
//! go through the network a block at a time, layer by layer, so that a Dense layer multiplies
//! the whole block's rows by its kernel at once (read from memory once per block, not once
//! per sample).
//!
//! Layers fall in three kinds. Dense layers and nested models take the whole block. Conv2D and
//! the pools take one sample at a time: a run of them (with the reshapes, dropouts and
//! activations between them) is one loop over the block's samples, so each sample's images
//! stay in cache from one layer to the next, and only the run's last output is kept for every
//! sample. Reshapes, dropouts and activation layers work either way, as their neighbours do.
//! Every buffer is a field of one scratch struct, built once per `predict` call.

use crate::emit::types::{lit, tensor_ty};
use crate::graph::Graph;
use crate::layers::{Act, Mode};
use crate::shapes::Step;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

/// What a layer's `batch` sees.
pub struct Cx<'a> {
    pub t: TokenStream,
    pub s: &'a Step,
    pub field: Ident,
    /// The layer's output value (names its fields), its position and name (for docs).
    pub value: usize,
    pub pos: usize,
    pub name: &'a str,
    /// Inside a run over samples `r` (`x_in` is then one sample's tensor), or on the block
    /// (`x_in` is a slice of `n` tensors).
    pub in_run: bool,
    /// In a run: the layer's input, `&x[r]` for the run's first layer.
    pub x: TokenStream,
    /// In a run: every input, `x` first (a merge reads several).
    pub xs: Vec<TokenStream>,
    /// In a run: whether the layer is the run's last, whose output is kept for every sample.
    pub run_end: bool,
    pub x_in: Ident,
    pub x_out: Ident,
    /// The layer's scratch field.
    pub b: Ident,
    pub ty_in: TokenStream,
    pub ty_out: TokenStream,
    pub c_in: Literal,
    pub c_out: Literal,
    pub block: TokenStream,
}

/// A layer's batched code and the scratch fields it needs (name, type, doc).
pub struct Parts {
    pub fields: Vec<(Ident, TokenStream, String)>,
    pub code: TokenStream,
}

impl<'a> Cx<'a> {
    /// The context of `node` (step `s`), `(in a run, the run's last)`, with its input `x` and
    /// every input `xs` for a run.
    fn of(
        t: &TokenStream,
        node: &'a crate::graph::Node,
        s: &'a Step,
        (in_run, run_end): (bool, bool),
        x: TokenStream,
        xs: Vec<TokenStream>,
    ) -> Cx<'a> {
        let l = &node.layer;
        Cx {
            t: t.clone(),
            s,
            field: format_ident!("{}", l.name),
            value: node.output,
            pos: l.pos,
            name: &l.name,
            in_run,
            x,
            xs,
            run_end,
            x_in: format_ident!("x{}", node.inputs[0]),
            x_out: format_ident!("x{}", node.output),
            b: format_ident!("b{}", node.output),
            ty_in: tensor_ty(t, &s.input),
            ty_out: tensor_ty(t, &s.output),
            c_in: lit(*s.input.last().expect("rank >= 1")),
            c_out: lit(*s.output.last().expect("rank >= 1")),
            block: quote!(::kiln::core::model::BLOCK),
        }
    }

    fn doc(&self) -> String {
        format!("The output of layer {}, `{}`.", self.pos, self.name)
    }

    /// Applies `act` in place to the rows of `c` floats in `rows` (a slice of tensors).
    pub fn apply_act(&self, act: &Act, c: usize, rows: TokenStream) -> TokenStream {
        let (t, lit_c) = (&self.t, lit(c));
        let rows = quote!(::kiln::core::bytemuck::cast_slice_mut::<_, [#t; #lit_c]>(#rows));
        crate::emit::forward::apply_act(t, act, c, rows)
    }

    /// In a run: the output field (one sample's, or every sample's at the run's end) and the
    /// expression of this sample's output in it.
    pub fn sample_output(&self) -> (Parts, TokenStream) {
        let (b, ty_out, block) = (&self.b, &self.ty_out, &self.block);
        let (out, ty) = if self.run_end {
            (quote!(s.#b[r]), quote!([#ty_out; #block]))
        } else {
            (quote!(s.#b), ty_out.clone())
        };
        let p = Parts {
            fields: vec![(b.clone(), ty, self.doc())],
            code: TokenStream::new(),
        };
        (p, out)
    }

    /// In a run, a layer whose field's `forward(x, y)` computes one sample (a convolution),
    /// then `act` on its `c` channels.
    pub fn sample_forward(&self, act: &Act, c: usize) -> Parts {
        assert!(self.in_run, "per-sample layers are in runs");
        let (f, x, x_out, ty_out) = (&self.field, &self.x, &self.x_out, &self.ty_out);
        let (mut p, out) = self.sample_output();
        let act = self.apply_act(act, c, self.one(&out));
        p.code = quote! {
            self.#f.forward(#x, &mut #out);
            #act
            let #x_out: &#ty_out = &#out;
        };
        p
    }

    /// `e` as a slice of one tensor.
    pub fn one(&self, e: &TokenStream) -> TokenStream {
        quote!(::core::slice::from_mut(&mut #e))
    }

    /// On the block: the output field, one tensor per sample.
    pub fn block_output(&self) -> Parts {
        let (b, ty_out, block) = (&self.b, &self.ty_out, &self.block);
        Parts {
            fields: vec![(b.clone(), quote!([#ty_out; #block]), self.doc())],
            code: TokenStream::new(),
        }
    }

    /// On the block: the block's outputs, `&mut s.b[..n]`.
    pub fn block_out(&self) -> TokenStream {
        let b = &self.b;
        quote!(&mut s.#b[..n])
    }

    /// On the block: the inputs as rows of their last axis.
    pub fn rows_in(&self) -> TokenStream {
        let (t, ty_in, c_in, x_in) = (&self.t, &self.ty_in, &self.c_in, &self.x_in);
        quote!(::kiln::core::bytemuck::must_cast_slice::<#ty_in, [#t; #c_in]>(#x_in))
    }

    /// The input's bytes seen as the output's shape.
    pub fn reshaped(&self) -> Parts {
        let (x, x_in, x_out, ty_in, ty_out) =
            (&self.x, &self.x_in, &self.x_out, &self.ty_in, &self.ty_out);
        let code = if self.in_run {
            quote!(let #x_out: &#ty_out = ::kiln::core::tensor::reshape::<#ty_in, #ty_out>(#x);)
        } else {
            quote!(let #x_out: &[#ty_out] = ::kiln::core::bytemuck::must_cast_slice::<#ty_in, #ty_out>(#x_in);)
        };
        Parts {
            fields: Vec::new(),
            code,
        }
    }

    /// The input itself.
    pub fn identity(&self) -> Parts {
        let (x, x_in, x_out, ty_out) = (&self.x, &self.x_in, &self.x_out, &self.ty_out);
        let code = if self.in_run {
            quote!(let #x_out: &#ty_out = #x;)
        } else {
            quote!(let #x_out: &[#ty_out] = #x_in;)
        };
        Parts {
            fields: Vec::new(),
            code,
        }
    }
}

/// The scratch struct, the `ForwardBatch` impl of model `name` with element type `t`.
pub fn emit(t: &TokenStream, name: &syn::Ident, graph: &Graph, steps: &[Step]) -> TokenStream {
    if !graph.is_chain() {
        // A nested model with several inputs or outputs takes its values from structs the
        // block plan does not build: `forward` per sample then.
        let structs = graph.nodes.iter().any(|n| {
            n.inputs.len() > 1 && n.layer.kind.mode() == Mode::Block
                || graph
                    .nodes
                    .iter()
                    .any(|m| m.layer.class == crate::layers::pick::CLASS && m.inputs[0] == n.output)
        });
        // Images (a convolution, a pool, a merge of images) go faster through `forward`, whose
        // buffers stay in cache from one layer to the next, than through block buffers for
        // every value (ResNetMnist: 0.91x); a graph of vectors gains from the blocks (a
        // residual 784-512-512-10 MLP: 4.2x). See BENCHMARKS.md.
        let images = graph
            .nodes
            .iter()
            .zip(steps)
            .any(|(n, s)| n.layer.kind.mode() == Mode::Sample && s.input.len() >= 3);
        if structs || images {
            return sample_by_sample(t, name, graph, steps);
        }
        return graph_blocks(t, name, graph, steps);
    }
    let input = graph.input();
    let kinds: Vec<Mode> = graph.nodes.iter().map(|n| n.layer.kind.mode()).collect();
    // A run of per-sample layers goes from a `Sample` layer to the last `Sample` layer before
    // the next `Block` one (or the end); `in_run[i]` says whether layer `i` is inside one,
    // `run_end[i]` whether it is the run's last.
    let n = kinds.len();
    let mut in_run = vec![false; n];
    let mut run_end = vec![false; n];
    let mut i = 0;
    while i < n {
        if kinds[i] != Mode::Sample {
            i += 1;
            continue;
        }
        let mut last = i;
        let mut j = i;
        while j < n && kinds[j] != Mode::Block {
            if kinds[j] == Mode::Sample {
                last = j;
            }
            j += 1;
        }
        in_run[i..=last].iter_mut().for_each(|f| *f = true);
        run_end[last] = true;
        i = last + 1;
    }

    let mut fields = TokenStream::new();
    let mut field_tys: Vec<TokenStream> = Vec::new();
    let mut body = TokenStream::new();
    // The loop over one run's samples, being built.
    let mut run = TokenStream::new();
    let in_ty = tensor_ty(t, input);
    let out_ty = tensor_ty(
        t,
        &steps.last().map_or(input.to_vec(), |s| s.output.clone()),
    );

    for (idx, (node, s)) in graph.nodes.iter().zip(steps).enumerate() {
        let l = &node.layer;
        let x_in = format_ident!("x{}", node.inputs[0]);
        let first = idx == 0 || !in_run[idx - 1];
        let x = if first {
            quote!(&#x_in[r])
        } else {
            quote!(#x_in)
        };
        let cx = Cx::of(t, node, s, (in_run[idx], run_end[idx]), x, Vec::new());
        let p = l.kind.batch(&cx);
        for (f, ty, doc) in p.fields {
            fields.extend(quote!(#[doc = #doc] pub #f: #ty,));
            field_tys.push(ty);
        }
        if !cx.in_run {
            body.extend(p.code);
            continue;
        }
        run.extend(p.code);
        if cx.run_end {
            let (x_out, b, ty_out) = (&cx.x_out, &cx.b, &cx.ty_out);
            body.extend(quote! {
                for r in 0..n {
                    #run
                }
                let #x_out: &[#ty_out] = &s.#b[..n];
            });
            run = TokenStream::new();
        }
    }
    let x_last = format_ident!("x{}", graph.nodes.last().map_or(0, |n| n.output));
    let chunk = format_ident!("x0");
    let store = quote!(ys.copy_from_slice(#x_last););
    let parts = Scratch {
        fields,
        field_tys,
        in_ty,
        out_ty,
    };
    scratch_impl(name, parts, &chunk, &body, &store)
}

/// A graph's `forward_batch`, a block of samples at a time as for a chain, but every value is
/// kept for the whole block (a graph's values may be read far from where they are made):
/// Dense layers, nested models, reshapes and activation layers run on the block, every other
/// layer (convolutions, pools, merges) in its own loop over the block's samples.
fn graph_blocks(t: &TokenStream, name: &Ident, graph: &Graph, steps: &[Step]) -> TokenStream {
    let block = quote!(::kiln::core::model::BLOCK);
    let in_ty = crate::emit::types::input_ty(t, name, graph);
    let out_ty = crate::emit::types::output_ty(t, name, graph, steps);
    let k = graph.n_inputs();
    let mut fields = TokenStream::new();
    let mut field_tys: Vec<TokenStream> = Vec::new();
    let mut body = TokenStream::new();
    if k > 1 {
        // Each input gathered from the block's structs, as a slice of its own.
        for v in 0..k {
            let (a, x, f) = (
                format_ident!("a{v}"),
                format_ident!("x{v}"),
                format_ident!("{}", graph.value_names[v]),
            );
            let ty = tensor_ty(t, &graph.inputs[v]);
            let doc = format!(
                "The input `{}` of the block's samples.",
                graph.value_names[v]
            );
            fields.extend(quote!(#[doc = #doc] pub #a: [#ty; #block],));
            field_tys.push(quote!([#ty; #block]));
            body.extend(quote! {
                for r in 0..n { s.#a[r] = blk[r].#f; }
                let #x: &[#ty] = &s.#a[..n];
            });
        }
    } else {
        body.extend(quote!(let x0: &[#in_ty] = blk;));
    }
    for (node, st) in graph.nodes.iter().zip(steps) {
        let l = &node.layer;
        let in_run = l.kind.mode() == Mode::Sample;
        let (x_in, x_out) = (
            format_ident!("x{}", node.inputs[0]),
            format_ident!("x{}", node.output),
        );
        let xs = node
            .inputs
            .iter()
            .map(|v| {
                let x = format_ident!("x{v}");
                quote!(&#x[r])
            })
            .collect();
        let cx = Cx::of(t, node, st, (in_run, in_run), quote!(&#x_in[r]), xs);
        let p = l.kind.batch(&cx);
        for (f, ty, doc) in p.fields {
            fields.extend(quote!(#[doc = #doc] pub #f: #ty,));
            field_tys.push(ty);
        }
        let code = p.code;
        if in_run {
            let (b, ty_out) = (&cx.b, &cx.ty_out);
            body.extend(quote! {
                for r in 0..n { #code }
                let #x_out: &[#ty_out] = &s.#b[..n];
            });
        } else {
            body.extend(code);
        }
    }
    let store = if graph.outputs.len() == 1 {
        let x = format_ident!("x{}", graph.output());
        quote!(ys.copy_from_slice(#x);)
    } else {
        let names = (0..graph.outputs.len()).map(|o| format_ident!("{}", graph.output_name(o)));
        let xs = graph.outputs.iter().map(|v| format_ident!("x{v}"));
        quote!(for r in 0..n { ys[r] = #out_ty { #( #names: #xs[r], )* }; })
    };
    let chunk = format_ident!("blk");
    let parts = Scratch {
        fields,
        field_tys,
        in_ty,
        out_ty,
    };
    scratch_impl(name, parts, &chunk, &body, &store)
}

/// What a block plan declares: the scratch struct's fields and the types of one sample.
struct Scratch {
    fields: TokenStream,
    field_tys: Vec<TokenStream>,
    in_ty: TokenStream,
    out_ty: TokenStream,
}

/// The scratch struct `{name}BatchScratch` and the `ForwardBatch` impl whose loop binds each
/// block of inputs to `chunk`, runs `body` and stores the outputs with `store`.
fn scratch_impl(
    name: &Ident,
    parts: Scratch,
    chunk: &Ident,
    body: &TokenStream,
    store: &TokenStream,
) -> TokenStream {
    let Scratch {
        fields,
        field_tys,
        in_ty,
        out_ty,
    } = parts;
    let scratch = format_ident!("{}BatchScratch", name);
    let block = quote!(::kiln::core::model::BLOCK);
    let lengths = lengths();
    let doc = format!(
        "The buffers of one block of `{name}`'s batched forward pass (`kiln::core::model::ForwardBatch`)."
    );

    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[repr(C)]
        pub struct #scratch {
            #fields
        }

        // SAFETY: every field is an array of floats or the scratch struct of a nested model,
        // for which all-zero bytes are a valid value; `_zeroable_fields` proves each is
        // `Zeroable`.
        unsafe impl ::kiln::core::bytemuck::Zeroable for #scratch {}
        const _: () = {
            fn _zeroable_fields() {
                fn zeroable<Z: ::kiln::core::bytemuck::Zeroable>() {}
                #( zeroable::<#field_tys>(); )*
            }
        };

        impl ::kiln::core::model::ForwardBatch<#in_ty, #out_ty> for #name {
            type Scratch = #scratch;

            #[allow(unused_variables)]
            fn forward_batch(&self, xs: &[#in_ty], ys: &mut [#out_ty], s: &mut #scratch) {
                #lengths
                for (#chunk, ys) in xs.chunks(#block).zip(ys.chunks_mut(#block)) {
                    let n = #chunk.len();
                    #body
                    #store
                }
            }
        }
    }
}

/// A graph's `forward_batch`: `forward` on each sample, when the block plan cannot build the
/// structs a nested model with several inputs or outputs takes.
fn sample_by_sample(t: &TokenStream, name: &Ident, graph: &Graph, steps: &[Step]) -> TokenStream {
    let in_ty = crate::emit::types::input_ty(t, name, graph);
    let out_ty = crate::emit::types::output_ty(t, name, graph, steps);
    let lengths = lengths();
    quote! {
        impl ::kiln::core::model::ForwardBatch<#in_ty, #out_ty> for #name {
            type Scratch = ();

            fn forward_batch(&self, xs: &[#in_ty], ys: &mut [#out_ty], _: &mut ()) {
                #lengths
                for (x, y) in xs.iter().zip(ys.iter_mut()) {
                    *y = <Self as ::kiln::Model>::forward(self, x);
                }
            }
        }
    }
}

/// `forward_batch`'s check that there is one output for each input.
fn lengths() -> TokenStream {
    quote! {
        ::core::assert_eq!(
            xs.len(),
            ys.len(),
            "forward_batch: {} inputs but room for {} outputs",
            xs.len(),
            ys.len(),
        );
    }
}
