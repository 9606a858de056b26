-- PostgreSQL only (SQLite has one server, which reads the head with each request).
--
-- Each server keeps what it read of sessions and of the data between requests while no change
-- has been committed since (see `changes.rs`). Every change to the data moves the audit head; a
-- signed-out or expired session is deleted; an account's row changes when it is disabled, its
-- password reset or its person changed. Each such statement sends a notice on the channel
-- `steward_changes` when its transaction commits, and every server listening drops what it kept.
-- Notices of one transaction are sent once; nothing is sent for a transaction rolled back.

CREATE FUNCTION steward_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('steward_changes', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_head_changed AFTER UPDATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION steward_changed();
CREATE TRIGGER sessions_ended AFTER DELETE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION steward_changed();
CREATE TRIGGER sign_ins_changed AFTER UPDATE OR DELETE ON sign_ins
    FOR EACH STATEMENT EXECUTE FUNCTION steward_changed();
