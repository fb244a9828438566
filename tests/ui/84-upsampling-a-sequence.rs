kiln::model! {
    struct Net: [10, 4] => <
        Dense(8, relu),
        UpSampling2D(2),
        Flatten,
        Dense(1),
    >
}

fn main() {}
