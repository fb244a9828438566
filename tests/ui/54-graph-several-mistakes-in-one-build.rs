kiln::model! {
    pub struct Net {
        input image: [8, 8, 1];
        let x = Conv2d(4, 3)(image);
        let y = Conv2D(4, 3, padding = same)(imag);
        let z = Conv2D(4, 3, padding = same)(image);
        let w = Add(z, MaxPool(2)(z));
        output out = Dense(10, softmax)(Flatten(w));
    }
}

fn main() {}
