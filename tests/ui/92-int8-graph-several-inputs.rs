// int8 models calibrate one input.
kiln::model! {
    pub struct Pair<i8> {
        input left: [8];
        input right: [8];
        output y = Dense(2)(Concatenate(left, right));
    },
    weights = "tests/fixtures/int8_graph.int8.safetensors",
}

fn main() {}
