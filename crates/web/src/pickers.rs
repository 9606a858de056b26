//! Choosing a person or a piece of equipment instead of typing an id: the one description of the
//! pickers — whom a request is for, whose equipment an incident concerns, whose team the findings
//! list shows — and of the choice among what a person holds.
//!
//! Whom a viewer may choose is decided once, by [`crate::access::acts_for_anyone`]: the IT team
//! and administrators find anyone by name, id or e-mail; anyone else chooses among themselves
//! and, as a line manager, their reports. A search is the service's
//! ([`steward_service::Steward::find_people`]), read as the viewer may read the people register,
//! and offers at most [`FOUND`] people, saying how many more match.

use steward_model::{Asset, Person};
use steward_service::{Among, Capacity, Stamp, Viewer};

use crate::{AppState, WebError, blocking};

/// The most people a search offers at once; past it, the page says how many more match.
pub(crate) const FOUND: u64 = 50;

/// The most characters of search text read (the search box takes no more).
pub(crate) const FIND_CHARS: usize = 200;

/// A person as a choice: their id, and their name with it.
pub(crate) fn person_choice(p: &Person) -> (String, String) {
    (p.id.clone(), format!("{} ({})", p.name, p.id))
}

/// Search text as it is read: trimmed, at most [`FIND_CHARS`] characters.
pub(crate) fn search_text(text: &str) -> String {
    text.trim().chars().take(FIND_CHARS).collect()
}

/// The people a search found, by name, each as a choice, and how many more match than are shown.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub choices: Vec<(String, String)>,
    pub more: u64,
}

impl Found {
    /// What the choice says under it when more match than it offers; empty when none do.
    pub(crate) fn more_hint(&self) -> String {
        if self.more == 0 {
            String::new()
        } else {
            format!("{} more: narrow the search", self.more)
        }
    }
}

/// The people `among` whose name, id or e-mail holds `text` (see [`search_text`]; everyone
/// `among` for no text), read as `viewer` may read the people register.
pub(crate) async fn find_people(
    state: &AppState,
    viewer: &Viewer,
    among: Among,
    text: &str,
) -> Result<Found, WebError> {
    let stamp = Stamp::of(viewer);
    let text = search_text(text);
    blocking(state, move |s| found(s, &stamp, among, &text)).await
}

/// [`find_people`]'s search, on the thread that reads: for a caller already there.
pub(crate) fn found(
    s: &steward_service::Steward,
    stamp: &Stamp,
    among: Among,
    text: &str,
) -> Result<Found, steward_service::ServiceError> {
    let (people, total) = s.find_people(stamp, among, text, FOUND)?;
    Ok(Found {
        more: total.saturating_sub(people.len() as u64),
        choices: people.iter().map(person_choice).collect(),
    })
}

/// Whom a viewer who does not act for anyone chooses among: themselves and, as a line manager,
/// their reports.
pub(crate) async fn own_people(
    state: &AppState,
    viewer: &Viewer,
) -> Result<Vec<(String, String)>, WebError> {
    let viewer = viewer.clone();
    blocking(state, move |s| {
        let Some(me) = viewer.person_id.clone() else {
            return Ok(Vec::new());
        };
        let mut people: Vec<Person> = s.get::<Person>(&me)?.into_iter().collect();
        if viewer.is(Capacity::LineManager) {
            people.extend(s.list_where::<Person>("manager_id", &me)?);
        }
        Ok(people.iter().map(person_choice).collect())
    })
    .await
}

/// The person with this id as a choice; `None` when nobody on the people register has it.
pub(crate) async fn named(
    state: &AppState,
    id: &str,
) -> Result<Option<(String, String)>, WebError> {
    let id = id.trim().to_owned();
    if id.is_empty() {
        return Ok(None);
    }
    blocking(state, move |s| {
        Ok(s.get::<Person>(&id)?.as_ref().map(person_choice))
    })
    .await
}

/// What `holder` holds, as the choices of an equipment select: its tag, and the tag with its kind
/// and model.
pub(crate) async fn held_by(
    state: &AppState,
    holder: &str,
) -> Result<Vec<(String, String)>, WebError> {
    let holder = holder.trim().to_owned();
    if holder.is_empty() {
        return Ok(Vec::new());
    }
    let held = blocking(state, move |s| {
        s.list_where::<Asset>("assigned_to", &holder)
    })
    .await?;
    Ok(held
        .into_iter()
        .map(|a| {
            let model = a.model.map(|m| format!(", {m}")).unwrap_or_default();
            (a.tag.clone(), format!("{} ({}{model})", a.tag, a.kind))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_trimmed_and_bounded_and_more_is_said() {
        let long = "x".repeat(FIND_CHARS * 5);
        let accented = "é".repeat(FIND_CHARS + 1);
        let cases = [
            ("  smith ", "smith".to_owned()),
            ("", String::new()),
            (long.as_str(), "x".repeat(FIND_CHARS)),
            // Characters, not bytes: never cut inside one.
            (accented.as_str(), "é".repeat(FIND_CHARS)),
        ];
        for (given, read) in cases {
            assert_eq!(search_text(given), read, "{given:?}");
        }
        let found = |more| Found {
            choices: Vec::new(),
            more,
        };
        assert_eq!(found(0).more_hint(), "");
        assert_eq!(found(7).more_hint(), "7 more: narrow the search");
    }
}
