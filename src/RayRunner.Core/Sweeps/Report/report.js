// RayRunner sweep report: sort the run table by a header click, filter it by text, and link table
// rows with the chart marks of the same run. Plain DOM code: the page loads nothing else.
(function () {
  "use strict";
  var table = document.getElementById("run-table");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var headers = table.tHead.rows[0].cells;
  var filter = document.getElementById("filter");
  var shown = document.getElementById("shown");

  function cellKey(row, col) {
    var cell = row.cells[col];
    var v = cell.getAttribute("data-v");
    return v !== null ? { n: v === "NaN" ? NaN : parseFloat(v) } : { s: cell.textContent };
  }

  function compare(a, b) {
    var aMissing = a.n === undefined ? a.s === "" : isNaN(a.n);
    var bMissing = b.n === undefined ? b.s === "" : isNaN(b.n);
    if (aMissing || bMissing) { return aMissing === bMissing ? 0 : (aMissing ? 1 : -1); }
    if (a.n !== undefined && b.n !== undefined) { return a.n - b.n; }
    return String(a.n !== undefined ? a.n : a.s).localeCompare(String(b.n !== undefined ? b.n : b.s), undefined, { numeric: true });
  }

  function sortBy(col, descending) {
    var keyed = rows.map(function (row, i) { return { row: row, key: cellKey(row, col), i: i }; });
    keyed.sort(function (x, y) {
      var c = compare(x.key, y.key);
      // Missing values stay last whichever way the column is sorted; ties keep the run order.
      var missing = (x.key.n === undefined ? x.key.s === "" : isNaN(x.key.n)) || (y.key.n === undefined ? y.key.s === "" : isNaN(y.key.n));
      if (descending && !missing) { c = -c; }
      return c !== 0 ? c : x.i - y.i;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
    for (var h = 0; h < headers.length; h++) { headers[h].className = h === col ? (descending ? "desc" : "asc") : ""; }
  }

  for (var h = 0; h < headers.length; h++) {
    headers[h].addEventListener("click", (function (col) {
      return function () { sortBy(col, this.className === "asc"); };
    })(h));
  }

  function applyFilter() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(function (w) { return w.length > 0; });
    var count = 0;
    rows.forEach(function (row) {
      var text = (row.textContent + " " + (row.getAttribute("data-search") || "")).toLowerCase();
      var match = words.every(function (w) { return text.indexOf(w) >= 0; });
      row.style.display = match ? "" : "none";
      if (match) { count++; }
    });
    shown.textContent = count + " of " + rows.length + " runs";
  }
  filter.addEventListener("input", applyFilter);

  function highlight(runId, on) {
    var marks = document.querySelectorAll("[data-run]");
    for (var i = 0; i < marks.length; i++) {
      if (marks[i].getAttribute("data-run") === runId) {
        if (on) { marks[i].classList.add("hl"); } else { marks[i].classList.remove("hl"); }
      }
    }
  }
  rows.forEach(function (row) {
    var id = row.getAttribute("data-run");
    row.addEventListener("mouseenter", function () { highlight(id, true); });
    row.addEventListener("mouseleave", function () { highlight(id, false); });
  });
})();
