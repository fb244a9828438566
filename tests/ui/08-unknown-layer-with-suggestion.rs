kiln::model! {
    pub struct Net: [28, 28, 1] => <
        Conv2d(32, 3, relu),
        MaxPool(2),
        Flaten,
        Dens(10, softmax),
    >
}

fn main() {}
