//! The Keras 3 `model.summary()` table, rendered by the macro so it is a `&'static str`.

/// `1199882` → `1,199,882`.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Keras's memory figure: `4.58 MB` for 4,799,528 bytes (powers of 1024).
fn bytes(n: usize) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.2} {}", units[u])
}

/// One row: `name (Class)`, output shape, parameter count.
pub struct Row {
    pub layer: String,
    pub output: Vec<usize>,
    pub params: usize,
}

/// The whole table, as Keras 3 prints it (box-drawing borders, a rule between rows).
pub fn render(model: &str, rows: &[Row], scalar_bytes: usize) -> String {
    let shape = |s: &[usize]| {
        format!(
            "(None, {})",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let cells: Vec<[String; 3]> = rows
        .iter()
        .map(|r| [r.layer.clone(), shape(&r.output), thousands(r.params)])
        .collect();
    let header = ["Layer (type)", "Output Shape", "Param #"];
    let mut w = [33usize, 24, 15];
    for c in cells
        .iter()
        .chain(std::iter::once(&header.map(String::from)))
    {
        for i in 0..3 {
            w[i] = w[i].max(c[i].chars().count() + 2);
        }
    }
    let rule = |l: &str, m: &str, r: &str, f: &str| {
        format!(
            "{l}{}{m}{}{m}{}{r}\n",
            f.repeat(w[0]),
            f.repeat(w[1]),
            f.repeat(w[2])
        )
    };
    let line = |bar: &str, c: [&str; 3]| {
        format!(
            "{bar} {:<a$} {bar} {:<b$} {bar} {:>d$} {bar}\n",
            c[0],
            c[1],
            c[2],
            a = w[0] - 2,
            b = w[1] - 2,
            d = w[2] - 2
        )
    };
    let mut out = format!("Model: \"{model}\"\n");
    out += &rule("┏", "┳", "┓", "━");
    out += &line("┃", header);
    out += &rule("┡", "╇", "┩", "━");
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out += &rule("├", "┼", "┤", "─");
        }
        out += &line("│", [&c[0], &c[1], &c[2]]);
    }
    out += &rule("└", "┴", "┘", "─");
    let total: usize = rows.iter().map(|r| r.params).sum();
    out += &format!(
        " Total params: {} ({})\n",
        thousands(total),
        bytes(total * scalar_bytes)
    );
    out += &format!(
        " Trainable params: {} ({})\n",
        thousands(total),
        bytes(total * scalar_bytes)
    );
    out += " Non-trainable params: 0 (0.00 B)\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_keras_prints_them() {
        assert_eq!(thousands(1199882), "1,199,882");
        assert_eq!(thousands(320), "320");
        assert_eq!(thousands(18496), "18,496");
        assert_eq!(bytes(1199882 * 4), "4.58 MB");
        assert_eq!(bytes(0), "0.00 B");
        assert_eq!(bytes(1290 * 4), "5.04 KB");
    }
}
