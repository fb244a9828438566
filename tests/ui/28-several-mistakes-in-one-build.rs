kiln::model! {
    pub struct Net: [28, 28, 1] => <
        Conv2D(0, 3, relu),
        MaxPool(2, padding = full),
        Flatten,
        Dense(10, rellu),
    >
}

fn main() {}
