"""What a person would see as broken on a page, measured in the browser rather than by eye.

Each check returns a list of short descriptions (empty: nothing wrong). They judge the page as it
is laid out now, so the crawl runs them at every width and colour scheme it visits.
"""

# The page scrolls sideways: name the elements that stick out.
OVERFLOW = """() => {
  const root = document.documentElement;
  if (root.scrollWidth <= root.clientWidth) return [];
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > root.clientWidth + 1)
    .filter(el => !el.closest('.visually-hidden, [hidden]'))
    .slice(0, 5)
    .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
      + ' ' + JSON.stringify(el.textContent.trim().slice(0, 40)));
  return [`scrolls sideways: ${root.scrollWidth} px in ${root.clientWidth} px ${wide.join('; ')}`];
}"""

# A table cell whose content is cut off with no way to see it.
CLIPPED_CELLS = """() => [...document.querySelectorAll('td, th')].filter(cell => {
  if (cell.closest('.visually-hidden')) return false;
  const style = getComputedStyle(cell);
  const hides = ['hidden', 'clip'].includes(style.overflowX) || style.textOverflow === 'ellipsis';
  if (hides && cell.scrollWidth > cell.clientWidth + 1) return true;
  // A cell cut off by its table's scroll box with no way to see it is clipped too.
  const box = cell.closest('.table-wrap');
  if (!box) return false;
  const boxStyle = getComputedStyle(box);
  const scrolls = ['auto', 'scroll'].includes(boxStyle.overflowX);
  return !scrolls && cell.getBoundingClientRect().right > box.getBoundingClientRect().right + 1;
}).map(cell => 'clipped cell ' + cell.tagName.toLowerCase() + ' '
  + JSON.stringify(cell.textContent.trim().slice(0, 40)))"""

# A table wider than its box, where the box was not made to scroll (.scrolls: named, focusable,
# with shadows at its edges): its last columns (the row's buttons) are cut off.
SCROLLED_TABLES = """() => [...document.querySelectorAll('.table-wrap:not(.scrolls)')]
  .filter(box => box.offsetParent && box.scrollWidth > box.clientWidth + 1)
  .map(box => `table wider than its box: ${box.scrollWidth} px in ${box.clientWidth} px`)"""

# The boxes of the visible text on the page, each cut to what its scrolling or clipping
# ancestors let show; shared by the overlap and spill checks below.
_TEXT_BOXES = """
  // An element's text shows only inside its own and its ancestors' overflow and clip boxes
  // (clip: rect(0 0 0 0) is how text is kept for screen readers only).
  const clippers = el => {
    const boxes = [];
    for (let up = el; up; up = up.parentElement) {
      const s = getComputedStyle(up);
      if (s.overflowX !== 'visible' || s.overflowY !== 'visible' || s.clip !== 'auto') {
        const r = up.getBoundingClientRect();
        const none = {left: r.left, top: r.top, right: r.left, bottom: r.top};
        boxes.push(s.clip === 'rect(0px, 0px, 0px, 0px)' ? none : r);
      }
    }
    return boxes;
  };
  // A closed <details> lays out its content (content-visibility) but shows only its summary.
  const closedAway = el => {
    const details = el.closest('details:not([open])');
    if (!details) return false;
    const summary = details.querySelector(':scope > summary');
    return !(summary && summary.contains(el)) || closedAway(details.parentElement);
  };
  const cut = (r, boxes) => {
    let [l, t, rt, b] = [r.left, r.top, r.right, r.bottom];
    for (const c of boxes) { l = Math.max(l, c.left); t = Math.max(t, c.top);
      rt = Math.min(rt, c.right); b = Math.min(b, c.bottom); }
    return rt - l > 1 && b - t > 1 ? {left: l, top: t, right: rt, bottom: b} : null;
  };
  const shown = el => {
    if (el.closest('.visually-hidden, [hidden]') || closedAway(el)) return false;
    for (let up = el; up; up = up.parentElement) {
      const s = getComputedStyle(up);
      if (s.visibility === 'hidden' || s.display === 'none' || s.opacity === '0') return false;
    }
    return true;
  };
  // Under a modal dialog the page is inert and covered: only the dialog is seen.
  const scope = document.querySelector('dialog:modal') || document.body;
  const texts = [];
  const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el) continue;
    if (['SCRIPT', 'STYLE', 'TEXTAREA', 'OPTION'].includes(el.tagName)) continue;
    if (!shown(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const within = clippers(el);
    for (const rect of range.getClientRects()) {
      const box = cut(rect, within);
      if (box) texts.push({box, el, raw: rect, text: node.textContent.trim().slice(0, 30)});
    }
  }
"""

# Two pieces of text drawn over each other (a badge over "Expires in …", a relative time over
# the exact one): the boxes of different text nodes must not intersect.
OVERLAPPING_TEXT = (
    """() => {"""
    + _TEXT_BOXES
    + """
  const found = [];
  texts.sort((a, b) => a.box.top - b.box.top);
  for (let i = 0; i < texts.length && found.length < 5; i++) {
    const a = texts[i];
    for (let j = i + 1; j < texts.length; j++) {
      const b = texts[j];
      if (b.box.top >= a.box.bottom - 1) break;
      if (a.el === b.el && a.text === b.text) continue;  // one text node's own lines
      const x = Math.min(a.box.right, b.box.right) - Math.max(a.box.left, b.box.left);
      const y = Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top);
      if (x > 2 && y > 2) {
        found.push(`text overlaps: ${JSON.stringify(a.text)} and ${JSON.stringify(b.text)}`);
        break;
      }
    }
  }
  return found;
}"""
)

# Text that spills out of the coloured box drawn around it (a badge narrower than its label,
# a button narrower than its text).
SPILLED_TEXT = (
    """() => {"""
    + _TEXT_BOXES
    + """
  const painted = el => {
    for (let up = el; up && up !== document.body; up = up.parentElement) {
      const s = getComputedStyle(up);
      if (s.display.startsWith('inline') || s.display === 'flex') {
        const bg = s.backgroundColor;
        if (bg && bg !== 'transparent' && !/rgba\\(.*,\\s*0\\)$/.test(bg)) return up;
      }
      if (!s.display.startsWith('inline')) return null;
    }
    return null;
  };
  const found = [];
  for (const t of texts) {
    const box = painted(t.el);
    if (!box) continue;
    const r = box.getBoundingClientRect();
    if (t.raw.left < r.left - 1 || t.raw.right > r.right + 1) {
      const what = `${box.tagName.toLowerCase()}.${box.className}`;
      found.push(`text spills out of its ${what}: ${JSON.stringify(t.text)}`);
      if (found.length >= 5) break;
    }
  }
  return found;
}"""
)

# Every control a keyboard reaches must be on screen when it has the focus: a sort link in a
# header row clipped away on phones is a stop a person cannot see.
FOCUS_OFF_SCREEN = """() => {
  const selector =
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  const before = document.activeElement;
  const found = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.disabled || el.tabIndex < 0 || el.closest('[inert], dialog:not([open])')) continue;
    const s = getComputedStyle(el);
    if (s.display === 'none' || s.visibility === 'hidden') continue;
    const details = el.closest('details:not([open])');
    if (details && !details.querySelector(':scope > summary').contains(el)) continue;
    el.focus({preventScroll: false});
    if (document.activeElement !== el) continue;  // not focusable after all
    const r = el.getBoundingClientRect();
    let visible = r.width > 1 && r.height > 1 && r.right > 0 && r.left < innerWidth;
    for (let up = el.parentElement; visible && up; up = up.parentElement) {
      const u = getComputedStyle(up);
      const clips = u.overflowX !== 'visible' || u.overflowY !== 'visible' || u.clip !== 'auto';
      if (!clips) continue;
      const c = up.getBoundingClientRect();
      const x = Math.min(r.right, c.right) - Math.max(r.left, c.left);
      const y = Math.min(r.bottom, c.bottom) - Math.max(r.top, c.top);
      if (x < Math.min(r.width, 4) || y < Math.min(r.height, 4)) visible = false;
      if (u.clip !== 'auto' && c.width <= 1) visible = false;
    }
    const name = (el.innerText || el.getAttribute('aria-label') || el.name || '').trim();
    if (!visible) found.push(`focusable off screen: ${el.tagName.toLowerCase()} `
      + `${JSON.stringify(name.slice(0, 30))} at x=${Math.round(r.left)}`);
  }
  if (before && before.focus) before.focus({preventScroll: true});
  else document.activeElement.blur();
  window.scrollTo(0, 0);
  return found.slice(0, 8);
}"""

# A name or heading broken inside a word ("dashbo / ard"): a column squeezed below its longest
# word. E-mail addresses and URLs break at their <wbr>s and are not looked at.
BROKEN_WORDS = """() => {
  const found = [];
  for (const el of document.querySelectorAll('.token-name, h1, h2, thead th')) {
    for (const node of [...el.childNodes].filter(n => n.nodeType === 3)) {
      const words = /\\S+/g;
      let match;
      while ((match = words.exec(node.textContent)) && found.length < 5) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
        if (lines > 1) found.push(`word broken across lines: ${JSON.stringify(match[0])}`);
      }
    }
  }
  return found;
}"""

CHECKS = (
    OVERFLOW,
    CLIPPED_CELLS,
    SCROLLED_TABLES,
    OVERLAPPING_TEXT,
    SPILLED_TEXT,
    FOCUS_OFF_SCREEN,
    BROKEN_WORDS,
)


def layout_problems(page, state):
    """Everything the checks above find on the page as it is now, each line naming the state."""
    return [f"{state}: {problem}" for check in CHECKS for problem in page.evaluate(check)]
