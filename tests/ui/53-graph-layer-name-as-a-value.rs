kiln::model! {
    pub struct Net {
        input image: [4, 4, 1];
        let f = Flatten;
        output y = Dense(2)(Flatten);
    }
}

fn main() {}
