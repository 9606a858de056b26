-- A check run first reads, control by control, each stored finding's key, state, deadline,
-- exception, escalation step and content hash (`finding_priors_of_control`). Through
-- `findings_pack_control` each is a lookup of a row of about a kilobyte (the message, the clause
-- quoted, the evidence) for some seventy bytes. This index holds just what that read asks for,
-- in key order, so the read is one pass over it and never touches the rows.
CREATE INDEX findings_priors ON findings (pack, control, key COLLATE_BYTES, state, due, exception, escalation_step, content_hash);
