//! Phase 3: shape inference. Each layer file holds its own rule (Keras's) and messages; this
//! module holds what they share: the [`Step`] a rule produces, the [`ShapeCx`] it reads (how
//! to name the layer and where its input came from), and the words for shapes.

use crate::graph::nested::KnownModel;
use crate::graph::Layer;
use crate::layers::Padding;

/// What inference found out about one layer.
pub struct Step {
    /// The first input's shape (a merge's others are in `inputs`).
    pub input: Vec<usize>,
    /// Every input's shape, in order.
    pub inputs: Vec<Vec<usize>>,
    pub output: Vec<usize>,
    pub params: usize,
    /// Top and left zero padding (Conv2D and pooling).
    pub pad: (usize, usize),
}

/// What a layer's shape rule knows besides its input shape.
pub struct ShapeCx<'a> {
    /// "layer 3 `max_pooling2d` (MaxPooling2D)".
    pub label: String,
    /// The layer's class, or the nested model's type name.
    pub class: &'a str,
    /// Where its input comes from: "the model's input" or "layer 2 `conv2d_1`".
    pub from: String,
    /// Whether the input is the model's own (no layer before it).
    pub first: bool,
    /// A merge's other inputs: their shapes, and where each comes from.
    pub others: Vec<(Vec<usize>, String)>,
    /// The nested models' shapes, from their callbacks.
    pub known: &'a [KnownModel],
    /// The model's element type.
    pub scalar: &'a str,
    /// Whether the layer's value is taken apart by `let (a, b) = …` (a nested model with
    /// several outputs may make one only then).
    pub packed: bool,
}

impl<'a> ShapeCx<'a> {
    /// The context of `layer`, reading the output of `prev` (`None`: the model's input).
    pub fn new(
        layer: &'a Layer,
        prev: Option<&Layer>,
        known: &'a [KnownModel],
        scalar: &'a str,
    ) -> Self {
        ShapeCx {
            label: layer.label(),
            class: &layer.class,
            from: prev.map_or_else(
                || "the model's input".to_string(),
                |p| format!("layer {} `{}`", p.pos, p.name),
            ),
            first: prev.is_none(),
            others: Vec::new(),
            known,
            scalar,
            packed: false,
        }
    }

    pub fn step(
        &self,
        input: &[usize],
        output: Vec<usize>,
        params: usize,
        pad: (usize, usize),
    ) -> Step {
        Step {
            input: input.to_vec(),
            inputs: vec![input.to_vec()],
            output,
            params,
            pad,
        }
    }

    /// Only after a layer can "downsample less before it" be a fix.
    pub fn or_less(&self) -> &'static str {
        if self.first {
            ""
        } else {
            ", or downsample less before it"
        }
    }

    /// The message for a layer that needs an image; `what` is the fix, or empty for the
    /// `Reshape` that would make one.
    pub fn need_image(&self, input: &[usize], what: &str) -> String {
        format!(
            "{} needs an image input [height, width, channels], but receives {} from {}; {}",
            self.label,
            describe(input),
            self.from,
            if what.is_empty() {
                to_image_hint(input)
            } else {
                what.to_string()
            }
        )
    }

    /// The message for a layer that needs a sequence; `what` is the fix.
    pub fn need_sequence(&self, input: &[usize], what: &str) -> String {
        format!(
            "{} needs a sequence input [steps, features], but receives {} from {}; {what}",
            self.label,
            describe(input),
            self.from,
        )
    }
}

pub fn fmt_shape(s: &[usize]) -> String {
    format!(
        "[{}]",
        s.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Named shapes, as messages and docs list several inputs or outputs: `` `a` [4], `b` [2] ``.
pub fn fmt_named(list: &[(String, Vec<usize>)]) -> String {
    list.iter()
        .map(|(n, s)| format!("`{n}` {}", fmt_shape(s)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "a vector [784]", "a sequence [10, 4]", "an image [28, 28, 1]".
pub fn describe(s: &[usize]) -> String {
    let kind = match s.len() {
        1 => "a vector",
        2 => "a sequence",
        _ => "an image",
    };
    format!("{kind} {}", fmt_shape(s))
}

/// The `Reshape` that would turn `s` into an image, for messages.
pub fn to_image_hint(s: &[usize]) -> String {
    match s {
        [n] => {
            let r = (*n as f64).sqrt().round() as usize;
            if r * r == *n {
                format!("add `Reshape({r}, {r}, 1)` before it")
            } else {
                "add `Reshape(height, width, channels)` before it".to_string()
            }
        }
        [t, f] => format!("add `Reshape({t}, {f}, 1)` before it"),
        _ => String::new(),
    }
}

/// Output size and leading padding along one axis, as Keras computes them; `None` when a
/// `valid` window does not fit.
pub fn window(size: usize, k: usize, stride: usize, padding: Padding) -> Option<(usize, usize)> {
    match padding {
        Padding::Valid => (size >= k).then(|| ((size - k) / stride + 1, 0)),
        Padding::Same => {
            let out = size.div_ceil(stride);
            let total = ((out - 1) * stride + k).saturating_sub(size);
            Some((out, total / 2))
        }
        Padding::Causal => Some(((size - 1) / stride + 1, k - 1)),
    }
}
