kiln::model! {
    pub struct Net: [28, 28, 1] => <
        Conv2D(8, 3, padding = same, padding = valid),
    >
}

fn main() {}
