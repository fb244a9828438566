kiln::model! {
    struct Net: [8, 8, 3] => <
        DepthwiseConv2D(3, depth_multiplier = 0),
        DepthwiseConv2D(3, 2),
        DepthwiseConv2D(3, dilation_rate = 2),
        Flatten,
    >
}

fn main() {}
