//! The API's OpenAPI 3.1 document, made from the code it describes — the registers' own field
//! declarations (names, types, limits, which are required) and the API's routes — so that the
//! contract cannot drift from what the server does. Served at `/api/v1/openapi.json` and
//! printed by `steward api spec`.

use serde_json::{Map, Value as Json, json};
use steward_model::{Field, FieldType, Register};

use crate::api::{BASE, DEFAULT_ROWS, MOST_ROWS, registers};

/// The schema's name for a register's row.
fn schema_name(register: Register) -> String {
    let mut name = String::new();
    for word in register.name().split('_') {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            name.extend(first.to_uppercase());
            name.push_str(chars.as_str());
        }
    }
    name
}

/// What a field's value is in JSON: as a row returns it (`output`), or as a client may send it.
fn field_schema(field: &Field, output: bool) -> Json {
    let text = |extra: Json| {
        let mut s = json!({ "type": "string", "maxLength": field.max_chars });
        if let (Some(map), Json::Object(more)) = (s.as_object_mut(), extra) {
            map.extend(more);
        }
        s
    };
    let mut schema = match field.ty {
        FieldType::Text => text(json!({})),
        // As the registers read them: an id has no spaces; a lower-case id starts with a letter
        // or digit and has letters, digits, hyphens, underscores and dots.
        FieldType::Id => text(json!({ "pattern": "^\\S+$" })),
        FieldType::Slug => text(json!({ "pattern": "^[a-z0-9][a-z0-9_.-]*$" })),
        FieldType::Email => text(json!({ "format": "email" })),
        FieldType::Enum(words) => json!({ "type": "string", "enum": words }),
        FieldType::Bool => {
            if output {
                json!({ "type": "boolean" })
            } else {
                json!({ "type": ["boolean", "string"] })
            }
        }
        FieldType::Date => json!({ "type": "string", "format": "date" }),
        FieldType::Timestamp => json!({ "type": "string", "format": "date-time" }),
        FieldType::Money => {
            if output {
                json!({ "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,2})?$" })
            } else {
                json!({ "type": ["string", "number"] })
            }
        }
        FieldType::Int => {
            if output {
                json!({ "type": "integer", "minimum": 0 })
            } else {
                json!({ "type": ["integer", "string"] })
            }
        }
        FieldType::Month => json!({ "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$" }),
        FieldType::Country => json!({ "type": "string", "pattern": "^[A-Z]{2}$" }),
        FieldType::Countries => json!({ "type": "string" }),
    };
    // A field left empty is null; a required one never is in a row.
    if !(field.required && output)
        && let Some(map) = schema.as_object_mut()
    {
        let ty = map.remove("type").unwrap_or(Json::Null);
        let mut types = match ty {
            Json::Array(types) => types,
            one => vec![one],
        };
        types.push(json!("null"));
        map.insert("type".into(), Json::Array(types));
        if let Some(Json::Array(words)) = map.get_mut("enum") {
            words.push(Json::Null);
        }
    }
    if let Some(to) = field.refers_to
        && let Some(map) = schema.as_object_mut()
    {
        map.insert(
            "description".into(),
            json!(format!("the id of a {}", to.entity())),
        );
    }
    schema
}

/// A register's row as returned (every field), and as sent to create one (its file's columns).
fn row_schemas(register: Register) -> (Json, Json) {
    let mut returned = Map::new();
    let mut sent = Map::new();
    let mut required_returned = Vec::new();
    let mut required_sent = Vec::new();
    for field in register.fields() {
        returned.insert(field.name.into(), field_schema(field, true));
        required_returned.push(json!(field.name));
        if field.csv {
            sent.insert(field.name.into(), field_schema(field, false));
            if field.required {
                required_sent.push(json!(field.name));
            }
        }
    }
    let changes = Json::Object(sent.clone());
    (
        json!({
            "type": "object",
            "description": format!("A {} as the register holds it.", register.entity()),
            "properties": returned,
            "required": required_returned,
        }),
        json!({
            "type": "object",
            "properties": changes,
            "required": required_sent,
            "additionalProperties": false,
        }),
    )
}

fn problem_response(description: &str) -> Json {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

/// The answers every authenticated operation may give besides its own.
fn common_responses(responses: &mut Map<String, Json>) {
    responses.insert(
        "401".into(),
        problem_response("No live API token was sent."),
    );
    responses.insert(
        "403".into(),
        problem_response("The token, or whom it acts for, may not do this."),
    );
    responses.insert(
        "429".into(),
        json!({
            "description": "Too many requests with this token this minute.",
            "headers": { "Retry-After": { "schema": { "type": "integer" }, "description": "Seconds to wait." } },
            "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
        }),
    );
    responses.insert(
        "503".into(),
        problem_response("The database is not answering just now."),
    );
}

fn operation(id: &str, summary: &str, mut responses: Map<String, Json>, extra: Json) -> Json {
    common_responses(&mut responses);
    let mut op = json!({
        "operationId": id,
        "summary": summary,
        "responses": responses,
    });
    if let (Some(map), Json::Object(more)) = (op.as_object_mut(), extra) {
        map.extend(more);
    }
    op
}

fn ok_json(description: &str, schema: Json) -> Json {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn responses(pairs: Vec<(&str, Json)>) -> Map<String, Json> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// The whole document.
pub(crate) fn document() -> Json {
    let mut schemas = Map::new();
    schemas.insert(
        "Problem".into(),
        json!({
            "type": "object",
            "description": "RFC 9457 problem details.",
            "properties": {
                "type": { "type": "string" },
                "title": { "type": "string" },
                "status": { "type": "integer" },
                "detail": { "type": "string" },
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": { "type": "string" },
                            "value": { "type": "string" },
                            "reason": { "type": "string" }
                        },
                        "required": ["field", "value", "reason"]
                    }
                }
            },
            "required": ["type", "title", "status", "detail"]
        }),
    );
    let mut paths = Map::new();
    paths.insert(
        format!("{BASE}/openapi.json"),
        json!({ "get": {
            "operationId": "openapi",
            "summary": "This document.",
            "security": [],
            "responses": { "200": ok_json("The OpenAPI document.", json!({ "type": "object" })) }
        }}),
    );
    paths.insert(
        format!("{BASE}/registers"),
        json!({ "get": operation(
            "listRegisters",
            "The registers this token reaches, and what it may do with each.",
            responses(vec![("200", ok_json("The registers.", json!({
                "type": "object",
                "properties": { "items": { "type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "name": { "type": "string" },
                        "entity": { "type": "string" },
                        "read": { "type": "boolean" },
                        "create": { "type": "boolean" },
                        "update": { "type": "boolean" }
                    },
                    "required": ["name", "entity", "read", "create", "update"]
                } } },
                "required": ["items"]
            })))]),
            json!({}),
        )}),
    );
    findings(&mut schemas, &mut paths);
    jobs(&mut schemas, &mut paths);
    audit(&mut paths);
    packs(&mut schemas, &mut paths);
    requests(&mut schemas, &mut paths);
    incidents(&mut schemas, &mut paths);
    webhooks(&mut schemas, &mut paths);
    for register in registers() {
        let name = schema_name(register);
        let (returned, sent) = row_schemas(register);
        schemas.insert(name.clone(), returned);
        schemas.insert(format!("{name}New"), sent.clone());
        let mut changes = sent;
        if let Some(map) = changes.as_object_mut() {
            map.remove("required");
            map.insert(
                "description".into(),
                json!("The fields to change; the id (or key) cannot."),
            );
        }
        schemas.insert(format!("{name}Changes"), changes);
        let row = json!({ "$ref": format!("#/components/schemas/{name}") });
        let etag = json!({ "ETag": { "schema": { "type": "string" }, "description": "The row's version." } });
        let with_etag = |description: &str| {
            let mut r = ok_json(description, row.clone());
            if let Some(map) = r.as_object_mut() {
                map.insert("headers".into(), etag.clone());
            }
            r
        };
        let mut filters: Vec<Json> = vec![
            json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": MOST_ROWS, "default": DEFAULT_ROWS } }),
            json!({ "name": "after", "in": "query", "description": "The `next` of the page before.", "schema": { "type": "string" } }),
            json!({ "name": "sort", "in": "query", "description": "A text field to order by, `-field` downwards; then the id.", "schema": { "type": "string" } }),
            json!({ "name": "q", "in": "query", "description": "Text to find, in any case, in the text fields.", "schema": { "type": "string" } }),
        ];
        for field in register
            .fields()
            .iter()
            .filter(|f| f.csv && f.ty.is_lookup_text())
        {
            filters.push(json!({
                "name": field.name,
                "in": "query",
                "description": "Only rows whose field holds exactly this (as a CSV file writes it).",
                "schema": { "type": "string" }
            }));
        }
        let entity = register.entity();
        // The row made is the one to read and change next, at the version it was made at.
        let id_field = register.id_field().name;
        let mut created = with_etag("The row as stored.");
        if let Some(map) = created.as_object_mut() {
            map.insert(
                "links".into(),
                json!({
                    "read": {
                        "operationId": format!("read_{}", register.name()),
                        "parameters": { "id": format!("$response.body#/{id_field}") }
                    },
                    "update": {
                        "operationId": format!("update_{}", register.name()),
                        "parameters": {
                            "id": format!("$response.body#/{id_field}"),
                            "header.If-Match": "$response.header.ETag"
                        }
                    }
                }),
            );
        }
        let id_param =
            json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } });
        let body = |schema: String| json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } });
        paths.insert(
            format!("{BASE}/registers/{}", register.name()),
            json!({
                "get": operation(
                    &format!("list_{}", register.name()),
                    &format!("A page of the {} register.", register.name()),
                    responses(vec![
                        ("200", ok_json("The page, and where the next begins.", json!({
                            "type": "object",
                            "properties": {
                                "items": { "type": "array", "items": row.clone() },
                                "next": { "type": ["string", "null"] }
                            },
                            "required": ["items", "next"]
                        }))),
                        ("400", problem_response("A query parameter is not one this takes.")),
                        ("422", problem_response("A field named is not one of the register's.")),
                    ]),
                    json!({ "parameters": filters }),
                ),
                "post": operation(
                    &format!("create_{}", register.name()),
                    &format!("Adds a {entity}, audited as the token."),
                    responses(vec![
                        ("201", created),
                        ("400", problem_response("The body is not a JSON object of fields.")),
                        ("409", problem_response("A row with this id exists.")),
                        ("413", problem_response("The body is larger than this takes.")),
                        ("415", problem_response("The body is not JSON.")),
                        ("422", problem_response("A field's value is refused; each is listed.")),
                    ]),
                    json!({ "requestBody": body(format!("{name}New")) }),
                ),
            }),
        );
        paths.insert(
            format!("{BASE}/registers/{}/{{id}}", register.name()),
            json!({
                "get": operation(
                    &format!("read_{}", register.name()),
                    &format!("One {entity}, with its version as its ETag."),
                    responses(vec![
                        ("200", with_etag("The row.")),
                        ("304", json!({ "description": "Unchanged since the version in If-None-Match." })),
                        ("404", problem_response("No such row.")),
                    ]),
                    json!({ "parameters": [
                        id_param.clone(),
                        { "name": "If-None-Match", "in": "header", "schema": { "type": "string" } }
                    ] }),
                ),
                "patch": operation(
                    &format!("update_{}", register.name()),
                    &format!("Changes fields of a {entity}, if it is still at the version read; audited as the token."),
                    responses(vec![
                        ("200", with_etag("The row as stored.")),
                        ("400", problem_response("The body is not a JSON object of fields.")),
                        ("404", problem_response("No such row.")),
                        ("412", problem_response("The row has changed since the version in If-Match.")),
                        ("413", problem_response("The body is larger than this takes.")),
                        ("415", problem_response("The body is not JSON.")),
                        ("422", problem_response("A field's value is refused; each is listed.")),
                        ("428", problem_response("If-Match was not sent.")),
                    ]),
                    json!({
                        "parameters": [
                            id_param,
                            { "name": "If-Match", "in": "header", "required": true, "description": "The ETag read, or `*`.", "schema": { "type": "string" } }
                        ],
                        "requestBody": body(format!("{name}Changes")),
                    }),
                ),
            }),
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Steward",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The registers of an organisation's IT under its written policy. Every request bears an API token (`steward token create`, or the tokens page) as `Authorization: Bearer TOKEN`, and acts with the capacities of whom the token acts for, never more. Nothing is ever deleted through the API: records end by their status."
        },
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas,
        }
    })
}

/// The findings: listed with the findings page's filters, and one read with its history.
fn findings(schemas: &mut Map<String, Json>, paths: &mut Map<String, Json>) {
    let text = json!({ "type": "string" });
    let maybe = |ty: &str| json!({ "type": [ty, "null"] });
    let maybe_format = |format: &str| json!({ "type": ["string", "null"], "format": format });
    let states = json!({ "type": "string", "enum": ["open", "escalated", "resolved", "excepted"] });
    schemas.insert(
        "Finding".into(),
        json!({
            "type": "object",
            "description": "A control failing for one subject, and where it stands.",
            "properties": {
                "key": text,
                "finding": {
                    "type": "object",
                    "properties": {
                        "pack": text, "version": text, "clause": text, "control": text,
                        "subject": {
                            "type": "object",
                            "properties": { "type": text, "id": text },
                            "required": ["type", "id"]
                        },
                        "severity": { "type": "string", "enum": ["info", "low", "medium", "high", "critical"] },
                        "message": text,
                        "message_you": text,
                        "clause_text": text,
                        "evidence": { "type": "object", "additionalProperties": { "type": "string" } },
                        "who_acts": text,
                        "due": maybe_format("date"),
                        "undecided": maybe("string")
                    },
                    "required": ["pack", "version", "clause", "control", "subject", "severity", "message", "clause_text", "evidence", "who_acts", "due", "undecided"]
                },
                "state": states,
                "first_failing": { "type": "string", "format": "date-time" },
                "last_failing": { "type": "string", "format": "date-time" },
                "resolved_at": maybe_format("date-time"),
                "exception": maybe("string"),
                "escalation_step": { "type": "integer", "minimum": 0 }
            },
            "required": ["key", "finding", "state", "first_failing", "last_failing", "resolved_at", "exception", "escalation_step"]
        }),
    );
    let mut with_history = schemas.get("Finding").cloned().unwrap_or(Json::Null);
    if let Some(props) = with_history
        .get_mut("properties")
        .and_then(Json::as_object_mut)
    {
        props.insert(
            "history".into(),
            json!({ "type": "array", "items": {
                "type": "object",
                "properties": {
                    "seq": { "type": "integer" },
                    "at": { "type": "string", "format": "date-time" },
                    "event": text,
                    "state": states,
                    "first_failing": { "type": "string", "format": "date-time" },
                    "exception": maybe("string"),
                    "details": {}
                },
                "required": ["seq", "at", "event", "state", "first_failing", "exception", "details"]
            }}),
        );
    }
    schemas.insert("FindingWithHistory".into(), with_history);
    let query = |name: &str, description: &str| json!({ "name": name, "in": "query", "description": description, "schema": { "type": "string" } });
    let parameters = vec![
        query("pack", "A pack's id."),
        query("clause", "A clause's id."),
        query(
            "section",
            "A section: the clause and every clause numbered under it.",
        ),
        query("control", "A control's id."),
        query("severity", "Exactly this severity."),
        json!({ "name": "state", "in": "query", "description": "Any of these states (repeat it); by default those still failing.", "schema": states, "style": "form", "explode": true }),
        query(
            "subject_type",
            "What it is about: person, asset, account, …",
        ),
        query("subject_id", "The id of what it is about."),
        query("who_acts", "Who is to act."),
        json!({ "name": "as_of", "in": "query", "description": "Where findings stood at this instant (no pages).", "schema": { "type": "string", "format": "date-time" } }),
        json!({ "name": "order", "in": "query", "schema": { "type": "string", "enum": ["severity", "oldest", "newest", "clause"] } }),
        json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": MOST_ROWS, "default": DEFAULT_ROWS } }),
        query("after", "The `next` of the page before."),
    ];
    paths.insert(
        format!("{BASE}/findings"),
        json!({ "get": operation(
            "listFindings",
            "A page of the organisation's findings, for those who see them all.",
            responses(vec![
                ("200", ok_json("The page, and where the next begins.", json!({
                    "type": "object",
                    "properties": {
                        "items": { "type": "array", "items": { "$ref": "#/components/schemas/Finding" } },
                        "next": { "type": ["string", "null"] }
                    },
                    "required": ["items", "next"]
                }))),
                ("400", problem_response("A filter that is not one of these, or a value it does not take.")),
            ]),
            json!({ "parameters": parameters }),
        )}),
    );
    paths.insert(
        format!("{BASE}/findings/{{key}}"),
        json!({ "get": operation(
            "readFinding",
            "One finding (pack/control/subject type/subject id) with its history, for whoever may see it.",
            responses(vec![
                ("200", ok_json("The finding.", json!({ "$ref": "#/components/schemas/FindingWithHistory" }))),
                ("404", problem_response("No such finding, or not one the token's holder may see.")),
            ]),
            json!({ "parameters": [{ "name": "key", "in": "path", "required": true, "schema": { "type": "string" } }] }),
        )}),
    );
}

/// Checks run and files imported as jobs, and the jobs followed.
fn jobs(schemas: &mut Map<String, Json>, paths: &mut Map<String, Json>) {
    let maybe_time = json!({ "type": ["string", "null"], "format": "date-time" });
    schemas.insert(
        "Job".into(),
        json!({
            "type": "object",
            "description": "Work done in the background: a check run, an import, a sync, a backup.",
            "properties": {
                "id": { "type": "integer" },
                "kind": { "type": "string" },
                "state": { "type": "string", "enum": ["queued", "running", "done", "failed", "cancelled"] },
                "progress": {
                    "type": "object",
                    "properties": { "done": { "type": "integer" }, "total": { "type": "integer" }, "note": { "type": "string" } },
                    "required": ["done", "total", "note"]
                },
                "requested_by": { "type": "string" },
                "created_at": { "type": "string", "format": "date-time" },
                "started_at": maybe_time,
                "finished_at": maybe_time,
                "error": { "type": ["string", "null"] },
                "result": { "description": "What it produced: an import's counts and problems, a check run's counts." }
            },
            "required": ["id", "kind", "state", "progress", "requested_by", "created_at", "started_at", "finished_at", "error", "result"]
        }),
    );
    let accepted = json!({
        "description": "Queued: follow the job.",
        "headers": { "Location": { "schema": { "type": "string" }, "description": "The job." } },
        "content": { "application/json": { "schema": {
            "type": "object",
            "properties": { "job": { "type": "integer" }, "href": { "type": "string" } },
            "required": ["job", "href"]
        } } }
    });
    let job = json!({ "$ref": "#/components/schemas/Job" });
    paths.insert(
        format!("{BASE}/checks"),
        json!({ "post": operation(
            "runChecks",
            "Queues a run of the active policies' checks (or finds the one already waiting).",
            responses(vec![("202", accepted.clone())]),
            json!({}),
        )}),
    );
    let names: Vec<&str> = registers().map(Register::name).collect();
    paths.insert(
        format!("{BASE}/imports/{{register}}"),
        json!({ "post": operation(
            "importRows",
            "Queues an import of one register's CSV file, all or nothing; its problems, by line and column, are in the job's result.",
            responses(vec![
                ("202", accepted),
                ("404", problem_response("No such register.")),
                ("413", problem_response("The file is larger than 32 MiB.")),
                ("415", problem_response("The body is not text/csv.")),
            ]),
            json!({
                "parameters": [{ "name": "register", "in": "path", "required": true, "schema": { "type": "string", "enum": names } }],
                "requestBody": { "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } }
            }),
        )}),
    );
    paths.insert(
        format!("{BASE}/jobs"),
        json!({ "get": operation(
            "listJobs",
            "The recent jobs the token's holder may see: their own, or every one for the IT team and administrators.",
            responses(vec![("200", ok_json("The jobs, newest first.", json!({
                "type": "object",
                "properties": { "items": { "type": "array", "items": job.clone() } },
                "required": ["items"]
            })))]),
            json!({}),
        )}),
    );
    paths.insert(
        format!("{BASE}/jobs/{{id}}"),
        json!({ "get": operation(
            "readJob",
            "One job: where it stands and what it produced.",
            responses(vec![
                ("200", ok_json("The job.", job)),
                ("404", problem_response("No such job, or not one the token's holder may see.")),
            ]),
            json!({ "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }] }),
        )}),
    );
}

/// The audit log read and its chain verified.
fn audit(paths: &mut Map<String, Json>) {
    let text = json!({ "type": "string" });
    let query = |name: &str, description: &str, schema: Json| json!({ "name": name, "in": "query", "description": description, "schema": schema });
    paths.insert(
        format!("{BASE}/audit"),
        json!({ "get": operation(
            "listAudit",
            "The audit log, newest first, a page at a time; for the governance team, auditors and administrators.",
            responses(vec![
                ("200", ok_json("The records, and the number to read the page before from.", json!({
                    "type": "object",
                    "properties": {
                        "items": { "type": "array", "items": {
                            "type": "object",
                            "properties": {
                                "seq": { "type": "integer" }, "at": text, "actor": text, "action": text,
                                "entity_type": text, "entity_id": text, "before": {}, "after": {}, "hash": text
                            },
                            "required": ["seq", "at", "actor", "action", "entity_type", "entity_id", "before", "after", "hash"]
                        } },
                        "before": { "type": ["integer", "null"] }
                    },
                    "required": ["items", "before"]
                }))),
                ("400", problem_response("A filter that is not one of these, or a value it does not take.")),
            ]),
            json!({ "parameters": [
                query("entity_type", "With entity_id: one record's history (person, asset, …).", text.clone()),
                query("entity_id", "With entity_type.", text.clone()),
                query("before", "The `before` of the page after.", json!({ "type": "integer" })),
                query("limit", "How many records.", json!({ "type": "integer", "minimum": 1, "maximum": MOST_ROWS, "default": DEFAULT_ROWS })),
            ] }),
        )}),
    );
    paths.insert(
        format!("{BASE}/audit/verify"),
        json!({ "get": operation(
            "verifyAudit",
            "Whether the audit log's hash chain holds, record by record.",
            responses(vec![("200", ok_json("The verdict.", json!({
                "type": "object",
                "properties": {
                    "holds": { "type": "boolean" },
                    "records": { "type": ["integer", "null"] },
                    "head": { "type": ["string", "null"] },
                    "break": { "type": ["string", "null"] }
                },
                "required": ["holds", "records", "head", "break"]
            })))]),
            json!({}),
        )}),
    );
}

/// The policies: listed, one shown clause by clause, and how far the registers decide it.
fn packs(schemas: &mut Map<String, Json>, paths: &mut Map<String, Json>) {
    let text = json!({ "type": "string" });
    let maybe_text = json!({ "type": ["string", "null"] });
    let summary = json!({
        "type": "object",
        "properties": {
            "id": text, "title": text, "organisation": text, "version": text, "owner": text,
            "approver": text,
            "approved_on": { "type": "string", "format": "date" },
            "next_review": { "type": ["string", "null"], "format": "date" },
            "active": { "type": "boolean" }
        },
        "required": ["id", "title", "organisation", "version", "owner", "approver", "approved_on", "next_review", "active"]
    });
    schemas.insert("Pack".into(), summary.clone());
    let controls = json!({ "type": "array", "items": {
        "type": "object",
        "properties": { "id": text, "kind": { "type": "string", "enum": ["check", "workflow", "recurring_task", "attestation", "guidance"] } },
        "required": ["id", "kind"]
    }});
    let mut detail = summary;
    if let Some(props) = detail.get_mut("properties").and_then(Json::as_object_mut) {
        props.insert(
            "parameters".into(),
            json!({ "type": "array", "items": {
                "type": "object",
                "properties": {
                    "name": text, "type": text, "value": text, "unit": maybe_text,
                    "description": text, "assumed": maybe_text
                },
                "required": ["name", "type", "value", "unit", "description", "assumed"]
            }}),
        );
        props.insert(
            "clauses".into(),
            json!({ "type": "array", "items": {
                "type": "object",
                "properties": {
                    "id": text,
                    "heading": { "type": "array", "items": text },
                    "text": text,
                    "controls": controls
                },
                "required": ["id", "heading", "text", "controls"]
            }}),
        );
    }
    schemas.insert("PackDetail".into(), detail);
    let id =
        json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }]);
    paths.insert(
        format!("{BASE}/packs"),
        json!({ "get": operation(
            "listPacks",
            "The policies the server knows, and which the organisation runs.",
            responses(vec![("200", ok_json("The policies.", json!({
                "type": "object",
                "properties": { "items": { "type": "array", "items": { "$ref": "#/components/schemas/Pack" } } },
                "required": ["items"]
            })))]),
            json!({}),
        )}),
    );
    paths.insert(
        format!("{BASE}/packs/{{id}}"),
        json!({ "get": operation(
            "readPack",
            "One policy: its details, parameters and every clause with its controls.",
            responses(vec![
                ("200", ok_json("The policy.", json!({ "$ref": "#/components/schemas/PackDetail" }))),
                ("404", problem_response("No such policy.")),
            ]),
            json!({ "parameters": id.clone() }),
        )}),
    );
    paths.insert(
        format!("{BASE}/packs/{{id}}/coverage"),
        json!({ "get": operation(
            "packCoverage",
            "How far the registers decide a policy's clauses: each clause counted by its strongest control, and the values the policy assumed.",
            responses(vec![
                ("200", ok_json("The coverage.", json!({
                    "type": "object",
                    "properties": {
                        "pack": text,
                        "clauses": { "type": "array", "items": {
                            "type": "object",
                            "properties": { "clause": text, "controls": controls },
                            "required": ["clause", "controls"]
                        }},
                        "summary": {
                            "type": "object",
                            "properties": {
                                "checked": { "type": "integer" }, "workflow_only": { "type": "integer" },
                                "attested_only": { "type": "integer" }, "guidance_only": { "type": "integer" },
                                "unmapped": { "type": "integer" }
                            },
                            "required": ["checked", "workflow_only", "attested_only", "guidance_only", "unmapped"]
                        },
                        "assumed": { "type": "array", "items": {
                            "type": "object",
                            "properties": { "name": text, "value": text, "assumed": text },
                            "required": ["name", "value", "assumed"]
                        }}
                    },
                    "required": ["pack", "clauses", "summary", "assumed"]
                }))),
                ("404", problem_response("No such policy.")),
            ]),
            json!({ "parameters": id }),
        )}),
    );
}

/// Requests: raised, read, and each step taken.
fn requests(schemas: &mut Map<String, Json>, paths: &mut Map<String, Json>) {
    let rows = |schema: &str| json!({ "type": "array", "items": { "$ref": format!("#/components/schemas/{schema}") } });
    schemas.insert(
        "RequestView".into(),
        json!({
            "type": "object",
            "description": "A request with its approvals, whom it still waits for, who has been told, and its deadline.",
            "properties": {
                "request": { "$ref": "#/components/schemas/Requests" },
                "approvals": rows("Approvals"),
                "waiting_for": { "type": "array", "items": { "type": "string" } },
                "notifications": rows("Notifications"),
                "sla": { "type": "string" },
                "notes": { "type": "array", "items": { "type": "string" } }
            },
            "required": ["request", "approvals", "waiting_for", "notifications", "sla", "notes"]
        }),
    );
    let view = |description: &str| {
        ok_json(
            description,
            json!({ "$ref": "#/components/schemas/RequestView" }),
        )
    };
    let particulars = json!({
        "type": "object",
        "properties": {
            "type": { "type": "string", "enum": steward_model::RequestType::ALL },
            "person_id": { "type": "string" }
        },
        "required": ["type", "person_id"],
        "additionalProperties": { "type": ["string", "number", "boolean", "null"] }
    });
    let body = |schema: Json| json!({ "required": false, "content": { "application/json": { "schema": schema } } });
    paths.insert(
        format!("{BASE}/requests"),
        json!({ "post": operation(
            "raiseRequest",
            "Raises a request as the token's person: for themselves, a report, or (the IT team and administrators) anyone; its particulars as the request's form names them.",
            responses(vec![
                ("201", view("The request opened.")),
                ("400", problem_response("No such type of request, or a body that is not JSON.")),
                ("404", problem_response("No such person.")),
                ("413", problem_response("The body is larger than this takes.")),
                ("415", problem_response("The body is not JSON.")),
                ("422", problem_response("A particular is missing or refused.")),
            ]),
            json!({ "requestBody": { "required": true, "content": { "application/json": { "schema": particulars } } } }),
        )}),
    );
    let id =
        json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } });
    paths.insert(
        format!("{BASE}/requests/{{id}}"),
        json!({ "get": operation(
            "readRequest",
            "One request, for its person, their line manager, and those who see every request.",
            responses(vec![
                ("200", view("The request.")),
                ("404", problem_response("No such request, or not one the token's holder may see.")),
            ]),
            json!({ "parameters": [id.clone()] }),
        )}),
    );
    paths.insert(
        format!("{BASE}/requests/{{id}}/{{action}}"),
        json!({ "post": operation(
            "stepRequest",
            "Takes a step as the token's person: approve, reject (a `note` says why), fulfil (what was issued) or cancel, where their part lets them; or acknowledge a notice about it (`recipient`: the token's person when not given, or a party such as it-service-desk that their role answers for).",
            responses(vec![
                ("200", view("The request after the step.")),
                ("400", problem_response("A body that is not a JSON object of fields.")),
                ("404", problem_response("No such request or step, or not one the token's holder may see.")),
                ("413", problem_response("The body is larger than this takes.")),
                ("415", problem_response("The body is not JSON.")),
                ("422", problem_response("The request's state or the workflow's rules do not allow this step.")),
            ]),
            json!({
                "parameters": [id, { "name": "action", "in": "path", "required": true, "schema": { "type": "string", "enum": ["approve", "reject", "fulfil", "cancel", "acknowledge"] } }],
                "requestBody": body(json!({ "type": "object", "additionalProperties": { "type": ["string", "number", "boolean", "null"] } })),
            }),
        )}),
    );
}

/// Incidents: reported, read, and handled.
fn incidents(schemas: &mut Map<String, Json>, paths: &mut Map<String, Json>) {
    schemas.insert(
        "IncidentView".into(),
        json!({
            "type": "object",
            "description": "An incident's record, and who must be told and whether they have been.",
            "properties": {
                "incident": { "$ref": "#/components/schemas/Incidents" },
                "notifications": { "type": "array", "items": { "$ref": "#/components/schemas/Notifications" } },
                "notes": { "type": "array", "items": { "type": "string" } }
            },
            "required": ["incident", "notifications", "notes"]
        }),
    );
    let view = |description: &str| {
        ok_json(
            description,
            json!({ "$ref": "#/components/schemas/IncidentView" }),
        )
    };
    let fields = json!({ "type": "object", "additionalProperties": { "type": ["string", "number", "boolean", "null"] } });
    let mut report = fields.clone();
    if let Some(map) = report.as_object_mut() {
        map.insert(
            "properties".into(),
            json!({ "type": { "type": "string", "enum": steward_model::IncidentType::ALL } }),
        );
        map.insert("required".into(), json!(["type"]));
    }
    paths.insert(
        format!("{BASE}/incidents"),
        json!({ "post": operation(
            "reportIncident",
            "Reports an incident as the token's person: its type and what the form asks (asset_tag, facts, occurred_at and discovered_at as RFC 3339 instants, …).",
            responses(vec![
                ("201", view("The incident reported.")),
                ("400", problem_response("No such type of incident, or a body that is not JSON.")),
                ("404", problem_response("Something named that does not exist.")),
                ("413", problem_response("The body is larger than this takes.")),
                ("415", problem_response("The body is not JSON.")),
                ("422", problem_response("A particular is missing or refused.")),
            ]),
            json!({ "requestBody": { "required": true, "content": { "application/json": { "schema": report } } } }),
        )}),
    );
    let id =
        json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } });
    paths.insert(
        format!("{BASE}/incidents/{{id}}"),
        json!({ "get": operation(
            "readIncident",
            "One incident, for its reporter, their line manager, and those who see every incident.",
            responses(vec![
                ("200", view("The incident.")),
                ("404", problem_response("No such incident, or not one the token's holder may see.")),
            ]),
            json!({ "parameters": [id.clone()] }),
        )}),
    );
    paths.insert(
        format!("{BASE}/incidents/{{id}}/{{action}}"),
        json!({ "post": operation(
            "stepIncident",
            "Handles an incident as the token's person: investigate, record (its record's fields) or close; or acknowledges a notice about it (`recipient`: the token's person when not given, or a party such as it-service-desk that their role answers for).",
            responses(vec![
                ("200", view("The incident after the step.")),
                ("400", problem_response("A body that is not a JSON object of fields.")),
                ("404", problem_response("No such incident or step, or not one the token's holder may see.")),
                ("413", problem_response("The body is larger than this takes.")),
                ("415", problem_response("The body is not JSON.")),
                ("422", problem_response("The incident's state or the workflow's rules do not allow this step.")),
            ]),
            json!({
                "parameters": [id, { "name": "action", "in": "path", "required": true, "schema": { "type": "string", "enum": ["investigate", "record", "close", "acknowledge"] } }],
                "requestBody": { "required": false, "content": { "application/json": { "schema": fields } } },
            }),
        )}),
    );
}

/// One operation as the reference page lists it.
pub(crate) struct OperationView {
    pub anchor: String,
    pub method: String,
    pub path: String,
    pub summary: String,
    /// Name, where (`query`, `path`, `header`), whether required, and what it takes.
    pub parameters: Vec<(String, String, bool, String)>,
    /// The body's media type and what it is.
    pub body: Option<(String, String)>,
    /// Status and what it means.
    pub responses: Vec<(String, String)>,
}

/// One schema as the reference page lists it: each property, what it takes, whether required.
pub(crate) struct SchemaView {
    pub name: String,
    pub description: String,
    pub properties: Vec<(String, String, bool)>,
}

/// What a schema takes, in a few words: its type(s), the words it allows, or the schema it
/// names (as `#schema-NAME`).
fn type_words(schema: &Json) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Json::as_str) {
        return reference.rsplit('/').next().unwrap_or(reference).to_owned();
    }
    let mut words = match schema.get("type") {
        Some(Json::String(t)) => t.clone(),
        Some(Json::Array(ts)) => ts
            .iter()
            .filter_map(Json::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".to_owned(),
    };
    if let Some(items) = schema.get("items") {
        words = format!("array of {}", type_words(items));
    }
    if let Some(format) = schema.get("format").and_then(Json::as_str) {
        words.push_str(&format!(" ({format})"));
    }
    if let Some(Json::Array(values)) = schema.get("enum") {
        let shown: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect();
        words.push_str(&format!(": one of {}", shown.join(", ")));
    }
    words
}

/// The document as the reference page shows it: every operation, then every schema.
pub(crate) fn reference() -> (Vec<OperationView>, Vec<SchemaView>) {
    let doc = document();
    let mut operations = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Json::as_object) {
        for (path, ops) in paths {
            let Some(ops) = ops.as_object() else { continue };
            for (method, op) in ops {
                let parameters = op
                    .get("parameters")
                    .and_then(Json::as_array)
                    .map(|ps| {
                        ps.iter()
                            .map(|p| {
                                let text = |k: &str| {
                                    p.get(k)
                                        .and_then(Json::as_str)
                                        .unwrap_or_default()
                                        .to_owned()
                                };
                                let mut what = p.get("schema").map(type_words).unwrap_or_default();
                                let description = text("description");
                                if !description.is_empty() {
                                    what = format!("{what} — {description}");
                                }
                                (
                                    text("name"),
                                    text("in"),
                                    p.get("required").and_then(Json::as_bool).unwrap_or(false),
                                    what,
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let body = op
                    .get("requestBody")
                    .and_then(|b| b.get("content"))
                    .and_then(Json::as_object)
                    .and_then(|c| c.iter().next())
                    .map(|(media, c)| {
                        (
                            media.clone(),
                            c.get("schema").map(type_words).unwrap_or_default(),
                        )
                    });
                let responses = op
                    .get("responses")
                    .and_then(Json::as_object)
                    .map(|rs| {
                        rs.iter()
                            .map(|(status, r)| {
                                (
                                    status.clone(),
                                    r.get("description")
                                        .and_then(Json::as_str)
                                        .unwrap_or_default()
                                        .to_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                operations.push(OperationView {
                    anchor: op
                        .get("operationId")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    method: method.to_uppercase(),
                    path: path.clone(),
                    summary: op
                        .get("summary")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    parameters,
                    body,
                    responses,
                });
            }
        }
    }
    let mut schemas = Vec::new();
    if let Some(all) = doc
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(Json::as_object)
    {
        for (name, schema) in all {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Json::as_array)
                .map(|r| r.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default();
            let properties = schema
                .get("properties")
                .and_then(Json::as_object)
                .map(|ps| {
                    ps.iter()
                        .map(|(p, s)| (p.clone(), type_words(s), required.contains(&p.as_str())))
                        .collect()
                })
                .unwrap_or_default();
            schemas.push(SchemaView {
                name: name.clone(),
                description: schema
                    .get("description")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                properties,
            });
        }
    }
    (operations, schemas)
}

/// Webhooks: subscribed, listed, their deliveries read, turned on and off; administrators'.
fn webhooks(schemas: &mut Map<String, Json>, paths: &mut Map<String, Json>) {
    let text = json!({ "type": "string" });
    let events = json!({ "type": "array", "items": { "type": "string", "enum": steward_service::WEBHOOK_EVENTS } });
    let hook = json!({
        "type": "object",
        "properties": {
            "id": text, "url": text, "events": events,
            "enabled": { "type": "boolean" },
            "failures": { "type": "integer" },
            "disabled_reason": { "type": ["string", "null"] },
            "created_at": { "type": "string", "format": "date-time" },
            "created_by": text
        },
        "required": ["id", "url", "events", "enabled", "failures", "disabled_reason", "created_at", "created_by"]
    });
    schemas.insert("Webhook".into(), hook.clone());
    let mut made = hook;
    if let Some(map) = made.as_object_mut() {
        if let Some(props) = map.get_mut("properties").and_then(Json::as_object_mut) {
            props.insert("secret".into(), json!({ "type": "string", "description": "whsec_…: to verify the messages' signatures with; shown this once." }));
        }
        if let Some(Json::Array(required)) = map.get_mut("required") {
            required.push(json!("secret"));
        }
    }
    paths.insert(
        format!("{BASE}/webhooks"),
        json!({
            "get": operation(
                "listWebhooks",
                "Every webhook, and the events one may be subscribed to; for administrators.",
                responses(vec![("200", ok_json("The webhooks.", json!({
                    "type": "object",
                    "properties": {
                        "items": { "type": "array", "items": { "$ref": "#/components/schemas/Webhook" } },
                        "events": { "type": "array", "items": text }
                    },
                    "required": ["items", "events"]
                })))]),
                json!({}),
            ),
            "post": operation(
                "subscribeWebhook",
                "Subscribes a URL to events; each message is signed as the Standard Webhooks specification has it (webhook-id, webhook-timestamp, webhook-signature). A destination on this machine or a private network is refused unless the server's configuration allows it.",
                responses(vec![
                    ("201", ok_json("The webhook, with its secret.", made)),
                    ("400", problem_response("The body is not {\"url\", \"events\"}.")),
                    ("413", problem_response("The body is larger than this takes.")),
                    ("415", problem_response("The body is not JSON.")),
                    ("422", problem_response("The address or an event is refused.")),
                ]),
                json!({ "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object",
                    "properties": { "url": { "type": "string", "format": "uri" }, "events": events },
                    "required": ["url", "events"],
                    "additionalProperties": false
                } } } } }),
            ),
        }),
    );
    let id =
        json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } });
    paths.insert(
        format!("{BASE}/webhooks/{{id}}/deliveries"),
        json!({ "get": operation(
            "webhookDeliveries",
            "A webhook's latest deliveries, newest first, with what its receiver answered.",
            responses(vec![
                ("200", ok_json("The deliveries.", json!({
                    "type": "object",
                    "properties": { "items": { "type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "id": text, "event": text,
                            "created_at": { "type": "string", "format": "date-time" },
                            "state": { "type": "string", "enum": ["pending", "delivered", "failed"] },
                            "attempts": { "type": "integer" },
                            "next_attempt_at": { "type": ["string", "null"], "format": "date-time" },
                            "last_attempt_at": { "type": ["string", "null"], "format": "date-time" },
                            "last_status": { "type": ["integer", "null"] },
                            "last_response": { "type": ["string", "null"] },
                            "payload": {}
                        },
                        "required": ["id", "event", "created_at", "state", "attempts", "next_attempt_at", "last_attempt_at", "last_status", "last_response", "payload"]
                    } } },
                    "required": ["items"]
                }))),
                ("404", problem_response("No such webhook.")),
            ]),
            json!({ "parameters": [id.clone()] }),
        )}),
    );
    paths.insert(
        format!("{BASE}/webhooks/{{id}}/{{action}}"),
        json!({ "post": operation(
            "switchWebhook",
            "Turns a webhook on (its failures forgotten) or off.",
            responses(vec![
                ("200", ok_json("The webhook.", json!({ "$ref": "#/components/schemas/Webhook" }))),
                ("404", problem_response("No such webhook or action.")),
            ]),
            json!({ "parameters": [id, { "name": "action", "in": "path", "required": true, "schema": { "type": "string", "enum": ["enable", "disable"] } }] }),
        )}),
    );
}
