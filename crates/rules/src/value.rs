//! Run-time values and the operations on them, with CEL's semantics.

use std::sync::Arc;

use crate::schema::Kind;

/// Why a rule could not be evaluated for a subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(pub Arc<str>);

impl EvalError {
    pub(crate) fn new(message: impl Into<String>) -> EvalError {
        EvalError(Arc::from(message.into()))
    }
}

pub(crate) type R<'a> = Result<V<'a>, EvalError>;

#[derive(Debug, Clone)]
pub(crate) enum V<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    /// Borrowed from the estate.
    Str(&'a str),
    /// Owned by the rule (a literal) or made at run time.
    Text(Arc<str>),
    /// Microseconds since the Unix epoch, UTC.
    Ts(i64),
    /// Microseconds.
    Dur(i64),
    Obj(Kind, u32),
    /// A relation's objects.
    Objs(Kind, &'a [u32]),
    List(Arc<Vec<V<'a>>>),
}

impl<'a> V<'a> {
    pub(crate) fn str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            V::Text(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            V::Null => "null",
            V::Bool(_) => "bool",
            V::Int(_) => "int",
            V::Double(_) => "double",
            V::Str(_) | V::Text(_) => "string",
            V::Ts(_) => "timestamp",
            V::Dur(_) => "duration",
            V::Obj(k, _) => k.name(),
            V::Objs(..) | V::List(_) => "list",
        }
    }

    /// The elements of a list value, materialised.
    pub(crate) fn elements(&self) -> Option<Vec<V<'a>>> {
        match self {
            V::Objs(k, ids) => Some(ids.iter().map(|i| V::Obj(*k, *i)).collect()),
            V::List(items) => Some(items.as_ref().clone()),
            _ => None,
        }
    }

    pub(crate) fn len(&self) -> Option<usize> {
        match self {
            V::Objs(_, ids) => Some(ids.len()),
            V::List(items) => Some(items.len()),
            V::Str(s) => Some(s.chars().count()),
            V::Text(s) => Some(s.chars().count()),
            _ => None,
        }
    }
}

pub(crate) fn no_overload(op: &str, a: &V<'_>, b: &V<'_>) -> EvalError {
    EvalError::new(format!(
        "no such overload: {} {op} {}",
        a.type_name(),
        b.type_name()
    ))
}

/// CEL equality: values of different types are unequal, except int and double, which compare by
/// value.
pub(crate) fn equal(a: &V<'_>, b: &V<'_>) -> bool {
    match (a, b) {
        (V::Null, V::Null) => true,
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::Int(x), V::Int(y)) => x == y,
        (V::Double(x), V::Double(y)) => x == y,
        (V::Int(x), V::Double(y)) | (V::Double(y), V::Int(x)) => (*x as f64) == *y,
        (V::Ts(x), V::Ts(y)) | (V::Dur(x), V::Dur(y)) => x == y,
        (V::Obj(k, i), V::Obj(l, j)) => k == l && i == j,
        _ => match (a.str(), b.str()) {
            (Some(x), Some(y)) => x == y,
            _ => match (a.elements(), b.elements()) {
                (Some(xs), Some(ys)) => {
                    xs.len() == ys.len() && xs.iter().zip(&ys).all(|(x, y)| equal(x, y))
                }
                _ => false,
            },
        },
    }
}

/// CEL ordering, defined only within a type (and between int and double).
pub(crate) fn compare(op: &str, a: &V<'_>, b: &V<'_>) -> Result<std::cmp::Ordering, EvalError> {
    let ord = match (a, b) {
        (V::Int(x), V::Int(y)) => Some(x.cmp(y)),
        (V::Double(x), V::Double(y)) => x.partial_cmp(y),
        (V::Int(x), V::Double(y)) => (*x as f64).partial_cmp(y),
        (V::Double(x), V::Int(y)) => x.partial_cmp(&(*y as f64)),
        (V::Ts(x), V::Ts(y)) | (V::Dur(x), V::Dur(y)) => Some(x.cmp(y)),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        _ => match (a.str(), b.str()) {
            (Some(x), Some(y)) => Some(x.cmp(y)),
            _ => return Err(no_overload(op, a, b)),
        },
    };
    ord.ok_or_else(|| EvalError::new("NaN has no order"))
}

/// The earliest and latest timestamps CEL has (0001-01-01T00:00:00Z to
/// 9999-12-31T23:59:59.999999Z), in microseconds since the epoch.
pub(crate) const MIN_TIMESTAMP: i64 = -62_135_596_800_000_000;
pub(crate) const MAX_TIMESTAMP: i64 = 253_402_300_799_999_999;
/// CEL's durations reach ten thousand years either way (315,576,000,000 s).
pub(crate) const MAX_DURATION: i64 = 315_576_000_000_000_000;

/// A timestamp within CEL's range, or the error past it.
pub(crate) fn timestamp_in_range<'a>(micros: i64) -> R<'a> {
    if (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&micros) {
        Ok(V::Ts(micros))
    } else {
        Err(EvalError::new("timestamp out of range"))
    }
}

/// A duration within CEL's range, or the error past it.
pub(crate) fn duration_in_range<'a>(micros: i64) -> R<'a> {
    if (-MAX_DURATION..=MAX_DURATION).contains(&micros) {
        Ok(V::Dur(micros))
    } else {
        Err(EvalError::new("duration out of range"))
    }
}

pub(crate) fn arithmetic<'a>(op: &str, a: V<'a>, b: V<'a>) -> R<'a> {
    let overflow = || EvalError::new(format!("integer overflow in {op}"));
    Ok(match (op, &a, &b) {
        ("+", V::Int(x), V::Int(y)) => V::Int(x.checked_add(*y).ok_or_else(overflow)?),
        ("-", V::Int(x), V::Int(y)) => V::Int(x.checked_sub(*y).ok_or_else(overflow)?),
        ("*", V::Int(x), V::Int(y)) => V::Int(x.checked_mul(*y).ok_or_else(overflow)?),
        ("/", V::Int(_), V::Int(0)) | ("%", V::Int(_), V::Int(0)) => {
            return Err(EvalError::new("division by zero"));
        }
        ("/", V::Int(x), V::Int(y)) => V::Int(x.checked_div(*y).ok_or_else(overflow)?),
        ("%", V::Int(x), V::Int(y)) => V::Int(x.checked_rem(*y).ok_or_else(overflow)?),
        ("+", V::Double(x), V::Double(y)) => V::Double(x + y),
        ("-", V::Double(x), V::Double(y)) => V::Double(x - y),
        ("*", V::Double(x), V::Double(y)) => V::Double(x * y),
        ("/", V::Double(x), V::Double(y)) => V::Double(x / y),
        ("-", V::Ts(x), V::Ts(y)) => duration_in_range(x.checked_sub(*y).ok_or_else(overflow)?)?,
        ("+", V::Ts(x), V::Dur(y)) | ("+", V::Dur(y), V::Ts(x)) => {
            timestamp_in_range(x.checked_add(*y).ok_or_else(overflow)?)?
        }
        ("-", V::Ts(x), V::Dur(y)) => timestamp_in_range(x.checked_sub(*y).ok_or_else(overflow)?)?,
        ("+", V::Dur(x), V::Dur(y)) => duration_in_range(x.checked_add(*y).ok_or_else(overflow)?)?,
        ("-", V::Dur(x), V::Dur(y)) => duration_in_range(x.checked_sub(*y).ok_or_else(overflow)?)?,
        ("+", _, _) if a.str().is_some() && b.str().is_some() => V::Text(Arc::from(format!(
            "{}{}",
            a.str().unwrap_or(""),
            b.str().unwrap_or("")
        ))),
        ("+", _, _) => match (a.elements(), b.elements()) {
            (Some(mut xs), Some(ys)) => {
                xs.extend(ys);
                V::List(Arc::new(xs))
            }
            _ => return Err(no_overload(op, &a, &b)),
        },
        _ => return Err(no_overload(op, &a, &b)),
    })
}

pub(crate) fn push_display(data: &crate::Data, value: &V<'_>, out: &mut String) {
    use std::fmt::Write as _;
    // Writing to a String cannot fail: the results of `write!` are let go.
    match value {
        V::Null => {}
        V::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        V::Int(i) => {
            let _ = write!(out, "{i}");
        }
        V::Double(d) => {
            let _ = write!(out, "{d:.2}");
        }
        V::Str(s) => out.push_str(s),
        V::Text(s) => out.push_str(s),
        V::Ts(t) => match chrono::DateTime::from_timestamp_micros(*t) {
            Some(t) if t.time() == chrono::NaiveTime::MIN => {
                steward_model::push_date(out, t.date_naive());
            }
            Some(t) => out.push_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            None => {}
        },
        V::Dur(d) => {
            let hours = d / 3_600_000_000;
            let _ = if hours % 24 == 0 {
                write!(out, "{} days", hours / 24)
            } else {
                write!(out, "{hours} hours")
            };
        }
        V::Obj(kind, i) => out.push_str(data.id(*kind, *i)),
        V::Objs(..) | V::List(_) => {
            for (n, v) in value.elements().unwrap_or_default().iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                push_display(data, v, out);
            }
        }
    }
}
