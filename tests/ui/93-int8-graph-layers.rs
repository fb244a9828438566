// Layers of an int8 graph that have no int8 kernel: a separate tanh, a product of four values
// (it would overflow 32 bits), softmax before the output, a layer normalization.
kiln::model! {
    pub struct Net<i8> {
        input x: [8];
        let a = Dense(8, relu)(x);
        let t = Activation(tanh)(a);
        let m = Multiply(a, t, a, t);
        let s = Dense(8, softmax)(m);
        output y = Dense(2)(LayerNormalization(Add(s, a)));
    },
    weights = "tests/fixtures/int8_graph.int8.safetensors",
}

fn main() {}
