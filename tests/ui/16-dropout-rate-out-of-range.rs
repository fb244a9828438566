kiln::model! {
    pub struct Net: [784] => <
        Dense(128, relu),
        Dropout(1.5),
        Dense(64, relu),
        Dropout(-0.1),
        Dense(10, softmax),
    >
}

fn main() {}
