//! Names where ids would stand: a finding's subject by what it is and whose it is, who must act
//! by role and by name, evidence by labelled values, packs by their titles. One place, so that
//! every page words the same thing the same way.

use std::collections::{HashMap, HashSet};

use steward_model::{Account, Asset, Person, Register, Subject};
use steward_policy::Pack;
use steward_service::{ServiceError, Steward};

/// A subject as a page shows it: a label, and its record's page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Named {
    pub label: String,
    pub href: Option<String>,
    /// The person the subject belongs to (themselves, an asset's holder, an account's owner).
    pub person: Option<(String, String)>,
    /// That person's line manager, by id and name.
    pub manager: Option<(String, String)>,
}

/// What the subjects of a set of findings are, read in a few statements however many there are.
#[derive(Default)]
pub(crate) struct Names {
    people: HashMap<String, Person>,
    assets: HashMap<String, Asset>,
    accounts: HashMap<String, Account>,
}

impl Names {
    /// Reads the people, equipment and accounts `subjects` name, and the people those belong to
    /// and their managers.
    pub(crate) fn read(s: &Steward, subjects: &[&Subject]) -> Result<Names, ServiceError> {
        let of = |kind: &str| -> Vec<String> {
            let ids: HashSet<String> = subjects
                .iter()
                .filter(|x| x.kind == kind)
                .map(|x| x.id.clone())
                .collect();
            ids.into_iter().collect()
        };
        let assets: HashMap<String, Asset> = s
            .list_where_any::<Asset>("tag", &of("asset"))?
            .into_iter()
            .map(|a| (a.tag.clone(), a))
            .collect();
        let accounts: HashMap<String, Account> = s
            .list_where_any::<Account>("id", &of("account"))?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let mut ids = of("person");
        ids.extend(assets.values().filter_map(|a| a.assigned_to.clone()));
        ids.extend(accounts.values().filter_map(|a| a.person_id.clone()));
        let mut people: HashMap<String, Person> = s
            .list_where_any::<Person>("id", &ids)?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let managers: Vec<String> = people
            .values()
            .filter_map(|p| p.manager_id.clone())
            .filter(|m| !people.contains_key(m))
            .collect();
        people.extend(
            s.list_where_any::<Person>("id", &managers)?
                .into_iter()
                .map(|p| (p.id.clone(), p)),
        );
        Ok(Names {
            people,
            assets,
            accounts,
        })
    }

    fn person(&self, id: &str) -> Option<(String, String)> {
        self.people.get(id).map(|p| (p.id.clone(), p.name.clone()))
    }

    /// A subject by name; `may_open_records` says whether the viewer may open record pages.
    pub(crate) fn subject(&self, subject: &Subject, may_open_records: bool) -> Named {
        let record = |register: Register| {
            may_open_records.then(|| {
                format!(
                    "/register/{}/{}",
                    register.entity(),
                    crate::pages::percent(&subject.id)
                )
            })
        };
        let (label, href, person) = match subject.kind.as_ref() {
            "person" => (
                self.people
                    .get(&subject.id)
                    .map_or_else(|| subject.id.clone(), |p| p.name.clone()),
                record(Register::People),
                self.person(&subject.id),
            ),
            "asset" => {
                let asset = self.assets.get(&subject.id);
                let holder = asset
                    .and_then(|a| a.assigned_to.as_deref())
                    .and_then(|id| self.person(id));
                let what = asset.map_or_else(
                    || "Equipment".to_owned(),
                    |a| crate::forms::capitalised(&a.kind.to_string().replace(['_', '-'], " ")),
                );
                let label = match &holder {
                    Some((_, name)) => format!("{what} {} (held by {name})", subject.id),
                    None => format!("{what} {}", subject.id),
                };
                (label, record(Register::Assets), holder)
            }
            "account" => {
                let account = self.accounts.get(&subject.id);
                let owner = account
                    .and_then(|a| a.person_id.as_deref())
                    .and_then(|id| self.person(id));
                let system = account.map_or("", |a| a.system.as_str());
                let label = match &owner {
                    Some((_, name)) => format!("{system} account {} ({name})", subject.id),
                    None => format!("{system} account {}", subject.id),
                };
                (
                    label.trim_start().to_owned(),
                    record(Register::Accounts),
                    owner,
                )
            }
            other => {
                let register = Register::parse(other);
                (
                    format!(
                        "{} {}",
                        crate::forms::capitalised(&other.replace('_', " ")),
                        subject.id
                    ),
                    register.and_then(record),
                    None,
                )
            }
        };
        let manager = person
            .as_ref()
            .and_then(|(id, _)| self.people.get(id))
            .and_then(|p| p.manager_id.as_deref())
            .and_then(|m| self.person(m));
        Named {
            label,
            href,
            person,
            manager,
        }
    }
}

/// Who must act, in words, naming the person where the role is one person's.
pub(crate) fn who_acts(word: &str, named: &Named) -> String {
    match word {
        "person" => match &named.person {
            Some((_, name)) => name.clone(),
            None => "the person concerned".to_owned(),
        },
        "line_manager" => match &named.manager {
            Some((_, name)) => format!("{name} (line manager)"),
            None => "the line manager".to_owned(),
        },
        "it_team" | "it" => "the IT team".to_owned(),
        "governance_team" | "governance" => "the governance team".to_owned(),
        "iao" => "the information asset owner".to_owned(),
        other => other.replace('_', " "),
    }
}

/// The parties a request waits for, in words: "the line manager (P000002) and the IT team".
pub(crate) fn approvers(roles: &[steward_model::ApproverRole], manager: Option<&str>) -> String {
    use steward_model::ApproverRole as A;
    let words: Vec<String> = roles
        .iter()
        .map(|role| match role {
            A::LineManager => match manager {
                Some(m) => format!("the line manager ({m})"),
                None => "a line manager (none is recorded)".to_owned(),
            },
            A::It => "the IT team".to_owned(),
            A::Hr => "HR".to_owned(),
            A::Senior => "a senior manager".to_owned(),
            A::Governance => "the governance team".to_owned(),
            A::Iao => "an information asset owner".to_owned(),
        })
        .collect();
    match words.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// A type of request in words, as a person would ask for it.
pub(crate) fn request_type(kind: &str) -> String {
    match kind {
        "new-starter" => "New starter",
        "user-account-delete" => "Delete a user account",
        "user-account-suspend" => "Suspend a user account",
        "user-account-return-to-work" => "Restore an account on return to work",
        "international-travel" => "International travel",
        "particular-needs" => "Equipment for particular needs",
        "additional-equipment" => "Additional equipment",
        "fault-replacement" => "Replace faulty equipment",
        "equipment-return" => "Return equipment",
        "system-access" => "Access to a system",
        "removable-media" => "Removable media",
        "pac-code" => "Keep a mobile number (PAC code)",
        "access-to-another-user" => "Access to another user's mailbox or files",
        "tablet-booking" => "Book a tablet",
        other => return crate::forms::capitalised(&other.replace(['-', '_'], " ")),
    }
    .to_owned()
}

/// A pack by its title, or its id when it is not loaded.
pub(crate) fn pack_title(packs: &[Pack], id: &str) -> String {
    packs
        .iter()
        .find(|p| p.id == id)
        .map_or_else(|| id.to_owned(), |p| p.title.clone())
}

/// An evidence path (`account.person.clearance`) as a label: the field in plain words, and
/// whose it is when it is not the subject's own ("Clearance, of the account's person").
pub(crate) fn evidence_label(path: &str) -> String {
    let mut parts: Vec<&str> = path.split('.').collect();
    let field = parts.pop().unwrap_or(path);
    let label = crate::forms::capitalised(&field.replace('_', " "));
    match parts.as_slice() {
        [] | [_] => label,
        [first, rest @ ..] => {
            let mut whose = format!("the {}", first.replace('_', " "));
            for part in rest {
                whose = format!("{whose}'s {}", part.replace('_', " "));
            }
            format!("{label}, of {whose}")
        }
    }
}

/// An evidence value in words: yes and no for booleans, "none" for nothing.
pub(crate) fn evidence_value(value: &str) -> String {
    match value.trim() {
        "" | "null" => "none".to_owned(),
        "true" => "yes".to_owned(),
        "false" => "no".to_owned(),
        other => other.trim_matches('"').to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_reads_as_labelled_values() {
        for (path, label) in [
            ("asset.encrypted", "Encrypted"),
            ("clearance", "Clearance"),
            (
                "account.person.clearance",
                "Clearance, of the account's person",
            ),
            (
                "asset.holder.leave_date",
                "Leave date, of the asset's holder",
            ),
        ] {
            assert_eq!(evidence_label(path), label, "{path}");
        }
        for (value, shown) in [
            ("true", "yes"),
            ("false", "no"),
            ("", "none"),
            ("null", "none"),
            ("\"sc\"", "sc"),
            ("14", "14"),
        ] {
            assert_eq!(evidence_value(value), shown, "{value}");
        }
    }

    #[test]
    fn every_request_type_has_words() {
        for kind in steward_model::RequestType::ALL {
            let words = request_type(kind);
            assert!(
                !words.contains('-') && words.starts_with(|c: char| c.is_uppercase()),
                "{kind}: {words}"
            );
        }
    }

    #[test]
    fn who_acts_names_the_person_where_it_is_one() {
        let named = Named {
            label: String::new(),
            href: None,
            person: Some(("P1".into(), "Ada Lovelace".into())),
            manager: Some(("M1".into(), "Grace Hopper".into())),
        };
        assert_eq!(who_acts("person", &named), "Ada Lovelace");
        assert_eq!(
            who_acts("line_manager", &named),
            "Grace Hopper (line manager)"
        );
        assert_eq!(who_acts("it_team", &named), "the IT team");
        let nobody = Named {
            person: None,
            manager: None,
            ..named
        };
        assert_eq!(who_acts("line_manager", &nobody), "the line manager");
    }
}
