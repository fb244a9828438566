kiln::model! {
    struct Net: [32, 4] => <
        Conv1D(8, 3, relu, strides = 2, dilation_rate = 2),
        GlobalAveragePooling1D,
        Dense(2, softmax),
    >
}

kiln::model! {
    /// A dilated kernel whose span (2 · 3 + 1 = 7 steps) outgrows the sequence.
    struct Wide: [6, 4] => <
        Conv1D(8, 3, relu, dilation_rate = 3),
        Flatten,
        Dense(2, softmax),
    >
}

fn main() {}
