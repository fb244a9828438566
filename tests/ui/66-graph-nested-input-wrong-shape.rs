kiln::model! {
    pub struct Both {
        input a: [4];
        input b: [3];
        output y = Dense(2)(Concatenate(a, b));
    }
}

kiln::model! {
    pub struct Outer {
        input x: [4];
        let h = Dense(2, relu)(x);
        output y = Dense(2)(Both(x, h));
    }
}

fn main() {}
