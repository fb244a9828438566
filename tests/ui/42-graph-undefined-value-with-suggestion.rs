kiln::model! {
    pub struct Net {
        input pixels: [784];
        let hidden = Dense(64, relu)(pixels);
        output class = Dense(10, softmax)(hiden);
    }
}

fn main() {}
