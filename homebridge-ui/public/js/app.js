/* global document, window, homebridge */
// The settings page: everything it shows comes from the plugin's UI server (homebridge-ui/server.js),
// which asks the retention engine. Recordings are named by id; file names are only ever shown, as text.
// shared/ holds the engine's own formatting and reasons, copied there by `npm run build`.
import { formatBytes as bytes } from './shared/format.js';
import { REASONS } from './shared/reasons.js';

(() => {
  const $ = (id) => document.getElementById(id);
  const PALETTE = ['#0d6efd', '#fd7e14', '#20c997', '#d63384', '#6f42c1', '#ffc107', '#198754', '#0dcaf0'];
  const PAGE = 50;

  const when = (ms) =>
    ms === null || ms === undefined ? '–' : new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  const count = (n, one, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;

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

  // ---- tabs ----
  for (const button of document.querySelectorAll('[data-tab]')) {
    button.addEventListener('click', () => {
      for (const other of document.querySelectorAll('[data-tab]')) {
        other.classList.toggle('active', other === button);
      }
      for (const panel of document.querySelectorAll('[data-panel]')) {
        panel.classList.toggle('d-none', panel.dataset.panel !== button.dataset.tab);
      }
      if (button.dataset.tab === 'recordings' && !browser.loaded) {
        reloadRecordings();
      }
      homebridge.fixScrollHeight();
    });
  }

  // ---- dashboard ----
  let cameraNames = [];

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

  function renderFilesystems(filesystems) {
    $('filesystems').replaceChildren(
      ...filesystems.map((fs) => {
        if (fs.totalBytes === null) {
          const which = fs.folder ? `${fs.cameras.join(', ')} (disk mounted at ${fs.folder})` : fs.cameras.join(', ');
          return el('div', { class: 'text-danger small mb-2' }, `${which}: the disk cannot be measured (${fs.error})`);
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
            el('span', {}, fs.folder ? `${fs.cameras.join(', ')}: disk mounted at ${fs.folder}` : fs.cameras.join(', ')),
            el(
              'span',
              { class: under ? 'text-danger fw-semibold' : '' },
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

  function renderCameras(cameras) {
    $('cameras').replaceChildren(
      ...cameras.map((camera) => {
        const scale = Math.max(camera.quotaBytes || 0, camera.bytes) || 1;
        const other = camera.bytes - camera.protectedBytes;
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
                { class: 'd-flex justify-content-between' },
                el('strong', {}, camera.name),
                el(
                  'span',
                  { class: 'small', 'data-testid': 'camera-bytes' },
                  bytes(camera.bytes),
                  camera.quotaBytes === null ? '' : ` of ${bytes(camera.quotaBytes)} quota`,
                ),
              ),
              camera.available
                ? null
                : el(
                    'div',
                    { class: 'text-danger small' },
                    `Unavailable: ${camera.unavailableReason}. Nothing of it is deleted.`,
                    ' ',
                    acceptMissingButton(camera.name),
                  ),
              bar(
                [
                  { class: 'seg-protected', fraction: camera.protectedBytes / scale, title: `${bytes(camera.protectedBytes)} protected` },
                  { class: 'seg-other', fraction: other / scale, title: `${bytes(other)} other` },
                ],
                camera.quotaBytes === null ? null : camera.quotaBytes / scale,
                `${bytes(camera.protectedBytes)} protected, ${bytes(other)} other`,
              ),
              el(
                'div',
                { class: 'small mt-1' },
                el('span', { class: 'nvr-legend', style: 'background:var(--nvr-protected)' }),
                `${camera.protectedRecordings.toLocaleString()} protected (${bytes(camera.protectedBytes)}) `,
                el('span', { class: 'nvr-legend', style: 'background:var(--nvr-other)' }),
                `other ${bytes(other)}`,
              ),
              el(
                'div',
                { class: 'small', 'data-testid': 'camera-counts' },
                `${count(camera.recordings, 'recording')}: ${(camera.recordings - camera.eventRecordings).toLocaleString()} continuous, ${camera.eventRecordings.toLocaleString()} event`,
              ),
              el(
                'div',
                { class: 'small text-muted' },
                `Oldest ${when(camera.oldest && Date.parse(camera.oldest))} · newest ${when(camera.newest && Date.parse(camera.newest))}`,
              ),
            ),
          ),
        );
      }),
    );
  }

  /** rules §3.1: only a person can tell an unmounted disk from footage that is really gone; asks twice. */
  function acceptMissingButton(name) {
    const button = el('button', { type: 'button', class: 'btn btn-outline-danger btn-sm mt-1' }, 'The missing files are really gone');
    button.addEventListener('click', async () => {
      if (button.dataset.armed !== 'yes') {
        button.dataset.armed = 'yes';
        button.textContent = `Click again to forget the missing recordings of ${name}`;
        return;
      }
      button.disabled = true;
      const answer = await call('/accept-missing', { camera: name });
      homebridge.toast.success(`${name}: ${count(answer.removed, 'missing recording')} forgotten.`, 'NVR Retention');
      loadDashboard();
    });
    return button;
  }

  /** Storage per camera over the last days, as an inline SVG line chart (no chart library). */
  function renderChart(history) {
    const width = 600;
    const height = 200;
    const pad = { left: 56, right: 8, top: 8, bottom: 22 };
    const max = Math.max(1, ...history.cameras.flatMap((c) => c.bytes));
    const x = (i) => pad.left + (i / Math.max(1, history.days.length - 1)) * (width - pad.left - pad.right);
    const y = (v) => pad.top + (1 - v / max) * (height - pad.top - pad.bottom);
    const chart = svg('svg', {
      viewBox: `0 0 ${width} ${height}`,
      class: 'nvr-chart',
      role: 'img',
      'aria-label': 'Storage per camera over time',
      'data-testid': 'chart',
    });
    for (const fraction of [0, 0.5, 1]) {
      chart.append(svg('line', { class: 'grid', x1: pad.left, x2: width - pad.right, y1: y(max * fraction), y2: y(max * fraction) }));
      const label = svg('text', { x: pad.left - 4, y: y(max * fraction) + 3, 'text-anchor': 'end' });
      label.textContent = bytes(Math.round(max * fraction));
      chart.append(label);
    }
    for (const i of [0, history.days.length - 1]) {
      const label = svg('text', { x: x(i), y: height - 6, 'text-anchor': i === 0 ? 'start' : 'end' });
      label.textContent = i === 0 ? new Date(history.days[i]).toLocaleDateString() : 'now';
      chart.append(label);
    }
    history.cameras.forEach((camera, n) => {
      const points = camera.bytes.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      chart.append(svg('polyline', { class: 'line', points, stroke: PALETTE[n % PALETTE.length] }));
    });
    const legend = el(
      'div',
      { class: 'small' },
      history.cameras.map((camera, n) =>
        el('span', { class: 'me-3' }, el('span', { class: 'nvr-legend', style: `background:${PALETTE[n % PALETTE.length]}` }), camera.name),
      ),
    );
    $('chart').replaceChildren(chart, legend);
  }

  function days(n) {
    return n < 1 ? 'less than a day' : count(Math.round(n), 'day');
  }

  function renderForecast(forecast) {
    const parts = [`Recording about ${bytes(forecast.bytesPerDay)} a day (last week).`];
    for (const fs of forecast.filesystems) {
      if (fs.daysUntilFloor === 0) {
        parts.push(`The disk of ${fs.cameras.join(', ')} is at its free-space floor now.`);
      } else if (fs.daysUntilFloor !== null) {
        parts.push(
          `At this rate the disk of ${fs.cameras.join(', ')} reaches its free-space floor in ${days(fs.daysUntilFloor)}; from then on the floor deletes the oldest recordings.`,
        );
      }
    }
    if (forecast.capBytes !== null && forecast.daysUntilCap !== null) {
      parts.push(`The total cap of ${bytes(forecast.capBytes)} is reached in ${days(forecast.daysUntilCap)}.`);
    }
    parts.push(`Retention holds usage at about ${bytes(forecast.holdsAt)} (now ${bytes(forecast.totalBytes)}).`);
    $('forecast').textContent = parts.join(' ');
  }

  function renderSweeps(dashboard) {
    const last = dashboard.status.lastSweep;
    const rows = [];
    if (last && last.report) {
      const report = last.report;
      const reasons = REASONS.map((r) => `${report.byReason[r].count} by ${r}`).join(', ');
      rows.push(
        el(
          'div',
          { 'data-testid': 'last-sweep' },
          `Last: ${when(Date.parse(last.startedAt))}, deleted ${count(report.deleted.count, 'recording')} (${bytes(report.deleted.bytes)}): ${reasons}; ${count(report.failures.length, 'failure')}`,
          last.status === 'done' ? '' : ` [${last.status}]`,
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
      rows.push(el('div', { class: 'text-warning' }, 'Retention is paused: only the free-space floor deletes.'));
    }
    $('sweeps').replaceChildren(...rows);
    const warnings = dashboard.warnings.map((w) =>
      el('li', { class: w.severity === 'error' ? 'text-danger' : '' }, `${when(w.time)} `, w.camera ? `[${w.camera}] ` : '', w.message),
    );
    for (const camera of dashboard.disabledCameras) {
      warnings.unshift(
        el('li', { class: 'text-danger' }, `Camera ${camera.name || `#${camera.index + 1}`} is switched off: ${camera.issues.join('; ')}`),
      );
    }
    $('warnings').replaceChildren(...(warnings.length ? warnings : [el('li', { class: 'text-muted' }, 'None.')]));
  }

  async function loadDashboard() {
    let dashboard;
    try {
      dashboard = await homebridge.request('/dashboard', {});
    } catch (error) {
      $('nvr-setup').textContent = (error && error.message) || String(error);
      $('nvr-setup').classList.remove('d-none');
      return;
    }
    $('nvr-setup').classList.add('d-none');
    cameraNames = dashboard.status.cameras.map((c) => c.name);
    const select = $('f-camera');
    if (select.options.length !== cameraNames.length + 1) {
      select.replaceChildren(el('option', { value: '' }, 'All cameras'), ...cameraNames.map((name) => el('option', { value: name }, name)));
    }
    renderFilesystems(dashboard.status.filesystems);
    renderCameras(dashboard.status.cameras);
    renderChart(dashboard.history);
    renderForecast(dashboard.forecast);
    renderSweeps(dashboard);
    if (dashboard.sweepRunning && !sweeping) {
      $('sweep-state').textContent = `A sweep is running (${dashboard.sweepRunning.purpose}).`;
    }
    // Tells a watcher (and the end-to-end test) that this part has its answer.
    $('nvr').setAttribute('data-loaded-dashboard', String(Date.now()));
    homebridge.fixScrollHeight();
  }

  // ---- sweep now ----
  let sweeping = false;
  function showSweepProgress(data) {
    const planned = data.planned ? data.planned.count : 0;
    $('sweep-progress').classList.remove('d-none');
    $('sweep-bar').style.width = `${planned ? Math.min(100, (data.deletedCount / planned) * 100) : 100}%`;
    $('sweep-counts').textContent =
      `${data.deletedCount} of ${planned} recordings deleted (${bytes(data.deletedBytes)}), ${count(data.failures, 'failure')}`;
  }
  homebridge.addEventListener('sweep-progress', (event) => showSweepProgress(event.data));
  homebridge.addEventListener('sweep-done', (event) => {
    sweeping = false;
    $('sweep-now').disabled = false;
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
    $('sweep-state').textContent = 'Working out what to delete…';
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
  const browser = { loaded: false, after: null, selected: new Map(), rows: [], total: { count: 0, bytes: 0 } };

  function filterBody() {
    const body = { sort: $('f-sort').value, limit: PAGE };
    if ($('f-camera').value) {
      body.cameras = [$('f-camera').value];
    }
    if ($('f-class').value) {
      body.cls = $('f-class').value;
    }
    if ($('f-protection').value) {
      body.protection = $('f-protection').value;
    }
    if ($('f-since').value) {
      body.since = new Date($('f-since').value).getTime();
    }
    if ($('f-until').value) {
      body.until = new Date($('f-until').value).getTime();
    }
    return body;
  }

  function held(row) {
    if (row.protected) {
      return el('span', { class: 'badge badge-held', title: `by ${row.protectedBy}` }, 'protected');
    }
    if (row.keepUntil) {
      return el('span', { class: 'badge badge-held' }, `kept until ${new Date(row.keepUntil).toLocaleDateString()}`);
    }
    if (row.exporting) {
      return el('span', { class: 'badge bg-secondary' }, 'exporting');
    }
    if (row.inProgress) {
      return el('span', { class: 'badge bg-secondary' }, 'recording');
    }
    return '';
  }

  function rowElement(row) {
    const box = el('input', { type: 'checkbox', class: 'form-check-input', 'aria-label': `Select ${row.path}` });
    box.checked = browser.selected.has(row.id);
    box.addEventListener('change', () => {
      if (box.checked) {
        browser.selected.set(row.id, row);
      } else {
        browser.selected.delete(row.id);
      }
      updateSelection();
    });
    return el(
      'tr',
      { 'data-id': String(row.id), 'data-path': row.path },
      el('td', {}, box),
      el('td', { class: 'text-nowrap' }, when(row.endTime)),
      el('td', { class: 'col-camera' }, row.camera),
      el('td', { class: 'path' }, row.path),
      el('td', { class: 'text-end text-nowrap' }, bytes(row.size)),
      el('td', { class: 'col-kind' }, row.cls),
      el('td', { 'data-testid': 'held' }, held(row)),
    );
  }

  function updateSelection() {
    const n = browser.selected.size;
    $('selection').textContent = `${count(n, 'recording')} selected`;
    for (const id of ['do-protect', 'do-unprotect', 'do-keep', 'do-export', 'do-delete']) {
      $(id).disabled = n === 0;
    }
    $('confirm').classList.add('d-none');
  }

  async function loadPage(append) {
    const body = filterBody();
    if (append && browser.after) {
      body.after = browser.after;
    }
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
      `${count(browser.total.count, 'recording')} (${bytes(browser.total.bytes)}) match; showing ${browser.rows.length.toLocaleString()}`;
    $('more').classList.toggle('d-none', !page.next);
    browser.loaded = true;
    $('nvr').setAttribute('data-loaded-recordings', String(Date.now()));
    homebridge.fixScrollHeight();
  }

  function reloadRecordings() {
    browser.selected.clear();
    updateSelection();
    return loadPage(false);
  }

  $('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    reloadRecordings();
  });
  $('more').addEventListener('click', () => loadPage(true));
  $('select-page').addEventListener('change', () => {
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

  const ids = () => [...browser.selected.keys()];
  async function act(path, body, message) {
    let answer;
    try {
      answer = await call(path, body);
    } catch (error) {
      // Refused (a sweep is running, nothing chosen...): the reason stays on the page, not only in a toast.
      $('action-result').textContent = error.message;
      return;
    }
    $('action-result').textContent = message(answer);
    await reloadRecordings();
    loadDashboard();
  }
  $('do-protect').addEventListener('click', () => act('/protect', { ids: ids() }, (a) => `Protected ${count(a.changed, 'recording')}.`));
  $('do-unprotect').addEventListener('click', () => act('/unprotect', { ids: ids() }, (a) => `Released ${count(a.changed, 'hold')}.`));
  $('do-keep').addEventListener('click', () => {
    if (!$('keep-date').value) {
      $('action-result').textContent = 'Choose the date to keep them until first.';
      return;
    }
    // The end of the chosen day, in this browser's time zone.
    const until = new Date(`${$('keep-date').value}T23:59:59`).getTime();
    act('/keep-until', { ids: ids(), until }, () => `Kept until ${new Date(until).toLocaleDateString()}.`);
  });
  $('do-export').addEventListener('click', async () => {
    $('export-progress').classList.remove('d-none');
    try {
      await act('/export', { ids: ids() }, (a) => a.message);
    } finally {
      $('export-progress').classList.add('d-none');
    }
  });
  homebridge.addEventListener('export-progress', (event) => {
    $('export-bar').style.width = `${event.data.total ? (event.data.done / event.data.total) * 100 : 0}%`;
  });
  $('do-delete').addEventListener('click', async () => {
    const preview = await call('/delete/preview', { ids: ids() });
    $('confirm-text').textContent = preview.message;
    $('confirm-yes').disabled = preview.count === 0;
    $('confirm').classList.remove('d-none');
    homebridge.fixScrollHeight();
  });
  $('confirm-no').addEventListener('click', () => $('confirm').classList.add('d-none'));
  $('confirm-yes').addEventListener('click', async () => {
    $('confirm').classList.add('d-none');
    await act('/delete', { ids: ids() }, (a) => a.message);
  });

  // ---- preview ----
  $('run-preview').addEventListener('click', async () => {
    $('run-preview').disabled = true;
    $('preview-message').textContent = 'Working it out…';
    try {
      const preview = await call('/preview');
      $('preview-message').textContent = preview.message;
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
  });

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
    // Bootstrap 5.3 themes by attribute; the Homebridge UI marks dark mode with a body class.
    if (document.body.classList.contains('dark-mode')) {
      document.documentElement.setAttribute('data-bs-theme', 'dark');
    }
    homebridge.showSchemaForm();
    loadDashboard();
    loadCommand();
  });
})();
