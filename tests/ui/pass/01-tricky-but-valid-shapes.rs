//! Models at the edge of what is valid: a kernel exactly as large as its input, a pool that
//! leaves a 1x1 image, `same` padding on an odd size, Reshape with -1, keywords in any order.

kiln::model! {
    pub struct Edge: [5, 5, 2] => <
        Conv2D(3, 5),
        Reshape(-1),
        Dense(units = 4, use_bias = false, activation = "tanh"),
        Reshape(2, -1, 1),
        Conv2D(2, (1, 2), padding = same, strides = (2, 1), name = "odd_same"),
        MaxPool(pool_size = 1),
        GlobalAvgPool,
    >
}

fn main() {
    assert_eq!(Edge::INPUT_SHAPE, &[5, 5, 2]);
    assert_eq!(Edge::OUTPUT_SHAPE, &[2]);
    let m = Edge::init(0);
    let _ = m.forward(&[[[0.5; 2]; 5]; 5]);
}
