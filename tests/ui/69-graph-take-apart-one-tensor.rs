kiln::model! {
    pub struct Outer {
        input v: [4];
        let (a, b) = Dense(4)(v);
        output y = Dense(2)(Add(a, b));
    }
}

fn main() {}
