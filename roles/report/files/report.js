// The fleet report page (sigma.media_server.report): inlined into the HTML file, allowed by its nonce.
// Sorts and filters the overview table; opens the details a link points to. No network, no eval.
(function () {
  'use strict';
  var table = document.getElementById('overview');
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var filter = document.getElementById('filter');
  var only = document.getElementById('only-problems');
  var shown = document.getElementById('shown');
  var sorter = document.getElementById('sort');
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });

  function apply() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var count = 0;
    rows.forEach(function (row, i) {
      var show = (!only.checked || row.getAttribute('data-sev') !== '0') &&
        words.every(function (word) { return texts[i].indexOf(word) >= 0; });
      row.hidden = !show;
      if (show) { count += 1; }
    });
    shown.textContent = count + ' of ' + rows.length + ' server(s)';
  }

  function value(row, col, numeric) {
    var cell = row.cells[col];
    return numeric ? parseFloat(cell.getAttribute('data-v')) || 0 : cell.textContent.trim();
  }

  function sortBy(col, descending) {
    var numeric = heads[col].getAttribute('data-sort') === 'n';
    var keyed = rows.map(function (row, i) { return [value(row, col, numeric), value(row, 0, false), i, row]; });
    keyed.sort(function (a, b) {
      var c = numeric ? a[0] - b[0] : a[0].localeCompare(b[0], undefined, {numeric: true});
      if (descending) { c = -c; }
      return c || a[1].localeCompare(b[1], undefined, {numeric: true}) || a[2] - b[2];
    });
    rows = keyed.map(function (k) { return k[3]; });
    texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) { fragment.appendChild(row); });
    body.appendChild(fragment);
    heads.forEach(function (th, i) {
      if (i === col) { th.setAttribute('aria-sort', descending ? 'descending' : 'ascending'); } else { th.removeAttribute('aria-sort'); }
    });
    sorter.value = col + (descending ? ':d' : ':a');
  }

  heads.forEach(function (th, col) {
    th.addEventListener('click', function () {
      var numeric = th.getAttribute('data-sort') === 'n';
      var current = th.getAttribute('aria-sort');
      sortBy(col, current ? current === 'ascending' : numeric);
    });
  });
  sorter.addEventListener('change', function () {
    var parts = sorter.value.split(':');
    sortBy(parseInt(parts[0], 10), parts[1] === 'd');
  });
  filter.addEventListener('input', apply);
  only.addEventListener('change', apply);

  function openTarget() {
    var target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target && target.tagName === 'DETAILS') {
      target.open = true;
      target.scrollIntoView();
    }
  }
  window.addEventListener('hashchange', openTarget);
  openTarget();

  function setAll(open) {
    Array.prototype.forEach.call(document.querySelectorAll('details.srv'), function (d) { d.open = open; });
  }
  var expand = document.getElementById('expand-all');
  var collapse = document.getElementById('collapse-all');
  if (expand) { expand.addEventListener('click', function () { setAll(true); }); }
  if (collapse) { collapse.addEventListener('click', function () { setAll(false); }); }
}());
