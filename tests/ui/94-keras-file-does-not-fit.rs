// Keras files compiled in: one whose Dense is narrower than the model's, one of other layers.
kiln::model! {
    pub struct Wider: [12, 12, 2] => <
        Conv2D(4, 3, relu), Conv2D(6, 3, relu), MaxPool(2), Flatten, Dense(9, relu), Dense(5, softmax),
    >,
    weights = "tests/fixtures/keras/small_cnn.keras",
}

kiln::model! {
    pub struct Swapped: [12, 12, 2] => < Dense(4, relu, name = "conv2d"), Flatten, Dense(5) >,
    weights = "tests/fixtures/keras/small_cnn.weights.h5",
}

fn main() {}
