// After a shape error the shapes are unknown, until a layer whose output does not depend on
// its input (a Reshape without -1, a nested model): checking resumes there.
kiln::model! {
    pub struct Net: [784] => <
        Conv2D(8, 3, relu),
        Flatten,
        Reshape(28, 28, 1),
        MaxPool(2),
        Conv2D(4, 20),
    >
}

fn main() {}
