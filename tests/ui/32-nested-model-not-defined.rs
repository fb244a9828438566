kiln::model! {
    pub struct Classifier: [8, 8, 1] => < Encoder, Dense(10, softmax) >
}

fn main() {}
