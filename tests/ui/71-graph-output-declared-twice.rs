kiln::model! {
    pub struct Twice {
        input x: [4];
        let h = Dense(8, relu)(x);
        output a = Dense(2)(h);
        output a = Dense(3)(h);
    }
}

fn main() {}
