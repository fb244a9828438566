kiln::model! {
    pub struct Net: [28, 28, 1] => <
        Flatten,
        Dense(64, relu),
        GlobalAvgPool,
        Dense(10, softmax),
    >
}

fn main() {}
