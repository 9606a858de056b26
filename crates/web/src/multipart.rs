//! `multipart/form-data` bodies (RFC 7578): the fields and files of a form that uploads a file.
//!
//! Only what a browser sends is read: parts with a `Content-Disposition: form-data` header naming
//! the field, and a file name for files. Anything else is refused with a reason, never a panic.

/// The most parts one form may have: an upload form has a handful.
const MOST_PARTS: usize = 32;

/// One part of the body: a field, or a file when it has a file name. Its contents are borrowed
/// from the body, so finding one field does not copy the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part<'a> {
    pub name: String,
    pub filename: Option<String>,
    pub body: &'a [u8],
}

/// The boundary of a `multipart/form-data` content type, or `None` for any other type.
pub(crate) fn boundary(content_type: &str) -> Option<Result<String, String>> {
    let mut params = content_type.split(';');
    let kind = params.next().unwrap_or("").trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let found = params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
    });
    Some(match found {
        // RFC 2046: one to seventy characters.
        Some(b) if (1..=70).contains(&b.len()) && b.is_ascii() => Ok(b),
        Some(_) => Err("the form's boundary is not one to seventy ASCII characters".into()),
        None => Err("the form names no boundary".into()),
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// Splits a body into its parts.
pub(crate) fn parts<'a>(boundary: &str, body: &'a [u8]) -> Result<Vec<Part<'a>>, String> {
    let delimiter = format!("--{boundary}").into_bytes();
    let next_delimiter = format!("\r\n--{boundary}").into_bytes();
    // The first delimiter opens the body or follows a preamble and its line break.
    let mut at = if body.starts_with(&delimiter) {
        delimiter.len()
    } else {
        find(body, &next_delimiter)
            .map(|i| i + next_delimiter.len())
            .ok_or("the form has no parts")?
    };
    let mut parts = Vec::new();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding may follow a delimiter before its line break.
        let padding = rest
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        let Some(rest) = rest[padding..].strip_prefix(b"\r\n") else {
            return Err("a boundary line of the form is not ended by a line break".into());
        };
        if parts.len() == MOST_PARTS {
            return Err(format!("the form has more than {MOST_PARTS} parts"));
        }
        let start = body.len() - rest.len();
        let (headers, content) = match find(rest, b"\r\n\r\n") {
            Some(end) => (&rest[..end], end + 4),
            // A part with no headers at all starts straight after the line break.
            None if rest.starts_with(b"\r\n") => (&rest[..0], 2),
            None => return Err("a part of the form has no end to its headers".into()),
        };
        let content_start = start + content;
        let Some(length) = find(&body[content_start..], &next_delimiter) else {
            return Err("the form ends before its closing boundary".into());
        };
        let (name, filename) = disposition(headers)?;
        parts.push(Part {
            name,
            filename,
            body: &body[content_start..content_start + length],
        });
        at = content_start + length + next_delimiter.len();
    }
}

/// The field name and file name of a part's `Content-Disposition: form-data` header.
fn disposition(headers: &[u8]) -> Result<(String, Option<String>), String> {
    let headers = std::str::from_utf8(headers)
        .map_err(|_| "a part's headers are not UTF-8 text".to_owned())?;
    let value = headers
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-disposition"))
        .map(|(_, value)| value)
        .ok_or("a part of the form has no Content-Disposition header")?;
    let params = parameters(value);
    let mut params = params.into_iter();
    match params.next() {
        Some((kind, None)) if kind.eq_ignore_ascii_case("form-data") => {}
        _ => return Err("a part of the form is not form-data".into()),
    }
    let (mut name, mut filename) = (None, None);
    for (key, value) in params {
        if key.eq_ignore_ascii_case("name") {
            name = value;
        } else if key.eq_ignore_ascii_case("filename") {
            filename = value;
        }
    }
    let name = name.ok_or("a part of the form has no field name")?;
    Ok((name, filename))
}

/// `token; key=value; key="quoted value"` as (key, value) pairs, a bare token with no value.
/// Browsers send `"` in a name as `%22` and never escape with a backslash (the HTML standard's
/// form encoding), so a backslash is kept as it is: it may be part of a Windows path.
fn parameters(text: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ';') {
            chars.next();
        }
        if chars.peek().is_none() {
            return out;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && *c != ';') {
            key.push(c);
        }
        let key = key.trim().to_owned();
        if chars.next_if_eq(&'=').is_none() {
            out.push((key, None));
            continue;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            for c in chars.by_ref() {
                if c == '"' {
                    break;
                }
                value.push(c);
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ';') {
                value.push(c);
            }
            value = value.trim().to_owned();
        }
        out.push((key, Some(value)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[(&str, Option<&str>, &str)]) -> Vec<u8> {
        let mut out = String::from("preamble\r\n");
        for (name, file, content) in parts {
            out.push_str("--XyZ\r\nContent-Disposition: form-data; name=\"");
            out.push_str(name);
            out.push('"');
            if let Some(file) = file {
                out.push_str(&format!("; filename=\"{file}\"\r\nContent-Type: text/csv"));
            }
            out.push_str("\r\n\r\n");
            out.push_str(content);
            out.push_str("\r\n");
        }
        out.push_str("--XyZ--\r\n");
        out.into_bytes()
    }

    #[test]
    fn reads_fields_and_files_as_a_browser_sends_them() {
        let body = body(&[
            ("csrf", None, "t0ken"),
            ("file", Some("people.csv"), "id,name\r\nP1,Ann\r\n"),
            ("empty", None, ""),
        ]);
        let parts = parts("XyZ", &body).unwrap();
        let seen: Vec<(&str, Option<&str>, &[u8])> = parts
            .iter()
            .map(|p| (p.name.as_str(), p.filename.as_deref(), p.body))
            .collect();
        assert_eq!(
            seen,
            [
                ("csrf", None, b"t0ken".as_slice()),
                (
                    "file",
                    Some("people.csv"),
                    b"id,name\r\nP1,Ann\r\n".as_slice()
                ),
                ("empty", None, b"".as_slice()),
            ]
        );
    }

    #[test]
    fn a_boundary_comes_from_the_content_type_only_for_form_data() {
        let cases = [
            ("multipart/form-data; boundary=abc", Some(Ok("abc"))),
            (
                "Multipart/Form-Data; charset=utf-8; boundary=\"a b\"",
                Some(Ok("a b")),
            ),
            ("application/x-www-form-urlencoded", None),
            ("multipart/form-data", Some(Err(()))),
            ("multipart/form-data; boundary=", Some(Err(()))),
        ];
        for (content_type, expected) in cases {
            let got = boundary(content_type);
            let got = got.as_ref().map(|r| r.as_deref().map_err(|_| ()));
            assert_eq!(got, expected, "{content_type}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_whole_form() {
        let good = body(&[("a", None, "1")]);
        let cases: [(&[u8], &str); 5] = [
            (b"", "no parts"),
            (
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1",
                "closing boundary",
            ),
            (
                b"--XyZ\r\nContent-Type: text/plain\r\n\r\n1\r\n--XyZ--",
                "no Content-Disposition",
            ),
            (
                b"--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n1\r\n--XyZ--",
                "not form-data",
            ),
            (
                b"--XyZ\r\nContent-Disposition: form-data\r\n\r\n1\r\n--XyZ--",
                "no field name",
            ),
        ];
        for (input, reason) in cases {
            let err = parts("XyZ", input).unwrap_err();
            assert!(err.contains(reason), "{input:?}: {err}");
        }
        // Every cut of a good body is refused or read, never a panic.
        for end in 0..good.len() {
            let _ = parts("XyZ", &good[..end]);
        }
    }

    #[test]
    fn quoted_names_keep_their_semicolons_and_backslashes() {
        let params = parameters(r#"form-data; name="a;b"; filename="C:\x %22y%22.csv""#);
        assert_eq!(
            params,
            [
                ("form-data".to_owned(), None),
                ("name".to_owned(), Some("a;b".to_owned())),
                ("filename".to_owned(), Some(r"C:\x %22y%22.csv".to_owned())),
            ]
        );
    }
}
