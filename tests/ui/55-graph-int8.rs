kiln::model! {
    pub struct Net<i8> {
        input x: [16];
        let a = Dense(4, relu)(x);
        let b = Dense(4, relu)(x);
        output y = Dense(2)(Add(a, b));
    }
}

fn main() {}
