-- Partials (issue 12, docs/design/partials.md): per-partition aggregates that the
-- aggregating views will sum, so that a dashboard query reads keys, not history.
-- Not read by any view yet.
--
-- The owner of (version, partition) keeps, in memory, the sum over the partition's
-- leads of each lead's contribution (streams/engine/partials.py) and writes ABSOLUTE
-- values of the keys that changed, in its epoch (one ownership of the partition). An
-- epoch counts once it is registered in agg_epochs, which happens only after every key
-- of the partition was written in it. Readers take, per (version, partition), the
-- greatest registered epoch and, per key, the row with the greatest seq (a per-epoch
-- write counter). Older epochs (a crashed owner, a zombie after a rebalance) are ignored.
-- Key and value columns are streams.engine.partials.KEYS / VALUES, in that order.
-- Partitioned by version, so `leadclock retire` drops a version's partials with it.

CREATE TABLE IF NOT EXISTS agg_epochs (
    version UInt32,
    partition Int32,
    epoch UInt64 COMMENT 'one ownership of (version, partition), greater is newer',
    partitions Int32 COMMENT 'how many home partitions the writer split leads over',
    registered_at DateTime64(3, 'UTC')
) ENGINE = {replacing} PARTITION BY version ORDER BY (version, partition, epoch);

CREATE TABLE IF NOT EXISTS agg_campaign (
    version UInt32, partition Int32, epoch UInt64,
    campaign_id String,
    touches Int64, leads_reached Int64, leads_warmed Int64, leads_hot Int64,
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch, campaign_id);

CREATE TABLE IF NOT EXISTS agg_campaign_revenue (
    version UInt32, partition Int32, epoch UInt64,
    campaign_id String, model LowCardinality(String), currency LowCardinality(String),
    revenue_minor Int64, conversions_e9 Int64,
    credits Int64 COMMENT 'credit records: a key with credits shows even at zero revenue',
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch, campaign_id, model, currency);

CREATE TABLE IF NOT EXISTS agg_reach (
    version UInt32, partition Int32, epoch UInt64,
    campaign_id String, touch_type LowCardinality(String), window_start DateTime('UTC'),
    touches Int64, leads Int64,
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch, campaign_id, touch_type, window_start);

CREATE TABLE IF NOT EXISTS agg_stages (
    version UInt32, partition Int32, epoch UInt64,
    campaign_id String, stage LowCardinality(String), window_start DateTime('UTC'),
    leads Int64,
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch, campaign_id, stage, window_start);

CREATE TABLE IF NOT EXISTS agg_credits (
    version UInt32, partition Int32, epoch UInt64,
    campaign_id String, model LowCardinality(String), currency LowCardinality(String),
    touch_window DateTime('UTC'), purchase_window DateTime('UTC'),
    revenue_minor Int64, conversions_e9 Int64, credits Int64,
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch, campaign_id, model, currency, touch_window, purchase_window);

CREATE TABLE IF NOT EXISTS agg_lag (
    version UInt32, partition Int32, epoch UInt64,
    campaign_id String, model LowCardinality(String), currency LowCardinality(String),
    touch_day Int32 COMMENT 'UTC day of the touch (days since 1970-01-01)',
    lag_days UInt32 COMMENT 'floor((purchased_at - touched_at) / 1 day)',
    revenue_minor Int64,
    positive_credits Int64 COMMENT 'credits with revenue > 0 (the projection history size)',
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch, campaign_id, model, currency, touch_day, lag_days);

CREATE TABLE IF NOT EXISTS agg_clock (
    version UInt32, partition Int32, epoch UInt64,
    window_start DateTime('UTC'), stage LowCardinality(String) COMMENT 'warm, hot or customer',
    entered Int64,
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch, window_start, stage);

CREATE TABLE IF NOT EXISTS agg_as_of (
    version UInt32, partition Int32, epoch UInt64,
    as_of DateTime64(6, 'UTC') COMMENT 'newest accepted event of the partition (a max, not a sum)',
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch);
