//! The small part of OData's `$filter` grammar the stand-ins answer: comparisons joined by `and`.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Ge,
    Gt,
    Le,
    Lt,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Time(DateTime<Utc>),
    Text(String),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Clause {
    pub field: String,
    pub op: Op,
    pub value: Literal,
}

/// `field op value [and field op value]…`, or `None` for anything else.
pub(crate) fn parse(filter: &str) -> Option<Vec<Clause>> {
    let mut clauses = Vec::new();
    let mut rest = filter.trim();
    loop {
        let (field, after) = rest.split_once(char::is_whitespace)?;
        let after = after.trim_start();
        let (op, after) = after.split_once(char::is_whitespace)?;
        let after = after.trim_start();
        let op = match op.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "ge" => Op::Ge,
            "gt" => Op::Gt,
            "le" => Op::Le,
            "lt" => Op::Lt,
            _ => return None,
        };
        let (value, remainder) = if let Some(quoted) = after.strip_prefix('\'') {
            let end = quoted.find('\'')?;
            (
                Literal::Text(quoted[..end].to_string()),
                quoted[end + 1..].trim_start(),
            )
        } else {
            let (word, remainder) = match after.split_once(char::is_whitespace) {
                Some((w, r)) => (w, r.trim_start()),
                None => (after, ""),
            };
            let value = match word {
                "true" => Literal::Bool(true),
                "false" => Literal::Bool(false),
                w => Literal::Time(DateTime::parse_from_rfc3339(w).ok()?.with_timezone(&Utc)),
            };
            (value, remainder)
        };
        clauses.push(Clause {
            field: field.to_string(),
            op,
            value,
        });
        if remainder.is_empty() {
            return Some(clauses);
        }
        let (and, after) = remainder.split_once(char::is_whitespace)?;
        if !and.eq_ignore_ascii_case("and") {
            return None;
        }
        rest = after.trim_start();
    }
}

/// Whether `left op right` holds for two comparable values.
pub(crate) fn compare<T: PartialOrd>(left: &T, op: Op, right: &T) -> bool {
    match op {
        Op::Eq => left == right,
        Op::Ne => left != right,
        Op::Ge => left >= right,
        Op::Gt => left > right,
        Op::Le => left <= right,
        Op::Lt => left < right,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_comparisons_joined_by_and() {
        let clauses =
            parse("lastSyncDateTime ge 2025-01-01T00:00:00Z and operatingSystem eq 'Windows'")
                .expect("parses");
        assert_eq!(clauses.len(), 2);
        assert_eq!(clauses[0].op, Op::Ge);
        assert!(matches!(clauses[0].value, Literal::Time(_)));
        assert_eq!(clauses[1].value, Literal::Text("Windows".to_string()));
        assert!(parse("lastSyncDateTime ge").is_none());
        assert!(parse("a eq 'x' or b eq 'y'").is_none());
        assert!(parse("startswith(displayName,'a')").is_none());
    }
}
