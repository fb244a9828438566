kiln::model! {
    pub struct Heads<i8> {
        input x: [4];
        output class = Dense(3, softmax)(x);
        output score = Dense(1)(x);
    },
    weights = "tests/fixtures/int8_graph.int8.safetensors",
}

fn main() {}
