//! The Keras 3 `model.summary()` table, rendered by the macro so it is a `&'static str`.

/// `1199882` → `1,199,882`.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
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

/// One row: `name (Class)`, output shape, parameter count, and in a graph the layers it reads
/// (Keras's "Connected to": `conv2d[0][0]`, one per line; `-` for an input).
pub struct Row {
    pub layer: String,
    /// Its output shapes: one, or a nested model's several (`[(None, 3), (None, 1)]`).
    pub output: Vec<Vec<usize>>,
    pub params: usize,
    pub connected: Option<Vec<String>>,
}

/// The whole table, as Keras 3 prints it (box-drawing borders, a rule between rows); with a
/// "Connected to" column when the rows say what they read.
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
    let graph = rows.iter().any(|r| r.connected.is_some());
    let cols = if graph { 4 } else { 3 };
    // Each cell as its lines.
    let cells: Vec<Vec<Vec<String>>> = rows
        .iter()
        .map(|r| {
            let mut c = vec![
                vec![r.layer.clone()],
                vec![match &r.output[..] {
                    [one] => shape(one),
                    many => format!(
                        "[{}]",
                        many.iter().map(|s| shape(s)).collect::<Vec<_>>().join(", ")
                    ),
                }],
                vec![thousands(r.params)],
            ];
            if graph {
                c.push(r.connected.clone().unwrap_or_default());
            }
            c
        })
        .collect();
    let header: Vec<Vec<String>> = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        [..cols]
        .iter()
        .map(|h| vec![h.to_string()])
        .collect();
    let mut w = if graph {
        vec![28usize, 22, 12, 22]
    } else {
        vec![33usize, 24, 15]
    };
    for c in cells.iter().chain(std::iter::once(&header)) {
        for (i, lines) in c.iter().enumerate() {
            for l in lines {
                w[i] = w[i].max(l.chars().count() + 2);
            }
        }
    }
    let rule = |l: &str, m: &str, r: &str, f: &str| {
        let parts: Vec<String> = w.iter().map(|&n| f.repeat(n)).collect();
        format!("{l}{}{r}\n", parts.join(m))
    };
    let lines = |bar: &str, c: &[Vec<String>]| {
        let height = c.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let mut out = String::new();
        for k in 0..height {
            out += bar;
            for (i, col) in c.iter().enumerate() {
                let text = col.get(k).map_or("", String::as_str);
                // "Param #" is right-aligned, the others left.
                out += &if i == 2 {
                    format!(" {:>n$} {bar}", text, n = w[i] - 2)
                } else {
                    format!(" {:<n$} {bar}", text, n = w[i] - 2)
                };
            }
            out += "\n";
        }
        out
    };
    let mut out = format!("Model: \"{model}\"\n");
    out += &rule("┏", "┳", "┓", "━");
    out += &lines("┃", &header);
    out += &rule("┡", "╇", "┩", "━");
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out += &rule("├", "┼", "┤", "─");
        }
        out += &lines("│", c);
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
