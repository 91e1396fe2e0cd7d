"""The observation of a web page: an accessibility-style tree as text, with a numeric id per interactive element.

A script run in the page marks every visible interactive element with `data-lbi-id` (and the name it shows,
`data-lbi-name`, so an action may name an element exactly as the tree does) and renders roles
and accessible names (`[13] button 'Save'`), input values, headings and short text, in document order.
"""

RENDER = r"""
(root) => {
  const out = [];
  let next = 1;
  const INTERACTIVE = 'a[href],button,input,textarea,select,[role=button],[role=link],[role=checkbox],[role=tab],'
    + '[role=menuitem],[contenteditable=true]';
  const visible = (el) => {
    const style = window.getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') return false;
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  };
  const clean = (s) => (s || '').replace(/\s+/g, ' ').trim();
  const name = (el) => clean(el.getAttribute('aria-label') || (el.labels && el.labels[0] && el.labels[0].innerText)
      || el.getAttribute('placeholder') || el.getAttribute('title') || el.innerText || el.getAttribute('value')
      || el.getAttribute('name') || el.getAttribute('alt') || '').slice(0, 100);
  const role = (el) => {
    if (el.getAttribute('role')) return el.getAttribute('role');
    const tag = el.tagName;
    if (tag === 'A') return 'link';
    if (tag === 'BUTTON') return 'button';
    if (tag === 'TEXTAREA') return 'textbox';
    if (tag === 'SELECT') return 'combobox';
    if (tag === 'INPUT') {
      const t = (el.getAttribute('type') || 'text').toLowerCase();
      const roles = {submit: 'button', button: 'button', reset: 'button', checkbox: 'checkbox', radio: 'radio'};
      return roles[t] || 'textbox';
    }
    return tag.toLowerCase();
  };
  document.querySelectorAll('[data-lbi-id]').forEach((el) => {
    el.removeAttribute('data-lbi-id');
    el.removeAttribute('data-lbi-name');
  });
  const walk = (node, depth) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        const text = clean(child.textContent);
        const parent = child.parentElement;
        if (text && parent && !parent.closest(INTERACTIVE) && !/^(SCRIPT|STYLE|NOSCRIPT|OPTION)$/.test(parent.tagName))
          out.push('  '.repeat(depth) + "StaticText '" + text.slice(0, 120) + "'");
        continue;
      }
      if (child.nodeType !== Node.ELEMENT_NODE || /^(SCRIPT|STYLE|NOSCRIPT|HEAD)$/.test(child.tagName)) continue;
      if (child.tagName === 'INPUT' && (child.getAttribute('type') || '').toLowerCase() === 'hidden') continue;
      if (!visible(child)) continue;
      if (child.matches(INTERACTIVE)) {
        const id = next++;
        child.setAttribute('data-lbi-id', String(id));
        child.setAttribute('data-lbi-name', name(child));  // an action may name the element as the tree shows it
        let line = '  '.repeat(depth) + '[' + id + '] ' + role(child) + " '" + name(child) + "'";
        if (/^(INPUT|TEXTAREA|SELECT)$/.test(child.tagName) && child.type !== 'submit' && child.type !== 'button') {
          const value = child.tagName === 'SELECT' ? (child.options[child.selectedIndex] || {}).text : child.value;
          line += " value='" + clean(value).slice(0, 80) + "'";
        }
        if (child.type === 'checkbox' || child.type === 'radio') line += child.checked ? ' checked' : ' unchecked';
        out.push(line);
        if (child.tagName === 'SELECT') continue;
        if (child.tagName === 'A' || child.tagName === 'BUTTON') continue;
      } else if (/^H[1-6]$/.test(child.tagName)) {
        out.push('  '.repeat(depth) + "heading '" + clean(child.innerText).slice(0, 120) + "'");
        continue;
      }
      walk(child, /^(UL|OL|TABLE|FORM|FIELDSET|NAV|MAIN)$/.test(child.tagName) ? depth + 1 : depth);
    }
  };
  const start = root || document.body || document.documentElement;
  if (!start) return '(the page is still loading)';  // read between a navigation and the new document
  walk(start, 0);
  return out.join('\n');
}
"""
