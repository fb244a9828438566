kiln::model! {
    pub struct Net: [1, 28, 28, 1] => <
        Flatten,
    >
}

fn main() {}
