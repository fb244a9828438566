kiln::model! {
    pub struct Net: [8, 8, 1] => <
        Conv2D(4, 3, relu),
        MaxPool(2),
        MaxPool(2),
        MaxPool(2),
        Flatten,
    >
}

fn main() {}
