//! The Connectors pages, for those who run connectors (who: [`crate::access`]). `/connectors`
//! lists each connector — its kind, whether a credential is sealed, its schedule, its last run
//! and how it ended, its next run, any preview waiting — and holds the form that adds one or
//! changes one, drawn from its kind's table of settings (`steward_connect::Kind::keys`: each
//! setting's name, whether it is required, its default, what it means). `/connectors/{name}`
//! shows one: its settings (its credential only as sealed or not), its runs, the preview
//! waiting field by field with the records to resolve (linked through the person picker, or
//! ignored), and its actions: a test (run on a blocking thread, its lines shown), a sync now and
//! the preview applied (each queued as a job — a web request never waits for a sync — and the
//! browser sent to the job's page), a portal export or mapped CSV file uploaded (a job too),
//! and the connector removed (with a box ticked to confirm it).
//!
//! A credential posted here is handed to the service, which seals it; it is never written into
//! a page again, not even into a form refused for another field.

use std::collections::BTreeMap;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use steward_connect::plan::{HOLDER_OF_ACCOUNT, HOLDER_OF_DEVICE, Plan, RecordChange};
use steward_connect::{ConnectError, Definition, Kind};
use steward_model::Register;
use steward_service::{Among, ConnectorView, ServiceError, Stamp};

use crate::forms::{ErrorItem, Errors, Input, Problem, capitalised, words};
use crate::pages::{Chrome, page_refusing, percent};
use crate::pickers::{self, Found, search_text};
use crate::session::{Form, UploadForm};
use crate::{AppState, Signed, WebError, blocking};

/// The most records of each kind of change (created, updated, missing, back) a preview lists;
/// `steward connect preview` lists every one.
const LISTED: usize = 200;

/// An instant as the organisation's clocks showed it; empty for none.
fn when(t: Option<DateTime<Utc>>, zone: chrono_tz::Tz) -> String {
    t.as_ref()
        .map(|t| crate::processes::local_text(t, zone))
        .unwrap_or_default()
}

/// A setting's name as a label: `client_id` → `Client ID`, `base_url` → `Base URL`.
fn setting_label(name: &str) -> String {
    if name == "sign_in_days" {
        return "Sign-in days".into();
    }
    words(name)
        .split(' ')
        .map(|w| match w {
            "id" => "ID",
            "url" => "URL",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a connector holds as its credential, in words: never the credential.
fn credential(kind: Kind, sealed: bool) -> &'static str {
    match (kind.secret(), sealed) {
        (None, _) => "not needed",
        (Some(_), true) => "sealed",
        (Some(_), false) => "none",
    }
}

/// How often it syncs on its own, in words.
fn schedule(definition: &Definition) -> String {
    if definition.kind == Kind::Csv {
        return "only when given a file".into();
    }
    match definition.get("schedule") {
        Some(s) if s.trim() == "off" => "off: only when asked".into(),
        Some(s) => format!("every {}", s.trim()),
        None => String::new(),
    }
}

/// When it last ran: a held run is no run yet (its schedule counts from the last applied one),
/// but the preview it left says when the source was read.
fn last_run(view: &ConnectorView, zone: chrono_tz::Tz) -> String {
    match (
        view.last_run_at,
        view.pending.as_ref().and_then(|p| p.made_at),
    ) {
        (Some(t), _) => when(Some(t), zone),
        (None, Some(read)) => format!("read {}, not applied yet", when(Some(read), zone)),
        (None, None) => "never".into(),
    }
}

/// A connector's page, `/connectors/{name}`.
fn page_of(name: &str) -> String {
    format!("/connectors/{}", percent(name))
}

// --- the list and the form ------------------------------------------------------------------

/// One connector as a row of the list.
struct ConnectorRow {
    name: String,
    href: String,
    kind: &'static str,
    credential: &'static str,
    schedule: String,
    last_run: String,
    outcome: String,
    next_run: String,
    /// Since when a preview has waited; empty when none does.
    preview: String,
}

/// The form that adds a connector of one kind, or changes one.
struct SettingsForm {
    kind: &'static str,
    kind_title: &'static str,
    /// Changing the connector of this name (its name and kind fixed); adding one when empty.
    change: String,
    name: Input,
    settings: Vec<Input>,
    /// The credential typed in; `None` for a kind that takes none, or one given as a file.
    secret: Option<Input>,
    /// The credential is a key file, chosen as a file (`secret_file`).
    secret_file: Option<Input>,
}

#[derive(Template)]
#[template(path = "connectors.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<ConnectorRow>,
    /// Each kind: its name, what people call it, whether it is the one chosen.
    kinds: Vec<(&'static str, &'static str, bool)>,
    form: Option<SettingsForm>,
    errors: Errors,
}

/// What `/connectors` is asked for: the kind whose form to show, or the connector to change.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct ListQuery {
    pub kind: String,
    pub change: String,
}

/// The form for `kind`: every setting of its table, filled from `values` (the connector's
/// settings when changing it, or what was posted), and its credential, empty always.
fn settings_form(
    kind: Kind,
    change: Option<&ConnectorView>,
    values: &BTreeMap<String, String>,
    name: &str,
) -> SettingsForm {
    let settings = kind
        .keys()
        .map(|key| {
            let id = format!("field-{}", key.name);
            let label = setting_label(key.name);
            let mut input = if key.name == "profile" {
                Input::many_lines(&id, key.name, &label)
            } else {
                let mut input = Input::text(&id, key.name, &label);
                input.autocomplete = "off";
                if key.name.ends_with("_url") {
                    input.kind = "url";
                } else if matches!(
                    key.name,
                    "leavers_threshold" | "missing_threshold" | "sign_in_days"
                ) {
                    input.inputmode = "numeric";
                }
                input
            };
            input.required = key.required;
            input.hint = match key.default {
                Some(default) => format!("{}. Left empty: {default}", capitalised(key.about)),
                None => capitalised(key.about),
            };
            if let Some(default) = key.default {
                input = input.placeholder(default);
            }
            input.value(values.get(key.name).cloned().unwrap_or_default())
        })
        .collect();
    let keeps = change.is_some_and(|c| c.has_secret);
    let about = |what: &str| {
        if keeps {
            format!(
                "A credential is sealed: leave this empty to keep it, or give {what} to replace it"
            )
        } else {
            "Sealed as it is saved and never shown again. Without one the connector can still \
             sync from files"
                .to_owned()
        }
    };
    let (secret, secret_file) = match kind {
        Kind::Csv => (None, None),
        Kind::GoogleWorkspace => (
            None,
            Some(
                Input::text(
                    "field-secret_file",
                    "secret_file",
                    "The service account's key file",
                )
                .hint(about("a new key file")),
            ),
        ),
        other => (
            Some(
                Input::secret(
                    "field-secret",
                    "secret",
                    &capitalised(other.secret().unwrap_or("the credential")),
                )
                .hint(about("a new one")),
            ),
            None,
        ),
    };
    let mut name_input = Input::text("field-name", "name", "Name")
        .required(true)
        .hint("Lower-case letters, digits, - and _, at most 64 characters, such as m365 or hr")
        .value(name);
    name_input.maxlength = Some(64);
    name_input.autocomplete = "off";
    SettingsForm {
        kind: kind.name(),
        kind_title: kind.title(),
        change: change
            .map(|c| c.definition.name.clone())
            .unwrap_or_default(),
        name: name_input,
        settings,
        secret,
        secret_file,
    }
}

fn connector_row(view: &ConnectorView, zone: chrono_tz::Tz) -> ConnectorRow {
    let d = &view.definition;
    ConnectorRow {
        href: page_of(&d.name),
        name: d.name.clone(),
        kind: d.kind.title(),
        credential: credential(d.kind, view.has_secret),
        schedule: schedule(d),
        last_run: last_run(view, zone),
        outcome: view.last_outcome.clone().unwrap_or_default(),
        next_run: if d.kind == Kind::Csv {
            String::new()
        } else if view.pending.is_some() {
            "not until the preview is applied".into()
        } else {
            when(view.next_run, zone)
        },
        preview: view
            .pending
            .as_ref()
            .map(|p| match p.made_at {
                Some(t) => format!("since {}", when(Some(t), zone)),
                None => "yes".into(),
            })
            .unwrap_or_default(),
    }
}

async fn connector_views(
    state: &AppState,
    signed: &Signed,
) -> Result<Vec<ConnectorView>, WebError> {
    let stamp = Stamp::of(&signed.viewer);
    blocking(state, move |s| s.connectors(&stamp)).await
}

/// The list, with the form for `form`'s kind when one is chosen, its problems beside its fields.
async fn list_page(
    state: &AppState,
    signed: &Signed,
    form: Option<SettingsForm>,
    problems: &[Problem],
) -> Result<Response, WebError> {
    let views = connector_views(state, signed).await?;
    let mut form = form;
    let errors = match &mut form {
        Some(f) => Errors::place(
            problems,
            std::iter::once(&mut f.name)
                .chain(f.settings.iter_mut())
                .chain(f.secret.iter_mut())
                .chain(f.secret_file.iter_mut()),
        ),
        None => Errors::place(problems, std::iter::empty()),
    };
    let chosen = form.as_ref().map(|f| f.kind).unwrap_or_default();
    page_refusing(
        !errors.is_empty(),
        &ListPage {
            chrome: Chrome::signed(state, signed, "/connectors"),
            rows: views
                .iter()
                .map(|v| connector_row(v, signed.zone))
                .collect(),
            kinds: Kind::ALL
                .iter()
                .map(|k| (k.name(), k.title(), k.name() == chosen))
                .collect(),
            form,
            errors,
        },
    )
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    let change = query.change.trim();
    let form = if change.is_empty() {
        match query.kind.trim() {
            "" => None,
            word => {
                let kind = Kind::parse(word).map_err(|e| WebError::BadRequest(e.to_string()))?;
                Some(settings_form(kind, None, &BTreeMap::new(), ""))
            }
        }
    } else {
        let views = connector_views(&state, &signed).await?;
        let view = views
            .iter()
            .find(|v| v.definition.name == change)
            .ok_or(WebError::NotFound)?;
        let d = &view.definition;
        Some(settings_form(d.kind, Some(view), &d.settings, &d.name))
    };
    list_page(&state, &signed, form, &[]).await
}

/// Adds a connector, or changes the one of that name: its settings become those posted, its
/// credential is sealed if one was given (kept if not). Refused settings are shown again beside
/// their fields; the credential never is.
pub(crate) async fn save(
    State(state): State<AppState>,
    UploadForm { signed, mut form }: UploadForm,
) -> Result<Response, WebError> {
    let kind_word = form.get("kind");
    let Ok(kind) = Kind::parse(&kind_word) else {
        return list_page(
            &state,
            &signed,
            None,
            &[Problem::at("kind", "choose the kind of connector first")],
        )
        .await;
    };
    let name = form.get("name");
    let change = form.get("change");
    let mut settings = BTreeMap::new();
    for key in kind.keys() {
        let value = form.get(key.name);
        if !value.is_empty() {
            settings.insert(key.name.to_owned(), value);
        }
    }
    let file = form.take_file("secret_file");
    let typed = form.get("secret");
    let views = connector_views(&state, &signed).await?;
    let existing = views.iter().find(|v| v.definition.name == name);
    // Shown again as posted, with the credential left out.
    let refused = |problems: Vec<Problem>| {
        let changing = existing.filter(|_| !change.is_empty());
        let shown = settings_form(kind, changing, &settings, &name);
        (shown, problems)
    };
    let secret = match file {
        Some(upload) => match String::from_utf8(upload.bytes) {
            Ok(text) => Some(text),
            Err(_) => {
                let (shown, problems) = refused(vec![Problem::at(
                    "secret_file",
                    format!(
                        "{} is not a text file: choose the JSON key file",
                        upload.filename
                    ),
                )]);
                return list_page(&state, &signed, Some(shown), &problems).await;
            }
        },
        None => (!typed.is_empty()).then_some(typed),
    };
    if change.is_empty() && existing.is_some() {
        let (shown, problems) = refused(vec![Problem::at(
            "name",
            "a connector of this name exists already: change it from its page, or choose another name",
        )]);
        return list_page(&state, &signed, Some(shown), &problems).await;
    }
    let definition = match Definition::new(&name, kind, settings.clone()) {
        Ok(d) => d,
        Err(e) => {
            let (shown, problems) = refused(vec![problem_of(&e)]);
            return list_page(&state, &signed, Some(shown), &problems).await;
        }
    };
    let stamp = Stamp::of(&signed.viewer);
    let saved = blocking(&state, move |s| {
        s.save_connector(&stamp, &definition, secret.as_deref())
    })
    .await;
    match saved {
        Ok(()) => Ok(Redirect::to(&page_of(&name)).into_response()),
        Err(WebError::Service(ServiceError::Connector { source, .. })) => {
            let (shown, problems) = refused(vec![problem_of(&source)]);
            list_page(&state, &signed, Some(shown), &problems).await
        }
        Err(e) => Err(e),
    }
}

/// A connector's refusal, beside the setting it names where it names one.
fn problem_of(e: &ConnectError) -> Problem {
    match e {
        ConnectError::Setting { key, reason } => Problem::at(key.clone(), reason.clone()),
        other => Problem::general(other.to_string()),
    }
}

// --- one connector --------------------------------------------------------------------------

/// One setting as the page shows it.
struct SettingRow {
    key: &'static str,
    value: String,
    /// Not set: the value shown is the default.
    default: bool,
}

/// One record a preview would change.
struct ChangeRow {
    register: String,
    id: String,
    /// The record's page, when it is in the register already.
    href: Option<String>,
    /// Each field: name, now, after (empty: none).
    fields: Vec<(String, String, String)>,
}

/// The records of one kind of change.
struct Section {
    id: &'static str,
    title: &'static str,
    count: usize,
    rows: Vec<ChangeRow>,
}

/// A source record the preview could not place, and how to resolve it.
struct UnmatchedRow {
    n: usize,
    /// A person can resolve it here; otherwise it is put right in the source (a value the
    /// register refuses).
    resolvable: bool,
    feed: String,
    source_id: String,
    label: String,
    reason: String,
    /// What to link it to.
    to: Input,
    /// What a person decided about it already, in words.
    decided: Option<String>,
}

/// A preview waiting for a person.
struct Preview {
    made: String,
    counts: String,
    hold: Vec<String>,
    sections: Vec<Section>,
    unmatched: Vec<UnmatchedRow>,
    skipped: Vec<(String, String)>,
    /// Whether any record to resolve is a person's (so the picker helps).
    picks_people: bool,
}

/// What a test found.
struct Tested {
    ok: bool,
    lines: Vec<String>,
}

#[derive(Template)]
#[template(path = "connector.html")]
struct ConnectorPage {
    chrome: Chrome,
    name: String,
    href: String,
    /// The form that changes its settings.
    change_href: String,
    kind: &'static str,
    kind_title: &'static str,
    csv: bool,
    settings: Vec<SettingRow>,
    profile: Option<String>,
    credential: &'static str,
    created: String,
    created_by: String,
    schedule: String,
    last_run: String,
    outcome: String,
    next_run: String,
    tested: Option<Tested>,
    preview: Option<Preview>,
    /// The preview waits to be applied (otherwise it is what the last sync left to resolve).
    waiting: bool,
    find: String,
    find_hint: String,
    /// The file upload's input, its problem beside it.
    file_error: Option<String>,
    confirm_error: Option<String>,
    errors: Errors,
}

/// What a connector's page is asked: a person to find for the records to resolve.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct ShowQuery {
    pub find: String,
}

/// What a refused form on a connector's page puts beside its field.
#[derive(Default)]
struct Refused {
    /// The record to resolve (feed, source id) and why it was not.
    resolve: Option<(String, String, String)>,
    file: Option<String>,
    confirm: Option<String>,
}

impl Refused {
    fn is_empty(&self) -> bool {
        self.resolve.is_none() && self.file.is_none() && self.confirm.is_none()
    }
}

fn section_of(
    changes: &[&RecordChange],
    id: &'static str,
    title: &'static str,
    linked: bool,
) -> Section {
    let rows = changes
        .iter()
        .take(LISTED)
        .map(|c| {
            let entity = Register::ALL
                .iter()
                .find(|r| r.name() == c.register)
                .map(|r| r.entity());
            ChangeRow {
                href: entity
                    .filter(|_| linked)
                    .map(|e| format!("/register/{e}/{}", percent(&c.id))),
                register: c.register.to_string(),
                id: c.id.clone(),
                fields: c
                    .fields
                    .iter()
                    .map(|f| (f.field.to_string(), f.from.clone(), f.to.clone()))
                    .collect(),
            }
        })
        .collect();
    Section {
        id,
        title,
        count: changes.len(),
        rows,
    }
}

async fn connector_page(
    state: &AppState,
    signed: &Signed,
    name: String,
    find: &str,
    tested: Option<Tested>,
    refused: Refused,
) -> Result<Response, WebError> {
    let zone = signed.zone;
    let stamp = Stamp::of(&signed.viewer);
    let wanted = name.clone();
    let (view, decisions) = blocking(state, move |s| {
        let view = s
            .connectors(&stamp)?
            .into_iter()
            .find(|v| v.definition.name == wanted)
            .ok_or_else(|| ServiceError::NoConnector(wanted.clone()))?;
        let decisions = s.connector_decisions(&stamp, &wanted)?;
        Ok((view, decisions))
    })
    .await?;
    let d = &view.definition;
    let find = search_text(find);
    let picks_people = |feed: &str| matches!(feed, "people") || is_holder(feed);
    let found = match view.pending.as_ref().or(view.last.as_ref()) {
        Some(plan) if !find.is_empty() && plan.unmatched.iter().any(|u| picks_people(&u.feed)) => {
            pickers::find_people(state, &signed.viewer, Among::Everyone, &find).await?
        }
        _ => Found::default(),
    };
    let find_hint = if !find.is_empty() && found.choices.is_empty() {
        format!("Nobody's name, id or e-mail holds {find:?}: type their id")
    } else {
        found.more_hint()
    };
    let mut items = Vec::new();
    // The preview waiting; else what the last applied sync left to resolve.
    let waiting = view.pending.is_some();
    let shown = view.pending.as_ref().or(view
        .last
        .as_ref()
        .filter(|p| !p.unmatched.is_empty() || !p.skipped.is_empty()));
    let preview = shown.map(|plan| {
        preview_of(
            plan,
            zone,
            &found,
            &decisions,
            refused.resolve.as_ref(),
            &mut items,
        )
    });
    // A record no longer in the preview (a sync applied it meanwhile): said at the top.
    if let Some((feed, source_id, why)) = &refused.resolve
        && items.is_empty()
    {
        items.push(ErrorItem {
            target: None,
            text: format!("{feed} {source_id}: {why}"),
        });
    }
    let mut settings = Vec::new();
    let mut profile = None;
    for key in d.kind.keys() {
        if key.name == "profile" {
            profile = d.get("profile");
            continue;
        }
        let set = d.settings.get(key.name);
        settings.push(SettingRow {
            key: key.name,
            value: set.cloned().or_else(|| d.get(key.name)).unwrap_or_default(),
            default: set.is_none(),
        });
    }
    if let Some(e) = &refused.file {
        items.push(ErrorItem {
            target: Some("field-file".into()),
            text: format!("File: {e}"),
        });
    }
    if let Some(e) = &refused.confirm {
        items.push(ErrorItem {
            target: Some("field-confirm".into()),
            text: format!("Remove: {e}"),
        });
    }
    let errors = Errors { items };
    page_refusing(
        !refused.is_empty(),
        &ConnectorPage {
            chrome: Chrome::signed(state, signed, "/connectors"),
            href: page_of(&d.name),
            change_href: format!("/connectors?change={}#add", percent(&d.name)),
            name: d.name.clone(),
            kind: d.kind.name(),
            kind_title: d.kind.title(),
            csv: d.kind == Kind::Csv,
            settings,
            profile,
            credential: credential(d.kind, view.has_secret),
            created: when(Some(view.created_at), zone),
            created_by: view.created_by.clone(),
            schedule: schedule(d),
            last_run: last_run(&view, zone),
            outcome: view.last_outcome.clone().unwrap_or_default(),
            next_run: if d.kind == Kind::Csv {
                "only when given a file".into()
            } else if view.pending.is_some() {
                "not until the preview is applied".into()
            } else if view.next_run.is_some() {
                when(view.next_run, zone)
            } else {
                "only when asked".into()
            },
            tested,
            preview,
            waiting,
            find,
            find_hint,
            file_error: refused.file,
            confirm_error: refused.confirm,
            errors,
        },
    )
}

fn is_holder(feed: &str) -> bool {
    feed == HOLDER_OF_ACCOUNT || feed == HOLDER_OF_DEVICE
}

/// The preview waiting, as the page lists it: counts, why it is held, each change, the records
/// to resolve (each with its form, or what was decided), and the feeds skipped.
fn preview_of(
    plan: &Plan,
    zone: chrono_tz::Tz,
    found: &Found,
    decisions: &[steward_store::SourceLink],
    refused: Option<&(String, String, String)>,
    items: &mut Vec<ErrorItem>,
) -> Preview {
    let c = &plan.counts;
    let of = |action: &str| -> Vec<&RecordChange> {
        plan.changes
            .iter()
            .filter(|ch| ch.action == action)
            .collect()
    };
    let sections = vec![
        section_of(&of("created"), "created", "To create", false),
        section_of(&of("updated"), "updated", "To update, field by field", true),
        section_of(&of("missing"), "missing", "Missing from the source", true),
        section_of(&of("back"), "back", "Back in the source", true),
    ];
    let mut picks_people = false;
    let unmatched = plan
        .unmatched
        .iter()
        .enumerate()
        .map(|(n, u)| {
            let id = format!("field-to-{n}");
            let person = u.feed == "people" || is_holder(&u.feed);
            picks_people |= person;
            let label = format!("Link {} to", u.source_id);
            let mut to = if person && !found.choices.is_empty() {
                Input::select(&id, "to", &label, found.choices.clone(), "").required(true)
            } else {
                let what = match u.feed.as_str() {
                    "accounts" => "The id of the account on the accounts register",
                    "devices" => "The tag of the asset on the assets register",
                    _ if is_holder(&u.feed) => {
                        "The id of the person it belongs to, or find them above"
                    }
                    _ => "The person's id on the people register, or find them above",
                };
                let mut input = Input::text(&id, "to", &label).hint(what).unmarked();
                input.autocomplete = "off";
                input
            };
            if let Some((feed, source_id, why)) = refused
                && *feed == u.feed
                && *source_id == u.source_id
            {
                let text = format!("{label}: {why}");
                to.error = Some(text.clone());
                items.push(ErrorItem {
                    target: Some(id.clone()),
                    text,
                });
            }
            let decided = decisions
                .iter()
                .find(|l| l.feed == u.feed && l.source_id == u.source_id)
                .map(|l| {
                    let what = match &l.record_id {
                        Some(r) => format!("linked to {r}"),
                        None => "ignored".to_owned(),
                    };
                    format!(
                        "Decided: {what}, by {} at {}; the next sync uses it",
                        l.decided_by.clone().unwrap_or_default(),
                        when(l.decided_at, zone)
                    )
                });
            UnmatchedRow {
                n,
                resolvable: matches!(
                    u.feed.as_str(),
                    "people" | "accounts" | "devices" | HOLDER_OF_ACCOUNT | HOLDER_OF_DEVICE
                ) && !u.reason.starts_with("value not taken"),
                feed: u.feed.clone(),
                source_id: u.source_id.clone(),
                label: u.label.clone(),
                reason: u.reason.clone(),
                to,
                decided,
            }
        })
        .collect();
    Preview {
        made: when(plan.made_at, zone),
        counts: format!(
            "{} listed: {} to create, {} to update, {} missing from the source, {} back, {} unchanged; {} new sightings; {} to resolve.",
            c.listed,
            c.created,
            c.updated,
            c.missing,
            c.back,
            c.unchanged,
            c.sightings,
            plan.unmatched.len()
        ),
        hold: plan.hold.iter().map(|h| capitalised(h)).collect(),
        sections,
        unmatched,
        skipped: plan.skipped.clone(),
        picks_people,
    }
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(name): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, WebError> {
    connector_page(&state, &signed, name, &query.find, None, Refused::default()).await
}

/// Tests the connector — a token, then a small read of each feed — on a blocking thread, and
/// shows what it found, or why it could not.
pub(crate) async fn test(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    let _ = Form::read(request).await?;
    let stamp = Stamp::of(&signed.viewer);
    let n = name.clone();
    let tested = match blocking(&state, move |s| s.test_connector(&stamp, &n)).await {
        Ok(lines) => Tested { ok: true, lines },
        Err(WebError::Service(ServiceError::Connector { source, .. })) => Tested {
            ok: false,
            lines: vec![capitalised(&source.to_string())],
        },
        Err(e) => return Err(e),
    };
    connector_page(&state, &signed, name, "", Some(tested), Refused::default()).await
}

/// Queues a sync (`apply`: even one that would stop at a preview) and sends the browser to the
/// job's page.
async fn queue(
    state: &AppState,
    signed: &Signed,
    name: String,
    file: Option<(String, Vec<u8>)>,
    apply: bool,
) -> Result<Response, WebError> {
    let stamp = Stamp::of(&signed.viewer);
    let (id, _) = blocking(state, move |s| s.enqueue_sync(&stamp, &name, file, apply)).await?;
    state.jobs.wake();
    Ok(Redirect::to(&format!("/jobs/{id}")).into_response())
}

pub(crate) async fn sync(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    let _ = Form::read(request).await?;
    queue(&state, &signed, name, None, false).await
}

pub(crate) async fn apply(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    let _ = Form::read(request).await?;
    queue(&state, &signed, name, None, true).await
}

/// A portal export or a mapped CSV file, synced as a job; applied even past a preview when the
/// box says so.
pub(crate) async fn upload(
    State(state): State<AppState>,
    Path(name): Path<String>,
    UploadForm { signed, mut form }: UploadForm,
) -> Result<Response, WebError> {
    let apply = form.get("apply") == "yes";
    let Some(file) = form.take_file("file") else {
        let refused = Refused {
            file: Some("choose the file to read".into()),
            ..Refused::default()
        };
        return connector_page(&state, &signed, name, "", None, refused).await;
    };
    queue(
        &state,
        &signed,
        name,
        Some((file.filename, file.bytes)),
        apply,
    )
    .await
}

/// A person's decision about a record the connector could not place: linked to a record, or
/// ignored from now on.
pub(crate) async fn resolve(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    let form = Form::read(request).await?;
    let feed = form.get("feed");
    let source_id = form.get("source_id");
    let ignore = form.get("ignore") == "yes";
    let to = form.get("to");
    if feed.is_empty() || source_id.is_empty() {
        return Err(WebError::BadRequest(
            "resolve: the form names no record (feed and source_id)".into(),
        ));
    }
    let refuse = |why: String| Refused {
        resolve: Some((feed.clone(), source_id.clone(), why)),
        ..Refused::default()
    };
    if !ignore && to.is_empty() {
        let refused = refuse("say which record it is, or ignore it".into());
        return connector_page(&state, &signed, name, "", None, refused).await;
    }
    let stamp = Stamp::of(&signed.viewer);
    let (n, f, sid) = (name.clone(), feed.clone(), source_id.clone());
    let target = (!ignore).then(|| to.clone());
    let decided = blocking(&state, move |s| {
        s.decide_source_record(&stamp, &n, &f, &sid, target.as_deref())
    })
    .await;
    match decided {
        Ok(()) => Ok(Redirect::to(&format!("{}#unmatched", page_of(&name))).into_response()),
        Err(WebError::Service(e @ ServiceError::NotFound { .. })) => {
            let refused = refuse(e.to_string());
            connector_page(&state, &signed, name, "", None, refused).await
        }
        Err(WebError::Service(ServiceError::Connector { source, .. })) => {
            let refused = refuse(source.to_string());
            connector_page(&state, &signed, name, "", None, refused).await
        }
        Err(e) => Err(e),
    }
}

/// Removes the connector once the box confirming it is ticked; what it kept stays.
pub(crate) async fn remove(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    let form = Form::read(request).await?;
    if form.get("confirm") != "yes" {
        let refused = Refused {
            confirm: Some("tick the box to confirm that the connector is to go".into()),
            ..Refused::default()
        };
        return connector_page(&state, &signed, name, "", None, refused).await;
    }
    let stamp = Stamp::of(&signed.viewer);
    blocking(&state, move |s| s.remove_connector(&stamp, &name)).await?;
    Ok(Redirect::to("/connectors").into_response())
}
