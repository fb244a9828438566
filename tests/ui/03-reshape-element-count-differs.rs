kiln::model! {
    pub struct Net: [784] => <
        Reshape(28, 28, 2),
        Conv2D(8, 3),
    >
}

fn main() {}
