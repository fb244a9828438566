kiln::model! {
    pub struct Net: [28, 28, 1] => <
        Conv2D(32, 3, relu, padding = full),
        MaxPool(2, 2, Same),
    >
}

fn main() {}
