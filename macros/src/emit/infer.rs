//! Emits arena inference for float models (`Planned`, `Infer`, `ARENA_BYTES`): every tensor at
//! the offset `plan.rs` gives it, each layer between its input and output.

use crate::emit::types::{lit, tensor_ty};
use crate::graph::{Graph, Layer, Node};
use crate::layers::{Act, Conv, Fusion, Window};
use crate::plan::{liveness, plan_with_scratch};
use crate::shapes::Step;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

/// `act` applied in place along the last axis (`c` wide) of `y: &mut Tensor`.
fn act_in_place(t: &TokenStream, act: &Act, c: usize) -> TokenStream {
    let lit_c = lit(c);
    let rows = quote!(::kiln::core::tensor::Rows::<#t, #lit_c>::rows_mut(y));
    crate::emit::forward::apply_act(t, act, c, rows)
}

/// What a layer's `arena` sees: its input `x` and output `y` in the arena `buf`.
pub struct Cx<'a> {
    pub t: TokenStream,
    pub s: &'a Step,
    pub field: Ident,
    /// `let (x, y) = …;`: the input and output viewed at their planned offsets.
    pub io: TokenStream,
    /// The output's type, and its offset (for in-place layers, also the input's).
    pub yt: TokenStream,
    pub b: usize,
    /// Every input's offset and element count, and the output's count (for merges).
    pub ins: Vec<(usize, usize)>,
    pub out_len: usize,
}

impl Cx<'_> {
    /// `act` applied in place to `y`, along its last axis (`c` wide).
    pub fn act_in_place(&self, act: &Act, c: usize) -> TokenStream {
        act_in_place(&self.t, act, c)
    }

    /// A layer whose field's `forward(x, y)` computes the sample (a convolution), then `act`
    /// in place on its `c` channels.
    pub fn forward_then_act(&self, act: &Act, c: usize) -> TokenStream {
        let (f, io) = (&self.field, &self.io);
        let act = self.act_in_place(act, c);
        quote! {{ #io self.#f.forward(x, y); #act }}
    }
}

/// A convolution and the `valid` pooling layer after it, where the convolution has no top
/// padding: it can run in bands of pool-height rows, each pooled at once into the output.
fn fusable(nodes: &[Node], steps: &[Step], k: usize) -> Option<(Conv, Window)> {
    let (Fusion::Conv(conv), Some(Fusion::Pool(win))) = (
        nodes[k].layer.kind.fusion(),
        nodes.get(k + 1).map(|n| n.layer.kind.fusion()),
    ) else {
        return None;
    };
    (steps[k].pad.0 == 0 && steps[k + 1].pad == (0, 0)).then_some((conv, win))
}

/// The arena plan and `infer` of a float model.
///
/// A convolution feeding a `valid` pooling layer runs in bands: for each output row of the
/// pool, the convolution computes just the rows that pool window reads, into a scratch band,
/// and the pool reduces the band into the output. The convolution's whole output is never
/// stored (the MCU CNN in f32: 17 KB of arena instead of 54 KB).
pub fn emit(t: &TokenStream, name: &syn::Ident, graph: &Graph, steps: &[Step]) -> TokenStream {
    if !graph.is_chain() {
        return emit_graph(t, name, graph, steps);
    }
    let (input, nodes) = (graph.input(), &graph.nodes[..]);
    let elem = if t.to_string() == "f64" { 8 } else { 4 };
    let bytes = |shape: &[usize]| shape.iter().product::<usize>() * elem;
    // Steps as (first layer, last layer, fused pair): a banded convolution and its pool cover two.
    let mut ops = Vec::new();
    let mut k = 0;
    while k < nodes.len() {
        let fused = fusable(nodes, steps, k);
        let last = if fused.is_some() { k + 1 } else { k };
        ops.push((k, last, fused));
        k = last + 1;
    }
    let mut sizes = vec![bytes(input)];
    let mut alias = vec![false];
    let mut scratch = vec![0];
    for &(k, last, fused) in &ops {
        sizes.push(bytes(&steps[last].output));
        alias.push(nodes[k].layer.kind.in_place());
        scratch.push(match fused {
            Some((_, win)) => bytes(&[win.pool.0, steps[k].output[1], steps[k].output[2]]),
            None => 0,
        });
    }
    let p = plan_with_scratch(&sizes, &alias, &scratch);
    let mut body = TokenStream::new();
    for (j, &(k, last, fused)) in ops.iter().enumerate() {
        let (l, s) = (&nodes[k].layer, &steps[k]);
        let (a, b) = (p.offsets[j], p.offsets[j + 1]);
        if let Some((conv, win)) = fused {
            let band = p.scratch(j + 1);
            body.extend(banded(t, l, s, &steps[last], conv, win, [a, band, b], elem));
            continue;
        }
        let cx = layer_cx(t, l, s, (a, b), vec![(a, s.input.iter().product())]);
        body.extend(l.kind.arena(&cx));
    }
    let (in_ty, out_ty) = (
        tensor_ty(t, input),
        tensor_ty(
            t,
            &steps.last().map_or(input.to_vec(), |s| s.output.clone()),
        ),
    );
    let last = *p.offsets.last().expect("input");
    methods(
        name,
        &in_ty,
        &out_ty,
        p.arena,
        &body,
        (load_input(&in_ty, 0), last),
    )
}

/// What layer `l` sees, reading its (first) input at `a` and writing its output at `b`;
/// `ins` are all its inputs' offsets and element counts.
fn layer_cx<'a>(
    t: &TokenStream,
    l: &Layer,
    s: &'a Step,
    (a, b): (usize, usize),
    ins: Vec<(usize, usize)>,
) -> Cx<'a> {
    let (xt, yt) = (tensor_ty(t, &s.input), tensor_ty(t, &s.output));
    Cx {
        t: t.clone(),
        s,
        field: format_ident!("{}", l.name),
        io: quote!(let (x, y) = ::kiln::core::arena::io::<#xt, #yt>(buf, #a, #b);),
        yt,
        b,
        ins,
        out_len: s.output.iter().product(),
    }
}

/// A graph's arena inference: every value where [`liveness`] puts it. An in-place layer whose
/// input another layer still reads works on a copy.
fn emit_graph(t: &TokenStream, name: &syn::Ident, graph: &Graph, steps: &[Step]) -> TokenStream {
    let nodes = &graph.nodes[..];
    let elem = if t.to_string() == "f64" { 8 } else { 4 };
    let k = graph.n_inputs();
    let count = |v: usize| graph.shape(steps, v).iter().product::<usize>();
    let values = graph.n_values();
    let mut sizes: Vec<usize> = (0..values).map(|v| count(v) * elem).collect();
    let readers: Vec<Vec<(usize, usize)>> = (0..values).map(|v| graph.consumers(v)).collect();
    // Node `j` runs at time `j + 1`; the inputs are there at 0, the outputs are read at the
    // end, `nodes.len() + 1`.
    let end = nodes.len() + 1;
    let mut born: Vec<usize> = (0..values)
        .map(|v| graph.producer(v).map_or(0, |j| j + 1))
        .collect();
    let mut last_use: Vec<usize> = (0..values)
        .map(|v| {
            let read = readers[v].iter().map(|&(c, _)| c + 1).max();
            match graph.output_index(v) {
                Some(_) => end,
                None => read.unwrap_or(end),
            }
        })
        .collect();
    // Several outputs are copied, at the end, into one more buffer holding `{name}Output`.
    let several_out = graph.outputs.len() > 1;
    if several_out {
        sizes.push(graph.outputs.iter().map(|&v| sizes[v]).sum());
        born.push(end);
        last_use.push(end);
    }
    // An in-place layer takes its input's bytes when nothing else reads them: no other layer,
    // and not the caller (an output).
    let alias: Vec<Option<usize>> = (0..sizes.len())
        .map(|v| {
            let n = graph.producer(v).filter(|&n| n < nodes.len())?;
            let u = nodes[n].inputs[0];
            (nodes[n].layer.kind.in_place()
                && readers[u].len() == 1
                && graph.output_index(u).is_none())
            .then_some(u)
        })
        .collect();
    let p = liveness(&sizes, &born, &last_use, &alias);
    let mut body = TokenStream::new();
    for (node, s) in nodes.iter().zip(steps) {
        let l = &node.layer;
        let (a, b) = (p.offsets[node.inputs[0]], p.offsets[node.output]);
        if l.kind.in_place() && alias[node.output].is_none() {
            let n = sizes[node.inputs[0]];
            body.extend(quote!(buf.copy_within(#a..#a + #n, #b);));
        }
        let ins = node
            .inputs
            .iter()
            .map(|&v| (p.offsets[v], count(v)))
            .collect();
        let cx = layer_cx(t, l, s, (a, b), ins);
        body.extend(l.kind.arena(&cx));
    }
    let in_ty = crate::emit::types::input_ty(t, name, graph);
    let out_ty = crate::emit::types::output_ty(t, name, graph, steps);
    let out_at = if several_out {
        let at = p.offsets[values];
        let mut offset = at;
        for &v in &graph.outputs {
            let (ty, from, to) = (
                tensor_ty(t, graph.shape(steps, v)),
                lit(p.offsets[v]),
                lit(offset),
            );
            body.extend(quote! {
                let y = *::kiln::core::arena::view::<#ty>(buf, #from);
                *::kiln::core::arena::view_mut::<#ty>(buf, #to) = y;
            });
            offset += sizes[v];
        }
        at
    } else {
        p.offsets[graph.output()]
    };
    let load = if k == 1 {
        load_input(&in_ty, p.offsets[0])
    } else {
        let each = (0..k).map(|v| {
            let (ty, at) = (tensor_ty(t, &graph.inputs[v]), lit(p.offsets[v]));
            let f = format_ident!("{}", graph.value_names[v]);
            quote!(*::kiln::core::arena::view_mut::<#ty>(buf, #at) = x0.#f;)
        });
        quote!(#(#each)*)
    };
    methods(name, &in_ty, &out_ty, p.arena, &body, (load, out_at))
}

/// Copies the input `x0`, of type `in_ty`, into the arena at `at`.
pub fn load_input(in_ty: &TokenStream, at: usize) -> TokenStream {
    let at = lit(at);
    quote!(*::kiln::core::arena::view_mut::<#in_ty>(buf, #at) = *x0;)
}

/// `ARENA_BYTES`, `FLASH_BYTES`, `infer` and the `Planned`/`Infer` impls of a float model.
fn methods(
    name: &syn::Ident,
    in_ty: &TokenStream,
    out_ty: &TokenStream,
    arena: usize,
    body: &TokenStream,
    at: (TokenStream, usize),
) -> TokenStream {
    let impls = arena_impls(name, in_ty, out_ty, arena, body, at);
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
/// with the input copied in by `load` and the output read at `last`. Float and int8 models
/// share it.
pub fn arena_impls(
    name: &syn::Ident,
    in_ty: &TokenStream,
    out_ty: &TokenStream,
    arena: usize,
    body: &TokenStream,
    (load, last): (TokenStream, usize),
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
                #load
                #body
                let buf: &'a [u8] = buf;
                ::kiln::core::arena::view::<#out_ty>(buf, #last)
            }
        }
    }
}

/// A convolution and the `valid` pooling after it, band by band (see [`emit`]): the input at
/// `at[0]`, the band of conv rows at `at[1]`, the pooled output at `at[2]`.
#[allow(clippy::too_many_arguments)]
fn banded(
    t: &TokenStream,
    layer: &Layer,
    cs: &Step,
    ps: &Step,
    conv: Conv,
    pool: Window,
    at: [usize; 3],
    elem: usize,
) -> TokenStream {
    let Conv {
        filters,
        kernel,
        strides,
        act,
    } = conv;
    let Window {
        max,
        pool: win,
        strides: pstr,
    } = pool;
    let (w, ci, ow, co) = (cs.input[1], cs.input[2], cs.output[1], filters);
    let (poh, pow) = (ps.output[0], ps.output[1]);
    // The input rows one band reads: its pool window's conv rows, widened by the kernel.
    let rows_in = (win.0 - 1) * strides.0 + kernel.0;
    let x_band = tensor_ty(t, &[rows_in, w, ci]);
    let y_band = tensor_ty(t, &[win.0, ow, co]);
    let y_row = tensor_ty(t, &[1, pow, co]);
    let step_in = pstr.0 * strides.0 * w * ci * elem;
    let out_row = pow * co * elem;
    let act = act_in_place(t, &act, co);
    let ident = format_ident!("{}", layer.name);
    let pool_ty = if max {
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
