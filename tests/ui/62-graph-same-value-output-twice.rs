kiln::model! {
    pub struct Twice {
        input x: [4];
        let h = Dense(3, relu)(x);
        output a = Dense(2)(h);
        output b = a;
    }
}

fn main() {}
