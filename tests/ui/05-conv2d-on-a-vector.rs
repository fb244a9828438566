kiln::model! {
    pub struct Net: [784] => <
        Conv2D(32, 3, relu),
        Flatten,
        Dense(10, softmax),
    >
}

fn main() {}
