-- PostgreSQL only. After a large write — an import, the first check run — the planner's
-- statistics of the tables written are stale until autovacuum reaches them, which on a busy
-- server can take minutes; until then it guesses, and pages reading a team's usage or a person's
-- findings choose the wrong plan. The server reads them afresh itself after such a write. Only a
-- table's owner may ANALYZE it (before PostgreSQL 17), and the server connects as the app role,
-- so the owner provides this: ANALYZE of one of this schema's own tables, by name, and nothing
-- else. Created in the schema the migrations run in, with its search path fixed to it.
DO $do$
BEGIN
    EXECUTE format($f$
        CREATE FUNCTION %1$I.steward_analyze(name TEXT) RETURNS VOID
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = %1$I, pg_temp AS $body$
        BEGIN
            IF NOT EXISTS (
                SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %1$L AND tablename = name
            ) THEN
                RAISE EXCEPTION 'no table %% in this schema', name;
            END IF;
            EXECUTE pg_catalog.format('ANALYZE %%I.%%I', %1$L, name);
        END
        $body$
    $f$, current_schema());
END
$do$;
