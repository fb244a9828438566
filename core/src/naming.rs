//! Keras-style names derived from Rust names: the macro names a model (`Model::NAME`) and a
//! nested model's layer this way, and `kiln import` checks that a Keras name survives it.

use alloc::string::String;

/// `MnistCnn` → `mnist_cnn`, `MLP2` → `mlp2`: the name Keras would give a model of that class.
pub fn snake_case(name: &str) -> String {
    let chars: alloc::vec::Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_uppercase())) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn snake_case_follows_keras() {
        assert_eq!(super::snake_case("MnistCnn"), "mnist_cnn");
        assert_eq!(super::snake_case("MLP"), "mlp");
        assert_eq!(super::snake_case("HTTPServer2"), "http_server2");
        assert_eq!(super::snake_case("features"), "features");
    }
}
