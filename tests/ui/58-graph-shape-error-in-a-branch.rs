kiln::model! {
    pub struct Net {
        input v: [784];
        let image = Reshape(28, 28, 1)(v);
        let a = Conv2D(8, 3, padding = same)(image);
        let b = Conv2D(8, 3)(v);
        output y = Dense(10)(Flatten(Add(a, b)));
    }
}

fn main() {}
