// A small least-recently-used cache on Map's insertion order. `onEvict` frees what a value holds
// (object URLs, ImageBitmaps) when it drops out.

export class Lru<K, V> {
  private map = new Map<K, V>();

  constructor(
    readonly capacity: number,
    private onEvict?: (value: V, key: K) => void,
  ) {}

  get size(): number {
    return this.map.size;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** The value, marked as most recently used. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** The value without touching its recency (for drawing every frame). */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      if (old !== value) this.onEvict?.(old, key);
    }
    this.map.set(key, value);
    while (this.map.size > Math.max(this.capacity, 0)) {
      const [k, v] = this.map.entries().next().value as [K, V];
      this.map.delete(k);
      this.onEvict?.(v, k);
    }
  }

  clear(): void {
    const entries = [...this.map.entries()];
    this.map.clear();
    for (const [k, v] of entries) this.onEvict?.(v, k);
  }
}
