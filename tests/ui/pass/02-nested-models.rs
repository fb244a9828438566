//! Nested models, in a module and beside each other, with a Dense after a model whose output is
//! a vector, two uses of one model named as Keras would (`features`, `features_1`), and a model
//! whose name is close to a layer's, nested by its path.

kiln::model! {
    pub struct Features: [8, 8, 1] => < Conv2D(4, 3, relu), MaxPool(2), Flatten >
}

mod heads {
    kiln::model! {
        pub struct Head: [36] => < Dense(10, softmax) >
    }
}

kiln::model! {
    pub struct Classifier: [8, 8, 1] => < Features, Dropout(0.5), heads::Head >
}

kiln::model! {
    pub struct Twice: [8, 8, 1] => < Features, Dense(64), Reshape(8, 8, 1), Features >
}

kiln::model! {
    pub struct Denser: [10] => < Dense(10, relu) >
}

kiln::model! {
    pub struct Deeper: [8, 8, 1] => < Classifier, self::Denser, crate::Denser >
}

fn main() {
    assert!(Deeper::summary().contains("denser_1 (Denser)"));
    let m = Classifier::init(1);
    assert_eq!(m.forward(&[[[0.5; 1]; 8]; 8]).len(), 10);
    let t = Twice::init(2);
    let _ = t.forward(&[[[0.5; 1]; 8]; 8]);
    assert!(Twice::summary().contains("features_1 (Features)"));
}
