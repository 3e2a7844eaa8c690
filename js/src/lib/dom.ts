// The one DOM builder the views share: every element gets a class (the hook for styles and tests); text is set
// with textContent, never innerHTML, because labels and names come from users.

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K, className: string, text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
