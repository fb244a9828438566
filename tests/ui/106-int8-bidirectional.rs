// Bidirectional has no int8 kernel yet: an int8 model with one is refused at the layer.
kiln::model! {
    pub struct Net<i8>: [10, 4] => < Bidirectional(LSTM(8)), Dense(2) >,
    weights = "tests/fixtures/int8_mixed.int8.safetensors",
}

fn main() {}
