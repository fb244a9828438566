kiln::model! {
    pub struct Net: [28, 0, 1] => <
        Flatten,
    >
}

fn main() {}
