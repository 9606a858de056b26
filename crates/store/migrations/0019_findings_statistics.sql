-- PostgreSQL only (SQLite keeps no statistics; its statements choose their index by hand).
--
-- A policy's findings and their clauses go together: a section of one policy may hold twenty
-- findings where the same section of another holds a hundred thousand. Without statistics on
-- the pair, the planner guesses a section's share from the clause alone and reads a small
-- section's page by walking the policy's whole severity index. Autovacuum's ANALYZE keeps these.
CREATE STATISTICS findings_pack_clause (mcv) ON pack, clause FROM findings;
