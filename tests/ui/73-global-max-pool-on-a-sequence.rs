kiln::model! {
    struct Tagger: [12, 8] => <
        Dense(16, relu),
        GlobalMaxPooling2D,
        Dense(3, softmax),
    >
}

fn main() {}
