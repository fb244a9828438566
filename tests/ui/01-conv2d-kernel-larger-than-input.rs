kiln::model! {
    pub struct Net: [4, 4, 1] => <
        Conv2D(8, 5, relu),
        Flatten,
        Dense(10, softmax),
    >
}

fn main() {}
