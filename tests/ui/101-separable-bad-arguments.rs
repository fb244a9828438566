kiln::model! {
    struct Net: [8, 8, 3] => <
        SeparableConv2D(0, 3),
        SeparableConv2D(4, 3, depth_multiplier = 0),
        SeparableConv2D(4, 3, 2),
        SeparableConv2D(4, 3, dilation_rate = 2),
        SeparableConv2D(3),
        Flatten,
    >
}

fn main() {}
