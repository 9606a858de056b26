//! A finding's message as packs write it: text with `{path}` placeholders, `{path|words}` where
//! the words stand in for a value not recorded, and `{{` / `}}` for literal braces. Read once
//! here, for the loader that checks the paths and the engine that fills them.

/// One part of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessagePart {
    /// Text as written, braces unescaped.
    Text(String),
    /// A value to fill: its path, and the words to show when it is not recorded.
    Value {
        path: String,
        instead: Option<String>,
    },
}

/// The parts of `message`, and what is wrong with its braces (an unclosed `{`, a stray `}`, an
/// empty placeholder). A brace in error is kept as text.
pub fn message_parts(message: &str) -> (Vec<MessagePart>, Vec<String>) {
    let mut parts = Vec::new();
    let mut problems = Vec::new();
    let mut text = String::new();
    let mut chars = message.char_indices().peekable();
    let at = |i: usize| message[..i].chars().count() + 1;
    while let Some((i, c)) = chars.next() {
        match c {
            '{' | '}' if chars.peek().map(|&(_, n)| n) == Some(c) => {
                chars.next();
                text.push(c);
            }
            '{' => {
                let rest = &message[i + 1..];
                match rest.find(['}', '{']) {
                    Some(end) if rest.as_bytes()[end] == b'}' => {
                        let inside = &rest[..end];
                        let (path, instead) = match inside.split_once('|') {
                            Some((path, words)) => (path.trim(), Some(words.trim().to_owned())),
                            None => (inside.trim(), None),
                        };
                        if path.is_empty() {
                            problems.push("an empty placeholder `{}`".to_owned());
                        } else {
                            if !text.is_empty() {
                                parts.push(MessagePart::Text(std::mem::take(&mut text)));
                            }
                            parts.push(MessagePart::Value {
                                path: path.to_owned(),
                                instead,
                            });
                        }
                        for _ in 0..rest[..=end].chars().count() {
                            chars.next();
                        }
                    }
                    _ => {
                        problems.push(format!(
                            "a `{{` at character {} is never closed (write `{{{{` for a brace)",
                            at(i)
                        ));
                        text.push(c);
                    }
                }
            }
            '}' => {
                problems.push(format!(
                    "a `}}` at character {} was never opened (write `}}}}` for a brace)",
                    at(i)
                ));
                text.push(c);
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(MessagePart::Text(text));
    }
    (parts, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_into_text_values_and_braces() {
        let (parts, problems) =
            message_parts("Laptop {asset.tag} of {asset.holder.name|nobody} {{sic}}");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            parts,
            vec![
                MessagePart::Text("Laptop ".into()),
                MessagePart::Value {
                    path: "asset.tag".into(),
                    instead: None
                },
                MessagePart::Text(" of ".into()),
                MessagePart::Value {
                    path: "asset.holder.name".into(),
                    instead: Some("nobody".into())
                },
                MessagePart::Text(" {sic}".into()),
            ]
        );
        assert_eq!(
            message_parts("no braces").0,
            vec![MessagePart::Text("no braces".into())]
        );
        for bad in ["{asset.tag", "asset.tag}", "{}", "{ |never}"] {
            assert_eq!(message_parts(bad).1.len(), 1, "{bad}");
        }
    }
}
