-- An administrator may make an account choose a new password at its next sign-in.
-- From this release the roles an account holds come from the roles register alone: the
-- `sign_ins.roles` column is no longer read; on start the service moves what it holds into the
-- roles register (audited) and empties it.
ALTER TABLE sign_ins ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
