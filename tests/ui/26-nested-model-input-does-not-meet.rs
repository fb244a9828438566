kiln::model! {
    pub struct Features: [8, 8, 1] => < Conv2D(4, 3, relu), MaxPool(2), Flatten >
}

kiln::model! {
    pub struct Classifier: [28, 28, 1] => < Features, Dense(10, softmax) >
}

// Same element count, other shape: a Reshape fixes it.
kiln::model! {
    pub struct FromVector: [64] => < Features, Dense(10, softmax) >
}

fn main() {}
