kiln::model! {
    pub struct Net {
        input image: [8, 8, 1];
        let x = Conv2D(4, 3, padding = same)(image);
        let y = Conv2D(8, 3, padding = same)(image);
        output z = Dense(10)(Flatten(Add(x, y)));
    }
}

fn main() {}
