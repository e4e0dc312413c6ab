// Applies the saved theme before the first paint (a classic script in <head>, so the page
// never flashes the wrong colours). "system" follows prefers-color-scheme through the CSS.
(function () {
  var theme = null;
  try { theme = localStorage.getItem('periscope.theme'); } catch (e) { theme = null; }
  if (theme === 'light' || theme === 'dark') {
    document.documentElement.setAttribute('data-theme', theme);
  }
  document.addEventListener('DOMContentLoaded', function () {
    var button = document.getElementById('theme-toggle');
    if (!button) return;
    var order = ['system', 'light', 'dark'];
    var icons = { system: '◐', light: '☀', dark: '☾' };
    function show(current) {
      button.textContent = icons[current];
      button.title = 'Theme: ' + (current === 'system' ? 'follows the system' : current) + ' (click to change)';
    }
    show(theme === 'light' || theme === 'dark' ? theme : 'system');
    button.addEventListener('click', function () {
      var current = document.documentElement.getAttribute('data-theme') || 'system';
      var next = order[(order.indexOf(current) + 1) % order.length];
      if (next === 'system') {
        document.documentElement.removeAttribute('data-theme');
      } else {
        document.documentElement.setAttribute('data-theme', next);
      }
      try { localStorage.setItem('periscope.theme', next); } catch (e) { /* private mode */ }
      show(next);
    });
  });
})();
