/** A YAML alias bomb: ten levels of ten aliases each, which the yaml package refuses to expand (Excessive alias count). */
export function aliasBomb(): string {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  let previous = 'a';
  for (let level = 0; level < 9; level += 1) {
    const name = `l${String(level)}`;
    lines.push(`${name}: &${name} [${Array.from({ length: 10 }, () => `*${previous}`).join(', ')}]`);
    previous = name;
  }
  return `${lines.join('\n')}\n`;
}
