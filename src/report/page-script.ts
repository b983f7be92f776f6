/**
 * The script the report page runs: each PlotSpec (plots.ts) becomes an
 * Observable Plot chart in its <figure>. Plain ES2018 in a string, since it
 * runs in the browser, not in Node; the browser test (test/report-browser)
 * renders every spec kind and fails on any console error.
 */

/**
 * Twenty colours that stay apart on white (Observable's ten, then ten more
 * dark and saturated ones), so up to twenty series never share a colour; dots
 * also vary their symbol, so even a repeat past twenty stays distinguishable.
 */
export const PALETTE = [
  '#4269d0', '#efb118', '#ff725c', '#6cc5b0', '#3ca951', '#ff8ab7', '#a463f2', '#97bbf5', '#9c6b4e', '#9498a0',
  '#1b3a8a', '#b8860b', '#8b0000', '#006d6f', '#2f5d1e', '#c71585', '#4b0082', '#5f9ea0', '#5c3317', '#000000',
];

export const PAGE_SCRIPT = `
(function () {
  var PALETTE = ${JSON.stringify(PALETTE)};
  var specs = JSON.parse(document.getElementById('plot-specs').textContent);
  function channels(spec, extra) {
    var o = { x: spec.x.field, fx: spec.facet ? spec.facet.field : undefined };
    for (var k in extra) o[k] = extra[k];
    return o;
  }
  // Series go to Plot as keys s0, s1, ...: a raw value such as "none" (a jitter) is a CSS keyword
  // that Plot would read as "no colour" and drop; the legend shows the real names.
  var KEY = '__series';
  function keyed(spec) {
    if (!spec.series) return;
    var index = {};
    spec.series.domain.forEach(function (name, i) { index[name] = 's' + i; });
    spec.data.forEach(function (d) { d[KEY] = index[d[spec.series.field]]; });
    spec.series.keys = spec.series.domain.map(function (_, i) { return 's' + i; });
  }
  function colour(spec) { return spec.series ? KEY : PALETTE[0]; }
  // Series side by side at one x (a few pixels apart), so their error bars do not hide each other.
  var DODGE_PX = 5;
  function dodged(spec, m) {
    if (!spec.series || spec.series.domain.length > 12 || !spec.marks.some(function (k) { return k.kind === 'range'; })) return [mark(spec, m, spec.data, 0)];
    var dom = spec.series.keys;
    return dom.map(function (key, i) {
      var part = spec.data.filter(function (d) { return d[KEY] === key; });
      return mark(spec, m, part, (i - (dom.length - 1) / 2) * DODGE_PX);
    });
  }
  function mark(spec, m, d, dx) {
    if (m.kind === 'line') {
      return Plot.line(d, channels(spec, { y: m.y, stroke: colour(spec), z: spec.series ? KEY : undefined, strokeWidth: m.strokeWidth || 1.5, curve: 'linear', dx: dx }));
    }
    if (m.kind === 'range') {
      return Plot.ruleX(d, channels(spec, { y1: m.y1, y2: m.y2, stroke: colour(spec), strokeWidth: m.strokeWidth || 1, strokeOpacity: m.opacity || 1, dx: dx }));
    }
    var opts = channels(spec, { y: m.y, fill: colour(spec), r: 3.5, tip: true, dx: dx });
    if (spec.series) opts.symbol = KEY;
    opts.channels = d.length > 0 && d[0].config !== undefined ? { configuration: 'config', samples: 'n' } : spec.series ? { series: spec.series.field } : {};
    return Plot.dot(d, opts);
  }
  function axis(a) {
    var o = { label: a.label, type: a.type };
    if (a.ticks) {
      o.ticks = a.ticks;
      o.tickFormat = function (v) { return a.tickLabels[String(v)] || ''; };
    }
    return o;
  }
  // 1,200,000 -> 1.2M, 800,000 -> 800k: long tick labels were cut at the plot's left edge.
  function compact(v) {
    var a = Math.abs(v);
    if (a >= 1e6) return (v / 1e6).toLocaleString('en', { maximumFractionDigits: 2 }) + 'M';
    if (a >= 1e4) return (v / 1e3).toLocaleString('en', { maximumFractionDigits: 1 }) + 'k';
    return v.toLocaleString('en', { maximumFractionDigits: 3 });
  }
  function render(spec) {
    keyed(spec);
    var options = {
      width: spec.width, height: spec.height, marginLeft: 64, marginBottom: 44, marginRight: 24,
      x: axis(spec.x),
      y: { label: spec.y.label, type: spec.y.type, grid: true, zero: spec.y.type === 'linear' },
      marks: spec.marks.reduce(function (all, m) { return all.concat(dodged(spec, m)); }, []),
      style: { fontSize: '12px' },
    };
    if (spec.x.type === 'point') options.x.padding = 0.4;
    if (spec.y.type === 'linear') options.y.tickFormat = compact;
    if (spec.facet) options.fx = { label: spec.facet.label + ' \\u2192' };
    if (spec.series) {
      var names = spec.series.domain;
      var name = function (k) { return names[Number(String(k).slice(1))]; };
      options.color = { legend: true, type: 'ordinal', domain: spec.series.keys, range: PALETTE, label: spec.series.label, tickFormat: name };
      options.symbol = { type: 'ordinal', domain: spec.series.keys, range: ['circle', 'square', 'diamond2', 'triangle2', 'star', 'cross', 'asterisk', 'wye'] };
    }
    return Plot.plot(options);
  }
  specs.forEach(function (spec) {
    var host = document.querySelector('figure[data-plot="' + spec.id + '"] .chart');
    try {
      host.appendChild(render(spec));
    } catch (e) {
      host.textContent = 'could not draw this plot: ' + e;
      console.error('plot ' + spec.id + ': ' + (e && e.stack ? e.stack : e));
    }
  });
})();
`;
