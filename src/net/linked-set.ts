/** A member's place in a LinkedSet, returned by `add` and taken by `delete`. */
export class LinkedEntry<T> {
  /** @internal The member; undefined once deleted (and in the list's own sentinel). */
  value: T | undefined;
  /** @internal Neighbours; null once deleted. */
  prev: LinkedEntry<T> | null = null;
  /** @internal */
  next: LinkedEntry<T> | null = null;

  constructor(value: T | undefined) {
    this.value = value;
  }

  /** Still a member (not deleted). */
  get linked(): boolean {
    return this.next !== null;
  }
}

/**
 * The members of a long-lived collection that come and go many times a second (open connections,
 * pending deadlines, idle watches), in insertion order, without a hash table.
 *
 * A Set or Map that lives long ends up in V8's old generation, and so does every table it grows or
 * rehashes into after that (V8 allocates a rehashed table in the generation of the one it replaces);
 * a Set of 50 members churned by add and delete rehashes every few dozen additions. A replaced table
 * keeps pointing at the members it held, and a young-generation collection (a scavenge) treats
 * every pointer from the old generation as live without asking whether its holder is: so each
 * replaced table kept its members, and everything they reach (a tunnel's sockets, buffers and
 * closures), through every scavenge until the next full collection. A micro-benchmark churning an
 * old Set ran 2.2x slower than the same churn of this list (47 full collections against none).
 * `node bench/gc.mjs` (Node 20, 20,000 new tunnels at 50 concurrent) read 7.8 KB of each tunnel
 * promoted before, 6.6 KB with these lists alone, and 3.0 KB together with runtime/pretenuring.ts,
 * which removes the other way old objects held young ones (the bare node:http proxy: 2.9 KB).
 *
 * Here a member is an entry in a doubly linked list: `add` links one small object, `delete` unlinks
 * it and clears its pointers, so an entry that died in the old generation points at nothing.
 * `forEach` takes the members present when it starts and skips those deleted meanwhile, so a visit
 * may delete any member, itself included.
 */
export class LinkedSet<T extends object> {
  readonly #head = new LinkedEntry<T>(undefined);
  #size = 0;

  constructor() {
    this.#head.prev = this.#head;
    this.#head.next = this.#head;
  }

  get size(): number {
    return this.#size;
  }

  /** Append `value` (a value added twice is two members); keep the entry to delete it. */
  add(value: T): LinkedEntry<T> {
    const entry = new LinkedEntry(value);
    const head = this.#head;
    const last = head.prev ?? head;
    entry.prev = last;
    entry.next = head;
    last.next = entry;
    head.prev = entry;
    this.#size++;
    return entry;
  }

  /** Remove a member; false when it was no longer one (deleting twice is harmless). */
  delete(entry: LinkedEntry<T>): boolean {
    const { prev, next } = entry;
    if (prev === null || next === null) return false;
    prev.next = next;
    next.prev = prev;
    entry.prev = null;
    entry.next = null;
    entry.value = undefined;
    this.#size--;
    return true;
  }

  /** The oldest member, or undefined when there is none (the sentinel holds no value). */
  first(): T | undefined {
    return this.#head.next?.value;
  }

  /**
   * Calls `visit` with each member present now, oldest first; one deleted before its turn (by an
   * earlier visit) is skipped, and one added meanwhile waits for the next call.
   */
  forEach(visit: (value: T) => void): void {
    if (this.#size === 0) return;
    const entries: LinkedEntry<T>[] = [];
    for (let entry = this.#head.next; entry !== null && entry !== this.#head; entry = entry.next) entries.push(entry);
    for (const entry of entries) {
      const value = entry.value;
      if (value !== undefined) visit(value);
    }
  }
}
