kiln::model! {
    pub struct Net: [784] => <
        Dense(64, relu, name = "a"),
        Dense(32, relu, name = "a"),
        Dense(10, softmax),
    >
}

fn main() {}
