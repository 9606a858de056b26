-- A finding said to the person it concerns ("Your laptop … has not connected"), where its control
-- gives a second-person message; NULL where it gives none. Findings stored before this are
-- filled in by the next check run, which records the change as an `updated` event.

ALTER TABLE findings ADD COLUMN message_you TEXT;
