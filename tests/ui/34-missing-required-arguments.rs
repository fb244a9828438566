kiln::model! {
    pub struct Net: [28, 28, 1] => <
        Conv2D(32),
        Flatten,
        Dense,
    >
}

fn main() {}
