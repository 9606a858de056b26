-- Findings reach people: each control's escalation ladder, e-mailed a step at a time, and a
-- weekly digest that each person may turn off.
--
-- `escalation_step`: how many of its control's escalation steps (after "past due") a failing
-- finding has reached in its current episode. Each step reached is an `escalated` event.
ALTER TABLE findings ADD COLUMN escalation_step BIGINT NOT NULL DEFAULT 0;

-- Whether a person receives the weekly digest of what they must act on: empty or true, yes.
ALTER TABLE people ADD COLUMN weekly_digest BOOLEAN;

-- Mail that must go once: `escalation` (key: the `escalated` event's sequence number) and
-- `digest` (key: the ISO week and the person, `2026-W47/P001`). Written once each, never
-- changed: the mechanics of sending once, not something the organisation records (the step
-- itself is audited with its finding, the preference with the person).
CREATE TABLE mail_sent (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    sent_at TIMESTAMPTZ NOT NULL,
    recipients TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX mail_sent_kind ON mail_sent (kind, sent_at);

-- Findings escalated before escalations were e-mailed are not e-mailed now, all at once: they
-- are counted as told (to nobody) and reach people through the weekly digest.
INSERT INTO mail_sent (kind, key, sent_at, recipients)
SELECT 'escalation', CAST(seq AS TEXT), at, '' FROM finding_events WHERE event = 'escalated';

CREATE INDEX finding_events_escalations ON finding_events (key, first_failing) WHERE event = 'escalated';
