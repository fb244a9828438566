kiln::model! {
    pub struct Net: [28, 28, 1] => <
        Conv2D(8, (3, 3, 1), relu),
    >
}

fn main() {}
