/* leadclock dashboard: formatting helpers and ECharts options, one builder per panel.
 * Pure functions of the API payloads ({columns, rows}); dashboard.js does the fetching.
 * Money arrives as integer minor units and is formatted with integer arithmetic; only
 * chart geometry (bar heights, colours) uses major units as floating point. */
'use strict';

window.LeadclockCharts = (() => {
  const STAGES = ['warm', 'hot', 'customer'];
  const MODELS = ['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay'];
  const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
  const whole = new Intl.NumberFormat('en');

  /** Rows of a payload as objects keyed by column name. */
  function objects(payload) {
    return payload.rows.map((row) => {
      const item = {};
      payload.columns.forEach((name, i) => { item[name] = row[i]; });
      return item;
    });
  }

  /** "1,234.56 USD" from minor units, exact (no floating point). */
  function money(minor, currency, exponents) {
    if (minor === null || minor === undefined) return '—';
    const exp = exponents && currency ? exponents[currency] : undefined;
    if (exp === undefined || exp === null) return `${whole.format(minor)} (minor units)`;
    let digits = String(Math.abs(minor));
    let fraction = '';
    if (exp > 0) {
      digits = digits.padStart(exp + 1, '0');
      fraction = '.' + digits.slice(-exp);
      digits = digits.slice(0, -exp);
    }
    const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return `${minor < 0 ? '-' : ''}${grouped}${fraction} ${currency}`;
  }

  /** Major units for chart geometry only (never shown as a figure). */
  function major(minor, currency, exponents) {
    const exp = exponents && exponents[currency] ? exponents[currency] : 0;
    return minor / 10 ** exp;
  }

  /** Text safe inside tooltip HTML (campaign ids come from events). */
  const esc = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

  const day = (iso) => (iso ? String(iso).slice(0, 10) : '—');

  function base(extra) {
    return Object.assign({
      animation: false,
      useUTC: true,
      grid: { left: 56, right: 20, top: 34, bottom: 28 },
      legend: { top: 0, type: 'scroll', textStyle: { fontSize: 11 } },
      tooltip: { trigger: 'axis', confine: true },
    }, extra);
  }

  function empty(text) {
    return {
      title: { text, left: 'center', top: 'middle', textStyle: { fontSize: 13, color: '#5f6b7a', fontWeight: 'normal' } },
      xAxis: { show: false }, yAxis: { show: false }, series: [],
    };
  }

  const byTime = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

  /** Reach: all campaigns -> touches per campaign; one campaign -> touches and leads by type. */
  function reach(payload, campaign) {
    const rows = objects(payload);
    if (!rows.length) return empty('no touches yet');
    const series = [];
    if (!campaign) {
      const per = new Map();
      rows.forEach((r) => {
        const windows = per.get(r.campaign_id) || new Map();
        windows.set(r.window_start, (windows.get(r.window_start) || 0) + r.touches);
        per.set(r.campaign_id, windows);
      });
      per.forEach((windows, id) => series.push({
        name: id, type: 'bar', stack: 'all', barMaxWidth: 8, data: [...windows.entries()].sort(byTime),
      }));
    } else {
      const types = [...new Set(rows.map((r) => r.touch_type))].sort();
      types.forEach((type) => {
        const mine = rows.filter((r) => r.touch_type === type);
        series.push({ name: `${type} touches`, type: 'bar', stack: 'touches',
          data: mine.map((r) => [r.window_start, r.touches]) });
        series.push({ name: `${type} leads`, type: 'line', showSymbol: false,
          data: mine.map((r) => [r.window_start, r.leads]) });
      });
    }
    return base({
      grid: { left: 44, right: 16, top: 30, bottom: 28 },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', minInterval: 1 },
      dataZoom: [{ type: 'inside' }],
      series,
    });
  }

  /** Lead clock: leads that have reached each stage by the end of each window. */
  function leadClock(payload) {
    const rows = objects(payload);
    if (!rows.length) return empty('no leads yet');
    return base({
      grid: { left: 44, right: 16, top: 30, bottom: 28 },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', minInterval: 1 },
      dataZoom: [{ type: 'inside' }],
      series: STAGES.map((stage) => ({
        name: stage, type: 'line', step: 'end', showSymbol: false, areaStyle: { opacity: 0.08 },
        data: rows.filter((r) => r.stage === stage).map((r) => [r.window_start, r.reached]),
      })),
    });
  }

  /** Delayed revenue: touch cohort (rows) x purchase period (columns) heatmap. */
  function delayedRevenue(payload, exponents) {
    const rows = objects(payload);
    if (!rows.length) return empty('no revenue in this currency yet');
    const currency = rows[0].currency;
    const cohorts = [...new Set(rows.map((r) => r.touch_cohort))].sort();
    const periods = [...new Set(rows.map((r) => r.purchase_period))].sort();
    const data = rows.map((r) => [periods.indexOf(r.purchase_period), cohorts.indexOf(r.touch_cohort),
      major(r.revenue_minor, currency, exponents), r.revenue_minor]);
    const max = Math.max(...data.map((d) => d[2]));
    return {
      animation: false,
      grid: { left: 78, right: 16, top: 10, bottom: 62 },
      tooltip: {
        confine: true,
        formatter: (p) => `touched in ${cohorts[p.data[1]]}<br>purchases in ${periods[p.data[0]]}<br><b>${money(p.data[3], currency, exponents)}</b>`,
      },
      xAxis: { type: 'category', data: periods, name: 'purchased', nameLocation: 'middle', nameGap: 24, splitArea: { show: true } },
      yAxis: { type: 'category', data: cohorts, inverse: true, splitArea: { show: true } },
      visualMap: { min: 0, max: max || 1, dimension: 2, calculable: false, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 120, itemWidth: 10,
        text: [compact.format(max), '0'], textStyle: { fontSize: 11 }, inRange: { color: ['#eef3fb', '#2457c5', '#0b1f4d'] } },
      series: [{ type: 'heatmap', data, emphasis: { itemStyle: { borderColor: '#333', borderWidth: 1 } } }],
    };
  }

  /** Lag curve: cumulative share of revenue by days from touch to purchase, per kind. */
  function lag(payload) {
    const rows = objects(payload);
    if (!rows.length) return empty('no revenue history yet');
    const kinds = [...new Set(rows.map((r) => r.kind))].sort();
    return base({
      xAxis: { type: 'value', name: 'days', nameGap: 4, min: 0 },
      yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value} %' } },
      tooltip: { trigger: 'axis', confine: true, valueFormatter: (v) => `${v.toFixed(1)} %` },
      series: kinds.map((kind) => ({
        name: kind, type: 'line', step: 'end', showSymbol: false,
        data: [[0, 0], ...rows.filter((r) => r.kind === kind).map((r) => [r.lag_days, r.cumulative_share * 100])],
      })),
    });
  }

  /** Projection: so far + still expected per campaign; tooltip gives judge_from. */
  function projection(payload, exponents) {
    const rows = objects(payload);
    if (!rows.length) return empty('no revenue in this currency yet');
    const currency = rows[0].currency;
    const ids = rows.map((r) => r.campaign_id);
    const still = rows.map((r) => Math.max((r.projected_revenue_minor || 0) - r.revenue_minor, 0));
    return base({
      grid: { left: 64, right: 16, top: 34, bottom: 58 },
      xAxis: { type: 'category', data: ids, axisLabel: { rotate: 28, fontSize: 11 } },
      yAxis: { type: 'value', name: currency, axisLabel: { formatter: (v) => compact.format(v) } },
      tooltip: {
        trigger: 'axis', confine: true,
        formatter: (items) => {
          const r = rows[items[0].dataIndex];
          const share = r.matured_share === null ? '—' : `${(r.matured_share * 100).toFixed(0)} %`;
          return `<b>${esc(r.campaign_id)}</b> (${esc(r.kind)}, ${esc(r.status)})<br>so far ${money(r.revenue_minor, currency, exponents)}`
            + `<br>projected ${money(r.projected_revenue_minor, currency, exponents)}<br>matured ${share}<br>judge from ${day(r.judge_from)}`;
        },
      },
      series: [
        { name: 'so far', type: 'bar', stack: 'p', data: rows.map((r) => major(r.revenue_minor, currency, exponents)) },
        { name: 'still expected', type: 'bar', stack: 'p',
          itemStyle: { color: '#a9c1ee' },
          label: { show: true, position: 'top', fontSize: 10, formatter: (p) => `from ${day(rows[p.dataIndex].judge_from).slice(5)}` },
          data: still.map((minor, i) => ({
            value: major(minor, currency, exponents),
            itemStyle: rows[i].status === 'too_little_history' ? { color: '#d6d9de' } : undefined,
          })) },
      ],
    });
  }

  /** Model comparison: all-time revenue per campaign under each model; the chosen one solid. */
  function modelComparison(payload, exponents, selected) {
    const rows = objects(payload);
    if (!rows.length) return empty('no revenue in this currency yet');
    const currency = rows[0].currency;
    return base({
      grid: { left: 64, right: 16, top: 34, bottom: 58 },
      xAxis: { type: 'category', data: rows.map((r) => r.campaign_id), axisLabel: { rotate: 28, fontSize: 11 } },
      yAxis: { type: 'value', name: currency, axisLabel: { formatter: (v) => compact.format(v) } },
      tooltip: { trigger: 'axis', confine: true,
        formatter: (items) => `<b>${esc(rows[items[0].dataIndex].campaign_id)}</b><br>`
          + items.map((it) => `${it.marker}${it.seriesName}: ${money(rows[it.dataIndex][it.seriesName], currency, exponents)}`).join('<br>') },
      series: MODELS.map((model) => ({
        name: model, type: 'bar',
        itemStyle: { opacity: model === selected ? 1 : 0.45 },
        data: rows.map((r) => major(r[model], currency, exponents)),
      })),
    });
  }

  return { objects, money, day, reach, leadClock, delayedRevenue, lag, projection, modelComparison };
})();
