kiln::model! {
    pub struct Net: [784] => <
        Dense(128, relu)
        Dense(10, softmax),
    >
}

fn main() {}
