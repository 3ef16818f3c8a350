-- Which migration plans were applied completely, so that a worker starting next to
-- another one (or after the deployment's one-shot `leadclock migrate`) skips the DDL
-- instead of re-running it concurrently: re-running CREATE OR REPLACE VIEW in two
-- processes at once can interleave two files' definitions of one view.
-- plan_sha256 is the SHA-256 of every statement of the plan, in order.

CREATE TABLE IF NOT EXISTS schema_migrations (
    plan_sha256 String,
    applied_at DateTime64(3, 'UTC')
) ENGINE = {replacing}(applied_at) ORDER BY plan_sha256;
