kiln::model! {
    pub struct Net: [100, 16] => <
        Dense(32, relu),
        MaxPool(2),
    >
}

fn main() {}
