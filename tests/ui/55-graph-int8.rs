// An int8 graph whose Dense layer is shared by two values: an int8 layer has one input scale.
kiln::model! {
    pub struct Net<i8> {
        input x: [16];
        let enc = Dense(4, relu);
        let a = enc(x);
        let b = enc(Dense(16)(x));
        output y = Dense(2)(Add(a, b));
    },
    weights = "tests/fixtures/int8_graph.int8.safetensors",
}

fn main() {}
