kiln::model! {
    pub struct Net {
        input x: [4];
        let unused = Dense(8);
        let a = Dense(4)(x);
        output y = Add(a, Dense(4));
    }
}

fn main() {}
