// Text that sits flush against the left or right edge of the screen (less than 8 px of padding): returns
// [{text, left, right}] for each visible text node's element. Run with page.evaluate(script).
(() => {
  const minGap = 8;
  const width = document.documentElement.clientWidth;
  const out = [];
  const walker = document.createTreeWalker(document.querySelector("main") || document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) { continue; }
    const el = node.parentElement;
    if (!el || el.closest("[hidden], .visually-hidden, .engage-table-wrap, [data-edge-ok]")) { continue; }
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") { continue; }
    range.selectNodeContents(node);
    // Text cut off with an ellipsis ends where its box ends, not where the hidden rest of the line would.
    const clip = style.overflow !== "visible" ? el.getBoundingClientRect() : null;
    for (const raw of range.getClientRects()) {
      if (raw.width < 1 || raw.height < 1) { continue; }
      const left = clip ? Math.max(raw.left, clip.left) : raw.left;
      const right = clip ? Math.min(raw.right, clip.right) : raw.right;
      if (left < minGap || right > width - minGap) {
        out.push({ text: node.textContent.trim().slice(0, 40), left: Math.round(left),
                   right: Math.round(width - right), tag: el.tagName.toLowerCase() + "." + el.className });
        break;
      }
    }
  }
  return out;
})()
