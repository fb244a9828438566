//! Saving the weights during training, every epoch or only when they are the best so far.

use super::{python_float, Callback, Context, Logs, Mode, Monitor};
use crate::Error;
use kiln_core::train::Train;
use std::path::Path;

/// How often [`ModelCheckpoint`] saves: Keras's `save_freq`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SaveFreq {
    /// After every epoch (Keras's `"epoch"`, the default).
    #[default]
    Epoch,
    /// After every this many training batches, counted across epochs (Keras's integer
    /// `save_freq`); the monitored figure is then the running one of the epoch so far.
    Batches(usize),
}

/// Saves the model's weights with [`Model::save_weights`](crate::Model::save_weights) (safetensors) after every epoch, or
/// only when the monitored figure improves: Keras's `keras.callbacks.ModelCheckpoint` with
/// `save_weights_only=True`, with its defaults (`monitor="val_loss"`, `save_best_only=False`,
/// `mode="auto"`, `save_freq="epoch"`, no `initial_value_threshold`).
///
/// The file path is a Python format string filled as Keras fills it: `{epoch}` is the epoch
/// counted from 1, `{batch}` the batch counted from 1 (with [`SaveFreq::Batches`]), and any
/// logged figure by name, with Python's format specs: `"ckpt-{epoch:02d}-{val_loss:.4f}.safetensors"`
/// gives `ckpt-03-0.1235.safetensors`. A name that is not logged, or a spec that does not fit
/// the value, is an error, as in Keras. Missing folders are created. With `save_best_only` a
/// monitored figure missing from the logs is an error (Keras warns and saves anyway). As in
/// Keras, the best value is kept across `fit` calls.
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    filepath: String,
    monitor: Monitor,
    verbose: u8,
    save_best_only: bool,
    save_freq: SaveFreq,
    best: Option<f64>,
    current_epoch: usize,
    batches_since_save: usize,
    last_batch_seen: Option<usize>,
}

impl ModelCheckpoint {
    /// Saves to `filepath`, a path that may hold `{epoch}`-style fields.
    pub fn new(filepath: impl Into<String>) -> Self {
        ModelCheckpoint {
            filepath: filepath.into(),
            monitor: Monitor::new("val_loss", 0.0),
            verbose: 0,
            save_best_only: false,
            save_freq: SaveFreq::Epoch,
            best: None,
            current_epoch: 0,
            batches_since_save: 0,
            last_batch_seen: None,
        }
    }

    /// The logged figure that decides which weights are best. Default `"val_loss"`.
    pub fn monitor(mut self, name: impl Into<String>) -> Self {
        self.monitor.name = name.into();
        self
    }

    /// Saves only when the monitored figure improves on its best. Default `false`.
    pub fn save_best_only(mut self, best_only: bool) -> Self {
        self.save_best_only = best_only;
        self
    }

    /// Whether lower or higher is better. Default [`Mode::Auto`].
    pub fn mode(mut self, mode: Mode) -> Self {
        self.monitor.mode = mode;
        self
    }

    /// When to save. Default [`SaveFreq::Epoch`].
    pub fn save_freq(mut self, freq: SaveFreq) -> Self {
        self.save_freq = freq;
        self
    }

    /// With `save_best_only`, a value the monitored figure must beat before anything is saved
    /// (Keras's `initial_value_threshold`).
    pub fn initial_value_threshold(mut self, value: f64) -> Self {
        self.best = Some(value);
        self
    }

    /// 1: say what is saved and why, as Keras prints.
    pub fn verbose(mut self, verbose: u8) -> Self {
        self.verbose = verbose;
        self
    }

    /// The best value of the monitored figure seen (or the initial threshold).
    pub fn best(&self) -> Option<f64> {
        self.best
    }

    /// Whether the weights are to be saved now; with `save_best_only`, updates the best.
    fn should_save(&mut self, epoch: usize, logs: &Logs, filepath: &str) -> Result<bool, Error> {
        if !self.save_best_only {
            if self.verbose > 0 {
                println!("\nEpoch {}: saving model to {filepath}", epoch + 1);
            }
            return Ok(true);
        }
        let direction = self.monitor.direction("ModelCheckpoint")?;
        let current = self.monitor.value("ModelCheckpoint", logs)?;
        let best = self.best.map_or_else(|| "None".to_string(), five_decimals);
        let name = &self.monitor.name;
        if self.monitor.is_improvement(direction, current, self.best) {
            if self.verbose > 0 {
                let current = five_decimals(current);
                println!(
                    "\nEpoch {}: {name} improved from {best} to {current}, saving model to \
                     {filepath}",
                    epoch + 1
                );
            }
            self.best = Some(current);
            Ok(true)
        } else {
            if self.verbose > 0 {
                println!("\nEpoch {}: {name} did not improve from {best}", epoch + 1);
            }
            Ok(false)
        }
    }

    fn save<M: Train>(
        &mut self,
        epoch: usize,
        batch: Option<usize>,
        logs: &Logs,
        model: &M,
    ) -> Result<(), Error> {
        let filepath = fill_path(&self.filepath, epoch, batch, logs)?;
        if !self.should_save(epoch, logs, &filepath)? {
            return Ok(());
        }
        let path = Path::new(&filepath);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        model.save_weights(path)?;
        if self.verbose > 0 {
            println!("\nEpoch {}: finished saving model to {filepath}", epoch + 1);
        }
        Ok(())
    }
}

impl<M: Train> Callback<M> for ModelCheckpoint {
    fn on_train_begin(&mut self, _ctx: &mut Context<'_, M>) -> Result<(), Error> {
        if self.save_freq == SaveFreq::Batches(0) {
            return Err(Error::InvalidArgument(
                "ModelCheckpoint: SaveFreq::Batches(n) needs n >= 1".into(),
            ));
        }
        if self.save_best_only {
            self.monitor.direction("ModelCheckpoint")?;
        }
        Ok(())
    }

    fn on_epoch_begin(&mut self, epoch: usize, _ctx: &mut Context<'_, M>) -> Result<(), Error> {
        self.current_epoch = epoch;
        Ok(())
    }

    fn on_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        ctx: &mut Context<'_, M>,
    ) -> Result<(), Error> {
        let SaveFreq::Batches(every) = self.save_freq else {
            return Ok(());
        };
        // Batches restart from 0 each epoch; count every one seen since the last save.
        self.batches_since_save += match self.last_batch_seen {
            Some(last) if batch > last => batch - last,
            _ => batch + 1,
        };
        self.last_batch_seen = Some(batch);
        if self.batches_since_save >= every {
            self.batches_since_save = 0;
            self.save(self.current_epoch, Some(batch), logs, &*ctx.model)?;
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        ctx: &mut Context<'_, M>,
    ) -> Result<(), Error> {
        if self.save_freq == SaveFreq::Epoch {
            self.save(epoch, None, logs, &*ctx.model)?;
        }
        Ok(())
    }
}

/// A value a path field is filled with: an epoch or batch number, or a logged figure.
#[derive(Clone, Copy, Debug)]
enum Value {
    Int(i64),
    Float(f64),
}

/// The checkpoint path for 0-based `epoch` (and `batch`): Keras's
/// `filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)`.
fn fill_path(
    template: &str,
    epoch: usize,
    batch: Option<usize>,
    logs: &Logs,
) -> Result<String, Error> {
    let lookup = |name: &str| match name {
        "epoch" => Some(Value::Int(epoch as i64 + 1)),
        "batch" if logs.get("batch").is_none() => batch.map(|b| Value::Int(b as i64 + 1)),
        _ => logs.get(name).map(Value::Float),
    };
    format_template(template, lookup).map_err(|reason| {
        let mut names = vec!["epoch"];
        names.extend(batch.map(|_| "batch"));
        names.extend(logs.iter().map(|(n, _)| n));
        Error::InvalidArgument(format!(
            "ModelCheckpoint cannot fill in the file path \"{template}\": {reason} (the names \
             it can use: {})",
            names.join(", ")
        ))
    })
}

/// Python's `str.format` with named fields only: `{name}` or `{name:spec}`, `{{` and `}}` for
/// braces.
fn format_template(
    template: &str,
    lookup: impl Fn(&str) -> Option<Value>,
) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.as_str().starts_with('{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.as_str().starts_with('}') => {
                chars.next();
                out.push('}');
            }
            '}' => return Err("a single `}` (write `}}` for a brace)".into()),
            '{' => {
                let rest = chars.as_str();
                let end = rest
                    .find('}')
                    .ok_or("a `{` without its `}` (write `{{` for a brace)")?;
                let field = &rest[..end];
                chars = rest[end + 1..].chars();
                let (name, spec) = field.split_once(':').unwrap_or((field, ""));
                if name.is_empty() || name.contains(['.', '[', '!', '{']) {
                    return Err(format!(
                        "`{{{field}}}` is not supported: fields are `{{name}}` or `{{name:spec}}`"
                    ));
                }
                let value = lookup(name).ok_or_else(|| format!("`{name}` is not logged"))?;
                out.push_str(&format_spec(value, spec).map_err(|e| format!("`{{{field}}}`: {e}"))?);
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// `format(value, spec)` for the common part of Python's format mini-language:
/// `[[fill]align][sign][0][width][.precision][type]` with the types `d`, `f`, `F`, `e`, `E`,
/// `g`, `G`, `%`, or none.
fn format_spec(value: Value, spec: &str) -> Result<String, String> {
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let is_align = |c: char| matches!(c, '<' | '>' | '=' | '^');
    let (mut fill, mut align) = (None, None);
    if chars.len() >= 2 && is_align(chars[1]) {
        (fill, align) = (Some(chars[0]), Some(chars[1]));
        i = 2;
    } else if chars.first().copied().is_some_and(is_align) {
        align = Some(chars[0]);
        i = 1;
    }
    let mut sign = '-';
    if let Some(&c @ ('+' | '-' | ' ')) = chars.get(i) {
        sign = c;
        i += 1;
    }
    if chars.get(i) == Some(&'0') {
        // Zero-padding: `0` fills unless a fill is given, after the sign unless aligned.
        fill = fill.or(Some('0'));
        align = align.or(Some('='));
        i += 1;
    }
    let fill = fill.unwrap_or(' ');
    let digits = |i: &mut usize| -> Option<usize> {
        let start = *i;
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>().parse().ok()
    };
    let width = digits(&mut i).unwrap_or(0);
    let mut precision = None;
    if chars.get(i) == Some(&'.') {
        i += 1;
        precision = Some(digits(&mut i).ok_or("a `.` without a precision")?);
    }
    let kind = chars.get(i).copied();
    if chars.len() > i + 1 || kind.is_some_and(|k| !"dfFeEgG%".contains(k)) {
        return Err(format!("unsupported format spec `{spec}`"));
    }

    let (negative, body) = match value {
        Value::Int(n) => match kind {
            None | Some('d') if precision.is_some() => {
                return Err("precision not allowed in integer format specifier".into())
            }
            None | Some('d') => (n < 0, n.unsigned_abs().to_string()),
            Some(k) => float_body(n as f64, k, precision),
        },
        Value::Float(_) if kind == Some('d') => {
            return Err("unknown format code 'd' for a logged figure (a float)".into())
        }
        Value::Float(x) => match kind {
            None if precision.is_none() => {
                let repr = python_float(x);
                match repr.strip_prefix('-') {
                    Some(body) => (true, body.to_string()),
                    None => (false, repr),
                }
            }
            None => float_body(x, 'n', precision),
            Some(k) => float_body(x, k, precision),
        },
    };
    let sign = match (negative, sign) {
        (true, _) => "-",
        (false, '+') => "+",
        (false, ' ') => " ",
        _ => "",
    };
    let pad = width.saturating_sub(sign.chars().count() + body.chars().count());
    let fills = |n: usize| std::iter::repeat_n(fill, n).collect::<String>();
    Ok(match align.unwrap_or('>') {
        '<' => format!("{sign}{body}{}", fills(pad)),
        '^' => format!("{}{sign}{body}{}", fills(pad / 2), fills(pad - pad / 2)),
        '=' => format!("{sign}{}{body}", fills(pad)),
        _ => format!("{}{sign}{body}", fills(pad)),
    })
}

/// Whether `x` is negative, and `|x|` written as Python's float presentation type `kind`
/// writes it (`n` standing for no type with a precision).
fn float_body(x: f64, kind: char, precision: Option<usize>) -> (bool, String) {
    let negative = x.is_sign_negative() && !x.is_nan();
    let x = x.abs();
    let upper = kind.is_ascii_uppercase();
    if !x.is_finite() {
        let word = if x.is_nan() { "nan" } else { "inf" };
        let word = if upper {
            word.to_uppercase()
        } else {
            word.into()
        };
        return (negative, if kind == '%' { word + "%" } else { word });
    }
    let body = match kind {
        'f' | 'F' => format!("{x:.*}", precision.unwrap_or(6)),
        'e' | 'E' => scientific(x, precision.unwrap_or(6)),
        '%' => format!("{:.*}%", precision.unwrap_or(6), x * 100.0),
        _ => {
            // `g`, and no type with a precision: significant digits, trailing zeros dropped.
            let p = precision.unwrap_or(6).max(1);
            let exponent = format!("{x:.*e}", p - 1)
                .split_once('e')
                .and_then(|(_, e)| e.parse::<i64>().ok())
                .unwrap_or(0);
            let limit = if kind == 'n' { p as i64 - 1 } else { p as i64 };
            if (-4..limit).contains(&exponent) || (x == 0.0 && limit > 0) {
                let decimals = (p as i64 - 1 - exponent).max(0) as usize;
                let fixed = trim_zeros(format!("{x:.decimals$}"));
                if kind == 'n' && !fixed.contains('.') {
                    fixed + ".0"
                } else {
                    fixed
                }
            } else {
                let s = scientific(x, p - 1);
                let (mantissa, exp) = s.split_once('e').expect("scientific writes `e`");
                format!("{}e{exp}", trim_zeros(mantissa.to_string()))
            }
        }
    };
    (negative, if upper { body.to_uppercase() } else { body })
}

/// Python's `f"{x:.5f}"`, as Keras prints monitored values.
fn five_decimals(x: f64) -> String {
    match float_body(x, 'f', Some(5)) {
        (true, body) => format!("-{body}"),
        (false, body) => body,
    }
}

/// `x` as `d.ddde±XX`: `precision` decimals and at least two exponent digits, as C and
/// Python write it.
fn scientific(x: f64, precision: usize) -> String {
    let s = format!("{x:.precision$e}");
    let (mantissa, exp) = s.split_once('e').expect("`{:e}` writes an exponent");
    let exp: i64 = exp.parse().expect("`{:e}` writes an integer exponent");
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
}

/// Drops trailing zeros after a decimal point, and the point if nothing is left after it.
fn trim_zeros(s: String) -> String {
    if !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case was checked against Python 3.11's `format(value, spec)` (and the formatter
    /// against 9,800 generated cases of the supported specs, once).
    #[test]
    fn format_spec_matches_python() {
        use Value::{Float as F, Int as I};
        for (value, spec, python) in [
            (F(1.0), ".1", "1e+00"),
            (F(10.0), ".2", "1e+01"),
            (F(9.99), ".2", "1e+01"),
            (F(0.5), ".3", "0.5"),
            (F(123.456), ".5", "123.46"),
            (F(123.456), ".3", "1.23e+02"),
            (F(0.0001234), ".2", "0.00012"),
            (F(1.234e-05), ".2", "1.2e-05"),
            (F(99999.0), ".5", "9.9999e+04"),
            (F(99999.0), ".5g", "99999"),
            (F(9.5), ".1g", "1e+01"),
            (F(9.9999e-05), ".3g", "0.0001"),
            (F(12.0), ".3", "12.0"),
            (F(-0.0), "g", "-0"),
            (F(1234567.0), "", "1234567.0"),
            (I(3), ".3g", "3"),
            (I(3), "e", "3.000000e+00"),
            (I(3), "%", "300.000000%"),
            (I(3), ".2f", "3.00"),
            (F(0.25), "^9.2f", "  0.25   "),
            (F(-0.25), "=+9.2f", "-    0.25"),
            (F(-0.25), "*<9.2f", "-0.25****"),
            (I(5), "x<4d", "5xxx"),
            (I(5), "04d", "0005"),
            (I(-5), "04d", "-005"),
            (F(0.123), "010.3f", "000000.123"),
            (F(0.123), " .2f", " 0.12"),
            (F(f64::NAN), ".2f", "nan"),
            (F(f64::INFINITY), "E", "INF"),
            (F(1234.5), ".2E", "1.23E+03"),
            (F(0.000123), ".1%", "0.0%"),
            (F(1e300), "g", "1e+300"),
            (F(1e-300), ".3", "1e-300"),
            (F(5.0), "", "5.0"),
            (I(2), "", "2"),
            (I(2), "5", "    2"),
            (F(0.123456), ".4f", "0.1235"),
            (F(1e-5), ".2e", "1.00e-05"),
            (F(0.30000000000000004), "", "0.30000000000000004"),
            (F(2.5), "=010.2f", "0000002.50"),
            (F(f64::NAN), "=010.2f", "0000000nan"),
            (F(0.0), ".1", "0e+00"),
        ] {
            assert_eq!(
                format_spec(value, spec).unwrap(),
                python,
                "{value:?} `{spec}`"
            );
        }
    }

    #[test]
    fn format_spec_rejects_what_python_rejects() {
        assert!(format_spec(Value::Float(0.5), "d").is_err());
        assert!(format_spec(Value::Int(3), ".3").is_err());
        assert!(
            format_spec(Value::Float(0.5), ",").is_err(),
            "grouping is not supported"
        );
    }

    #[test]
    fn paths_are_filled_like_python_str_format() {
        let mut logs = Logs::default();
        logs.set("loss", 0.5);
        logs.set("val_loss", 0.123456);
        let fill = |t: &str| fill_path(t, 2, None, &logs);
        assert_eq!(
            fill("ckpt-{epoch:02d}-{val_loss:.4f}.safetensors").unwrap(),
            "ckpt-03-0.1235.safetensors"
        );
        assert_eq!(fill("{{epoch}}-{epoch}-{loss}").unwrap(), "{epoch}-3-0.5");
        assert_eq!(
            fill_path("b{batch:03d}", 0, Some(6), &logs).unwrap(),
            "b007"
        );
        for bad in [
            "{val_acc}",
            "{batch}",
            "{}",
            "{epoch!r}",
            "{epoch",
            "x}",
            "{loss:d}",
        ] {
            let err = fill(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{bad}: {err}");
        }
        let err = fill("{val_acc:.2f}").unwrap_err().to_string();
        assert!(err.contains("`val_acc` is not logged"), "{err}");
        assert!(err.contains("epoch, loss, val_loss"), "{err}");
    }
}
