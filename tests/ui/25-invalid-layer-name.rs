kiln::model! {
    pub struct Net: [784] => <
        Dense(64, relu, name = "my layer"),
        Dense(10, softmax, name = "type"),
    >
}

fn main() {}
