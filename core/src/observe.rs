//! Layer-by-layer views of a forward pass: what post-training quantization calibrates on.

use crate::model::Model;

/// What post-training int8 quantization does with a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantRole {
    /// Quantized parameters, run by `kiln_core::quant::QConv2D`.
    Conv2D,
    /// Quantized parameters, run by `kiln_core::quant::QDense`.
    Dense,
    /// Keeps its input's scale and zero point (pooling, global pooling, reshapes, dropout).
    PassThrough,
    /// A merge of a graph (`Add`, `Concatenate`, …), run by `kiln_core::quant::QMerge`: each
    /// input rescaled to the output's calibrated scale.
    Merge,
    /// A separate `Activation` layer: a clamp on its input's scale (`relu`, `relu6`).
    Activation,
    /// Has no int8 kernel yet.
    Unsupported,
}

/// One layer's output during [`Observe::forward_observed`].
#[derive(Clone, Copy, Debug)]
pub struct Observed<'a, T> {
    /// 1-based position in the model's layer list.
    pub position: usize,
    /// The layer's Keras name (`conv2d_1`).
    pub name: &'static str,
    /// Keras's class name (`Conv2D`), or a nested model's type name.
    pub class: &'static str,
    /// The activation fused into the layer (`relu`, `softmax`, …), `linear` if none.
    pub activation: &'static str,
    /// What int8 quantization does with the layer, as its `model!` definition says.
    pub role: QuantRole,
    /// The values the layer reads. Values are numbered as the graph makes them: the model's
    /// inputs first (a Sequential model's is value 0), then each layer's output in order.
    pub inputs: &'a [usize],
    /// The value the layer writes (in a Sequential model, its position).
    pub value: usize,
    /// The layer's output, flattened, as an int8 model stores it: after the activation, except
    /// that a softmax is not applied (these are its logits; an int8 model leaves softmax out,
    /// since it does not change which class is largest).
    pub output: &'a [T],
}

/// A model that can show each layer's output; `kiln::model!` implements it for every model.
pub trait Observe: Model {
    /// Runs `x` through the network in inference mode, as [`Model::forward`] does, calling `f`
    /// with each layer's output in order. Nested models show as one layer.
    fn forward_observed(
        &self,
        x: &Self::Input,
        f: &mut dyn FnMut(Observed<'_, Self::Scalar>),
    ) -> Self::Output;
}
