kiln::model! {
    struct Net: [8, 8, 3] => <
        Conv2D(4, 3, relu, padding = same),
        UpSampling2D(2, interpolation = bilinear),
        Conv2D(1, 3, sigmoid),
    >
}

fn main() {}
