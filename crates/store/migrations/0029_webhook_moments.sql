-- Moments a webhook event was raised for, where the event is found by looking rather than by a
-- step (a request become overdue, an incident's ICO deadline near): its key names the event,
-- what it is about and the deadline it is about (`request.overdue:REQ-1:2026-12-01`), so that
-- each is sent once, whichever server looks and however often. Operational, not audited.

CREATE TABLE webhook_moments (
    key TEXT PRIMARY KEY,
    happened_at TIMESTAMPTZ NOT NULL
);
