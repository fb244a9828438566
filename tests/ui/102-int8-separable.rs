// SeparableConv2D has no int8 kernel yet: an int8 model with one is refused at the layer.
kiln::model! {
    pub struct Net<i8>: [8, 8, 3] => <
        Conv2D(4, 3, relu), SeparableConv2D(4, 3, relu, depth_multiplier = 2), Flatten, Dense(3),
    >,
    weights = "tests/fixtures/int8_mixed.int8.safetensors",
}

fn main() {}
