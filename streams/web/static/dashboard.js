/* leadclock dashboard: fetches the JSON API of this server, renders the scorecard table
 * and the charts (charts.js), refreshes itself while the tab is visible. Every request
 * goes to the server that served the page; user data is inserted as text, never HTML. */
'use strict';

(() => {
  const C = window.LeadclockCharts;
  const $ = (selector) => document.querySelector(selector);
  const state = {
    meta: null, scorecard: null, sort: { key: 'campaign_id', dir: 1 },
    timer: null, loading: false, again: false, charts: {}, payloads: {}, lastRefreshSeconds: 0,
  };

  class ApiError extends Error {}

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: 'application/json' } });
    const body = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) throw new ApiError(body.error || `${response.status} ${response.statusText}`);
    return body;
  }

  const choice = (id) => $(id).value;

  /** The query parameters each panel takes, from the current selections. */
  function panelParams(name) {
    const kind = choice('#kind');
    const model = choice('#model') || 'linear';
    const currency = choice('#currency');
    const money = currency ? { currency } : {};
    switch (name) {
      case 'scorecard': return { kind, model, ...money };
      case 'reach': {
        const campaign = choice('#reach-campaign');
        return campaign ? { campaign } : { kind };
      }
      case 'lead-clock': return {};
      case 'delayed-revenue': return { model, kind, bucket: choice('#bucket'), ...money };
      case 'lag': return { model, kind, ...money };
      case 'projection': return { model, kind, ...money };
      case 'model-comparison': return { kind, ...money };
      default: throw new Error(`unknown panel ${name}`);
    }
  }

  const url = (name, extra) => `/api/${name}?${new URLSearchParams({ ...panelParams(name), ...extra })}`;

  function panelError(name, message) {
    const box = $(`#panel-${name} .error`);
    box.hidden = !message;
    box.textContent = message || '';
  }

  function chart(name) {
    if (!state.charts[name]) state.charts[name] = echarts.init($(`#chart-${name}`));
    return state.charts[name];
  }

  function render(name, payload) {
    const exponents = state.meta ? state.meta.currency_exponents : {};
    const options = {
      reach: () => C.reach(payload, choice('#reach-campaign')),
      'lead-clock': () => C.leadClock(payload),
      'delayed-revenue': () => C.delayedRevenue(payload, exponents),
      lag: () => C.lag(payload),
      projection: () => C.projection(payload, exponents),
      'model-comparison': () => C.modelComparison(payload, exponents, choice('#model')),
    };
    if (name === 'scorecard') renderScorecard(payload);
    else chart(name).setOption(options[name](), { notMerge: true });
  }

  async function loadPanel(name) {
    $(`#panel-${name} .csv`).href = url(name, { format: 'csv' });
    try {
      const payload = await getJSON(url(name));
      state.payloads[name] = payload;
      panelError(name, '');
      render(name, payload);
    } catch (error) {
      panelError(name, error instanceof ApiError ? error.message : `cannot reach the server (${error.message})`);
    }
  }

  function fillSelect(select, values, preferred) {
    const current = select.value || preferred;
    if ([...select.options].map((o) => o.value).join() !== values.join()) {
      select.replaceChildren(...values.map((value) => new Option(value, value)));
    }
    select.value = values.includes(current) ? current : (values.includes(preferred) ? preferred : values[0] || '');
  }

  function applyMeta(meta) {
    state.meta = meta;
    fillSelect($('#model'), meta.models, 'linear');
    fillSelect($('#currency'), meta.currencies, meta.default_currency);
    $('#as-of').textContent = meta.as_of ? `${meta.as_of.slice(0, 19).replace('T', ' ')} UTC` : 'no events yet';
  }

  /* ---- scorecard table ---- */
  const money = (row, minorKey, currencyKey) => C.money(row[minorKey], row[currencyKey], state.meta && state.meta.currency_exponents);
  const count = (value) => (value ?? 0).toLocaleString('en');
  /** A cell with a main line and a small second line (both text). */
  function twoLines(td, main, sub) {
    td.textContent = main;
    if (sub) {
      const small = document.createElement('span');
      small.className = 'id';
      small.textContent = sub;
      td.append(small);
    }
  }
  const goalTarget = (r) => (r.goal_metric === 'revenue' ? money(r, 'goal_target', 'goal_currency') : count(r.goal_target));
  const goalSub = (r) => (r.goal_metric === 'revenue' ? `revenue · ${r.goal_model}` : r.goal_metric.replace('_', ' '));
  const actualText = (r) => (r.goal_metric === 'revenue' ? money(r, 'actual', 'goal_currency') : count(r.actual));
  const runs = (r) => (r.starts_on ? `${r.starts_on} → ${r.ends_on.slice(0, 4) === r.starts_on.slice(0, 4) ? r.ends_on.slice(5) : r.ends_on}` : '—');

  const COLUMNS = [
    { key: 'campaign_id', label: 'Campaign', cell: (r, td) => twoLines(td, r.name, r.name !== r.campaign_id ? r.campaign_id : '') },
    { key: 'kind', label: 'Kind', cell: (r, td) => { twoLines(td, r.kind, r.channel); td.classList.add('kind', `kind-${r.kind}`); } },
    { key: 'starts_on', label: 'Runs', text: runs },
    { key: 'goal_target', label: 'Goal', num: true, cell: (r, td) => (r.goal_metric === null ? (td.textContent = '—') : twoLines(td, `≥ ${goalTarget(r)}`, goalSub(r))) },
    { key: 'actual', label: 'Actual', num: true, cell: (r, td) => {
      if (r.actual === null) { td.textContent = '—'; return; }
      twoLines(td, actualText(r), '');
      if (r.goal_target) {
        const bar = document.createElement('span'); bar.className = 'progress';
        const fill = document.createElement('span'); fill.style.width = `${Math.min(100, (100 * r.actual) / r.goal_target)}%`;
        bar.append(fill); td.append(bar);
      }
    } },
    { key: 'verdict', label: 'Verdict', cell: (r, td) => {
      const badge = document.createElement('span'); badge.className = `badge verdict-${r.verdict}`; badge.textContent = r.verdict.replace('_', ' ');
      td.append(badge);
      if (r.due_at) { const due = document.createElement('span'); due.className = 'id'; due.textContent = `due ${C.day(r.due_at)}`; td.append(due); }
    } },
    { key: 'revenue_minor', label: 'Revenue so far', num: true, text: (r) => money(r, 'revenue_minor', 'currency'), cls: 'revenue' },
    { key: 'projected_revenue_minor', label: 'Projected', num: true, cls: 'projected',
      cell: (r, td) => twoLines(td, money(r, 'projected_revenue_minor', 'currency'), (r.projection_status || '').replaceAll('_', ' ')) },
    { key: 'judge_from', label: 'Judge from', text: (r) => r.judge_from || '—' },
    { key: 'leads_reached', label: 'Reached', num: true, text: (r) => count(r.leads_reached) },
    { key: 'leads_warmed', label: 'Warm', num: true, text: (r) => count(r.leads_warmed) },
    { key: 'leads_hot', label: 'Hot', num: true, text: (r) => count(r.leads_hot) },
    { key: 'touches', label: 'Touches', num: true, text: (r) => count(r.touches) },
  ];

  function compare(a, b) {
    if (a === b) return 0;
    if (a === null || a === undefined) return 1;
    if (b === null || b === undefined) return -1;
    return typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
  }

  function renderHead() {
    const row = $('#scorecard thead tr');
    row.replaceChildren(...COLUMNS.map((column) => {
      const th = document.createElement('th');
      th.textContent = column.label;
      th.dataset.key = column.key;
      if (column.num) th.className = 'num';
      if (column.key === state.sort.key) th.setAttribute('aria-sort', state.sort.dir > 0 ? 'ascending' : 'descending');
      th.addEventListener('click', () => {
        state.sort = { key: column.key, dir: state.sort.key === column.key ? -state.sort.dir : 1 };
        renderScorecard(state.scorecard);
      });
      return th;
    }));
  }

  function renderScorecard(payload) {
    state.scorecard = payload;
    const rows = C.objects(payload);
    const { key, dir } = state.sort;
    const nullsLast = (a, b) => (a[key] === null ? 1 : b[key] === null ? -1 : dir * compare(a[key], b[key]));
    rows.sort((a, b) => nullsLast(a, b) || compare(a.campaign_id, b.campaign_id));
    renderHead();
    $('#scorecard tbody').replaceChildren(...rows.map((r) => {
      const tr = document.createElement('tr');
      tr.dataset.campaign = r.campaign_id;
      tr.dataset.verdict = r.verdict;
      COLUMNS.forEach((column) => {
        const td = document.createElement('td');
        if (column.num) td.className = 'num';
        if (column.cls) td.classList.add(column.cls);
        if (column.cell) column.cell(r, td); else td.textContent = column.text(r);
        tr.append(td);
      });
      return tr;
    }));
    const params = payload.params || {};
    $('#scorecard').dataset.model = params.model || '';
    $('#scorecard').dataset.currency = params.currency || '';
    const ths = $('#scorecard thead tr').children;
    const revenueIndex = COLUMNS.findIndex((c) => c.key === 'revenue_minor');
    const model = Object.assign(document.createElement('span'), { className: 'id', textContent: `${params.model || ''} · ${params.currency || ''}` });
    ths[revenueIndex].append(model);
    fillSelect($('#reach-campaign'), ['', ...rows.map((r) => r.campaign_id).sort()], '');
    $('#reach-campaign').options[0].textContent = 'all campaigns';
  }

  /* ---- refresh loop ---- */
  function setStatus(text) { $('#status').textContent = text; }

  function schedule() {
    clearTimeout(state.timer);
    if (!$('#auto').checked) { setStatus(`${$('#status').textContent.split(' ·')[0]} · auto-refresh off`); return; }
    if (document.hidden) return;
    // Never spend more than a third of the time querying: on a large database a full
    // refresh can take longer than the period, so the next one waits twice as long.
    const seconds = Math.max(state.meta ? state.meta.refresh_seconds : 5, 2 * state.lastRefreshSeconds);
    state.timer = setTimeout(refresh, seconds * 1000);
  }

  async function refresh() {
    if (state.loading) { state.again = true; return; }
    state.loading = true;
    clearTimeout(state.timer);
    const started = performance.now();
    setStatus(`${$('#status').textContent.split(' ·')[0]} · refreshing…`);
    try {
      try {
        applyMeta(await getJSON('/api/meta'));
      } catch (error) {
        setStatus(`meta: ${error.message}`);
      }
      await loadPanel('scorecard');
      await Promise.all(['reach', 'lead-clock', 'delayed-revenue', 'lag', 'projection', 'model-comparison'].map(loadPanel));
      document.body.dataset.renders = String(Number(document.body.dataset.renders) + 1);
      if (!document.body.dataset.firstRenderMs) document.body.dataset.firstRenderMs = String(Math.round(performance.now()));
      state.lastRefreshSeconds = (performance.now() - started) / 1000;
      setStatus(`updated ${new Date().toLocaleTimeString('en-GB')} (${state.lastRefreshSeconds.toFixed(1)} s)`);
    } finally {
      state.loading = false;
      if (state.again) { state.again = false; refresh(); } else schedule();
    }
  }

  /* ---- SQL box ---- */
  async function postSQL(format) {
    const body = JSON.stringify({ sql: $('#sql').value, limit: 1000 });
    const response = await fetch(`/api/sql${format ? `?format=${format}` : ''}`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body,
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({ error: response.statusText }));
      throw new ApiError(problem.error);
    }
    return response;
  }

  async function runSQL() {
    panelError('sql', '');
    $('#sql-info').textContent = 'running…';
    try {
      const payload = await (await postSQL('')).json();
      const head = document.createElement('tr');
      head.append(...payload.columns.map((name) => Object.assign(document.createElement('th'), { textContent: name })));
      $('#sql-result thead').replaceChildren(head);
      $('#sql-result tbody').replaceChildren(...payload.rows.slice(0, 500).map((row) => {
        const tr = document.createElement('tr');
        tr.append(...row.map((value) => Object.assign(document.createElement('td'), {
          textContent: value === null ? 'NULL' : typeof value === 'object' ? JSON.stringify(value) : String(value),
        })));
        return tr;
      }));
      const shown = payload.rows.length > 500 ? ' (first 500 shown; CSV has all)' : '';
      const cut = payload.truncated ? `, cut at ${payload.row_limit}` : '';
      $('#sql-info').textContent = `${payload.rows.length} rows${cut} in ${payload.query_ms} ms${shown}`;
    } catch (error) {
      $('#sql-info').textContent = '';
      panelError('sql', error.message);
    }
  }

  async function downloadSQL() {
    panelError('sql', '');
    try {
      const blob = await (await postSQL('csv')).blob();
      const link = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: 'leadclock-query.csv' });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    } catch (error) {
      panelError('sql', error.message);
    }
  }

  /* ---- wiring ---- */
  ['#kind', '#model', '#currency'].forEach((id) => $(id).addEventListener('change', refresh));
  $('#bucket').addEventListener('change', () => loadPanel('delayed-revenue'));
  $('#reach-campaign').addEventListener('change', () => loadPanel('reach'));
  $('#auto').addEventListener('change', () => ($('#auto').checked ? refresh() : schedule()));
  $('#sql-run').addEventListener('click', runSQL);
  $('#sql-csv').addEventListener('click', downloadSQL);
  $('#sql').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) { event.preventDefault(); runSQL(); }
  });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) { clearTimeout(state.timer); setStatus('paused (tab hidden)'); } else refresh();
  });
  let resizing = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => Object.values(state.charts).forEach((c) => c.resize()), 150);
  });
  refresh();
})();
