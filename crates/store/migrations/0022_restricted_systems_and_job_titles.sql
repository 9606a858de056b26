-- Two optional columns the policies' clauses need decided from the registers: a system locked
-- down by default (access through a registration or approval process), and a person's post, by
-- which a policy names who owns an information asset. Existing files import unchanged.
ALTER TABLE systems ADD COLUMN restricted BOOLEAN;
ALTER TABLE people ADD COLUMN job_title TEXT;
