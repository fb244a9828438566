kiln::model! {
    struct Net: [6, 6, 2] => <
        MaxPool(2),
        SeparableConv2D(8, (4, 2), depth_multiplier = 2),
        Flatten,
        Dense(3),
    >
}

fn main() {}
