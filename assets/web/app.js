// The clip-ts search page: text search with a thumbnail grid, and an image drop zone for zero-shot
// classification and search by image. Talks only to the JSON API of the same server; every value
// from the server or the user is written with textContent, never as HTML.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const searchForm = $('search-form');
  const queryInput = $('query');
  const topSelect = $('top');
  const results = $('results');
  const resultsCaption = $('results-caption');
  const dropZone = $('drop-zone');
  const fileInput = $('file-input');
  const preview = $('preview');
  const classifyForm = $('classify-form');
  const labelsInput = $('labels');
  const templatesSelect = $('templates');
  const classifyButton = $('classify-button');
  const searchByImageButton = $('search-by-image');
  const classification = $('classification');
  const statusBox = $('status');

  /** The chosen image (a File or Blob) and the object URL of its preview. */
  let chosen = null;
  let previewUrl = null;
  let statusTimer = 0;

  function showStatus(message, kind) {
    statusBox.textContent = message;
    statusBox.className = kind === 'info' ? 'info' : '';
    statusBox.hidden = false;
    clearTimeout(statusTimer);
    statusTimer = setTimeout(() => { statusBox.hidden = true; }, 6000);
  }

  /** fetch + JSON; throws an Error with the server's message for error responses. */
  async function api(path, init) {
    const response = await fetch(path, init);
    let body = null;
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    if (!response.ok) {
      const message = body && body.error ? body.error.message : `HTTP ${response.status}`;
      throw new Error(message);
    }
    return body;
  }

  function percent(p) {
    return `${(100 * p).toFixed(p >= 0.995 || p < 0.0005 ? 0 : 1)} %`;
  }

  function renderResults(list, caption) {
    results.replaceChildren();
    resultsCaption.textContent = caption;
    for (const r of list) {
      const item = document.createElement('li');
      item.className = 'result';
      item.dataset.testid = 'result';
      item.dataset.id = String(r.id);
      const link = document.createElement('a');
      link.href = r.url;
      link.target = '_blank';
      link.rel = 'noopener';
      const img = document.createElement('img');
      img.src = r.thumb;
      img.alt = r.name;
      img.loading = 'lazy';
      img.dataset.testid = 'result-thumb';
      link.append(img);
      const meta = document.createElement('div');
      meta.className = 'meta';
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = r.name;
      name.title = r.name;
      const score = document.createElement('span');
      score.className = 'score';
      score.dataset.testid = 'result-score';
      score.textContent = r.score.toFixed(3);
      score.title = 'cosine similarity';
      meta.append(name, score);
      const similar = document.createElement('button');
      similar.type = 'button';
      similar.textContent = 'similar images';
      similar.dataset.testid = 'similar-button';
      similar.addEventListener('click', () => searchSimilar(r));
      item.append(link, meta, similar);
      results.append(item);
    }
  }

  async function searchText(query) {
    resultsCaption.textContent = 'searching…';
    try {
      const t0 = performance.now();
      const body = await api('/api/search', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ query, top: Number(topSelect.value) }),
      });
      const ms = Math.round(performance.now() - t0);
      renderResults(body.results, `${body.results.length} images for “${query}” (${ms} ms)`);
    } catch (err) {
      resultsCaption.textContent = '';
      showStatus(`Search failed: ${err.message}`);
    }
  }

  async function searchByImage(blob, what) {
    resultsCaption.textContent = 'searching…';
    try {
      const form = new FormData();
      form.append('image', blob, blob.name || 'image');
      form.append('top', topSelect.value);
      const body = await api('/api/search/image', { method: 'POST', body: form });
      renderResults(body.results, `${body.results.length} images similar to ${what}`);
    } catch (err) {
      resultsCaption.textContent = '';
      showStatus(`Search by image failed: ${err.message}`);
    }
  }

  async function searchSimilar(result) {
    try {
      const response = await fetch(result.url);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      await searchByImage(await response.blob(), result.name);
    } catch (err) {
      showStatus(`Cannot load ${result.name}: ${err.message}`);
    }
  }

  function renderLabels(list) {
    classification.replaceChildren();
    list.forEach((entry, i) => {
      const row = document.createElement('li');
      row.className = i === 0 ? 'label-row best' : 'label-row';
      row.dataset.testid = 'label-row';
      const label = document.createElement('span');
      label.className = 'label';
      label.dataset.testid = 'label-name';
      label.textContent = entry.label;
      const probability = document.createElement('span');
      probability.className = 'probability';
      probability.dataset.testid = 'label-probability';
      probability.dataset.value = String(entry.probability);
      probability.textContent = percent(entry.probability);
      const bar = document.createElement('progress');
      bar.max = 1;
      bar.value = entry.probability;
      bar.setAttribute('aria-label', `${entry.label}: ${percent(entry.probability)}`);
      row.append(label, probability, bar);
      classification.append(row);
    });
  }

  async function classify() {
    if (chosen === null) {
      showStatus('Choose or drop an image first.', 'info');
      return;
    }
    const labels = labelsInput.value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (labels.length === 0) {
      showStatus('Type at least one label (comma separated).', 'info');
      labelsInput.focus();
      return;
    }
    classifyButton.disabled = true;
    classification.replaceChildren();
    classification.setAttribute('aria-busy', 'true');
    try {
      const form = new FormData();
      form.append('image', chosen, chosen.name || 'image');
      form.append('labels', labels.join(','));
      if (templatesSelect.value !== '') form.append('templates', templatesSelect.value);
      const body = await api('/api/classify', { method: 'POST', body: form });
      renderLabels(body.labels);
    } catch (err) {
      showStatus(`Classification failed: ${err.message}`);
    } finally {
      classification.removeAttribute('aria-busy');
      classifyButton.disabled = chosen === null;
    }
  }

  function choose(file) {
    if (!file) return;
    if (file.type !== '' && !file.type.startsWith('image/')) {
      showStatus(`${file.name} is not an image (${file.type}).`);
      return;
    }
    chosen = file;
    if (previewUrl !== null) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(file);
    preview.src = previewUrl;
    preview.hidden = false;
    classifyButton.disabled = false;
    searchByImageButton.disabled = false;
    classification.replaceChildren();
    if (labelsInput.value.trim() !== '') void classify();
  }

  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const query = queryInput.value.trim();
    if (query !== '') void searchText(query);
  });
  classifyForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void classify();
  });
  searchByImageButton.addEventListener('click', () => {
    if (chosen !== null) void searchByImage(chosen, chosen.name || 'the chosen image');
  });
  fileInput.addEventListener('change', () => choose(fileInput.files[0]));
  dropZone.addEventListener('click', (e) => {
    if (e.target !== fileInput && !(e.target instanceof HTMLLabelElement)) fileInput.click();
  });
  dropZone.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      fileInput.click();
    }
  });
  for (const type of ['dragenter', 'dragover']) {
    dropZone.addEventListener(type, (e) => {
      e.preventDefault();
      dropZone.classList.add('dragging');
    });
  }
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
  dropZone.addEventListener('drop', (e) => {
    e.preventDefault();
    dropZone.classList.remove('dragging');
    const files = e.dataTransfer ? e.dataTransfer.files : null;
    if (files && files.length > 0) choose(files[0]);
  });

  api('/api/info').then((info) => {
    $('index-info').textContent = `${info.count} images · model ${info.model} (${info.dim}-d) · prompts: ${info.templates}`;
  }, (err) => {
    $('index-info').textContent = '';
    showStatus(`Cannot reach the server: ${err.message}`);
  });
}());
