-- The processes' registers: the working-day calendar, roles, service requests and approvals,
-- incidents, notifications, charges, and the governance registers. Same conventions as 0001 and
-- 0002: types both backends understand, references deferred to commit, an index on every
-- reference column; a register keyed on several fields has a derived first column `key`.

CREATE TABLE bank_holidays (
    key TEXT PRIMARY KEY,
    date DATE NOT NULL,
    title TEXT NOT NULL,
    notes TEXT
);

CREATE TABLE roles (
    key TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    role TEXT NOT NULL,
    granted_on DATE
);
CREATE INDEX roles_person_id ON roles (person_id);

CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    raised_by TEXT REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    state TEXT NOT NULL,
    opened_at TIMESTAMPTZ NOT NULL,
    due_on DATE,
    closed_at TIMESTAMPTZ,
    details TEXT
);
CREATE INDEX requests_person_id ON requests (person_id);
CREATE INDEX requests_raised_by ON requests (raised_by);

CREATE TABLE approvals (
    key TEXT PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES requests (id) DEFERRABLE INITIALLY DEFERRED,
    role TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    decision TEXT NOT NULL,
    decided_at TIMESTAMPTZ NOT NULL,
    note TEXT
);
CREATE INDEX approvals_request_id ON approvals (request_id);
CREATE INDEX approvals_person_id ON approvals (person_id);

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    asset_tag TEXT REFERENCES assets (tag) DEFERRABLE INITIALLY DEFERRED,
    state TEXT NOT NULL,
    occurred_at TIMESTAMPTZ,
    discovered_at TIMESTAMPTZ NOT NULL,
    reported_at TIMESTAMPTZ NOT NULL,
    report_by TIMESTAMPTZ,
    late BOOLEAN,
    ico_notify_by TIMESTAMPTZ,
    facts TEXT,
    effects TEXT,
    remedial_action TEXT,
    ico_decision TEXT,
    ico_reasons TEXT,
    ico_notified_at TIMESTAMPTZ,
    closed_at TIMESTAMPTZ,
    details TEXT
);
CREATE INDEX incidents_person_id ON incidents (person_id);
CREATE INDEX incidents_asset_tag ON incidents (asset_tag);

CREATE TABLE notifications (
    key TEXT PRIMARY KEY,
    about TEXT NOT NULL,
    recipient TEXT NOT NULL,
    reason TEXT NOT NULL,
    due_at TIMESTAMPTZ,
    acknowledged_at TIMESTAMPTZ,
    acknowledged_by TEXT
);

CREATE TABLE charges (
    id TEXT PRIMARY KEY,
    request_id TEXT REFERENCES requests (id) DEFERRABLE INITIALLY DEFERRED,
    asset_tag TEXT REFERENCES assets (tag) DEFERRABLE INITIALLY DEFERRED,
    budget_centre TEXT REFERENCES budget_centres (code) DEFERRABLE INITIALLY DEFERRED,
    amount_gbp BIGINT NOT NULL,
    reason TEXT NOT NULL,
    charged_on DATE NOT NULL
);
CREATE INDEX charges_request_id ON charges (request_id);
CREATE INDEX charges_asset_tag ON charges (asset_tag);
CREATE INDEX charges_budget_centre ON charges (budget_centre);

CREATE TABLE removable_media (
    id TEXT PRIMARY KEY,
    asset_tag TEXT REFERENCES assets (tag) DEFERRABLE INITIALLY DEFERRED,
    holder_id TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    business_need TEXT NOT NULL,
    encrypted BOOLEAN NOT NULL,
    approved_by TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    case_reference TEXT,
    issued_on DATE NOT NULL,
    damaged_on DATE,
    destroyed_on DATE,
    destruction_method TEXT
);
CREATE INDEX removable_media_asset_tag ON removable_media (asset_tag);
CREATE INDEX removable_media_holder_id ON removable_media (holder_id);
CREATE INDEX removable_media_approved_by ON removable_media (approved_by);

CREATE TABLE retention_schedule (
    record_class TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    period_months BIGINT NOT NULL,
    trigger TEXT NOT NULL,
    disposal TEXT NOT NULL
);

CREATE TABLE records (
    id TEXT PRIMARY KEY,
    record_class TEXT NOT NULL REFERENCES retention_schedule (record_class) DEFERRABLE INITIALLY DEFERRED,
    description TEXT NOT NULL,
    location TEXT,
    trigger_on DATE,
    disposed_on DATE
);
CREATE INDEX records_record_class ON records (record_class);

CREATE TABLE destructions (
    id TEXT PRIMARY KEY,
    what TEXT NOT NULL,
    record_id TEXT REFERENCES records (id) DEFERRABLE INITIALLY DEFERRED,
    medium_id TEXT REFERENCES removable_media (id) DEFERRABLE INITIALLY DEFERRED,
    destroyed_on DATE NOT NULL,
    authorised_by TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    method TEXT NOT NULL
);
CREATE INDEX destructions_record_id ON destructions (record_id);
CREATE INDEX destructions_medium_id ON destructions (medium_id);
CREATE INDEX destructions_authorised_by ON destructions (authorised_by);

CREATE TABLE information_assets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    description TEXT,
    location TEXT,
    review_every_months BIGINT NOT NULL,
    last_reviewed_on DATE
);
CREATE INDEX information_assets_owner_id ON information_assets (owner_id);

CREATE TABLE access_reviews (
    key TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES information_assets (id) DEFERRABLE INITIALLY DEFERRED,
    reviewed_on DATE NOT NULL,
    reviewed_by TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    outcome TEXT NOT NULL
);
CREATE INDEX access_reviews_asset_id ON access_reviews (asset_id);
CREATE INDEX access_reviews_reviewed_by ON access_reviews (reviewed_by);

CREATE TABLE archives (
    id TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    location TEXT NOT NULL,
    archived_on DATE NOT NULL,
    record_id TEXT REFERENCES records (id) DEFERRABLE INITIALLY DEFERRED,
    transferred_to TEXT,
    transferred_on DATE
);
CREATE INDEX archives_record_id ON archives (record_id);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    clause TEXT,
    every_days BIGINT NOT NULL,
    owner_id TEXT REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    last_done_on DATE,
    evidence TEXT
);
CREATE INDEX tasks_owner_id ON tasks (owner_id);

CREATE TABLE task_completions (
    key TEXT PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES tasks (id) DEFERRABLE INITIALLY DEFERRED,
    done_on DATE NOT NULL,
    done_by TEXT NOT NULL REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
    evidence TEXT NOT NULL
);
CREATE INDEX task_completions_task_id ON task_completions (task_id);
CREATE INDEX task_completions_done_by ON task_completions (done_by);

CREATE TABLE courses (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    mandatory BOOLEAN NOT NULL,
    recur_months BIGINT
);

CREATE TABLE policy_reviews (
    key TEXT PRIMARY KEY,
    pack TEXT NOT NULL,
    version TEXT NOT NULL,
    reviewed_on DATE,
    next_review DATE NOT NULL,
    material BOOLEAN NOT NULL
);
