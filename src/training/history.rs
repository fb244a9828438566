//! What `fit` returns: every epoch's figures, like Keras's `History`, writable as CSV or JSON
//! and plottable to SVG.

use super::logs::Logs;
use crate::Error;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Per-epoch training and validation figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The epochs run, 0-based (Keras's `history.epoch`).
    pub epoch: Vec<usize>,
    /// One series per figure (`loss`, `accuracy`, `val_loss`, …), in the order first logged.
    pub history: Vec<(String, Vec<f64>)>,
}

impl History {
    /// Records one epoch's logs.
    pub fn push(&mut self, epoch: usize, logs: &Logs) {
        self.epoch.push(epoch);
        for (name, v) in logs.iter() {
            match self.history.iter_mut().find(|(n, _)| n == name) {
                Some((_, series)) => series.push(v),
                None => self.history.push((name.to_string(), vec![v])),
            }
        }
    }

    /// The series of one figure, e.g. `history.get("val_accuracy")`.
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.history
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.as_slice())
    }

    /// The last epoch's value of a figure.
    pub fn last(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|s| s.last().copied())
    }

    /// `epoch,loss,accuracy,…` with one row per epoch (epochs numbered from 1, as printed).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("epoch");
        for (n, _) in &self.history {
            out.push(',');
            out.push_str(n);
        }
        out.push('\n');
        for (row, e) in self.epoch.iter().enumerate() {
            out.push_str(&(e + 1).to_string());
            for (_, s) in &self.history {
                out.push(',');
                if let Some(v) = s.get(row) {
                    out.push_str(&v.to_string());
                }
            }
            out.push('\n');
        }
        out
    }

    /// `{"epoch": [...], "loss": [...], ...}`; non-finite values are written as `null`.
    pub fn to_json(&self) -> String {
        let num = |v: &f64| {
            if v.is_finite() {
                v.to_string()
            } else {
                "null".into()
            }
        };
        let list = |vs: Vec<String>| format!("[{}]", vs.join(", "));
        let mut fields = vec![format!(
            "\"epoch\": {}",
            list(self.epoch.iter().map(|e| (e + 1).to_string()).collect())
        )];
        for (n, s) in &self.history {
            let name: String = n.chars().filter(|c| *c != '"' && *c != '\\').collect();
            fields.push(format!("\"{name}\": {}", list(s.iter().map(num).collect())));
        }
        format!("{{{}}}\n", fields.join(", "))
    }

    /// Writes [`History::to_csv`] to `path`.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        write(path.as_ref(), self.to_csv())
    }

    /// Writes [`History::to_json`] to `path`.
    pub fn write_json(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        write(path.as_ref(), self.to_json())
    }
}

impl History {
    /// Plots the history to an SVG file, as Keras users plot `history.history` with
    /// matplotlib: `loss` and `val_loss` on one panel, the other figures (`accuracy`,
    /// `val_accuracy`, …) on a second panel beside it, against the epoch counted from 1, with
    /// axes, ticks and a legend. Non-finite values are left out of the lines.
    pub fn plot(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let svg = self.svg().map_err(|reason| Error::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(format!("plotting the history: {reason}")),
        })?;
        write(path, svg)
    }

    /// The chart [`History::plot`] writes, as SVG text.
    fn svg(&self) -> Result<String, String> {
        let (losses, others): (Vec<_>, Vec<_>) =
            self.history.iter().partition(|(name, _)| is_loss(name));
        let mut panels = vec![Panel::new(losses, true)];
        if !others.is_empty() {
            panels.push(Panel::new(others, false));
        }
        let mut svg = String::new();
        let size = (PANEL_WIDTH * panels.len() as u32, PANEL_HEIGHT);
        {
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let areas = root.split_evenly((1, panels.len()));
            for (panel, area) in panels.iter().zip(&areas) {
                self.draw_panel(panel, area).map_err(|e| e.to_string())?;
            }
            root.present().map_err(|e| e.to_string())?;
        }
        svg.push('\n');
        Ok(svg)
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        panel: &Panel<'_>,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        // Epochs as printed, from 1, with half an epoch of room on either side. The x axis
        // counts half epochs so that the ticks are integers (plotters cannot fix the ticks of
        // a float axis and still format them).
        let first = self.epoch.iter().min().map_or(1, |e| e + 1);
        let last = self.epoch.iter().max().map_or(1, |e| e + 1);
        let half = |epoch: usize| 2 * epoch as i32;
        let ticks = epoch_ticks(first, last).into_iter().map(half).collect();
        let x_range = (half(first) - 1..half(last) + 1).with_key_points(ticks);
        let values = panel
            .lines
            .iter()
            .flat_map(|l| l.values.iter().copied().filter(|v| v.is_finite()));
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let (lo, hi) = match (lo, hi) {
            (lo, hi) if lo > hi => (0.0, 1.0),
            (lo, hi) if lo == hi => (lo - lo.abs().max(1.0) * 0.1, hi + hi.abs().max(1.0) * 0.1),
            (lo, hi) => (lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05),
        };
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range, lo..hi)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(&panel.y_desc)
            .x_label_formatter(&|x| (x / 2).to_string())
            .y_labels(8)
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.12))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 15))
            .draw()?;

        for line in &panel.lines {
            let points: Vec<(i32, f64)> = self
                .epoch
                .iter()
                .zip(line.values)
                .filter(|(_, v)| v.is_finite())
                .map(|(e, v)| (half(e + 1), *v))
                .collect();
            if points.is_empty() {
                continue;
            }
            let style = line.color.stroke_width(2);
            chart
                .draw_series(LineSeries::new(points.iter().copied(), style))?
                .label(line.name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
            if points.len() <= MARKERS_UP_TO {
                let dots = points
                    .iter()
                    .map(|p| Circle::new(*p, 3, line.color.filled()));
                chart.draw_series(dots)?;
            }
        }
        // Losses fall and the other figures rise: each legend goes where the lines are not.
        let corner = if panel.falls {
            SeriesLabelPosition::UpperRight
        } else {
            SeriesLabelPosition::LowerRight
        };
        chart
            .configure_series_labels()
            .position(corner)
            .label_font(("sans-serif", 13))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
    }
}

/// Each panel of [`History::plot`] is this wide and high, in SVG pixels.
const PANEL_WIDTH: u32 = 640;
const PANEL_HEIGHT: u32 = 420;
/// Series with at most this many points get a dot at each, so short runs stay visible.
const MARKERS_UP_TO: usize = 40;
/// matplotlib's default colour cycle, restarted in each panel as in `plt.subplot`s: `loss`
/// blue and `val_loss` orange, as in the Keras guides' plots.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// Whether a figure goes on the loss panel: `loss`, `val_loss`, and any `*_loss`.
fn is_loss(name: &str) -> bool {
    name.strip_prefix("val_").unwrap_or(name).ends_with("loss")
}

/// The labelled epochs between `first` and `last`: every one, or every 2nd, 5th, 10th, 20th, …
/// so that there are at most ten.
fn epoch_ticks(first: usize, last: usize) -> Vec<usize> {
    let step = [1, 2, 5]
        .into_iter()
        .cycle()
        .scan(1, |scale, m| {
            let step = m * *scale;
            if m == 5 {
                *scale *= 10;
            }
            Some(step)
        })
        .find(|step| (last - first) / step < 10)
        .expect("some step fits");
    (first..=last)
        .filter(|e| step == 1 || e % step == 0)
        .collect()
}

/// One chart of [`History::plot`]: a title, a y-axis label, and its lines.
struct Panel<'h> {
    title: String,
    y_desc: String,
    lines: Vec<Line<'h>>,
    /// Whether its figures improve downwards (losses).
    falls: bool,
}

/// One series of a panel.
struct Line<'h> {
    name: &'h str,
    values: &'h [f64],
    color: RGBColor,
}

impl<'h> Panel<'h> {
    fn new(series: Vec<&'h (String, Vec<f64>)>, falls: bool) -> Self {
        let mut figures: Vec<&str> = Vec::new();
        let mut lines = Vec::new();
        for (name, values) in series {
            let figure = name.strip_prefix("val_").unwrap_or(name);
            let index = figures
                .iter()
                .position(|f| *f == figure)
                .unwrap_or_else(|| {
                    figures.push(figure);
                    figures.len() - 1
                });
            lines.push((
                index,
                name.starts_with("val_"),
                name.as_str(),
                values.as_slice(),
            ));
        }
        // Each figure with its `val_` counterpart after it, in the legend and the colours.
        lines.sort_by_key(|(index, validation, _, _)| (*index, *validation));
        let lines = lines
            .into_iter()
            .enumerate()
            .map(|(i, (_, _, name, values))| Line {
                name,
                values,
                color: PALETTE[i % PALETTE.len()],
            })
            .collect();
        let fallback = if falls { "loss" } else { "value" };
        Panel {
            title: match figures.is_empty() {
                true => fallback.to_string(),
                false => figures.join(", "),
            },
            y_desc: match figures[..] {
                [one] => one.to_string(),
                _ => fallback.to_string(),
            },
            lines,
            falls,
        }
    }
}

pub(crate) fn write(path: &Path, text: String) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}
