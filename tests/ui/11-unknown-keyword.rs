kiln::model! {
    pub struct Net: [784] => <
        Dense(10, activaton = relu),
        Conv2D(8, 3, stride = 2),
    >
}

fn main() {}
