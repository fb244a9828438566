//! A model as a diagram, Keras's `plot_model(model, show_shapes=True)`: one box per layer
//! (inputs included) with its name, class and output shape, an arrow from each layer to every
//! layer that reads it, drawn as SVG. Rows follow the longest path from an input, so a
//! Sequential model is a column and a functional model's branches sit side by side.

#[cfg(feature = "alloc")]
use alloc::{string::String, vec};
#[cfg(feature = "alloc")]
use core::fmt::Write;

/// One box of the diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlotNode<'a> {
    /// The layer's name (`conv2d`), or an input's.
    pub name: &'a str,
    /// Keras's class (`Conv2D`, `InputLayer`).
    pub class: &'a str,
    /// The output shape as Keras writes it, `(None, 26, 26, 32)`; empty if unknown.
    pub shape: &'a str,
    /// The boxes whose outputs it reads (indices into the list, each before it).
    pub inputs: &'a [usize],
}

#[cfg(feature = "alloc")]
const WIDTH: usize = 300;
#[cfg(feature = "alloc")]
const HEIGHT: usize = 46;
#[cfg(feature = "alloc")]
const GAP_X: usize = 40;
#[cfg(feature = "alloc")]
const GAP_Y: usize = 44;
#[cfg(feature = "alloc")]
const MARGIN: usize = 20;

/// `&`, `<`, `>` and `"` as XML entities.
#[cfg(feature = "alloc")]
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(feature = "alloc")]
/// The SVG of `nodes` (in an order where each reads only boxes before it), titled `title`.
pub fn svg(title: &str, nodes: &[PlotNode<'_>]) -> String {
    // Row: the longest path from an input; column: the order within the row.
    let mut row = vec![0usize; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        row[i] = n
            .inputs
            .iter()
            .filter(|&&j| j < i)
            .map(|&j| row[j] + 1)
            .max()
            .unwrap_or(0);
    }
    let rows = row.iter().max().map_or(0, |r| r + 1);
    let mut col = vec![0usize; nodes.len()];
    let mut width_of = vec![0usize; rows];
    for (i, &r) in row.iter().enumerate() {
        col[i] = width_of[r];
        width_of[r] += 1;
    }
    let cols = width_of.iter().copied().max().unwrap_or(1).max(1);
    let (w, h) = (
        2 * MARGIN + cols * WIDTH + (cols - 1) * GAP_X,
        2 * MARGIN + 24 + rows * HEIGHT + rows.saturating_sub(1) * GAP_Y,
    );
    // Each row's boxes are centred.
    let x = |i: usize| {
        let n = width_of[row[i]];
        let span = n * WIDTH + (n - 1) * GAP_X;
        (w - span) / 2 + col[i] * (WIDTH + GAP_X)
    };
    let y = |i: usize| MARGIN + 24 + row[i] * (HEIGHT + GAP_Y);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"13\">\n\
         <title>{}</title>\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n",
        escape(title),
        w / 2,
        MARGIN + 10,
        escape(title)
    );
    for (i, n) in nodes.iter().enumerate() {
        for &j in n.inputs {
            let _ = writeln!(
                s,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#555\" marker-end=\"url(#arrow)\"/>",
                x(j) + WIDTH / 2,
                y(j) + HEIGHT,
                x(i) + WIDTH / 2,
                y(i)
            );
        }
    }
    for (i, n) in nodes.iter().enumerate() {
        let (bx, by) = (x(i), y(i));
        let fill = if n.class == "InputLayer" {
            "#eef4ff"
        } else {
            "#f7f7f7"
        };
        let _ = write!(
            s,
            "<g class=\"layer\" id=\"{}\"><rect x=\"{bx}\" y=\"{by}\" width=\"{WIDTH}\" \
             height=\"{HEIGHT}\" rx=\"4\" fill=\"{fill}\" stroke=\"#333\"/>\n\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{} ({})</text>\n",
            escape(n.name),
            bx + WIDTH / 2,
            by + 18,
            escape(n.name),
            escape(n.class)
        );
        if !n.shape.is_empty() {
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#444\">output: {}</text>",
                bx + WIDTH / 2,
                by + 36,
                escape(n.shape)
            );
        }
        s.push_str("</g>\n");
    }
    s.push_str("</svg>\n");
    s
}

/// Keras's way of writing a shape with its batch axis: `(None, 26, 26, 32)`.
#[cfg(feature = "alloc")]
pub fn keras_shape(dims: &[usize]) -> String {
    let mut s = String::from("(None");
    for d in dims {
        let _ = write!(s, ", {d}");
    }
    s.push(')');
    s
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn branches_sit_side_by_side_and_every_edge_is_drawn() {
        let nodes = [
            PlotNode {
                name: "x",
                class: "InputLayer",
                shape: "(None, 4)",
                inputs: &[],
            },
            PlotNode {
                name: "a",
                class: "Dense",
                shape: "(None, 2)",
                inputs: &[0],
            },
            PlotNode {
                name: "b<&>",
                class: "Dense",
                shape: "(None, 2)",
                inputs: &[0],
            },
            PlotNode {
                name: "add",
                class: "Add",
                shape: "(None, 2)",
                inputs: &[1, 2],
            },
        ];
        let s = svg("net", &nodes);
        assert_eq!(s.matches("<line ").count(), 4);
        assert_eq!(s.matches("class=\"layer\"").count(), 4);
        assert!(s.contains("b&lt;&amp;&gt; (Dense)"));
        // Two columns on the middle row: the image is two boxes wide.
        assert!(s.contains(&format!("width=\"{}\"", 2 * MARGIN + 2 * WIDTH + GAP_X)));
        assert_eq!(keras_shape(&[26, 26, 32]), "(None, 26, 26, 32)");
    }
}
