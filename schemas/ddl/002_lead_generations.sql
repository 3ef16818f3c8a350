-- Lead generations (optional state TTL, docs/state-ttl.md).
--
-- With a state TTL, a lead whose state expired and that comes back starts a new
-- generation: its rows must add to the expired generation's rows, not replace them, so
-- a row's identity becomes (lead, generation, ...). `generation` is '' without a TTL,
-- and otherwise names the message that opened the generation (topic letter + offset,
-- e.g. 'c4711'). Revisions count events per generation.
--
-- The column has no DEFAULT expression because ClickHouse only lets a column that is
-- added in the same ALTER join the sorting key without one; String columns read as ''
-- for existing rows anyway. Re-running these statements is harmless.

ALTER TABLE lead_revisions ADD COLUMN IF NOT EXISTS generation String AFTER lead_id,
    MODIFY ORDER BY (version, lead_id, generation);

ALTER TABLE lead_reach ADD COLUMN IF NOT EXISTS generation String AFTER lead_id,
    MODIFY ORDER BY (version, lead_id, campaign_id, touch_type, window_start, generation);

ALTER TABLE lead_stages ADD COLUMN IF NOT EXISTS generation String AFTER lead_id,
    MODIFY ORDER BY (version, lead_id, stage, generation);

-- `lineage` (row diffs: 005 says what it is) joins the key here, not in 005: re-running
-- this statement must not shrink the key again, and an existing column can never join
-- it later. In a database migrated before it existed, this adds it (rows read 0).
ALTER TABLE lead_credits ADD COLUMN IF NOT EXISTS generation String AFTER lead_id,
    ADD COLUMN IF NOT EXISTS lineage UInt64,
    MODIFY ORDER BY (version, lead_id, purchase_event_id, touch_event_id, model, generation, lineage);

CREATE OR REPLACE VIEW v_lead_revisions AS
SELECT lead_id, generation, revision FROM lead_revisions FINAL
WHERE version = (SELECT version FROM v_current_version);

-- `leads` counts lead generations: a lead that came back after its state expired counts
-- again in a key both generations touched (the documented cost of a state TTL).
CREATE OR REPLACE VIEW v_marketing_reach AS
SELECT campaign_id, touch_type, window_start,
       toInt64(sum(lead_touches)) AS touches, toInt64(count()) AS leads
FROM (
    SELECT lead_id, generation, campaign_id, touch_type, window_start,
           touches AS lead_touches, revision
    FROM lead_reach FINAL
    WHERE version = (SELECT version FROM v_current_version)
)
WHERE (lead_id, generation, revision) IN (SELECT lead_id, generation, revision FROM v_lead_revisions)
GROUP BY campaign_id, touch_type, window_start;

CREATE OR REPLACE VIEW v_lead_stages AS
SELECT campaign_id, stage, window_start, toInt64(count()) AS leads
FROM (
    SELECT lead_id, generation, stage, campaign_id, window_start, revision
    FROM lead_stages FINAL
    WHERE version = (SELECT version FROM v_current_version)
)
WHERE (lead_id, generation, revision) IN (SELECT lead_id, generation, revision FROM v_lead_revisions)
GROUP BY campaign_id, stage, window_start;

-- v_attribution_credits: 005 (it reads lead_revisions' lineage column, added there).
