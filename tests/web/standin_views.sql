-- STAND-IN v_revenue_projection FOR THE DASHBOARD TESTS ONLY.  DELETE WHEN IT LANDS.
--
-- The real v_clock, v_campaign_scorecard, v_model_comparison, v_revenue_lag and
-- v_lead_clock exist (issue 10, schemas/ddl/005_judgment.sql), and the registry is
-- loaded with `leadclock campaigns load`. The projection (schemas/ddl/006, being built
-- separately) does not exist yet, so this file fakes it with the SPEC §6 columns over
-- the real scorecard. The numbers are plausible, not the SPEC's semantics (a constant
-- share): the dashboard tests check plumbing, parameters and rendering, never these
-- figures. tests/web/conftest.py installs it only while no real view exists.

CREATE OR REPLACE VIEW v_revenue_projection AS
SELECT a.campaign_id AS campaign_id, s.kind AS kind, a.model AS model, a.currency AS currency,
       toInt64(sum(a.revenue_minor)) AS revenue_minor,
       if(s.kind = 'unclassified', 0.5, 0.8) AS matured_share,
       toInt64(round(revenue_minor / matured_share)) AS projected_revenue_minor,
       ifNull(s.ends_on, toDate('2026-06-30')) + 30 AS judge_from,
       if(s.kind = 'unclassified', 'too_little_history', 'maturing') AS status
FROM v_attribution AS a
INNER JOIN v_campaign_scorecard AS s ON s.campaign_id = a.campaign_id
GROUP BY campaign_id, kind, model, currency, s.ends_on;
