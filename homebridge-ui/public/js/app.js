/* global document, window, homebridge, navigator, Blob, atob */
// The settings page: everything it shows comes from the plugin's UI server (homebridge-ui/server.js),
// which asks the retention engine. Recordings are named by id; file names are only ever shown, as text.
// shared/ holds the engine's own formatting and reasons, copied there by `npm run build`.
import { formatBytes } from './shared/format.js';
import { REASONS } from './shared/reasons.js';

(() => {
  const $ = (id) => document.getElementById(id);
  const PALETTE = ['#0d6efd', '#fd7e14', '#20c997', '#d63384', '#6f42c1', '#ffc107', '#198754', '#0dcaf0'];
  const PAGE = 50;
  /** Without a push from another process, the page looks for a sweep that started or ended this often. */
  const POLL_MS = 30_000;
  /** While a sweep of another process runs, its end is looked for more often, so "A sweep is running" does not linger. */
  const POLL_RUNNING_MS = 3_000;
  /** The page keeps a whole clip in memory to play it; the server refuses larger ones with a message. */
  const MAX_PLAY_BYTES = 100 * 1000 * 1000;

  // ---- one locale-aware format for numbers, sizes and dates ----
  const locale = navigator.language || 'en-US';
  const numberFormat = new Intl.NumberFormat(locale);
  const dateTimeFormat = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
  const dayFormat = new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric' });
  const dateFormat = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' });
  const num = (n) => numberFormat.format(n);
  /** The engine's sizes (the same units and rounding as the CLI and the log), with this browser's decimal mark. */
  const bytes = (b) => {
    const text = formatBytes(b);
    const [value, unit] = text.split(' ');
    const digits = (value.split('.')[1] || '').length;
    return `${Number(value).toLocaleString(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${unit}`;
  };
  const when = (ms) => (ms === null || ms === undefined || Number.isNaN(ms) ? '–' : dateTimeFormat.format(new Date(ms)));
  const count = (n, one, many = `${one}s`) => `${num(n)} ${n === 1 ? one : many}`;
  const listOf = (names) => (names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`);
  const days = (n) => (n < 1 ? 'less than a day' : count(Math.round(n), 'day'));

  /** Builds an element; strings become text nodes, so nothing from the server is read as HTML. */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === 'class') {
        node.className = value;
      } else if (key === 'style') {
        node.style.cssText = value;
      } else {
        node.setAttribute(key, value);
      }
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) {
        node.append(child instanceof window.Node ? child : String(child));
      }
    }
    return node;
  }
  const svg = (tag, attrs = {}) => {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [key, value] of Object.entries(attrs)) {
      node.setAttribute(key, value);
    }
    return node;
  };

  async function call(path, body = {}) {
    try {
      return await homebridge.request(path, body);
    } catch (error) {
      const message = (error && error.message) || String(error);
      homebridge.toast.error(message, 'NVR Retention');
      throw new Error(message, { cause: error });
    }
  }

  // ---- tabs (a real tab list: arrow keys move between them) ----
  const tabs = [...document.querySelectorAll('[role=tab]')];
  function selectTab(button) {
    for (const other of tabs) {
      const on = other === button;
      other.classList.toggle('active', on);
      other.setAttribute('aria-selected', String(on));
      other.tabIndex = on ? 0 : -1;
    }
    for (const panel of document.querySelectorAll('[data-panel]')) {
      panel.classList.toggle('d-none', panel.dataset.panel !== button.dataset.tab);
    }
    if (button.dataset.tab === 'recordings' && !browser.loaded) {
      reloadRecordings();
    }
    homebridge.fixScrollHeight();
  }
  for (const [i, button] of tabs.entries()) {
    button.addEventListener('click', () => selectTab(button));
    button.addEventListener('keydown', (event) => {
      const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
      if (step) {
        const next = tabs[(i + step + tabs.length) % tabs.length];
        next.focus();
        selectTab(next);
      }
    });
  }

  // ---- dashboard ----
  let dashboardState = null;

  function bar(segments, markerAt, label) {
    return el(
      'div',
      { class: 'nvr-bar', role: 'img', 'aria-label': label },
      segments
        .filter((s) => s.fraction > 0)
        .map((s) => el('div', { class: `seg ${s.class}`, style: `width:${Math.min(100, s.fraction * 100).toFixed(2)}%`, title: s.title })),
      markerAt === null
        ? null
        : el('div', { class: 'marker', style: `left:calc(${Math.min(100, Math.max(0, markerAt * 100)).toFixed(2)}% - 1px)` }),
    );
  }

  function renderProblems(dashboard) {
    const items = dashboard.problems.map((p) =>
      el(
        'li',
        { 'data-testid': 'problem', 'data-kind': p.kind },
        p.message,
        p.kind === 'unavailable' || p.kind === 'mount-missing' ? acceptMissing(p.cameras) : null,
      ),
    );
    for (const camera of dashboard.disabledCameras) {
      items.push(
        el(
          'li',
          { 'data-testid': 'problem', 'data-kind': 'config' },
          `Camera ${camera.name || `number ${camera.index + 1}`} is switched off because its settings have a mistake: ${camera.issues.join('; ')}.`,
        ),
      );
    }
    if (dashboard.status.lastSweep && dashboard.status.lastSweep.status === 'failed') {
      items.push(el('li', { 'data-testid': 'problem', 'data-kind': 'sweep-failed' }, 'The last sweep failed; see the warnings below.'));
    }
    $('problems').className = items.length ? 'alert alert-danger py-2' : '';
    $('problems').replaceChildren(...(items.length ? [el('ul', { class: 'mb-0 ps-3' }, items)] : []));
  }

  /**
   * rules §3.1: only a person can tell an unmounted disk from footage that is really gone. The button
   * opens an explanation first, and the destructive step is a second, separate button.
   */
  function acceptMissing(cameras) {
    const box = el('div', { class: 'mt-1' });
    const open = el('button', { type: 'button', class: 'btn btn-outline-light btn-sm nvr-on-danger' }, 'The files are really gone…');
    box.append(open);
    open.addEventListener('click', () => {
      const confirm = el(
        'button',
        { type: 'button', class: 'btn btn-light btn-sm' },
        `Forget the missing recordings of ${listOf(cameras)}`,
      );
      const cancel = el('button', { type: 'button', class: 'btn btn-outline-light btn-sm ms-1 nvr-on-danger' }, 'Cancel');
      const text = el(
        'p',
        { class: 'mb-1' },
        'Only do this if the recordings were deleted on purpose. If the disk or NAS is just not mounted, mount it instead: the files come back on their own. ',
        'Confirming drops the missing recordings from the index (their holds too), and the camera is swept again.',
      );
      box.replaceChildren(text, confirm, cancel);
      cancel.addEventListener('click', () => box.replaceChildren(open));
      confirm.addEventListener('click', async () => {
        confirm.disabled = true;
        for (const camera of cameras) {
          try {
            await call('/accept-missing', { camera });
          } catch {
            break;
          }
        }
        loadDashboard();
      });
      homebridge.fixScrollHeight();
    });
    return box;
  }

  function renderFilesystems(filesystems) {
    $('filesystems').replaceChildren(
      ...filesystems.map((fs) => {
        if (fs.totalBytes === null) {
          const which = fs.folder ? `${listOf(fs.cameras)} (disk mounted at ${fs.folder})` : listOf(fs.cameras);
          return el('div', { class: 'nvr-danger small mb-2' }, `The disk of ${which} cannot be measured: is it mounted?`);
        }
        const used = fs.totalBytes - fs.freeBytes;
        const floorAt = fs.floorBytes === null ? null : (fs.totalBytes - fs.floorBytes) / fs.totalBytes;
        const under = fs.floorBytes !== null && fs.freeBytes < fs.floorBytes;
        return el(
          'div',
          { class: 'mb-2', 'data-testid': 'filesystem' },
          el(
            'div',
            { class: 'small d-flex flex-wrap justify-content-between' },
            el('span', {}, fs.folder ? `${listOf(fs.cameras)}: disk mounted at ${fs.folder}` : listOf(fs.cameras)),
            el(
              'span',
              { class: under ? 'nvr-danger fw-semibold' : '' },
              `${bytes(fs.freeBytes)} free of ${bytes(fs.totalBytes)}`,
              fs.floorBytes === null ? '' : ` · keep ${bytes(fs.floorBytes)} free`,
            ),
          ),
          bar(
            [{ class: 'seg-used', fraction: used / fs.totalBytes, title: `${bytes(used)} used` }],
            floorAt,
            `${bytes(used)} used, ${bytes(fs.freeBytes)} free`,
          ),
        );
      }),
    );
  }

  /** "continuous 7 days, events 21 days (default 3×), quota 30 GB" */
  function rulesText(rule) {
    return [
      `continuous ${count(rule.continuousDays, 'day')}`,
      `events ${count(rule.eventDays, 'day')}${rule.eventDefault ? ' (default 3×)' : ''}`,
      rule.quotaBytes === null ? 'no quota' : `quota ${bytes(rule.quotaBytes)}`,
    ].join(', ');
  }

  function renderCameras(dashboard) {
    const { cameras, filesystems } = dashboard.status;
    $('cameras').replaceChildren(
      ...cameras.map((camera) => {
        // Without a quota the bar is the camera's share of its disk, never a full bar.
        const disk = filesystems.find((fs) => fs.cameras.includes(camera.name));
        const scale = camera.quotaBytes || (disk && disk.totalBytes) || Math.max(camera.bytes, 1) * 4;
        const other = camera.bytes - camera.protectedBytes;
        const rule = dashboard.rules.find((r) => r.name === camera.name);
        return el(
          'div',
          { class: 'col-12 col-md-6' },
          el(
            'div',
            { class: 'card h-100', 'data-testid': 'camera', 'data-camera': camera.name },
            el(
              'div',
              { class: 'card-body p-2' },
              el(
                'div',
                { class: 'd-flex justify-content-between flex-wrap' },
                el('h3', { class: 'h6 mb-0' }, camera.name),
                el(
                  'span',
                  { class: 'small', 'data-testid': 'camera-bytes' },
                  bytes(camera.bytes),
                  camera.quotaBytes === null
                    ? disk && disk.totalBytes
                      ? ` of a ${bytes(disk.totalBytes)} disk`
                      : ''
                    : ` of ${bytes(camera.quotaBytes)} quota`,
                ),
              ),
              rule ? el('div', { class: 'small', 'data-testid': 'camera-rules' }, `Keeps ${rulesText(rule)}`) : null,
              camera.available
                ? null
                : el('div', { class: 'nvr-danger small' }, 'Unavailable: nothing of it is deleted (see the message at the top).'),
              bar(
                [
                  { class: 'seg-protected', fraction: camera.protectedBytes / scale, title: `${bytes(camera.protectedBytes)} protected` },
                  { class: 'seg-other', fraction: other / scale, title: `${bytes(other)} other` },
                ],
                camera.quotaBytes === null ? null : 1,
                `${bytes(camera.protectedBytes)} protected, ${bytes(other)} other${camera.quotaBytes === null ? '' : `, of a ${bytes(camera.quotaBytes)} quota`}`,
              ),
              el(
                'div',
                { class: 'small mt-1' },
                el('span', { class: 'nvr-legend', style: 'background:var(--nvr-protected)' }),
                `${num(camera.protectedRecordings)} protected (${bytes(camera.protectedBytes)}) `,
                el('span', { class: 'nvr-legend', style: 'background:var(--nvr-other)' }),
                `other ${bytes(other)}`,
              ),
              el(
                'div',
                { class: 'small', 'data-testid': 'camera-counts' },
                `${count(camera.recordings, 'recording')}: ${num(camera.recordings - camera.eventRecordings)} continuous, ${num(camera.eventRecordings)} event`,
              ),
              el(
                'div',
                { class: 'small nvr-muted' },
                `Oldest ${when(camera.oldest && Date.parse(camera.oldest))} · newest ${when(camera.newest && Date.parse(camera.newest))}`,
              ),
            ),
          ),
        );
      }),
    );
  }

  /** The measured history: each camera, their total, and dashed lines for the cap and each disk's size. */
  function renderChart(history) {
    // Drawn at the width it is shown, so its labels stay 12 px on a phone too.
    const W = Math.max(320, Math.round($('chart').clientWidth || 700));
    const H = 220;
    const pad = { left: 64, right: 8, top: 10, bottom: 24 };
    const lines = [
      ...history.cameras.map((c, i) => ({ name: c.name, values: c.bytes, color: PALETTE[i % PALETTE.length], cls: 'line' })),
      { name: 'All cameras', values: history.total, color: 'var(--nvr-text)', cls: 'line total' },
    ];
    const limits = [
      ...(history.capBytes === null ? [] : [{ name: `Total cap ${bytes(history.capBytes)}`, value: history.capBytes, cls: 'limit cap' }]),
      ...history.disks.map((d) => ({
        name: `Disk of ${listOf(d.cameras)}: ${bytes(d.totalBytes)}`,
        value: d.totalBytes,
        cls: 'limit disk',
      })),
    ];
    const measured = lines.flatMap((l) => l.values.filter((v) => v !== null));
    // The scale fits what was measured and the cap; a disk much larger than that is named, not drawn off the chart.
    const top = Math.max(1, ...measured, ...(history.capBytes === null ? [] : [history.capBytes])) * 1.1;
    const n = history.days.length;
    const x = (i) => pad.left + (n <= 1 ? 0 : (i * (W - pad.left - pad.right)) / (n - 1));
    const y = (v) => pad.top + (1 - Math.min(v, top) / top) * (H - pad.top - pad.bottom);
    const chart = svg('svg', {
      viewBox: `0 0 ${W} ${H}`,
      width: String(W),
      height: String(H),
      class: 'nvr-chart',
      role: 'img',
      'aria-label': `Storage per camera over the last ${n} days, as measured`,
      'data-testid': 'chart',
    });
    for (let k = 0; k <= 4; k++) {
      const v = (top / 4) * k;
      chart.append(svg('line', { x1: pad.left, x2: W - pad.right, y1: y(v), y2: y(v), class: 'grid' }));
      const label = svg('text', { x: pad.left - 4, y: y(v) + 4, 'text-anchor': 'end' });
      label.textContent = bytes(v);
      chart.append(label);
    }
    const every = Math.ceil(n / Math.max(2, Math.floor((W - pad.left) / 60)));
    for (const [i, end] of history.days.entries()) {
      if (i % every === 0 || i === n - 1) {
        // The last day's label ends at the right edge instead of running past it.
        const label = svg('text', { x: x(i), y: H - 6, 'text-anchor': i === n - 1 ? 'end' : 'middle' });
        label.textContent = dayFormat.format(new Date(end - 1));
        chart.append(label);
      }
    }
    for (const limit of limits.filter((l) => l.value <= top)) {
      chart.append(svg('line', { x1: pad.left, x2: W - pad.right, y1: y(limit.value), y2: y(limit.value), class: limit.cls }));
    }
    for (const line of lines) {
      // A day nothing measured is a gap: the line is drawn in runs of measured days.
      let run = [];
      const flush = () => {
        if (run.length === 1) {
          chart.append(svg('circle', { cx: run[0][0], cy: run[0][1], r: 2.5, fill: line.color }));
        } else if (run.length > 1) {
          chart.append(svg('polyline', { points: run.map((p) => p.join(',')).join(' '), class: line.cls, stroke: line.color }));
        }
        run = [];
      };
      line.values.forEach((v, i) => (v === null ? flush() : run.push([x(i).toFixed(1), y(v).toFixed(1)])));
      flush();
    }
    const legend = el(
      'ul',
      { class: 'list-inline small mb-0' },
      lines.map((l) =>
        el('li', { class: 'list-inline-item' }, el('span', { class: 'nvr-legend', style: `background:${l.color}` }), l.name),
      ),
      limits.map((l) =>
        el('li', { class: 'list-inline-item' }, el('span', { class: `nvr-legend nvr-legend-${l.cls.split(' ')[1]}` }), l.name),
      ),
    );
    const note =
      measured.length === 0
        ? el('p', { class: 'small nvr-muted mb-0' }, 'Nothing measured yet: the chart fills in as scans and sweeps run.')
        : null;
    $('chart').replaceChildren(chart, legend, ...(note ? [note] : []));
  }

  function renderForecast(forecast) {
    const items = forecast.filesystems.map((fs) => {
      const who = `The disk of ${listOf(fs.cameras)}`;
      const rate =
        fs.measuredDays === null
          ? `records about ${bytes(fs.bytesPerDay)} a day (too little history yet to measure growth)`
          : `${fs.bytesPerDay >= 0 ? 'grows' : 'shrinks'} by about ${bytes(Math.abs(fs.bytesPerDay))} a day (measured over ${days(fs.measuredDays)})`;
      const settles =
        fs.limitedBy === 'rules'
          ? `its cameras' rules hold their recordings at about ${bytes(fs.holdsAt)} (now ${bytes(fs.bytes)})`
          : `the rules would keep more than fits, so the ${fs.limitedBy === 'floor' ? 'free-space floor' : 'disk'} holds them at about ${bytes(fs.holdsAt)} (now ${bytes(fs.bytes)})${
              fs.daysUntilLimit === 0 ? ', from now on' : fs.daysUntilLimit === null ? '' : `, reached in ${days(fs.daysUntilLimit)}`
            }: from then on the oldest recordings go first`;
      return el('li', { 'data-testid': 'forecast-disk' }, `${who} ${rate}; ${settles}.`);
    });
    if (forecast.capBytes !== null) {
      items.push(
        el(
          'li',
          {},
          forecast.daysUntilCap === null
            ? `The total cap of ${bytes(forecast.capBytes)} is not reached: usage settles at about ${bytes(forecast.holdsAt)}.`
            : `The total cap of ${bytes(forecast.capBytes)} is reached ${forecast.daysUntilCap === 0 ? 'now' : `in ${days(forecast.daysUntilCap)}`}; from then on the cap deletes the oldest recordings.`,
        ),
      );
    }
    $('forecast').replaceChildren(el('ul', { class: 'mb-0 ps-3' }, items));
  }

  function renderSweeps(dashboard) {
    const last = dashboard.status.lastSweep;
    const rows = [];
    if (last && last.report) {
      const report = last.report;
      const reasons = REASONS.map((r) => `${num(report.byReason[r].count)} by ${r}`).join(', ');
      rows.push(
        el(
          'div',
          { 'data-testid': 'last-sweep' },
          `Last: ${when(Date.parse(last.startedAt))}, deleted ${count(report.deleted.count, 'recording')} (${bytes(report.deleted.bytes)}): ${reasons}; ${count(report.failures.length, 'failure')}`,
          last.status === 'done' ? '' : ` (${last.status})`,
        ),
      );
    } else {
      rows.push(el('div', {}, 'No sweep has run yet.'));
    }
    rows.push(
      el(
        'div',
        {},
        `Next: ${dashboard.nextSweep ? when(Date.parse(dashboard.nextSweep)) : 'not scheduled'} (schedule "${dashboard.schedule}")`,
      ),
    );
    if (dashboard.status.paused) {
      rows.push(el('div', { class: 'nvr-warning' }, 'Retention is paused: only the free-space floor deletes.'));
    }
    $('sweeps').replaceChildren(...rows);
    const warnings = dashboard.warnings.map((w) =>
      el(
        'li',
        { class: w.severity === 'error' ? 'nvr-danger' : '', 'data-testid': 'warning' },
        `${when(w.time)} `,
        w.camera ? `${w.camera}: ` : '',
        w.message,
      ),
    );
    $('warnings').replaceChildren(...(warnings.length ? warnings : [el('li', { class: 'nvr-muted' }, 'None in the last 7 days.')]));
  }

  let lastSeen = null;
  async function loadDashboard() {
    $('nvr').setAttribute('aria-busy', 'true');
    $('loading').classList.remove('d-none');
    $('sweep-now').disabled = true;
    let dashboard;
    try {
      dashboard = await homebridge.request('/dashboard', {});
    } catch (error) {
      $('nvr-setup').textContent = (error && error.message) || String(error);
      $('nvr-setup').classList.remove('d-none');
      $('loading').classList.add('d-none');
      return;
    }
    dashboardState = dashboard;
    $('nvr-setup').classList.add('d-none');
    const names = dashboard.status.cameras.map((c) => c.name);
    for (const [id, all] of [
      ['f-camera', 'All cameras'],
      ['p-camera', 'All cameras'],
    ]) {
      const select = $(id);
      if (select.options.length !== names.length + 1) {
        select.replaceChildren(el('option', { value: '' }, all), ...names.map((name) => el('option', { value: name }, name)));
      }
    }
    renderProblems(dashboard);
    renderFilesystems(dashboard.status.filesystems);
    renderCameras(dashboard);
    renderChart(dashboard.history);
    renderForecast(dashboard.forecast);
    renderSweeps(dashboard);
    lastSeen = JSON.stringify({
      running: dashboard.sweepRunning,
      last: dashboard.status.lastSweep && dashboard.status.lastSweep.startedAt,
    });
    if (dashboard.sweepRunning && !sweeping) {
      $('sweep-state').textContent = `A sweep is running (${dashboard.sweepRunning.purpose}); this page refreshes when it ends.`;
    } else if (!sweeping && /^A sweep is running/.test($('sweep-state').textContent)) {
      $('sweep-state').textContent = '';
    }
    $('sweep-now').disabled = sweeping || Boolean(dashboard.sweepRunning);
    $('loading').classList.add('d-none');
    $('nvr').setAttribute('aria-busy', 'false');
    // Tells a watcher (and the end-to-end test) that this part has its answer.
    $('nvr').setAttribute('data-loaded-dashboard', String(Date.now()));
    homebridge.fixScrollHeight();
  }

  /** A sweep of the schedule or the CLI started or ended: the page refreshes without a reload. */
  async function poll() {
    try {
      const state = await homebridge.request('/poll', {});
      const seen = JSON.stringify({
        running: state.sweepRunning,
        last: state.lastSweep && new Date(state.lastSweep.startedAt).toISOString(),
      });
      if (lastSeen !== null && seen !== lastSeen && !sweeping) {
        await loadDashboard();
        browser.loaded = false;
      }
    } catch {
      // The next poll tries again.
    }
  }

  // ---- sweep now: the preview's totals first, then a confirmation ----
  let sweeping = false;
  function totalsTable(caption, rows) {
    return el(
      'table',
      { class: 'table table-sm w-auto mb-2', 'data-testid': caption },
      el('caption', { class: 'visually-hidden' }, caption),
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', { scope: 'col' }, rows.head),
          el('th', { scope: 'col', class: 'text-end' }, 'Recordings'),
          el('th', { scope: 'col', class: 'text-end' }, 'Size'),
        ),
      ),
      el(
        'tbody',
        {},
        rows.items.map(([name, tally]) =>
          el(
            'tr',
            {},
            el('th', { scope: 'row' }, name),
            el('td', { class: 'text-end' }, num(tally.count)),
            el('td', { class: 'text-end' }, bytes(tally.bytes)),
          ),
        ),
      ),
    );
  }
  function previewTotals(preview) {
    return el(
      'div',
      { class: 'd-flex flex-wrap gap-3' },
      totalsTable('by camera', { head: 'Camera', items: Object.entries(preview.byCamera) }),
      totalsTable('by reason', { head: 'Why', items: REASONS.map((r) => [`by ${r}`, preview.byReason[r]]) }),
    );
  }
  function showSweepProgress(data) {
    const planned = data.planned ? data.planned.count : 0;
    $('sweep-progress').classList.remove('d-none');
    $('sweep-bar').style.width = `${planned ? Math.min(100, (data.deletedCount / planned) * 100) : 100}%`;
    $('sweep-counts').textContent =
      `${num(data.deletedCount)} of ${num(planned)} recordings deleted (${bytes(data.deletedBytes)}), ${count(data.failures, 'failure')}`;
  }
  homebridge.addEventListener('sweep-progress', (event) => showSweepProgress(event.data));
  homebridge.addEventListener('sweep-done', (event) => {
    sweeping = false;
    $('sweep-bar').classList.remove('progress-bar-animated');
    if (event.data.ok) {
      $('sweep-bar').style.width = '100%';
    }
    $('sweep-state').textContent = event.data.message;
    loadDashboard();
    browser.loaded = false;
  });
  $('sweep-now').addEventListener('click', async () => {
    $('sweep-now').disabled = true;
    $('sweep-state').textContent = 'Working out what the sweep would delete…';
    let preview;
    try {
      preview = await call('/preview');
    } catch (error) {
      $('sweep-state').textContent = error.message;
      $('sweep-now').disabled = false;
      return;
    }
    $('sweep-state').textContent = '';
    $('sweep-confirm-text').textContent =
      preview.deleted.count === 0
        ? `Nothing is due: the sweep would delete nothing. ${count(preview.spared.protected, 'protected recording')} spared.`
        : `This deletes ${count(preview.deleted.count, 'recording')} (${bytes(preview.deleted.bytes)}) now; ${count(preview.spared.protected, 'protected recording')} ${preview.spared.protected === 1 ? 'is' : 'are'} spared. This cannot be undone.`;
    $('sweep-confirm-table').replaceChildren(...(preview.deleted.count ? [previewTotals(preview)] : []));
    $('sweep-yes').disabled = preview.deleted.count === 0;
    $('sweep-confirm').classList.remove('d-none');
    $('sweep-yes').focus();
    homebridge.fixScrollHeight();
  });
  $('sweep-no').addEventListener('click', () => {
    $('sweep-confirm').classList.add('d-none');
    $('sweep-now').disabled = false;
  });
  $('sweep-yes').addEventListener('click', async () => {
    $('sweep-confirm').classList.add('d-none');
    try {
      sweeping = true;
      const answer = await call('/sweep');
      $('sweep-state').textContent = `Sweeping: ${count(answer.planned.count, 'recording')} (${bytes(answer.planned.bytes)}) to delete.`;
      $('sweep-bar').classList.add('progress-bar-animated');
    } catch (error) {
      sweeping = false;
      $('sweep-now').disabled = false;
      $('sweep-state').textContent = error.message;
    }
  });

  // ---- recordings browser ----
  const browser = {
    loaded: false,
    after: null,
    selected: new Map(),
    allMatches: false,
    rows: [],
    total: { count: 0, bytes: 0 },
    filter: null,
  };

  function currentFilter() {
    const filter = {};
    if ($('f-camera').value) {
      filter.cameras = [$('f-camera').value];
    }
    if ($('f-class').value) {
      filter.cls = $('f-class').value;
    }
    if ($('f-protection').value) {
      filter.protection = $('f-protection').value;
    }
    if ($('f-since').value) {
      filter.since = new Date($('f-since').value).getTime();
    }
    if ($('f-until').value) {
      filter.until = new Date($('f-until').value).getTime();
    }
    return filter;
  }

  function held(row) {
    if (row.protected) {
      return el('span', { class: 'badge badge-held', title: `by ${row.protectedBy}` }, 'protected');
    }
    if (row.keepUntil) {
      return el('span', { class: 'badge badge-held' }, `kept until ${dateFormat.format(new Date(row.keepUntil))}`);
    }
    if (row.exporting) {
      return el('span', { class: 'badge badge-busy' }, 'exporting');
    }
    if (row.inProgress) {
      return el('span', { class: 'badge badge-busy' }, 'recording');
    }
    return '';
  }

  /** Reads a recording's file (or thumbnail) by id in chunks and gives it back as a Blob. */
  async function fetchMedia(id, part, onProgress) {
    const chunks = [];
    let offset = 0;
    let answer;
    do {
      answer = await homebridge.request('/media', { id, part, offset });
      const binary = atob(answer.data);
      const chunk = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) {
        chunk[i] = binary.charCodeAt(i);
      }
      chunks.push(chunk);
      offset += chunk.length;
      onProgress?.(offset, answer.size);
    } while (!answer.done && answer.data.length > 0);
    return { blob: new Blob(chunks, { type: answer.type }), name: answer.name, size: answer.size };
  }

  let playing = null;
  async function play(row, download) {
    $('player').classList.remove('d-none');
    $('player-video').classList.add('d-none');
    if (row.size > MAX_PLAY_BYTES) {
      $('player-message').textContent =
        `${row.path} is ${bytes(row.size)}, more than the ${bytes(MAX_PLAY_BYTES)} this page can ${download ? 'download' : 'play'}. Use Export to copy it to the export folder instead.`;
      return;
    }
    $('player-message').textContent = `Loading ${row.path} (${bytes(row.size)})…`;
    try {
      const media = await fetchMedia(row.id, 'recording', (done, size) => {
        $('player-message').textContent = `Loading ${row.path}: ${Math.round((done / Math.max(size, 1)) * 100)} %`;
      });
      if (playing) {
        URL.revokeObjectURL(playing);
      }
      playing = URL.createObjectURL(media.blob);
      // What the page holds, for a watcher (the end-to-end test compares it with the file).
      window.nvrPlayed = media.blob;
      if (download) {
        const link = el('a', { href: playing, download: media.name });
        document.body.append(link);
        link.click();
        link.remove();
        $('player-message').textContent = `${media.name} (${bytes(media.size)}) downloaded.`;
      } else {
        $('player-message').textContent = `${row.camera}: ${row.path}, ended ${when(row.endTime)}`;
        $('player-video').src = playing;
        $('player-video').classList.remove('d-none');
      }
      $('nvr').setAttribute('data-loaded-player', String(Date.now()));
    } catch (error) {
      $('player-message').textContent = (error && error.message) || String(error);
    }
    homebridge.fixScrollHeight();
  }
  $('player-close').addEventListener('click', () => {
    $('player-video').pause();
    $('player-video').removeAttribute('src');
    $('player').classList.add('d-none');
  });

  async function loadThumbnail(row, image) {
    try {
      const media = await fetchMedia(row.id, 'thumbnail');
      image.src = URL.createObjectURL(media.blob);
    } catch {
      image.remove();
    }
  }

  function rowElement(row) {
    const box = el('input', { type: 'checkbox', class: 'form-check-input', 'aria-label': `Select ${row.camera} ${row.path}` });
    box.checked = browser.allMatches || browser.selected.has(row.id);
    box.addEventListener('change', () => {
      if (browser.allMatches) {
        // Leaving "every match" for a hand-picked selection: the page's rows as they are ticked.
        browser.allMatches = false;
        for (const r of browser.rows) {
          browser.selected.set(r.id, r);
        }
      }
      if (box.checked) {
        browser.selected.set(row.id, row);
      } else {
        browser.selected.delete(row.id);
      }
      updateSelection();
    });
    const thumb = row.thumbnail
      ? el('img', { class: 'nvr-thumb me-1', alt: `Thumbnail of ${row.path}`, 'data-testid': 'thumbnail' })
      : null;
    if (thumb) {
      loadThumbnail(row, thumb);
    }
    const playButton = el(
      'button',
      { type: 'button', class: 'btn btn-outline-primary btn-sm py-0', 'aria-label': `Play ${row.path}` },
      'Play',
    );
    playButton.addEventListener('click', () => play(row, false));
    const saveButton = el(
      'button',
      { type: 'button', class: 'btn btn-outline-secondary btn-sm py-0 ms-1', 'aria-label': `Download ${row.path}` },
      'Download',
    );
    saveButton.addEventListener('click', () => play(row, true));
    return el(
      'tr',
      { 'data-id': String(row.id), 'data-path': row.path },
      el('td', {}, box),
      el('td', { class: 'text-nowrap' }, when(row.endTime)),
      el('td', { class: 'col-camera' }, row.camera),
      el(
        'td',
        { class: 'path' },
        thumb,
        row.path,
        el('div', { class: 'phone-only small nvr-muted', 'data-testid': 'row-camera' }, row.camera),
      ),
      el('td', { class: 'text-end text-nowrap' }, bytes(row.size)),
      el('td', { class: 'col-kind' }, row.cls),
      el('td', { 'data-testid': 'held' }, held(row)),
      el('td', { class: 'text-nowrap' }, playButton, saveButton),
    );
  }

  const selectionCount = () => (browser.allMatches ? browser.total.count : browser.selected.size);
  function updateSelection() {
    const n = selectionCount();
    $('selection').textContent = browser.allMatches
      ? `All ${count(n, 'matching recording')} selected`
      : `${count(n, 'recording')} selected`;
    for (const id of ['do-protect', 'do-unprotect', 'do-keep', 'do-export', 'do-delete']) {
      $(id).disabled = n === 0;
    }
    const pageTicked = browser.rows.length > 0 && browser.rows.every((r) => browser.selected.has(r.id));
    $('select-page').checked = browser.allMatches || pageTicked;
    const offer = !browser.allMatches && pageTicked && browser.total.count > browser.rows.length;
    $('select-all').classList.toggle('d-none', !offer);
    $('select-all').textContent = `Select all ${count(browser.total.count, 'match', 'matches')}`;
    $('confirm').classList.add('d-none');
  }

  async function loadPage(append) {
    const body = { ...browser.filter, sort: $('f-sort').value, limit: PAGE };
    if (append && browser.after) {
      body.after = browser.after;
    } else if ($('f-jump').value && (body.sort === 'newest' || body.sort === 'oldest')) {
      const day = new Date(`${$('f-jump').value}T00:00:00`).getTime();
      body.startAt = body.sort === 'newest' ? day + 86_400_000 : day;
    }
    $('total').textContent = 'Loading…';
    const page = await call('/recordings', body);
    if (!append) {
      browser.rows = [];
    }
    browser.rows.push(...page.recordings);
    browser.after = page.next;
    const tbody = $('recordings').tBodies[0];
    const rows = page.recordings.map(rowElement);
    if (append) {
      tbody.append(...rows);
    } else {
      tbody.replaceChildren(...rows);
    }
    // Only a first page is counted; "Show more" keeps its total.
    if (page.total) {
      browser.total = page.total;
    }
    $('total').textContent =
      `${count(browser.total.count, 'recording')} (${bytes(browser.total.bytes)}) match; showing ${num(browser.rows.length)}`;
    $('more').classList.toggle('d-none', !page.next);
    browser.loaded = true;
    updateSelection();
    $('nvr').setAttribute('data-loaded-recordings', String(Date.now()));
    homebridge.fixScrollHeight();
  }

  /** A new filter starts afresh: no selection, no message of the last task. */
  function reloadRecordings() {
    browser.filter = currentFilter();
    browser.selected.clear();
    browser.allMatches = false;
    $('action-result').textContent = '';
    updateSelection();
    return loadPage(false);
  }

  $('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    reloadRecordings();
  });
  for (const id of ['f-camera', 'f-class', 'f-protection', 'f-sort', 'f-jump']) {
    $(id).addEventListener('change', () => reloadRecordings());
  }
  $('more').addEventListener('click', () => loadPage(true));
  $('select-page').addEventListener('change', () => {
    browser.allMatches = false;
    for (const row of browser.rows) {
      if ($('select-page').checked) {
        browser.selected.set(row.id, row);
      } else {
        browser.selected.delete(row.id);
      }
    }
    for (const box of $('recordings').tBodies[0].querySelectorAll('input[type=checkbox]')) {
      box.checked = $('select-page').checked;
    }
    updateSelection();
  });
  $('select-all').addEventListener('click', () => {
    browser.allMatches = true;
    for (const box of $('recordings').tBodies[0].querySelectorAll('input[type=checkbox]')) {
      box.checked = true;
    }
    updateSelection();
  });

  /** What an action names: the ticked ids, or every match of the filter the list shows (the server resolves it). */
  const selection = () => (browser.allMatches ? { filter: browser.filter } : { ids: [...browser.selected.keys()] });
  let confirmed = null;
  function confirmFirst(text, label, action) {
    $('confirm-text').textContent = text;
    $('confirm-yes').textContent = label;
    $('confirm-yes').disabled = false;
    confirmed = action;
    $('confirm').classList.remove('d-none');
    $('confirm-yes').focus();
    homebridge.fixScrollHeight();
  }
  async function act(path, body, message) {
    let answer;
    try {
      answer = await call(path, body);
    } catch (error) {
      // Refused (a sweep is running, nothing chosen...): the reason stays on the page, not only in a toast.
      $('action-result').textContent = error.message;
      return;
    }
    await reloadRecordings();
    $('action-result').textContent = message(answer);
    loadDashboard();
  }
  /** Hand-picked recordings act at once; every match of a filter asks first, with the count. */
  function maybeConfirm(verb, run) {
    if (browser.allMatches) {
      confirmFirst(`${verb} all ${count(browser.total.count, 'matching recording')}?`, verb, run);
    } else {
      run();
    }
  }
  $('do-protect').addEventListener('click', () =>
    maybeConfirm('Protect', () => act('/protect', selection(), (a) => `Protected ${count(a.changed, 'recording')}.`)),
  );
  $('do-unprotect').addEventListener('click', () =>
    maybeConfirm('Unprotect', () => act('/unprotect', selection(), (a) => `Released ${count(a.changed, 'hold')}.`)),
  );
  $('do-keep').addEventListener('click', () => {
    if (!$('keep-date').value) {
      $('action-result').textContent = 'Choose the date to keep them until first.';
      return;
    }
    // The end of the chosen day, in this browser's time zone.
    const until = new Date(`${$('keep-date').value}T23:59:59`).getTime();
    maybeConfirm('Keep', () => act('/keep-until', { ...selection(), until }, () => `Kept until ${dateFormat.format(new Date(until))}.`));
  });
  $('do-export').addEventListener('click', () =>
    maybeConfirm('Export', async () => {
      $('export-progress').classList.remove('d-none');
      try {
        await act('/export', selection(), (a) => a.message);
      } finally {
        $('export-progress').classList.add('d-none');
      }
    }),
  );
  homebridge.addEventListener('export-progress', (event) => {
    $('export-bar').style.width = `${event.data.total ? (event.data.done / event.data.total) * 100 : 0}%`;
  });
  $('do-delete').addEventListener('click', async () => {
    let preview;
    try {
      // The server checks the sweep lock first: a sweep running elsewhere refuses before anyone confirms.
      preview = await call('/delete/preview', selection());
    } catch (error) {
      $('action-result').textContent = error.message;
      return;
    }
    confirmFirst(`${preview.message}. This cannot be undone.`, 'Delete', () => act('/delete', selection(), (a) => a.message));
    $('confirm-yes').disabled = preview.count === 0;
  });
  $('confirm-no').addEventListener('click', () => $('confirm').classList.add('d-none'));
  $('confirm-yes').addEventListener('click', async () => {
    $('confirm').classList.add('d-none');
    const action = confirmed;
    confirmed = null;
    await action?.();
  });

  // ---- preview ----
  $('p-reason').append(...REASONS.map((r) => el('option', { value: r }, `by ${r}`)));
  async function runPreview() {
    $('run-preview').disabled = true;
    $('preview-message').textContent = 'Working it out…';
    const body = {};
    if ($('p-camera').value) {
      body.camera = $('p-camera').value;
    }
    if ($('p-reason').value) {
      body.reason = $('p-reason').value;
    }
    try {
      const preview = await call('/preview', body);
      $('preview-message').textContent = preview.message;
      $('preview-totals').replaceChildren(previewTotals(preview));
      $('preview-listed').textContent =
        `${count(preview.matching.count, 'recording')} (${bytes(preview.matching.bytes)}) match the choice above; the first ${num(preview.deletions.length)} are listed.`;
      $('preview-list').tBodies[0].replaceChildren(
        ...preview.deletions.map((d) =>
          el(
            'tr',
            {},
            el('td', {}, d.camera),
            el('td', { class: 'path' }, d.path),
            el('td', {}, d.reason),
            el('td', { class: 'text-end' }, bytes(d.size)),
            el('td', {}, when(Date.parse(d.endTime))),
          ),
        ),
      );
      $('preview-list').classList.toggle('d-none', preview.deletions.length === 0);
      $('nvr').setAttribute('data-loaded-preview', String(Date.now()));
    } catch (error) {
      $('preview-message').textContent = error.message;
    } finally {
      $('run-preview').disabled = false;
      homebridge.fixScrollHeight();
    }
  }
  $('run-preview').addEventListener('click', runPreview);
  for (const id of ['p-camera', 'p-reason']) {
    $(id).addEventListener('change', runPreview);
  }

  // ---- footer: the command for this install (the server knows where npm linked it) ----
  async function loadCommand() {
    try {
      const command = await homebridge.request('/command', {});
      $('cli-command').textContent = command.dryRun;
      $('cli-hint').classList.remove('d-none');
      homebridge.fixScrollHeight();
    } catch {
      // Without it the page works as before; the README gives the command too.
    }
  }

  homebridge.addEventListener('ready', () => {
    document.documentElement.lang = document.documentElement.lang || locale;
    // Bootstrap 5.3 themes by attribute; the Homebridge UI marks dark mode with a body class.
    if (document.body.classList.contains('dark-mode')) {
      document.documentElement.setAttribute('data-bs-theme', 'dark');
    }
    homebridge.showSchemaForm();
    loadDashboard();
    loadCommand();
    const tick = async () => {
      await poll();
      window.setTimeout(tick, dashboardState && dashboardState.sweepRunning ? POLL_RUNNING_MS : POLL_MS);
    };
    window.setTimeout(tick, POLL_RUNNING_MS);
    window.addEventListener('resize', () => dashboardState && renderChart(dashboardState.history));
  });
})();
