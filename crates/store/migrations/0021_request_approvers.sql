-- Who must agree to a request, as the policy packs in force when it was opened named them. An
-- optional column: requests opened before, and files without it, keep the parties Steward knows
-- for each type.
ALTER TABLE requests ADD COLUMN approvers TEXT;
