kiln::model! {
    pub struct Heads {
        input x: [4];
        let h = Dense(8, relu)(x);
        output val = Dense(2)(h);
        output val_score = Dense(1)(h);
        output class = Dense(3, softmax)(h);
    }
}

fn main() {}
