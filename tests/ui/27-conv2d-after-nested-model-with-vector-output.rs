kiln::model! {
    pub struct Features: [8, 8, 1] => < Conv2D(4, 3, relu), MaxPool(2), Flatten >
}

// A Dense after the nested model works: its output is a vector [36].
kiln::model! {
    pub struct Good: [8, 8, 1] => < Features, Dense(10, softmax) >
}

// A Conv2D after it does not.
kiln::model! {
    pub struct Bad: [8, 8, 1] => < Features, Conv2D(4, 3) >
}

fn main() {}
