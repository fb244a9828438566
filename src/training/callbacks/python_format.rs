//! Python's `str.format` for Keras's file-path templates (`"ckpt-{epoch:02d}-{val_loss:.4f}"`):
//! named fields with Python's format specs for integers and floats, matched case by case
//! against Python, and `repr` of a float, which is how Keras writes logged values in messages,
//! file names and CSV. `ModelCheckpoint` fills its paths with it.

/// A value a path field is filled with: an epoch or batch number, or a logged figure.
#[derive(Clone, Copy, Debug)]
pub(super) enum Value {
    Int(i64),
    Float(f64),
}

/// Python's `str.format` with named fields only: `{name}` or `{name:spec}`, `{{` and `}}` for
/// braces.
pub(super) fn format_template(
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
pub(super) fn five_decimals(x: f64) -> String {
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

/// `repr(x)` of a Python float, the way Keras writes a logged value in messages, file names
/// and CSV: the shortest digits that read back as `x`, in scientific notation (`1e-05`) below
/// 1e-4 and from 1e16, with `.0` on whole numbers, `nan`, `inf`.
pub(super) fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let scientific = format!("{x:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` always writes an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` writes an integer exponent");
    if x == 0.0 || (-4..16).contains(&exponent) {
        let fixed = format!("{x}");
        if fixed.contains('.') {
            fixed
        } else {
            fixed + ".0"
        }
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    }
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
    fn python_float_matches_python_repr() {
        for (x, repr) in [
            (1e-5, "1e-05"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e16, "1e+16"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1.0, "1.0"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
            (-0.0, "-0.0"),
            (2.5e-7, "2.5e-07"),
            (1e-100, "1e-100"),
        ] {
            assert_eq!(python_float(x), repr, "repr({x:e})");
        }
    }
}
