-- When each notice was handed to the mail relay. Empty for notices made before mail was sent,
-- which `steward mail send` then sends unless they have been acknowledged.
ALTER TABLE notifications ADD COLUMN emailed_at TIMESTAMPTZ;
CREATE INDEX notifications_recipient ON notifications (recipient);
