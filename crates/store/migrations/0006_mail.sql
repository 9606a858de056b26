-- Sending mail. `emailed_at`: when each notice was handed to the mail relay; empty for notices
-- made before mail was sent, which `steward mail send` then sends unless they are acknowledged.
ALTER TABLE notifications ADD COLUMN emailed_at TIMESTAMPTZ;
CREATE INDEX notifications_recipient ON notifications (recipient);

-- Who holds a job only one server may run at a time (sending mail), and until when, so that
-- several servers sharing one database send each notice once. Not audited: it is the mechanics
-- of sharing, not something the organisation records.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    held_until TIMESTAMPTZ NOT NULL
);
