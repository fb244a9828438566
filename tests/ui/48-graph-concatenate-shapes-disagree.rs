kiln::model! {
    pub struct Net {
        input image: [8, 8, 1];
        let big = Conv2D(4, 3, padding = same)(image);
        let small = MaxPool(2)(Conv2D(4, 3, padding = same)(image));
        output y = Flatten(Concatenate(big, small));
    }
}

fn main() {}
