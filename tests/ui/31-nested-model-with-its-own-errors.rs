kiln::model! {
    pub struct Features: [8, 8, 1] => < Conv2D(4, 3, relu), MaxPool(2, padding = full), Flatten >
}

// Only the inner model's mistake is reported: the outer model cannot be checked past it.
kiln::model! {
    pub struct Classifier: [8, 8, 1] => < Features, Dense(10, softmax) >
}

fn main() {}
